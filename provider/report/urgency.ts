/**
 * How urgent a served version's expiry is, in four bands the report colours by. A fixed number of
 * days misjudges short lifetimes: 30 days left is two thirds of a 47-day certificate (CA/B Forum
 * SC-081v3's end state) and a third of a 90-day one. So a band begins when both its duration and
 * its share of the version's own lifetime are reached: the duration rules long lifetimes, the
 * share short ones.
 *
 * - `expired`:  notAfter has passed;
 * - `critical`: at most 7 days and at most a tenth of the lifetime left;
 * - `warning`:  at most 30 days and at most a third of the lifetime left;
 * - `ok`:       more than that.
 */
export type Urgency = "expired" | "critical" | "warning" | "ok";

const DAY_MS = 86_400_000;

/** Each band's duration and share of the lifetime, from the most urgent. */
export const URGENCY_BANDS: ReadonlyArray<{ readonly urgency: "critical" | "warning"; readonly days: number; readonly lifetimeShare: number }> = [
  { urgency: "critical", days: 7, lifetimeShare: 0.1 },
  { urgency: "warning", days: 30, lifetimeShare: 1 / 3 },
];

export function urgencyOf(notBefore: Date, notAfter: Date, now: Date): Urgency {
  const left = notAfter.getTime() - now.getTime();
  if (left <= 0) return "expired";
  const lifetime = Math.max(0, notAfter.getTime() - notBefore.getTime());
  for (const band of URGENCY_BANDS) {
    if (left <= Math.min(band.days * DAY_MS, band.lifetimeShare * lifetime)) return band.urgency;
  }
  return "ok";
}

/** The words a person reads beside the colour (colour alone says nothing to some readers). */
export const URGENCY_LABELS: Readonly<Record<Urgency, string>> = {
  expired: "expired",
  critical: "expires very soon",
  warning: "renew soon",
  ok: "ok",
};
