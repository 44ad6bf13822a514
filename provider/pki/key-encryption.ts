/**
 * How costly it is to decrypt an encrypted PKCS#8 key (RFC 5958 §3), read before OpenSSL is asked
 * to. The iteration count is part of the key file, so a file claiming two billion PBKDF2 rounds
 * would hold `pulumi preview` for hours while OpenSSL derives a key from a wrong passphrase.
 * certstage reads the parameters (RFC 8018 PBES2 with PBKDF2, RFC 7914 scrypt, PBES1 and the
 * PKCS#12 PBEs) and refuses what costs more than a generous bound, or what it cannot read.
 */
import { integerValue, objectIdentifier, readElement, sequenceChildren } from "./der";

/** Above OWASP's 2023 advice for PBKDF2-SHA256 (600 000), so any key a tool writes; under a second to derive. */
export const MAX_KEY_DERIVATION_ITERATIONS = 1_000_000;
/** scrypt's N*r*p: 16 times `openssl pkcs8 -scrypt`'s default (16384 * 8 * 1). */
export const MAX_SCRYPT_COST = 16 * 16_384 * 8;
/** scrypt's memory, 128*N*r bytes: OpenSSL's own limit. */
export const MAX_SCRYPT_MEMORY_BYTES = 32 * 1024 * 1024;

const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";
const SCRYPT = "1.3.6.1.4.1.11591.4.11";
/** PBES1 (RFC 8018 §6.1) and the PKCS#12 PBEs (RFC 7292 appendix C): salt and iterations, nothing else. */
const SALT_AND_ITERATIONS = /^1\.2\.840\.113549\.1\.(5\.(1|3|4|6|10|11)|12\.1\.[1-6])$/;

export type KeyDerivation =
  | { readonly kind: "iterations"; readonly iterations: number }
  | { readonly kind: "scrypt"; readonly n: number; readonly r: number; readonly p: number };

/** The key derivation of an EncryptedPrivateKeyInfo's DER, or undefined when it cannot be read. */
export function keyDerivationOf(der: Buffer): KeyDerivation | undefined {
  const [algorithm] = sequenceChildren(readElement(der)) ?? [];
  const [scheme, parameters] = sequenceChildren(algorithm) ?? [];
  const schemeId = objectIdentifier(scheme);
  if (schemeId === undefined) return undefined;
  if (SALT_AND_ITERATIONS.test(schemeId)) {
    const iterations = integerValue(sequenceChildren(parameters)?.[1]);
    return iterations === undefined ? undefined : { kind: "iterations", iterations };
  }
  if (schemeId !== PBES2) return undefined;
  const [derivation] = sequenceChildren(parameters) ?? [];
  const [function_, functionParameters] = sequenceChildren(derivation) ?? [];
  const values = sequenceChildren(functionParameters);
  switch (objectIdentifier(function_)) {
    case PBKDF2: {
      const iterations = integerValue(values?.[1]);
      return iterations === undefined ? undefined : { kind: "iterations", iterations };
    }
    case SCRYPT: {
      const [n, r, p] = [values?.[1], values?.[2], values?.[3]].map(integerValue);
      return n === undefined || r === undefined || p === undefined ? undefined : { kind: "scrypt", n, r, p };
    }
    default:
      return undefined;
  }
}

/** Why decrypting with `derivation` would cost too much, or undefined when it is within bounds. */
export function keyDerivationProblem(derivation: KeyDerivation): string | undefined {
  if (derivation.kind === "iterations") {
    if (derivation.iterations < 1) return "the encrypted key claims no iterations, which no tool writes";
    return derivation.iterations <= MAX_KEY_DERIVATION_ITERATIONS ? undefined : `the key is encrypted with ${derivation.iterations} iterations; certstage derives keys with at most ${MAX_KEY_DERIVATION_ITERATIONS}`;
  }
  const { n, r, p } = derivation;
  if (n < 2 || r < 1 || p < 1) return `the encrypted key claims scrypt N=${n}, r=${r}, p=${p}, which no tool writes`;
  if (n * r * p > MAX_SCRYPT_COST || 128 * n * r > MAX_SCRYPT_MEMORY_BYTES) {
    return `the key is encrypted with scrypt N=${n}, r=${r}, p=${p}; certstage derives keys with at most N*r*p = ${MAX_SCRYPT_COST} and ${MAX_SCRYPT_MEMORY_BYTES / 1024 / 1024} MiB`;
  }
  return undefined;
}
