/**
 * The version methods and JWK outputs through the provider methods, against a temporary store:
 * generate -> a CA signs the CSR -> signed reusing the key; a CA certificate without a key; the
 * JWK that deployments and certificates expose.
 */
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { publicJwkOfPems } from "../../provider/pki/jwk";
import { configure, providerFor } from "../../provider/resources/runtime";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";

const certificates = providerFor("Certificate");
const versions = providerFor("CertificateVersion");
const deployments = providerFor("EnvironmentDeployment");

let pki: string;
let stranger: TestCertificate;
let storeRoot: string;

beforeAll(() => {
  pki = temporaryDirectory("methods-pki");
  stranger = makeTestCertificate(pki, "api.example.test");
});

beforeEach(() => {
  storeRoot = temporaryDirectory("methods-store");
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": "tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
});

/** Signs `csrPem` with the test intermediate, copying the names the CSR asks for. */
function signWithTestCa(csrPem: string): string {
  const directory = temporaryDirectory("methods-sign");
  writeFileSync(path.join(directory, "request.csr"), csrPem);
  writeFileSync(path.join(directory, "leaf.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  execFileSync("openssl", ["x509", "-req", "-in", "request.csr", "-copy_extensions", "copy", "-extfile", "leaf.ext", "-CA", path.join(pki, "ca", "intermediate.pem"), "-CAkey", path.join(pki, "ca", "intermediate.key"), "-CAcreateserial", "-days", "30", "-out", "cert.pem"], { cwd: directory, stdio: "pipe" });
  return readFileSync(path.join(directory, "cert.pem"), "utf8");
}

describe("generate and signed", () => {
  it("generate saves a key, a CSR and a placeholder; signed accepts only the CA's certificate for that key", async () => {
    await certificates.create({ name: "api" });
    const generateInputs = { certificate: "api", generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: ["api.example.test"] } };
    expect((await versions.check({}, generateInputs)).failures).toEqual([]);
    const generated = await versions.create(generateInputs);
    expect(generated.outs).toMatchObject({ version: 1, method: "generate", sans: ["api.example.test"], keyAlgorithm: "ECDSA P-256", chainFingerprints: [] });
    expect(generated.outs.csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(readFileSync(path.join(storeRoot, "certificates", "api", "versions", "1", "csr.pem"), "utf8")).toBe(generated.outs.csrPem);

    const wrongKey = await versions.check({}, { certificate: "api", signed: { keyFromVersion: 1, certificatePem: stranger.certificatePem, chainPem: stranger.chainPem } });
    expect(wrongKey.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[KEY_MISMATCH\] field 'signed\.certificatePem': the certificate's public key is not the key of version 1/)]);

    const signedInputs = { certificate: "api", signed: { keyFromVersion: 1, certificatePem: signWithTestCa(generated.outs.csrPem), chainPem: stranger.chainPem } };
    const checked = await versions.check({}, signedInputs);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).toMatchObject({ method: "signed", issuer: "O=certstage test, CN=certstage test intermediate CA", sans: ["api.example.test"] });
    const signed = await versions.create(signedInputs);
    expect(signed.outs).toMatchObject({ version: 2, method: "signed", csrPem: "" });
    const storedKey = (version: number) => readFileSync(path.join(storeRoot, "certificates", "api", "versions", String(version), "privkey.pem"), "utf8");
    expect(storedKey(2)).toBe(storedKey(1));
    expect(generated.outs).not.toHaveProperty("privateKeyPem");
    expect(publicJwkOfPems(signed.outs.certificatePem, signed.outs.chainPem).kid).toBe(publicJwkOfPems(generated.outs.certificatePem, generated.outs.chainPem).kid);
    // The public key's SHA-256: unknown at the generate's preview (its key is made at up), known
    // at the signed one's, and equal across the two, so a reviewer sees the key reused.
    expect((await versions.check({}, generateInputs)).inputs!.publicKeySha256).toBeUndefined();
    const spki = createHash("sha256").update(createPublicKey(storedKey(1)).export({ type: "spki", format: "der" })).digest("hex");
    expect(generated.outs.publicKeySha256).toBe(spki);
    expect(checked.inputs!.publicKeySha256).toBe(spki);
    expect(signed.outs.publicKeySha256).toBe(spki);
  });

  it("generate refuses declared domains it would not cover", async () => {
    const result = await versions.check({}, { certificate: "api", domains: ["admin.example.test"], generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: ["api.example.test"] } });
    expect(result.failures?.[0].reason).toMatch(/^\[DOMAIN_NOT_COVERED\] field 'domains': admin\.example\.test is not in generate\.sans/);
  });

  it("exactly one method must be given", async () => {
    const both = await versions.check({}, { certificate: "api", upload: { certificatePem: stranger.certificatePem }, signed: { keyFromVersion: 1, certificatePem: stranger.certificatePem } });
    expect(both.failures?.[0].reason).toMatch(/^\[INPUT_SCHEMA\] field 'upload\|generate\|signed': upload and signed given together/);
    const none = await versions.check({}, { certificate: "api" });
    expect(none.failures?.[0].reason).toMatch(/no method given/);
  });
});

describe("CA certificates", () => {
  it("a CA certificate version needs no key and is stored without one", async () => {
    await certificates.create({ name: "roots", type: "ca" });
    const root = readFileSync(path.join(pki, "ca", "root.pem"), "utf8");
    // Asked to export its key, a CA version saved without one exports an empty one.
    const inputs = { certificate: "roots", certificateType: "ca", upload: { certificatePem: root }, exportPrivateKey: true };
    expect((await versions.check({}, inputs)).failures).toEqual([]);
    const created = await versions.create(inputs);
    expect(created.outs).toMatchObject({ version: 1, privateKeyPem: "" });
    expect(() => readFileSync(path.join(storeRoot, "certificates", "roots", "versions", "1", "privkey.pem"))).toThrow(/ENOENT/);
  });
});

describe("JWK outputs", () => {
  it("a deployment exposes the JWK of what it serves; the certificate a JWKS per environment", async () => {
    await certificates.create({ name: "api" });
    const version = await versions.create({ certificate: "api", upload: { certificatePem: stranger.certificatePem, privateKeyPem: stranger.privateKeyPem, chainPem: stranger.chainPem } });
    const deployed = await deployments.create({ certificate: "api", environment: "production", version: 1 });
    // The version's JWK is made in the program from its PEMs (not kept in state), equal to the store's jwk.json.
    expect(version.outs).not.toHaveProperty("jwk");
    const versionJwk = publicJwkOfPems(version.outs.certificatePem, version.outs.chainPem);
    expect(JSON.parse(readFileSync(path.join(storeRoot, "certificates", "api", "versions", "1", "jwk.json"), "utf8"))).toEqual(versionJwk);
    expect(versionJwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
    // The version's JWK carries the chain; the deployment's and the certificate's the key alone.
    expect(versionJwk.x5c).toHaveLength(2);
    const { x5c: _chain, ...keyOnly } = versionJwk;
    // State keeps both as one JSON text each (the resource classes parse it: test/provider/derived-outputs.test.ts).
    expect(typeof deployed.outs.jwk).toBe("string");
    expect(JSON.parse(deployed.outs.jwk)).toEqual(keyOnly);
    expect(JSON.parse(deployed.outs.jwk)["x5t#S256"]).toBe(versionJwk["x5t#S256"]);
    const read = await certificates.read("api", {});
    expect(typeof read.props?.jwks).toBe("string");
    expect(JSON.parse(read.props?.jwks)).toEqual({ production: { keys: [keyOnly] } });
  });
});
