/**
 * The rules a certificate version must meet before anything is written: small pure functions over
 * the parsed version (policies/), each returning the problems it finds. The validation profile
 * (profiles.ts) decides what each code is: an error, a warning (which fails too unless the
 * resource acknowledges it), or off. The only clock is `now`, for validity dates, so the same
 * input always gets the same verdict.
 */
import { CertstageError } from "../errors";
import { chainOutlivesLeaf, soundChain, strongSignatures } from "./policies/chain";
import { matchesType, strongKey } from "./policies/key";
import { reasonableLifetime, validNow } from "./policies/lifetime";
import { coversDomains, hasSubjectAltName, keepsProductionNames, publicAddresses, wellFormedNames } from "./policies/names";
import type { Policy, PolicySubject } from "./policies/policy";
import { keyUsageFitsKey, publicExtendedKeyUsage, serverAuthAllowed } from "./policies/usage";
import { acknowledgeableCodes, severityOf, ValidationProfile, WARNING_CODES } from "./profiles";

export type { PolicySubject } from "./policies/policy";
export { nameCovers } from "./policies/names";

export const CERTIFICATE_POLICIES: readonly Policy[] = [
  validNow,
  strongKey,
  matchesType,
  hasSubjectAltName,
  wellFormedNames,
  publicAddresses,
  coversDomains,
  serverAuthAllowed,
  publicExtendedKeyUsage,
  keyUsageFitsKey,
  reasonableLifetime,
  soundChain,
  strongSignatures,
  chainOutlivesLeaf,
  keepsProductionNames,
];

/** Problems of `subject` under its profile: rules that are off are dropped, acknowledged warnings too. */
export function evaluatePolicies(subject: PolicySubject, acknowledge: readonly string[]): CertstageError[] {
  return CERTIFICATE_POLICIES.flatMap((policy) => policy(subject)).filter((problem) => {
    const severity = severityOf(problem.code, subject.profile);
    return severity === "error" || (severity === "warning" && !acknowledge.includes(problem.code));
  });
}

/** Only warnings of the profile may be acknowledged; acknowledging anything else is itself a mistake. */
export function checkAcknowledgements(acknowledge: readonly string[], profile: ValidationProfile): CertstageError[] {
  const allowed = acknowledgeableCodes(profile);
  const invalid = acknowledge.filter((code) => !(allowed as string[]).includes(code));
  if (invalid.length === 0) return [];
  const elsewhere = invalid.filter((code) => (WARNING_CODES as string[]).includes(code));
  return [
    new CertstageError("ACKNOWLEDGE_INVALID", `${invalid.join(", ")} cannot be acknowledged under the ${profile} profile: only its warnings can (${allowed.join(", ")})`, {
      field: "acknowledge",
      fix: elsewhere.length > 0 ? `fix the input instead, or, for a certificate of an internal CA, set its profile to "private", where ${elsewhere.join(", ")} ${elsewhere.length === 1 ? "is a warning" : "are warnings"}` : "fix the input that causes the error instead; keep only warning codes in `acknowledge`",
    }),
  ];
}
