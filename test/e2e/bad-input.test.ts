/**
 * Bad input through the real CLI, in a project that installed certstage as a dependency: a
 * certificate that does not parse and a key that does not belong to the certificate each fail
 * `pulumi preview` (and `pulumi up`) naming the resource, the field and the problem, and the
 * store, with what every environment serves, is left exactly as it was.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { makeTestCertificate, TestCertificate } from "../support/certificates";
import { consumerProject, PulumiWorkspace } from "../support/pulumi";
import { storeFingerprint } from "../support/store-on-disk";
import { expectNoPrivateKeyMaterial } from "../support/secrets";

const PROGRAM = `
const fs = require("fs");
const path = require("path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");

const directory = new pulumi.Config().require("certificateDir");
const read = (file) => fs.readFileSync(path.join(directory, file), "utf8");
const api = new Certificate("api", { name: "api" });
const version = new CertificateVersion("api-version", {
  certificate: api,
  upload: { certificatePem: read("cert.pem"), privateKeyPem: read("key.pem"), chainPem: read("chain.pem") },
});
for (const environment of ["staging", "production"]) {
  new EnvironmentDeployment("api-" + environment, { version, environment });
}
`;

let workspace: PulumiWorkspace;
let good: TestCertificate;
let other: TestCertificate;
let inputDirectory: string;
let storeRoot: string;


function useInputs(files: Partial<Record<"cert.pem" | "key.pem" | "chain.pem", string>>): void {
  for (const name of ["cert.pem", "key.pem", "chain.pem"] as const) {
    copyFileSync(path.join(good.directory, name), path.join(inputDirectory, name));
    const replacement = files[name];
    if (replacement !== undefined) writeFileSync(path.join(inputDirectory, name), replacement);
  }
}

async function expectRefusedLeavingStoreAlone(code: string, field: string, problem: RegExp): Promise<void> {
  const before = storeFingerprint(storeRoot);
  for (const command of [["preview"], ["up", "--yes", "--skip-preview"]]) {
    const result = await workspace.pulumi(command);
    const output = result.stdout + result.stderr;
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(new RegExp(`CertificateVersion resource 'api-version' has a problem: \\[${code}\\] field '${field.replace(".", "\\.")}': `));
    expect(output).toMatch(problem);
    expect(output).toMatch(/Fix: /);
    expect(storeFingerprint(storeRoot)).toBe(before);
  }
  const served = readFileSync(path.join(storeRoot, "environments", "production", "api", "cert.pem"), "utf8");
  expect(served).toBe(good.certificatePem);
}

beforeAll(async () => {
  workspace = consumerProject(inject("pulumiBinDirectory"), "bad-input", PROGRAM);
  const pki = path.join(workspace.root, "pki");
  good = makeTestCertificate(pki, "api.example.test");
  other = makeTestCertificate(pki, "other.example.test");
  inputDirectory = path.join(workspace.root, "inputs");
  require("node:fs").mkdirSync(inputDirectory);
  useInputs({});
  storeRoot = path.join(workspace.projectDirectory, ".certstage");
  await workspace.initStack({ certificateDir: inputDirectory });
  await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
  expect(existsSync(path.join(storeRoot, "environments", "production", "api"))).toBe(true);
});

describe("bad input stops at preview and changes nothing", () => {
  it("a certificate file that is not PEM", async () => {
    useInputs({ "cert.pem": "this is not a certificate\n" });
    await expectRefusedLeavingStoreAlone("PEM_MALFORMED", "upload.certificatePem", /no PEM block found/);
  });

  it("a certificate that is PEM but not X.509", async () => {
    useInputs({ "cert.pem": "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END CERTIFICATE-----\n" });
    await expectRefusedLeavingStoreAlone("CERTIFICATE_UNPARSEABLE", "upload.certificatePem", /not a valid X\.509 certificate/);
  });

  it("a private key that does not belong to the certificate", async () => {
    useInputs({ "key.pem": other.privateKeyPem });
    await expectRefusedLeavingStoreAlone("KEY_MISMATCH", "upload.privateKeyPem", /the private key does not belong to the certificate/);
  });

  it("after fixing the input, the same program previews no change", async () => {
    useInputs({});
    const steps = JSON.parse((await workspace.pulumiOk(["preview", "--json"])).stdout).steps as Array<{ op: string }>;
    expect(steps.filter((step) => step.op !== "same")).toEqual([]);
  });

  it("a certificate file holding the leaf and its intermediate (certbot's fullchain.pem) is the same version: preview says it split them, and changes nothing", async () => {
    useInputs({ "cert.pem": good.certificatePem + good.chainPem });
    const preview = await workspace.pulumiOk(["preview", "--json"]);
    const steps = JSON.parse(preview.stdout).steps as Array<{ op: string }>;
    expect(steps.filter((step) => step.op !== "same")).toEqual([]);
    const text = await workspace.pulumiOk(["preview"]);
    expect(text.stdout + text.stderr).toMatch(/certstage: certificate 'api': upload\.certificatePem held the certificate and 1 intermediate \(.+\), which became the chain; 1 identical certificate in upload\.chainPem dropped/);
    useInputs({});
  });

  it("no command printed a private key", () => {
    for (const { command, output } of workspace.transcript) expectNoPrivateKeyMaterial(output, [good.privateKeyPem, other.privateKeyPem], command);
  });
});
