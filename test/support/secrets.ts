/**
 * Finding private key material in text. A PEM line of a key is not a good needle: PKCS#8 also
 * holds the public key, which rightly appears in certificates and JWKs. These needles are made
 * from the secret components only (RSA d, p, q, dp, dq, qi; EC d), in every encoding that could
 * carry them: hex, and base64 and base64url at each of the three byte alignments.
 *
 * Where a secret lands, it is rarely on one line: a PEM body breaks every 64 characters, JSON
 * writes those breaks as `\n`, OpenSSL's `-text` prints hex in colon-separated rows. So the text
 * is searched with whitespace and escaped line breaks removed (and, for hex, colons too and case
 * ignored); and every long base64 run in it is decoded and searched again, for a PEM or a DER
 * that was encoded once more (a Kubernetes secret, a data: URL).
 */
import { createPrivateKey } from "node:crypto";
import { expect } from "vitest";

const SECRET_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];
/** Long enough that no public value or random text holds one by chance (about 192 bits). */
const NEEDLE_LENGTH = 32;

export interface KeyNeedles {
  /** base64 and base64url slices: matched against the text with whitespace removed. */
  readonly encoded: string[];
  /** Lowercase hex: matched against the text with whitespace and colons removed, lowercased. */
  readonly hex: string[];
}

export function privateKeyNeedles(pem: string): KeyNeedles {
  const jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, string>;
  const encoded: string[] = [];
  const hex: string[] = [];
  for (const member of SECRET_MEMBERS.filter((name) => jwk[name] !== undefined)) {
    const secret = Buffer.from(jwk[member], "base64url");
    hex.push(secret.toString("hex").slice(0, 2 * NEEDLE_LENGTH));
    for (let shift = 0; shift < 3; shift += 1) {
      // Whatever precedes the secret in a larger encoding, its middle encodes the same way: skip
      // the first group of four, which also holds the bytes before it.
      const aligned = Buffer.concat([Buffer.alloc(shift), secret]);
      for (const encoding of ["base64", "base64url"] as const) encoded.push(aligned.toString(encoding).slice(4, 4 + NEEDLE_LENGTH));
    }
  }
  return { encoded: [...new Set(encoded)], hex: [...new Set(hex)] };
}

/** A PEM private key block's first line (messages may name the label; a leak carries this). */
const PRIVATE_KEY_BEGIN = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** Whitespace, and line breaks and tabs as JSON and shell strings escape them. */
const BREAKS = /\s+|\\[nrt]/g;
/** A run that may be base64 of something else: long enough to hold a key. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{88,}={0,2}/g;

/** The needle found in `text` (or in what its base64 runs decode to), if any. */
export function findPrivateKeyMaterial(text: string, keys: readonly string[]): string | undefined {
  return findNeedles(text, keys.map(privateKeyNeedles), 1);
}

function findNeedles(text: string, needles: readonly KeyNeedles[], depth: number): string | undefined {
  if (PRIVATE_KEY_BEGIN.test(text)) return "a PEM private key header";
  const compact = text.replace(BREAKS, "");
  const hexCompact = compact.replace(/:/g, "").toLowerCase();
  for (const key of needles) {
    const found = key.encoded.find((needle) => compact.includes(needle)) ?? key.hex.find((needle) => hexCompact.includes(needle));
    if (found) return found;
  }
  if (depth === 0) return undefined;
  for (const run of compact.match(BASE64_RUN) ?? []) {
    // The run may begin with text that only looks like base64 (a word before it): try each of the
    // four alignments, one of which decodes the encoded part right.
    for (let offset = 0; offset < 4; offset += 1) {
      const decoded = Buffer.from(run.slice(offset).replace(/-/g, "+").replace(/_/g, "/"), "base64");
      const found = findNeedles(decoded.toString("latin1"), needles, depth - 1) ?? findNeedles(decoded.toString("hex"), needles, depth - 1);
      if (found) return `${found}, inside base64`;
    }
  }
  return undefined;
}

/** Asserts `text` holds no PEM private key and no secret component of any of `keys`. */
export function expectNoPrivateKeyMaterial(text: string, keys: readonly string[], where: string): void {
  expect(text, where).not.toMatch(PRIVATE_KEY_BEGIN);
  const found = findPrivateKeyMaterial(text, keys);
  if (found) throw new Error(`${where}: contains secret key material (${found.slice(0, 8)}…)`);
}
