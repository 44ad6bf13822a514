/**
 * What private key material looks like in text, for the guards that run last before text leaves
 * the process (the pull-request summary, the HTML report): whatever an allow-list let through,
 * text holding any of these is refused whole, never "redacted", since a reader would not know
 * what was cut.
 */

/** A PEM private key block's first line: PKCS#1, SEC 1, PKCS#8, encrypted PKCS#8 and OpenSSH labels all end so. */
export const PRIVATE_KEY_PEM_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

interface Detector {
  readonly what: string;
  readonly pattern: RegExp;
}

const DETECTORS: readonly Detector[] = [
  // PKCS#1, SEC 1, PKCS#8, encrypted PKCS#8, OpenSSH: every PEM label of a private key ends so.
  { what: "a PEM private key block", pattern: PRIVATE_KEY_PEM_BLOCK },
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
