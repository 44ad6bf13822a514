import { createPublicKey, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createRequestAndPlaceholder, PLACEHOLDER_LIFETIME_DAYS } from "../../../provider/pki/certificate-request";
import { generatePrivateKey, KeyAlgorithm } from "../../../provider/pki/key-generation";
import { openssl } from "../../support/certificates";

describe("generate: key, CSR and placeholder", () => {
  it.each([
    ["ECDSA-P256", "ECDSA", "256 bit"],
    ["ECDSA-P384", "ECDSA", "384 bit"],
    ["RSA-2048", "RSA", "2048 bit"],
  ] as const)("%s: OpenSSL verifies the CSR, the placeholder carries the same key and names", async (algorithm: KeyAlgorithm, _kind, bits) => {
    const now = new Date("2026-11-22T12:00:00Z");
    const key = await generatePrivateKey(algorithm);
    const { csrPem, placeholderCertificatePem } = await createRequestAndPlaceholder(
      key,
      algorithm,
      { commonName: "api.example.test", organization: "Example, Inc.", country: "DE" },
      ["api.example.test", "www.example.test", "127.0.0.1"],
      now,
    );
    const csrText = openssl(["req", "-noout", "-verify", "-text"], csrPem);
    expect(csrText).toContain(bits);
    expect(csrText).toMatch(/DNS:api\.example\.test, DNS:www\.example\.test, IP Address:127\.0\.0\.1/);
    const csrKey = createPublicKey(openssl(["req", "-noout", "-pubkey"], csrPem));
    expect(csrKey.equals(createPublicKey(key))).toBe(true);

    const placeholder = new X509Certificate(placeholderCertificatePem);
    expect(placeholder.checkPrivateKey(key)).toBe(true);
    expect(placeholder.verify(placeholder.publicKey)).toBe(true);
    expect(placeholder.ca).toBe(false);
    expect(placeholder.subject).toBe("C=DE\nO=Example\\, Inc.\nCN=api.example.test");
    expect(placeholder.subjectAltName).toBe("DNS:api.example.test, DNS:www.example.test, IP Address:127.0.0.1");
    expect(Date.parse(placeholder.validTo) - now.getTime()).toBe(PLACEHOLDER_LIFETIME_DAYS * 86_400_000 - (now.getTime() % 1000));
  });
});
