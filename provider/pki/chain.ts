/**
 * Intermediate chains: putting them in the order TLS needs (RFC 8446 §4.4.2: each certificate
 * certifies the one before it, leaf first), and finding what makes a chain wrong, duplicates,
 * certificates that certify nothing in it, and signatures that do not verify.
 */
import { CertstageError } from "../errors";
import type { ParsedCertificate } from "./certificate";

export interface ChainAnalysis {
  /** The chain leaf-first: each certificate issued the one before it (the leaf comes first). */
  readonly ordered: ParsedCertificate[];
  /** The given order was not leaf-first. */
  readonly reordered: boolean;
  /** The last certificate of the chain is a self-signed root. */
  readonly includesRoot: boolean;
  /** Duplicates, certificates outside the path, and signatures that do not verify. */
  readonly problems: CertstageError[];
}

/** `subject` names `candidate` as its issuer (RFC 5280 §4.1.2.4). */
function namedIssuer(candidate: ParsedCertificate, subject: ParsedCertificate): boolean {
  return subject.x509.issuer === candidate.x509.subject;
}

/** `issuer` certifies `subject`: names match and the signature verifies with issuer's key. */
export function issues(issuer: ParsedCertificate, subject: ParsedCertificate): boolean {
  return namedIssuer(issuer, subject) && subject.x509.verify(issuer.x509.publicKey);
}

export function isSelfSigned(certificate: ParsedCertificate): boolean {
  return issues(certificate, certificate);
}

/**
 * Builds the path from `leaf` through `chain`. Certificates may be given in any order; what is
 * left over, duplicated or wrongly signed is reported against `field`.
 */
export function analyseChain(leaf: ParsedCertificate, chain: readonly ParsedCertificate[], field: string): ChainAnalysis {
  const problems: CertstageError[] = [];
  const unique: ParsedCertificate[] = [];
  for (const [index, certificate] of chain.entries()) {
    if (unique.some((seen) => seen.facts.fingerprintSha256 === certificate.facts.fingerprintSha256)) {
      problems.push(
        new CertstageError("CHAIN_DUPLICATE", `certificate ${index + 1} (${certificate.facts.subject}) appears more than once`, {
          field,
          fix: "list each intermediate once",
        }),
      );
      continue;
    }
    unique.push(certificate);
  }

  const ordered: ParsedCertificate[] = [];
  const remaining = [...unique];
  let current = leaf;
  for (;;) {
    // By name, then signature: a certificate with the issuer's name but another key is an impostor
    // worth naming, not just an unrelated certificate.
    const namedIssuers = remaining.filter((candidate) => namedIssuer(candidate, current));
    const issuer = namedIssuers.find((candidate) => current.x509.verify(candidate.x509.publicKey));
    if (!issuer) {
      for (const impostor of namedIssuers) {
        problems.push(
          new CertstageError(
            "CHAIN_SIGNATURE_INVALID",
            `'${impostor.facts.subject}' has the name of the issuer of '${current.facts.subject}' but did not sign it (sha256 ${impostor.facts.fingerprintSha256.slice(0, 23)}…)`,
            { field, fix: "use the intermediate certificate your CA publishes for this certificate, not one with the same name" },
          ),
        );
        remaining.splice(remaining.indexOf(impostor), 1);
      }
      break;
    }
    ordered.push(issuer);
    remaining.splice(remaining.indexOf(issuer), 1);
    if (isSelfSigned(issuer)) break;
    current = issuer;
  }

  for (const stray of remaining) {
    problems.push(
      new CertstageError(
        "CHAIN_BROKEN",
        `'${stray.facts.subject}' does not certify '${(ordered.at(-1) ?? leaf).facts.subject}' or any certificate of the chain`,
        { field, fix: "pass the intermediates that issued this certificate (the CA's bundle for it), not another CA's" },
      ),
    );
  }

  const reordered = ordered.some((certificate, index) => unique[index] !== certificate);
  const last = ordered.at(-1);
  return { ordered, reordered, includesRoot: last !== undefined && isSelfSigned(last), problems };
}
