/**
 * The PKCS#12 builder (provider/pki/pkcs12.ts): what a `keystore` input may hold, and that the
 * file holds the version's key, leaf and chain under the profile's algorithms, as OpenSSL reads them.
 */
import { spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPkcs12, keystoreProblems } from "../../../provider/pki/pkcs12";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../../support/certificates";

const PASSWORD = "correct horse battery";
let leaf: TestCertificate;
let rsa: TestCertificate;
let directory: string;

beforeAll(() => {
  directory = temporaryDirectory("pkcs12");
  leaf = makeTestCertificate(directory);
  const rsaKey = openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
  writeFileSync(path.join(directory, "rsa.key"), rsaKey);
  const rsaCertificate = openssl(["req", "-x509", "-new", "-key", path.join(directory, "rsa.key"), "-subj", "/CN=rsa.example.test", "-addext", "subjectAltName=DNS:rsa.example.test", "-days", "30"]);
  rsa = { ...leaf, certificatePem: rsaCertificate, privateKeyPem: rsaKey, chainPem: "" };
});

/** Writes the keystore and runs `openssl pkcs12` on it with `args`: its exit status and what it printed. */
function opensslPkcs12(keystore: Buffer, args: string[], password = PASSWORD): { status: number | null; output: string } {
  const file = path.join(directory, `keystore-${Math.random().toString(16).slice(2)}.p12`);
  writeFileSync(file, keystore);
  const run = spawnSync("openssl", ["pkcs12", "-in", file, "-passin", "env:P12_PASSWORD", ...args], { encoding: "utf8", env: { ...process.env, P12_PASSWORD: password } });
  return { status: run.status, output: run.stdout + run.stderr };
}

function readWithOpenssl(keystore: Buffer, args: string[]): string {
  const { status, output } = opensslPkcs12(keystore, args);
  expect(status, output).toBe(0);
  return output;
}

const certificatesIn = (text: string) => (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
const keyIn = (text: string) => createPrivateKey(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)![0]).export({ format: "jwk" });

describe("buildPkcs12", () => {
  it.each([
    ["modern", "ECDSA", () => leaf, [], /MAC: sha256, Iteration 2048[\s\S]*PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/],
    ["modern", "RSA", () => rsa, [], /MAC: sha256[\s\S]*AES-256-CBC/],
    ["legacy", "ECDSA", () => leaf, ["-legacy"], /MAC: sha1, Iteration 2048[\s\S]*pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/],
  ] as const)("%s, %s key: the key, the leaf and the chain open with the password, under the profile's algorithms", (profile, _kind, material, extra, algorithms) => {
    const version = material();
    const keystore = buildPkcs12(version, { password: PASSWORD, profile, friendlyName: "api" });
    const info = readWithOpenssl(keystore, ["-info", "-nodes", ...extra]);
    expect(info).toMatch(algorithms);
    expect(info).toContain("friendlyName: api");
    expect(keyIn(info)).toEqual(createPrivateKey(version.privateKeyPem).export({ format: "jwk" }));
    expect(certificatesIn(info)).toEqual(certificatesIn(version.certificatePem + version.chainPem));
    // The key and its certificate carry one localKeyID, which pairs them in every reader.
    const ids = [...info.matchAll(/localKeyID: ([0-9A-F ]+)/g)].map((match) => match[1].trim());
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it("refuses a wrong password: the MAC does not verify", () => {
    const keystore = buildPkcs12(leaf, { password: PASSWORD, friendlyName: "api" });
    const { status, output } = opensslPkcs12(keystore, ["-info", "-noout"], "wrong password");
    expect(status).not.toBe(0);
    expect(output).toMatch(/Mac verify error/i);
  });

  it("writes fresh salts each time: two files of the same version differ and both open", () => {
    const first = buildPkcs12(leaf, { password: PASSWORD, friendlyName: "api" });
    const second = buildPkcs12(leaf, { password: PASSWORD, friendlyName: "api" });
    expect(first.equals(second)).toBe(false);
    for (const keystore of [first, second]) expect(readWithOpenssl(keystore, ["-info", "-noout"])).toMatch(/MAC: sha256/);
  });
});

describe("keystoreProblems", () => {
  it.each([
    ["a password missing", {}, "KEYSTORE_PASSWORD_INVALID", "keystore.password", /missing/],
    ["an empty password", { password: "" }, "KEYSTORE_PASSWORD_INVALID", "keystore.password", /empty/],
    ["a password too short", { password: "short7!" }, "KEYSTORE_PASSWORD_INVALID", "keystore.password", /too short \(7 characters; at least 8\)/],
    ["a password of other than printable ASCII", { password: "pässwörd-long" }, "KEYSTORE_PASSWORD_INVALID", "keystore.password", /printable ASCII/],
    ["a password that is not a string", { password: 12345678 }, "KEYSTORE_PASSWORD_INVALID", "keystore.password", /must be a string/],
    ["an unknown profile", { password: PASSWORD, profile: "strong" }, "INPUT_SCHEMA", "keystore.profile", /"modern" or "legacy"/],
    ["a friendly name too long", { password: PASSWORD, friendlyName: "x".repeat(65) }, "INPUT_SCHEMA", "keystore.friendlyName", /1 to 64/],
    ["an unknown setting", { password: PASSWORD, pasword: "x" }, "INPUT_SCHEMA", "keystore.pasword", /not a setting/],
  ])("refuses %s, naming the resource, the field and the fix", (_case, value, code, field, problem) => {
    const problems = keystoreProblems(value, "api");
    expect(problems.map((found) => [found.code, found.field])).toEqual([[code, field]]);
    expect(problems[0].message).toMatch(problem);
    expect(problems[0].message).toContain("resource 'api'");
    expect(problems[0].fix).toBeTruthy();
  });

  it("never quotes the password it refuses", () => {
    for (const password of ["hunter2", "pässwörd-secret-ish"]) {
      const [problem] = keystoreProblems({ password }, "api");
      expect(problem.message).not.toContain(password);
    }
  });

  it("takes a good request", () => {
    expect(keystoreProblems({ password: PASSWORD }, "api")).toEqual([]);
    expect(keystoreProblems({ password: PASSWORD, profile: "legacy", friendlyName: "tomcat" }, "api")).toEqual([]);
  });
});
