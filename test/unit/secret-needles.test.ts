/**
 * The leak scanner every "no private key appeared" check rests on. Each key is looked for as a leak
 * would carry it: the PEM as written (its lines broken every 64 characters, so a needle straddles
 * a break), without its header, inside JSON, with CRLF, re-wrapped at any width, as OpenSSL's
 * colon-separated hex, as the DER's hex, base64 of the whole PEM, and the JWK. Public material of
 * the same key must not match.
 */
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../support/certificates";
import { expectNoPrivateKeyMaterial, findPrivateKeyMaterial, privateKeyNeedles } from "../support/secrets";

let leaf: TestCertificate;
let rsaKey: string;
beforeAll(() => {
  leaf = makeTestCertificate(temporaryDirectory("needles"));
  rsaKey = openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
});

const withoutHeaders = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, "");
const derOf = (pem: string) => createPrivateKey(pem).export({ type: "pkcs8", format: "der" });

const LEAKS: Array<[string, (pem: string) => string]> = [
  ["the PEM body as written, line breaks and all", withoutHeaders],
  ["the PEM body inside JSON (escaped line breaks)", (pem) => JSON.stringify({ key: withoutHeaders(pem) })],
  ["the PEM body with CRLF line ends", (pem) => withoutHeaders(pem).replace(/\n/g, "\r\n")],
  ["the PEM body indented, as YAML holds it", (pem) => withoutHeaders(pem).replace(/^/gm, "    ")],
  ["OpenSSL's -text hex (colons, rows)", (pem) => openssl(["pkey", "-text", "-noout"], pem).replace(/-----[A-Z ]+-----/g, "")],
  ["the DER as uppercase hex", (pem) => derOf(pem).toString("hex").toUpperCase()],
  ["base64 of the whole PEM (a Kubernetes secret)", (pem) => Buffer.from(pem).toString("base64")],
  ["base64url of the DER", (pem) => derOf(pem).toString("base64url")],
  ["the JWK", (pem) => JSON.stringify(createPrivateKey(pem).export({ format: "jwk" }))],
];

describe("private key needles (the leak scanner of the e2e tier)", () => {
  describe.each([["EC P-256", () => leaf.privateKeyPem], ["RSA 2048", () => rsaKey]])("%s", (_kind, key) => {
    it.each(LEAKS)("finds %s", (_leak, encode) => {
      const pem = key();
      const text = `some log line before\n${encode(pem)}\nand after`;
      expect(findPrivateKeyMaterial(text, [pem])).toBeDefined();
      expect(() => expectNoPrivateKeyMaterial(text, [pem], "leak")).toThrow(/secret key material|PRIVATE KEY/);
    });

    it("finds the PEM body re-wrapped at any width and split anywhere", () => {
      const pem = key();
      const body = withoutHeaders(pem).replace(/\s/g, "");
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 80 }), fc.constantFrom("\n", "\r\n", " ", "\\n"), (width, separator) => {
          const wrapped = body.match(new RegExp(`.{1,${width}}`, "g"))!.join(separator);
          return findPrivateKeyMaterial(wrapped, [pem]) !== undefined;
        }),
        { numRuns: 60 },
      );
    });

    it("does not match public material of the same key", () => {
      const pem = key();
      const jwk = createPrivateKey(pem).export({ format: "jwk" });
      const publicJwk = JSON.stringify(jwk, ["kty", "crv", "x", "y", "n", "e"]);
      const publicPem = openssl(["pkey", "-pubout"], pem);
      const publicText = openssl(["pkey", "-pubin", "-text", "-noout"], publicPem);
      expect(findPrivateKeyMaterial(`${withoutHeaders(publicPem)}\n${publicJwk}\n${publicText}\n${Buffer.from(publicPem).toString("base64")}`, [pem])).toBeUndefined();
      const needles = privateKeyNeedles(pem);
      expect([...needles.encoded, ...needles.hex].every((needle) => needle.length >= 32)).toBe(true);
    });
  });

  it("does not match the certificate, whose public key the private key file also holds", () => {
    expect(() => expectNoPrivateKeyMaterial(withoutHeaders(leaf.certificatePem), [leaf.privateKeyPem], "certificate")).not.toThrow();
    expect(() => expectNoPrivateKeyMaterial(leaf.certificatePem, [leaf.privateKeyPem], "certificate with headers")).not.toThrow();
  });

  it("does not match another key of the same kind", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(findPrivateKeyMaterial(withoutHeaders(other), [leaf.privateKeyPem])).toBeUndefined();
  });
});
