import { createPublicKey, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { jwkThumbprint, publicJwk } from "../../../provider/pki/jwk";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../../support/certificates";

let leaf: TestCertificate;
beforeAll(() => {
  leaf = makeTestCertificate(temporaryDirectory("jwk"));
});

describe("JWK", () => {
  it("computes the RFC 7638 §3.1 example thumbprint", () => {
    const n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    expect(jwkThumbprint({ kty: "RSA", e: "AQAB", n, alg: "RS256", kid: "ignored" })).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("describes an EC certificate's key: the same key as the certificate, x5c = leaf then chain", () => {
    const certificate = new X509Certificate(leaf.certificatePem);
    const intermediate = new X509Certificate(leaf.chainPem);
    const jwk = publicJwk(certificate, [intermediate]);
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
    expect(jwk.kid).toBe(jwkThumbprint(jwk as unknown as Record<string, unknown>));
    expect(createPublicKey({ key: jwk as never, format: "jwk" }).equals(certificate.publicKey)).toBe(true);
    expect(jwk.x5c).toEqual([certificate.raw.toString("base64"), intermediate.raw.toString("base64")]);
    expect(JSON.stringify(jwk)).not.toMatch(/"d"/);
  });

  it("describes an RSA key with alg RS256", () => {
    const directory = temporaryDirectory("jwk-rsa");
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${directory}/k.pem`, "-out", `${directory}/c.pem`, "-subj", "/CN=rsa.test", "-days", "1"]);
    const certificate = new X509Certificate(require("node:fs").readFileSync(`${directory}/c.pem`));
    const jwk = publicJwk(certificate, []);
    expect(jwk).toMatchObject({ kty: "RSA", e: "AQAB", alg: "RS256" });
    expect(createPublicKey({ key: jwk as never, format: "jwk" }).equals(certificate.publicKey)).toBe(true);
  });
});
