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
    const deployment = new EnvironmentDeployment("api-" + environment, { version: signed, environment });
    // Kept in state as JSON text; the program reads objects.
    if (environment === "production") exports.productionJwk = deployment.jwk;
  }
  exports.certificateJwks = api.jwks;
}
if (config.getBoolean("rekey")) {
  const exportKey = config.getBoolean("exportKey") === true;
  const rekey = new CertificateVersion("api-rekey", {
    certificate: api,
    generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: names },
    exportPrivateKey: exportKey,
  });
  exports.rekeyVersion = rekey.version;
  exports.rekeyCsrPem = rekey.csrPem;
  // A program handing the key on (to a load balancer, say) reads it; without exportPrivateKey that throws.
  if (exportKey || config.getBoolean("readKeyAnyway")) exports.rekeyKey = rekey.privateKeyPem;
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

  it("a deployment's jwk and a certificate's jwks reach the program as objects: the served key without its chain", async () => {
    const stored = JSON.parse(readFileSync(path.join(storeRoot, "environments", "production", "api", "jwk.json"), "utf8"));
    const { x5c: _chain, ...keyOnly } = stored;
    expect(JSON.parse((await workspace.pulumiOk(["stack", "output", "productionJwk", "--json"])).stdout)).toEqual(keyOnly);
    // The certificate's JWKS is as of its last create, update or refresh: a refresh brings in the
    // swaps, and the next up hands them to the program.
    await workspace.pulumiOk(["refresh", "--yes", "--skip-preview"]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(JSON.parse((await workspace.pulumiOk(["stack", "output", "certificateJwks", "--json"])).stdout)).toEqual({ staging: { keys: [keyOnly] }, production: { keys: [keyOnly] } });
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

  it("no private key appeared in any output or in state, not even encrypted: the store alone holds the keys", async () => {
    const keys = storedKeys();
    expectNoPrivateKeyMaterial((await workspace.pulumiOk(["stack", "export"])).stdout, keys, "stack export");
    const revealed = (await workspace.pulumiOk(["stack", "export", "--show-secrets"])).stdout;
    expectNoPrivateKeyMaterial(revealed, keys, "stack export --show-secrets");
    const versionStates = JSON.parse(revealed).deployment.resources.filter((resource: { type: string }) => resource.type.endsWith(":CertificateVersion"));
    expect(versionStates.map((resource: { outputs: object }) => "privateKeyPem" in resource.outputs)).toEqual([false, false, false]);
    for (const { command, output } of workspace.transcript) {
      if (!command.includes("--show-secrets")) expectNoPrivateKeyMaterial(output, keys, command);
    }
  });

  it("a program that reads privateKeyPem without exportPrivateKey fails with what to set, and nothing changes", async () => {
    const before = await status();
    await workspace.pulumiOk(["config", "set", "readKeyAnyway", "true"]);
    const failed = await workspace.pulumi(["preview"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/\[PRIVATE_KEY_NOT_EXPORTED\] resource 'api-rekey', field 'privateKeyPem': .*Fix: set exportPrivateKey: true/);
    const up = await workspace.pulumi(["up", "--yes", "--skip-preview"]);
    expect(up.code).not.toBe(0);
    expect(await status()).toEqual(before);
    await workspace.pulumiOk(["config", "rm", "readKeyAnyway"]);
  });

  it("exportPrivateKey: true keeps the key in state as a secret, in place; taken away, the key leaves state", async () => {
    const [, rekeyKey] = storedKeys();
    await workspace.pulumiOk(["config", "set", "exportKey", "true"]);
    expect(await changedSteps()).toEqual([{ op: "update", name: "api-rekey" }]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await stackOutput("rekeyVersion")).toBe("3");
    expect(await stackOutput("rekeyKey")).toBe(rekeyKey.trim());
    const exported = (await workspace.pulumiOk(["stack", "export"])).stdout;
    expectNoPrivateKeyMaterial(exported, storedKeys(), "stack export");
    const rekeyState = (text: string) => JSON.parse(text).deployment.resources.find((resource: { urn: string }) => resource.urn.endsWith("::api-rekey")).outputs;
    expect(rekeyState(exported).privateKeyPem).toHaveProperty("ciphertext");
    expect(JSON.parse(rekeyState((await workspace.pulumiOk(["stack", "export", "--show-secrets"])).stdout).privateKeyPem.plaintext)).toBe(rekeyKey);

    await workspace.pulumiOk(["config", "rm", "exportKey"]);
    expect(await changedSteps()).toEqual([{ op: "update", name: "api-rekey" }]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const revealed = (await workspace.pulumiOk(["stack", "export", "--show-secrets"])).stdout;
    expect(rekeyState(revealed)).not.toHaveProperty("privateKeyPem");
    expectNoPrivateKeyMaterial(revealed, storedKeys(), "stack export --show-secrets");
    expect(await changedSteps()).toEqual([]);
  });

  it("a stack written before exportPrivateKey existed, which holds every key, previews one update per version and up takes the keys out", async () => {
    // Such a state: each version's outputs hold privateKeyPem (a secret), and no exportPrivateKey;
    // its inputs do not carry the version's number (the store names it, below). Its deployments'
    // jwk and its certificate's jwks are objects, not JSON text.
    const keys = storedKeys();
    const state = JSON.parse((await workspace.pulumiOk(["stack", "export", "--show-secrets"])).stdout);
    const keyOf: Record<string, string> = { "api-request": keys[0], "api-signed": keys[0], "api-rekey": keys[1] };
    for (const resource of state.deployment.resources) {
      const name = resource.urn.split("::").at(-1);
      if (resource.type.endsWith(":EnvironmentDeployment")) resource.outputs.jwk = JSON.parse(resource.outputs.jwk);
      if (resource.type.endsWith(":Certificate")) resource.outputs.jwks = JSON.parse(resource.outputs.jwks);
      if (!resource.type.endsWith(":CertificateVersion")) continue;
      resource.outputs.privateKeyPem = { [SECRET_SIGNATURE]: "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(keyOf[name]) };
      delete resource.inputs.version;
    }
    const older = path.join(workspace.root, "older-state.json");
    writeFileSync(older, JSON.stringify(state), { mode: 0o600 });
    await workspace.pulumiOk(["stack", "import", "--file", older]);
    expect(JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout).deployment.resources.filter((resource: { outputs?: { privateKeyPem?: unknown } }) => resource.outputs?.privateKeyPem).length).toBe(3);

    // Only the versions: their deployments, and the signed version made from api-request's key, keep their number.
    expect(await changedSteps()).toEqual([
      { op: "update", name: "api-rekey" },
      { op: "update", name: "api-request" },
      { op: "update", name: "api-signed" },
    ]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const revealed = (await workspace.pulumiOk(["stack", "export", "--show-secrets"])).stdout;
    expectNoPrivateKeyMaterial(revealed, keys, "stack export --show-secrets");
    expect(await changedSteps()).toEqual([]);
    expect(Object.values((await status()).certificates[0].deployments).map((deployment) => deployment.version)).toEqual([2, 2]);
    // The deployments were not touched, so their state still holds the JWK as an object; the program reads it all the same.
    const deployments = JSON.parse(revealed).deployment.resources.filter((resource: { type: string }) => resource.type.endsWith(":EnvironmentDeployment"));
    expect(deployments.map((resource: { outputs: { jwk: unknown } }) => typeof resource.outputs.jwk)).toEqual(["object", "object"]);
    const { x5c: _chain, ...keyOnly } = JSON.parse(readFileSync(path.join(storeRoot, "environments", "production", "api", "jwk.json"), "utf8"));
    expect(JSON.parse((await workspace.pulumiOk(["stack", "output", "productionJwk", "--json"])).stdout)).toEqual(keyOnly);
    expect(Object.keys(JSON.parse((await workspace.pulumiOk(["stack", "output", "certificateJwks", "--json"])).stdout)).sort()).toEqual(["production", "staging"]);
  });
});

/** How `pulumi stack export --show-secrets` marks a secret (and `stack import` reads one). */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

/** The keys of the generated versions 1 and 3, as the store holds them (version 2 reuses 1's). */
function storedKeys(): string[] {
  return [1, 3].map((version) => readFileSync(path.join(storeRoot, "certificates", "api", "versions", String(version), "privkey.pem"), "utf8"));
}

/** What a preview would change, from `pulumi preview --json`. */
async function changedSteps(): Promise<Array<{ op: string; name: string }>> {
  const steps = (JSON.parse((await workspace.pulumiOk(["preview", "--json"])).stdout).steps ?? []) as Array<{ op: string; urn: string }>;
  return steps
    .filter((step) => step.op !== "same")
    .map((step) => ({ op: step.op, name: step.urn.split("::").at(-1)! }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
