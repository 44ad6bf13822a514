import { beforeAll, describe, expect, it } from "vitest";
import { parseCertificatePem } from "../../../provider/pki/certificate";
import { keyDerivationOf } from "../../../provider/pki/key-encryption";
import { splitPem } from "../../../provider/pki/pem";
import { keyMatchesCertificate, parsePrivateKeyPem, toPkcs8Pem } from "../../../provider/pki/private-key";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../../support/certificates";

let leaf: TestCertificate;
let other: TestCertificate;
beforeAll(() => {
  const pki = temporaryDirectory("unit-key");
  leaf = makeTestCertificate(pki, "api.example.test");
  other = makeTestCertificate(pki, "other.example.test");
});

describe("parsePrivateKeyPem", () => {
  it("reads PKCS#8, SEC1 and PKCS#1 keys and writes PKCS#8", () => {
    const sec1 = openssl(["ec", "-in", `${leaf.directory}/key.pem`], undefined);
    const rsaPkcs1 = openssl(["genrsa", "-traditional", "2048"]);
    for (const text of [leaf.privateKeyPem, sec1, rsaPkcs1]) {
      const key = parsePrivateKeyPem(text, "upload.privateKeyPem");
      expect(toPkcs8Pem(key)).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    expect(sec1).toContain("BEGIN EC PRIVATE KEY");
    expect(rsaPkcs1).toContain("BEGIN RSA PRIVATE KEY");
  });

  it("says an encrypted key needs a passphrase, without quoting the key", () => {
    const encrypted = openssl(["pkey", "-in", `${leaf.directory}/key.pem`, "-aes256", "-passout", "pass:secret"]);
    expect(encrypted).toContain("ENCRYPTED PRIVATE KEY");
    let message = "";
    try {
      parsePrivateKeyPem(encrypted, "upload.privateKeyPem");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("[PRIVATE_KEY_ENCRYPTED]");
    expect(message).toContain("no passphrase");
    expect(message).not.toContain(encrypted.split("\n")[1]);
  });

  it("reports a damaged key without quoting it", () => {
    const lines = leaf.privateKeyPem.split("\n");
    const damaged = [lines[0], lines[1].replace(/^..../, "AAAA"), ...lines.slice(2)].join("\n");
    let message = "";
    try {
      parsePrivateKeyPem(damaged, "upload.privateKeyPem");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("[PRIVATE_KEY_UNPARSEABLE]");
    expect(message).not.toContain(lines[1].slice(4));
  });
});

describe("keyDerivationOf", () => {
  it.each([
    [["-v2", "aes-256-cbc", "-iter", "2048"], { kind: "iterations", iterations: 2048 }],
    [["-v2", "aes-128-cbc", "-iter", "1"], { kind: "iterations", iterations: 1 }],
    [["-scrypt", "-scrypt_N", "1024", "-scrypt_r", "8", "-scrypt_p", "2"], { kind: "scrypt", n: 1024, r: 8, p: 2 }],
    [["-v1", "PBE-SHA1-3DES", "-iter", "5000"], { kind: "iterations", iterations: 5000 }],
  ])("reads what openssl pkcs8 %j wrote", (options, expected) => {
    const encrypted = openssl(["pkcs8", "-topk8", "-in", `${leaf.directory}/key.pem`, ...options, "-passout", "pass:secret"]);
    expect(keyDerivationOf(splitPem(encrypted, { field: "f" })[0].der)).toEqual(expected);
  });

  it("refuses, before OpenSSL derives anything, a key claiming more iterations than certstage allows", () => {
    const encrypted = openssl(["pkcs8", "-topk8", "-in", `${leaf.directory}/key.pem`, "-v2", "aes-256-cbc", "-iter", "1000001", "-passout", "pass:secret"]);
    expect(() => parsePrivateKeyPem(encrypted, "upload.privateKeyPem", "secret")).toThrow(
      "[PRIVATE_KEY_UNPARSEABLE] field 'upload.privateKeyPem': the key is encrypted with 1000001 iterations; certstage derives keys with at most 1000000.",
    );
  });
});

describe("keyMatchesCertificate", () => {
  it("accepts the certificate's own key and refuses another", () => {
    const certificate = parseCertificatePem(leaf.certificatePem, "c").x509;
    expect(keyMatchesCertificate(parsePrivateKeyPem(leaf.privateKeyPem, "k"), certificate)).toBe(true);
    expect(keyMatchesCertificate(parsePrivateKeyPem(other.privateKeyPem, "k"), certificate)).toBe(false);
  });
});
