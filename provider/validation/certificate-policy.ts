/**
 * The rules a certificate version must meet before anything is written, as a list of small pure
 * functions over the parsed version. Each returns the problems it finds; warnings fail too unless
 * the resource acknowledges their code. The only clock is `now`, for validity dates, so the same
 * input always gets the same verdict.
 */
import { CertstageError, escaped, isWarningCode, WARNING_CODES } from "../errors";
import type { ParsedCertificate } from "../pki/certificate";
import type { ChainAnalysis } from "../pki/chain";

export interface PolicySubject {
  readonly leaf: ParsedCertificate;
  readonly chain: ChainAnalysis;
  readonly certificateType: "server" | "ca";
  /** Names the certificate must cover (the resource's `domains` input). */
  readonly domains: readonly string[];
  /** Names the version production serves now covers, when production serves one. */
  readonly productionSans?: readonly string[];
  readonly now: Date;
  /** Input fields, for messages. */
  readonly certificateField: string;
  readonly chainField: string;
}

type Policy = (subject: PolicySubject) => CertstageError[];

/** Names for a message: a certificate may hold any bytes in a name, a message shows them escaped. */
export function names(list: readonly string[]): string {
  return list.map(escaped).join(", ");
}

/** CA/Browser Forum baseline requirements: browsers refuse longer-lived TLS certificates. */
export const MAX_LIFETIME_DAYS = 397;
const ALLOWED_CURVES = ["P-256", "P-384"];
const DAY_MS = 86_400_000;

const validNow: Policy = ({ leaf, now, certificateField }) => {
  const { notBefore, notAfter } = leaf.facts;
  if (Date.parse(notAfter) <= now.getTime()) {
    return [
      new CertstageError("CERTIFICATE_EXPIRED", `the certificate expired at ${notAfter}`, {
        field: certificateField,
        fix: "renew it with your CA and pass the new certificate",
      }),
    ];
  }
  if (Date.parse(notBefore) > now.getTime()) {
    return [
      new CertstageError("CERTIFICATE_NOT_YET_VALID", `the certificate is valid only from ${notBefore}`, {
        field: certificateField,
        fix: "check the clock of the machine that issued it, or wait until it becomes valid",
      }),
    ];
  }
  return [];
};

const strongKey: Policy = ({ leaf, certificateField }) => {
  const [kind, size] = leaf.facts.keyAlgorithm.split(" ");
  if (kind === "RSA" && Number(size) < 2048) {
    return [new CertstageError("KEY_TOO_WEAK", `the key is ${leaf.facts.keyAlgorithm}; at least RSA 2048 is required`, { field: certificateField, fix: "issue the certificate for a new RSA 2048+ or ECDSA P-256 key" })];
  }
  if (kind === "RSA") return [];
  // Whole, so that "ECDSA P-256 (explicit parameters)" is not taken for a P-256 key.
  if (ALLOWED_CURVES.some((curve) => leaf.facts.keyAlgorithm === `ECDSA ${curve}`)) return [];
  return [
    new CertstageError("KEY_ALGORITHM_NOT_ALLOWED", `the key is ${leaf.facts.keyAlgorithm}; allowed are RSA 2048+ and ECDSA ${ALLOWED_CURVES.join(" or ")}`, {
      field: certificateField,
      fix: "issue the certificate for an RSA 2048+ or ECDSA P-256/P-384 key, which every TLS client supports",
    }),
  ];
};

const matchesType: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType === "server" && leaf.facts.isCa) {
    return [
      new CertstageError("CA_TYPE_MISMATCH", `'${leaf.facts.subject}' is a CA certificate (basicConstraints CA:TRUE), but this is a server certificate`, {
        field: certificateField,
        fix: "pass the server (leaf) certificate here, or manage this CA certificate under a Certificate of type 'ca'",
      }),
    ];
  }
  if (certificateType === "ca" && !leaf.facts.isCa) {
    return [
      new CertstageError("CA_TYPE_MISMATCH", `'${leaf.facts.subject}' is not a CA certificate (no basicConstraints CA:TRUE), but this is a CA certificate`, {
        field: certificateField,
        fix: "pass the CA's certificate, or manage this server certificate under a Certificate of type 'server'",
      }),
    ];
  }
  return [];
};

