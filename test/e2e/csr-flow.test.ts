/**
 * The CSR flow of the source documents through the real CLI: `generate` version 1 (new key, CSR),
 * a CA made by OpenSSL signs the CSR, `signed` version 2 reuses version 1's key and is deployed to
 * staging and production. OpenSSL then confirms the served files chain to that CA and belong to
 * the key. A re-key (a new `generate`) waits beside it while version 2 keeps serving.
 */
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../provider/cli/status";
import { makeTestCertificate, openssl } from "../support/certificates";
import { consumerProject, PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { statusMatchingDisk } from "../support/store-on-disk";

const PROGRAM = `
const fs = require("fs");
const path = require("path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");

const config = new pulumi.Config();
const api = new Certificate("api", { name: "api" });
const names = ["api.example.test", "www.example.test"];
const request = new CertificateVersion("api-request", {
  certificate: api,
  generate: { keyAlgorithm: "RSA-2048", subject: { commonName: "api.example.test", organization: "certstage e2e" }, sans: names },
  domains: names,
});
exports.csrPem = request.csrPem;
exports.requestVersion = request.version;

const signedDirectory = config.get("signedDirectory");
if (signedDirectory) {
  const read = (file) => fs.readFileSync(path.join(signedDirectory, file), "utf8");
  const signed = new CertificateVersion("api-signed", {
    certificate: api,
    signed: { keyFromVersion: request, certificatePem: read("cert.pem"), chainPem: read("chain.pem") },
    domains: names,
  });
  exports.signedVersion = signed.version;
  exports.jwkKid = signed.jwk.apply((jwk) => jwk.kid);
  exports.signedJwk = signed.jwk;
  for (const environment of ["staging", "production"]) {
    new EnvironmentDeployment("api-" + environment, { version: signed, environment });
  }
}
if (config.getBoolean("rekey")) {
  const rekey = new CertificateVersion("api-rekey", {
    certificate: api,
    generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: names },
  });
  exports.rekeyVersion = rekey.version;
  exports.rekeyCsrPem = rekey.csrPem;
}
`;

let workspace: PulumiWorkspace;
let storeRoot: string;
let caDirectory: string;

async function status(): Promise<StatusReport> {
  return statusMatchingDisk(workspace, storeRoot);
}

async function stackOutput(name: string): Promise<string> {
  return (await workspace.pulumiOk(["stack", "output", name, "--show-secrets"])).stdout.trim();
}

beforeAll(async () => {
  workspace = consumerProject(inject("pulumiBinDirectory"), "csr-flow", PROGRAM);
  storeRoot = path.join(workspace.projectDirectory, ".certstage");
  caDirectory = path.join(workspace.root, "ca");
  makeTestCertificate(caDirectory, "unused.example.test"); // Makes the test root and intermediate CA.
  await workspace.initStack();
});

describe("generate -> CA signs the CSR -> signed version reusing the key", () => {
  it("generate saves version 1 with a new key, a CSR and a self-signed placeholder", async () => {
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await stackOutput("requestVersion")).toBe("1");
    const version = path.join(storeRoot, "certificates", "api", "versions", "1");
    const csr = readFileSync(path.join(version, "csr.pem"), "utf8");
    expect(await stackOutput("csrPem")).toBe(csr.trim());
    expect(openssl(["req", "-noout", "-verify", "-subject"], csr)).toMatch(/subject=O = certstage e2e, CN = api\.example\.test/);
    expect(lstatSync(path.join(version, "privkey.pem")).mode & 0o777).toBe(0o600);
    const placeholder = readFileSync(path.join(version, "cert.pem"), "utf8");
    expect(openssl(["x509", "-noout", "-issuer", "-subject"], placeholder)).toMatch(/issuer=O = certstage e2e, CN = api\.example\.test\nsubject=O = certstage e2e/);
    const report = await status();
    expect(report.certificates[0].versions.map((entry) => [entry.version, entry.method])).toEqual([[1, "generate"]]);
  });

  it("the CA's certificate for that CSR previews as version 2 and two deployments, then deploys", async () => {
    const signed = path.join(workspace.root, "signed");
    mkdirSync(signed);
    writeFileSync(path.join(signed, "request.csr"), await stackOutput("csrPem"));
    writeFileSync(path.join(signed, "leaf.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    // The CA copies the names the CSR asks for, as a public CA does after validating them.
    execFileSync("openssl", [
      "x509", "-req", "-in", "request.csr", "-copy_extensions", "copy", "-extfile", "leaf.ext",
      "-CA", path.join(caDirectory, "ca", "intermediate.pem"), "-CAkey", path.join(caDirectory, "ca", "intermediate.key"), "-CAcreateserial",
      "-days", "90", "-out", "cert.pem",
    ], { cwd: signed, stdio: "pipe" });
    writeFileSync(path.join(signed, "chain.pem"), readFileSync(path.join(caDirectory, "ca", "intermediate.pem")));
    await workspace.pulumiOk(["config", "set", "signedDirectory", signed]);

    const preview = await workspace.pulumiOk(["preview", "--diff"]);
    expect(preview.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/certstage:CertificateVersion: \(create\)/);
    expect(preview.stdout).toMatch(/issuer\s*: "O=certstage test, CN=certstage test intermediate CA"/);
    expect(preview.stdout).toMatch(/sans\s*: \[\s*\[0\]: "api\.example\.test"\s*\[1\]: "www\.example\.test"/);
    expect(preview.stdout).toMatch(/\+ 3 to create/);

    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await stackOutput("signedVersion")).toBe("2");
    const report = await status();
    expect(report.certificates[0].versions.map((entry) => [entry.version, entry.method])).toEqual([[1, "generate"], [2, "signed"]]);
    expect(Object.fromEntries(Object.entries(report.certificates[0].deployments).map(([environment, deployment]) => [environment, deployment.version]))).toEqual({ production: 2, staging: 2 });
  });

  it("OpenSSL agrees: the served certificate chains to the test CA and matches the reused key", () => {
    const versionOne = path.join(storeRoot, "certificates", "api", "versions", "1");
    for (const environment of ["staging", "production"]) {
      const served = path.join(storeRoot, "environments", environment, "api");
      const verified = openssl(["verify", "-CAfile", path.join(caDirectory, "ca", "root.pem"), "-untrusted", path.join(served, "chain.pem"), path.join(served, "cert.pem")]);
      expect(verified.trim()).toBe(`${path.join(served, "cert.pem")}: OK`);
      const certificateModulus = openssl(["x509", "-noout", "-modulus", "-in", path.join(served, "cert.pem")]);
      expect(openssl(["rsa", "-noout", "-modulus", "-in", path.join(served, "privkey.pem")])).toBe(certificateModulus);
      expect(openssl(["pkey", "-pubout", "-in", path.join(served, "privkey.pem")])).toBe(openssl(["x509", "-noout", "-pubkey", "-in", path.join(served, "cert.pem")]));
      expect(readFileSync(path.join(served, "privkey.pem"), "utf8")).toBe(readFileSync(path.join(versionOne, "privkey.pem"), "utf8"));
      expect(readFileSync(path.join(served, "fullchain.pem"), "utf8")).toBe(readFileSync(path.join(served, "cert.pem"), "utf8") + readFileSync(path.join(served, "chain.pem"), "utf8"));
      expect(JSON.parse(readFileSync(path.join(served, "jwk.json"), "utf8")).kty).toBe("RSA");
    }
  });

  it("the version's jwk, made in the program rather than kept in state, is the store's jwk.json", async () => {
    const stored = JSON.parse(readFileSync(path.join(storeRoot, "certificates", "api", "versions", await stackOutput("signedVersion"), "jwk.json"), "utf8"));
    expect(JSON.parse((await workspace.pulumiOk(["stack", "output", "signedJwk", "--json"])).stdout)).toEqual(stored);
    expect(stored.x5c.length).toBeGreaterThan(1);
  });

  it("a re-key generates version 3 with a new key while version 2 keeps serving", async () => {
    const kid = await stackOutput("jwkKid");
    await workspace.pulumiOk(["config", "set", "rekey", "true"]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await stackOutput("rekeyVersion")).toBe("3");
    expect(await stackOutput("rekeyCsrPem")).toContain("BEGIN CERTIFICATE REQUEST");
    const report = await status();
    expect(Object.values(report.certificates[0].deployments).map((deployment) => deployment.version)).toEqual([2, 2]);
    const newKey = readFileSync(path.join(storeRoot, "certificates", "api", "versions", "3", "privkey.pem"), "utf8");
    expect(newKey).not.toBe(readFileSync(path.join(storeRoot, "certificates", "api", "versions", "2", "privkey.pem"), "utf8"));
    expect(JSON.parse(readFileSync(path.join(storeRoot, "environments", "production", "api", "jwk.json"), "utf8")).kid).toBe(kid);
  });

  it("no private key appeared in any output or in state", async () => {
    const keys = [1, 3].map((version) => readFileSync(path.join(storeRoot, "certificates", "api", "versions", String(version), "privkey.pem"), "utf8"));
    expectNoPrivateKeyMaterial((await workspace.pulumiOk(["stack", "export"])).stdout, keys, "stack export");
    for (const { command, output } of workspace.transcript) {
      if (!command.includes("--show-secrets")) expectNoPrivateKeyMaterial(output, keys, command);
    }
  });
});
