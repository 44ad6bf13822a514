/**
 * The last guard before a summary leaves the process: whatever the allow-list let through (a
 * diagnostic's message is free text from a provider), a summary that holds anything resembling
 * private key material is refused whole, never "redacted": a reviewer would not know what was cut.
 */
import { CertstageError } from "../errors";

interface Detector {
  readonly what: string;
  readonly pattern: RegExp;
}

const DETECTORS: readonly Detector[] = [
  // PKCS#1, SEC 1, PKCS#8, encrypted PKCS#8, OpenSSH: every PEM label of a private key ends so.
  { what: "a PEM private key block", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
  // RFC 7518 §6.2.2 and §6.3.2 private members, and §6.4.1's symmetric `k`, with a base64url value.
  { what: "a private member of a JWK (d, p, q, dp, dq, qi or k)", pattern: /["']?\b(?:d|p|q|dp|dq|qi|k)\b["']?\s*[:=]\s*["']?[A-Za-z0-9_-]{20,}/ },
  // DER private keys in base64, recognised by how their first bytes encode, for each length form
  // (short, 0x81, 0x82): PKCS#8 PrivateKeyInfo (SEQUENCE, INTEGER 0, SEQUENCE), SEC 1
  // ECPrivateKey (SEQUENCE, INTEGER 1, OCTET STRING), PKCS#1 RSAPrivateKey (SEQUENCE, INTEGER 0,
  // INTEGER), and the PKCS#5 algorithm OIDs an encrypted PKCS#8 key starts with.
  {
    what: "base64 of a DER private key (PKCS#8, SEC 1, PKCS#1 or encrypted PKCS#8)",
    pattern: /M[A-Za-z0-9+/]{2}CAQAw|MI[A-Za-z0-9+/]{2}AgEA[A-Za-z0-9+/]|MII[A-Za-z0-9+/]{3}IBAD|M[A-Za-z0-9+/]{2}CAQEE|MI[A-Za-z0-9+/]{2}AgEB[A-Za-z0-9+/]|MII[A-Za-z0-9+/]{3}IBAAK|BgkqhkiG9w0BBQ/,
  },
];

/** What in `text` looks like private key material, or undefined. */
export function keyMaterialIn(text: string): string | undefined {
  // Markdown escapes (`\_`) and entities (`&lt;`) would split a base64url run: look at both forms.
  const unescaped = text.replace(/\\(.)/g, "$1").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return DETECTORS.find((detector) => detector.pattern.test(text) || detector.pattern.test(unescaped))?.what;
}

/** Throws SUMMARY_KEY_MATERIAL when `text` holds anything that looks like a private key. */
export function refuseKeyMaterial(text: string): void {
  const found = keyMaterialIn(text);
  if (found === undefined) return;
  throw new CertstageError("SUMMARY_KEY_MATERIAL", `the summary would contain ${found}, so it is not written`, {
    field: "--preview",
    fix: "find what printed key material into the preview (a diagnostic, a program's console output) and remove it; rotate that key, since the preview's log already holds it",
  });
}
