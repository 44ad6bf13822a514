/**
 * Finding private key material in text. A PEM line of a key is not a good needle: PKCS#8 also
 * holds the public key, which rightly appears in certificates and JWKs. These needles are made
 * from the secret components only (RSA d, p, q, dp, dq, qi; EC d), in every encoding that could
 * carry them: hex, base64url, and base64 at each of the three byte alignments.
 */
import { createPrivateKey } from "node:crypto";
import { expect } from "vitest";


const SECRET_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];

export function privateKeyNeedles(pem: string): string[] {
  const jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, string>;
  const needles: string[] = [];
  for (const member of SECRET_MEMBERS.filter((name) => jwk[name] !== undefined)) {
    const secret = Buffer.from(jwk[member], "base64url");
    needles.push(secret.toString("hex").slice(0, 40), jwk[member].slice(0, 32));
    for (let shift = 0; shift < 3; shift += 1) {
      // Whatever precedes the secret in a larger encoding, its middle encodes the same way.
      const encoded = Buffer.concat([Buffer.alloc(shift), secret]).toString("base64");
      needles.push(encoded.slice(4, 36));
    }
  }
  return needles;
}

/** A PEM private key block's first line (messages may name the label; a leak carries this). */
const PRIVATE_KEY_BEGIN = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Asserts `text` holds no PEM private key and no secret component of any of `keys`. */
export function expectNoPrivateKeyMaterial(text: string, keys: readonly string[], where: string): void {
  expect(text, where).not.toMatch(PRIVATE_KEY_BEGIN);
  for (const key of keys) {
    for (const needle of privateKeyNeedles(key)) {
      if (text.includes(needle)) throw new Error(`${where}: contains secret key material (${needle.slice(0, 8)}…)`);
    }
  }
}
