import { createPrivateKey } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../support/certificates";
import { expectNoPrivateKeyMaterial, privateKeyNeedles } from "../support/secrets";

let leaf: TestCertificate;
let rsaKey: string;
beforeAll(() => {
  leaf = makeTestCertificate(temporaryDirectory("needles"));
  rsaKey = openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
});

describe("private key needles (the leak scanner of the e2e tier)", () => {
  it.each([["EC", () => leaf.privateKeyPem], ["RSA", () => rsaKey]])("%s: finds the key in its PEM body and its JWK, but not in public material", (_kind, key) => {
    const pem = key();
    const body = pem.split("\n").filter((line) => !line.startsWith("-----")).join("");
    const jwk = JSON.stringify(createPrivateKey(pem).export({ format: "jwk" }));
    expect(() => expectNoPrivateKeyMaterial(body, [pem], "pem body")).toThrow(/secret key material/);
    expect(() => expectNoPrivateKeyMaterial(jwk, [pem], "jwk")).toThrow(/secret key material/);
    const publicOnly = openssl(["pkey", "-pubout"], pem) + JSON.stringify(createPrivateKey(pem).export({ format: "jwk" }), ["kty", "crv", "x", "y", "n", "e"]);
    expect(() => expectNoPrivateKeyMaterial(publicOnly.replace(/-----[A-Z ]+-----/g, ""), [pem], "public")).not.toThrow();
    expect(privateKeyNeedles(pem).every((needle) => needle.length >= 32)).toBe(true);
  });

  it("does not match the certificate, whose public key the private key file also holds", () => {
    expect(() => expectNoPrivateKeyMaterial(leaf.certificatePem.replace(/-----[A-Z ]+-----/g, ""), [leaf.privateKeyPem], "certificate")).not.toThrow();
  });
});
