/**
 * What an http target may show of a request or an answer: never the token, never key material.
 * An API may echo what it was sent (a validation error quoting the body), so an answer's excerpt
 * goes through the same redaction as everything else before it reaches an error or history.
 */

/** Longest stretch of an answer an error quotes. */
export const EXCERPT_LIMIT = 200;

const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/**
 * A function that hides `secrets` in text: each whole, and each line of a multi-line one (a PEM's
 * base64 lines), since an echo may re-wrap or JSON-escape the line breaks between them. Any
 * private key block is hidden too, whoever's it is.
 */
export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret === "") continue;
    needles.add(secret);
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16 && !line.startsWith("-----")) needles.add(line.trim());
  }
  // Longest first, so a whole secret is replaced before its lines are looked for.
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((result, needle) => result.split(needle).join("***"), text.replace(PRIVATE_KEY_BLOCK, "[private key]"));
}

/** A short, one-line, redacted excerpt of an answer's body, for an error. */
export function bodyExcerpt(body: string, redact: (text: string) => string): string {
  const line = redact(body).replace(/\s+/g, " ").trim();
  return line.length > EXCERPT_LIMIT ? `${line.slice(0, EXCERPT_LIMIT)}…` : line;
}
