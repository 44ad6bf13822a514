/**
 * Private keys: reading them in any common PEM encoding with Node's crypto, proving they belong
 * to a certificate, and writing them back in one canonical form (unencrypted PKCS#8) that nginx,
 * HAProxy and every TLS library read. Nothing here ever puts key material in an error message.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "node:crypto";
import { CertstageError } from "../errors";
import { keyDerivationOf, keyDerivationProblem } from "./key-encryption";
import { encodePem, expectLabels, splitPem } from "./pem";

/** PKCS#8, PKCS#8 encrypted, PKCS#1 (RSA) and SEC1 (EC) labels. */
export const PRIVATE_KEY_LABELS = ["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"] as const;

export function parsePrivateKeyPem(text: string, field: string, passphrase?: string): KeyObject {
  const blocks = splitPem(text, { field }).filter((block) => block.label !== "EC PARAMETERS");
  expectLabels(blocks, PRIVATE_KEY_LABELS, { field });
  if (blocks.length !== 1) {
    throw new CertstageError("PEM_MALFORMED", `expected one private key, found ${blocks.length}`, {
      field,
      fix: "pass only the key that belongs to this certificate",
    });
  }
  const [block] = blocks;
  const encrypted = block.label === "ENCRYPTED PRIVATE KEY" || block.headers.some(([name, value]) => name === "Proc-Type" && value.includes("ENCRYPTED"));
  if (encrypted && passphrase === undefined) {
    throw new CertstageError("PRIVATE_KEY_ENCRYPTED", "the private key is encrypted and no passphrase was given", {
      field,
      fix: "set the `passphrase` input (it is stored as a secret), or decrypt the key with `openssl pkey -in key.pem -out plain.pem`",
    });
  }
  if (block.label === "ENCRYPTED PRIVATE KEY") refuseCostlyDerivation(block.der, field);
  try {
    // The block checked above, re-encoded: OpenSSL reads exactly what was judged, and never a
    // second block hidden in the text where this parser saw none.
    return createPrivateKey({ key: encodePem(block.label, block.der, block.headers), format: "pem", passphrase });
  } catch (cause) {
    const reason = encrypted ? "the passphrase is wrong or the encrypted key is damaged" : "the key data is damaged or of an unsupported type";
    // Node's message can quote decoder internals but never key bytes; keep only its error code.
    const code = (cause as { code?: string }).code ?? "unknown";
    throw new CertstageError("PRIVATE_KEY_UNPARSEABLE", `${reason} (${code})`, {
      field,
      fix: "export the key again (`openssl pkey -in key.pem`) and check it is the key of this certificate",
    });
  }
}

function refuseCostlyDerivation(der: Buffer, field: string): void {
  const derivation = keyDerivationOf(der);
  const problem = derivation === undefined ? "the encrypted key's encryption parameters cannot be read" : keyDerivationProblem(derivation);
  if (problem === undefined) return;
  throw new CertstageError("PRIVATE_KEY_UNPARSEABLE", problem, {
    field,
    fix: "encrypt the key again with `openssl pkcs8 -topk8 -v2 aes-256-cbc` (2048 iterations), or pass it unencrypted: the input is a secret either way",
  });
}

/** True when the key is the private half of the certificate's public key. */
export function keyMatchesCertificate(key: KeyObject, certificate: X509Certificate): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** Unencrypted PKCS#8 PEM, the form certstage stores and servers read. */
export function toPkcs8Pem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}