/** RFC 6125 §6.4.3: a wildcard covers exactly one left-most label. */
export function nameCovers(san: string, name: string): boolean {
  const pattern = san.toLowerCase();
  const wanted = name.toLowerCase();
  if (pattern === wanted) return true;
  if (!pattern.startsWith("*.") || wanted.startsWith("*.")) return false;
  const dot = wanted.indexOf(".");
  return dot > 0 && wanted.slice(dot + 1) === pattern.slice(2);
}

const coversDomains: Policy = ({ leaf, domains }) => {
  const missing = domains.filter((domain) => !leaf.facts.sans.some((san) => nameCovers(san, domain)));
  if (missing.length === 0) return [];
  return [
    new CertstageError("DOMAIN_NOT_COVERED", `${names(missing)} ${missing.length === 1 ? "is" : "are"} not in the certificate's names (${names(leaf.facts.sans) || "none"})`, {
      field: "domains",
      fix: "request a certificate whose subjectAltName includes every declared domain, or remove the domain from `domains`",
    }),
  ];
};

const reasonableLifetime: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType === "ca") return [];
  const days = (Date.parse(leaf.facts.notAfter) - Date.parse(leaf.facts.notBefore)) / DAY_MS;
  if (days <= MAX_LIFETIME_DAYS) return [];
  return [
    new CertstageError("LIFETIME_TOO_LONG", `the certificate is valid for ${Math.round(days)} days; browsers refuse server certificates valid for more than ${MAX_LIFETIME_DAYS}`, {
      field: certificateField,
      fix: "ask the CA for a shorter certificate, or acknowledge LIFETIME_TOO_LONG if only non-browser clients use it",
    }),
  ];
};

const soundChain: Policy = ({ chain, chainField }) => {
  const problems = [...chain.problems];
  if (chain.reordered) {
    problems.push(
      new CertstageError("CHAIN_ORDER", `the chain is not leaf-first; in order it is ${chain.ordered.map((certificate) => `'${certificate.facts.subject}'`).join(" -> ")}`, {
        field: chainField,
        fix: "list the intermediates starting with the one that issued the certificate, or acknowledge CHAIN_ORDER to store them reordered",
      }),
    );
  }
  if (chain.includesRoot) {
    problems.push(
      new CertstageError("CHAIN_INCLUDES_ROOT", `the chain ends with the self-signed root '${chain.ordered.at(-1)?.facts.subject}'`, {
        field: chainField,
        fix: "leave the root out (clients have it, and sending it costs bytes in every handshake), or acknowledge CHAIN_INCLUDES_ROOT",
      }),
    );
  }
  return problems;
};

const keepsProductionNames: Policy = ({ leaf, productionSans, certificateType, certificateField }) => {
  if (certificateType === "ca" || !productionSans) return [];
  const dropped = productionSans.filter((name) => !leaf.facts.sans.some((san) => nameCovers(san, name)));
  if (dropped.length === 0) return [];
  return [
    new CertstageError("SANS_REMOVED", `production serves ${names(dropped)}, which this version does not cover`, {
      field: certificateField,
      fix: "include the names in the new certificate, or acknowledge SANS_REMOVED if they are retired on purpose",
    }),
  ];
};

export const CERTIFICATE_POLICIES: readonly Policy[] = [validNow, strongKey, matchesType, coversDomains, reasonableLifetime, soundChain, keepsProductionNames];

/** Problems of `subject`, minus the warnings the resource acknowledged. */
export function evaluatePolicies(subject: PolicySubject, acknowledge: readonly string[]): CertstageError[] {
  return CERTIFICATE_POLICIES.flatMap((policy) => policy(subject)).filter((problem) => !(isWarningCode(problem.code) && acknowledge.includes(problem.code)));
}

/** Only warnings may be acknowledged; acknowledging anything else is itself a mistake. */
export function checkAcknowledgements(acknowledge: readonly string[]): CertstageError[] {
  const invalid = acknowledge.filter((code) => !isWarningCode(code));
  if (invalid.length === 0) return [];
  return [
    new CertstageError("ACKNOWLEDGE_INVALID", `${invalid.join(", ")} cannot be acknowledged: only warnings can (${WARNING_CODES.join(", ")})`, {
      field: "acknowledge",
      fix: "fix the input that causes the error instead; keep only warning codes in `acknowledge`",
    }),
  ];
}
