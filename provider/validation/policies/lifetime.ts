/**
 * Dates: a certificate must be valid now, and must not be valid for longer than clients accept
 * for its issue date.
 *
 * Publicly trusted TLS server certificates (CA/B Forum ballot SC-081v3, Baseline Requirements
 * §6.3.2) are limited by their notBefore: 398 days before 2026-03-15, 200 days from then, 100
 * days from 2027-03-15 and 47 days from 2029-03-15. Private CAs set their own limits, but Apple's
 * platforms refuse any TLS server certificate valid for more than 825 days, so that is the private
 * profile's limit. The validity period counts both ends (RFC 5280 §4.1.2.5: notAfter is the last
 * second of validity), as zlint and the CAs count it.
 */
import { CertstageError } from "../../errors";
import type { ValidationProfile } from "../profiles";
import { DAY_MS, Policy } from "./policy";

export interface LifetimeLimit {
  readonly days: number;
  /** The rule and the date it took effect, for the message. */
  readonly rule: string;
}

const PUBLIC_SCHEDULE: ReadonlyArray<{ readonly from: string; readonly days: number }> = [
  { from: "2029-03-15T00:00:00Z", days: 47 },
  { from: "2027-03-15T00:00:00Z", days: 100 },
  { from: "2026-03-15T00:00:00Z", days: 200 },
];

export function lifetimeLimit(profile: ValidationProfile, notBefore: string): LifetimeLimit {
  if (profile === "private") return { days: 825, rule: "Apple's limit for every TLS server certificate, private CAs included" };
  const issued = Date.parse(notBefore);
  const step = PUBLIC_SCHEDULE.find((candidate) => issued >= Date.parse(candidate.from));
  if (step) return { days: step.days, rule: `CA/B Forum SC-081v3 for certificates issued from ${step.from.slice(0, 10)}` };
  return { days: 398, rule: "CA/B Forum SC-081v3 for certificates issued before 2026-03-15" };
}

/** The validity period in seconds, both ends included. */
export function validitySeconds(notBefore: string, notAfter: string): number {
  return (Date.parse(notAfter) - Date.parse(notBefore)) / 1000 + 1;
}

export const validNow: Policy = ({ leaf, now, certificateField }) => {
  const { notBefore, notAfter } = leaf.facts;
  if (Date.parse(notAfter) <= now.getTime()) {
    return [new CertstageError("CERTIFICATE_EXPIRED", `the certificate expired at ${notAfter}`, { field: certificateField, fix: "renew it with your CA and pass the new certificate" })];
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

export const reasonableLifetime: Policy = ({ leaf, certificateType, profile, certificateField }) => {
  if (certificateType === "ca") return [];
  const { notBefore, notAfter } = leaf.facts;
  const limit = lifetimeLimit(profile, notBefore);
  const seconds = validitySeconds(notBefore, notAfter);
  if (seconds <= limit.days * (DAY_MS / 1000)) return [];
  const days = Math.ceil(seconds / (DAY_MS / 1000));
  return [
    new CertstageError("LIFETIME_TOO_LONG", `the certificate is valid for ${days} days from ${notBefore.slice(0, 10)}; the limit is ${limit.days} days (${limit.rule})`, {
      field: certificateField,
      fix: `ask the CA for a certificate valid for at most ${limit.days} days${profile === "public" ? ", or use the private profile if only clients that trust your own CA use it" : ""}`,
    }),
  ];
};
