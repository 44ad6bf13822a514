/**
 * Validation profiles: which rules a certificate is held to, and how hard. `public` is the Web
 * PKI, the rules browsers and publicly trusted CAs apply (CA/Browser Forum Baseline Requirements,
 * RFC 5280); it is the default. `private` is an internal CA's world, where the rules that exist
 * only for the Web PKI (lifetime caps, the mandatory EKU, the key algorithm list) are warnings or
 * off, and what every TLS client enforces still holds.
 *
 * An error fails the preview. A warning fails it too unless the version lists the code in
 * `acknowledge`. Off means the rule does not run. This table is the single source: the policies
 * emit problems, the profile decides what becomes of them, and the README's table is checked
 * against it by a test.
 */
import type { ErrorCode } from "../errors";

export const VALIDATION_PROFILES = ["public", "private"] as const;
export type ValidationProfile = (typeof VALIDATION_PROFILES)[number];
export const DEFAULT_PROFILE: ValidationProfile = "public";

export type Severity = "error" | "warning" | "off";

export interface RuleSeverity {
  readonly public: Severity;
  readonly private: Severity;
}

/** Every code a certificate policy can report, with its severity under each profile. */
export const POLICY_SEVERITIES = {
  CERTIFICATE_EXPIRED: { public: "error", private: "error" },
  CERTIFICATE_NOT_YET_VALID: { public: "error", private: "error" },
  KEY_TOO_WEAK: { public: "error", private: "error" },
  KEY_ALGORITHM_NOT_ALLOWED: { public: "error", private: "warning" },
  CA_TYPE_MISMATCH: { public: "error", private: "error" },
  DOMAIN_NOT_COVERED: { public: "error", private: "error" },
  SAN_MISSING: { public: "error", private: "error" },
  DNS_NAME_INVALID: { public: "error", private: "error" },
  IP_ADDRESS_RESERVED: { public: "error", private: "off" },
  SERVER_AUTH_NOT_ALLOWED: { public: "error", private: "error" },
  EXTENDED_KEY_USAGE_INVALID: { public: "error", private: "off" },
  KEY_USAGE_INVALID: { public: "error", private: "warning" },
  SIGNATURE_ALGORITHM_WEAK: { public: "error", private: "error" },
  LIFETIME_TOO_LONG: { public: "error", private: "warning" },
  CHAIN_BROKEN: { public: "error", private: "error" },
  CHAIN_SIGNATURE_INVALID: { public: "error", private: "error" },
  CHAIN_DUPLICATE: { public: "error", private: "error" },
  CHAIN_EXPIRES_BEFORE_LEAF: { public: "warning", private: "warning" },
  CHAIN_ORDER: { public: "warning", private: "warning" },
  CHAIN_INCLUDES_ROOT: { public: "warning", private: "warning" },
  SANS_REMOVED: { public: "warning", private: "warning" },
} as const satisfies Partial<Record<ErrorCode, RuleSeverity>>;

export type PolicyCode = keyof typeof POLICY_SEVERITIES;

export function isPolicyCode(code: string): code is PolicyCode {
  return Object.prototype.hasOwnProperty.call(POLICY_SEVERITIES, code);
}

/** A code this table does not know, or a profile it does not know, is an error: nothing slips through as "off". */
export function severityOf(code: string, profile: ValidationProfile): Severity {
  return isPolicyCode(code) ? (POLICY_SEVERITIES[code][profile] ?? "error") : "error";
}

/** Codes that are warnings in `profile`, so a version may acknowledge them. */
export function acknowledgeableCodes(profile: ValidationProfile): PolicyCode[] {
  return (Object.keys(POLICY_SEVERITIES) as PolicyCode[]).filter((code) => POLICY_SEVERITIES[code][profile] === "warning");
}

export function isValidationProfile(value: unknown): value is ValidationProfile {
  return typeof value === "string" && (VALIDATION_PROFILES as readonly string[]).includes(value);
}

/** Codes that are warnings in some profile: the values `acknowledge` can hold. */
export const WARNING_CODES = (Object.keys(POLICY_SEVERITIES) as PolicyCode[]).filter((code) => VALIDATION_PROFILES.some((profile) => POLICY_SEVERITIES[code][profile] === "warning"));
export type WarningCode = { [Code in PolicyCode]: (typeof POLICY_SEVERITIES)[Code] extends { public: "warning" } | { private: "warning" } ? Code : never }[PolicyCode];

