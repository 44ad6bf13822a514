/**
 * When a certificate is due for renewal: from its validity and the renewal window the user set,
 * or from the window the CA suggests through ARI (RFC 9773). Pure: the clock is a parameter, so
 * `pulumi preview` at any time, and every test, gets the same answer for the same inputs.
 */
import { CertstageError } from "../errors";

export interface RenewalWindow {
  /** Renew this long before notAfter, in milliseconds. */
  readonly renewBeforeMs?: number;
  /** Renew when this share (0-100) of the lifetime is left. */
  readonly renewBeforePercent?: number;
}

/** A renewal window suggested by the CA (RFC 9773 §4.2). */
export interface SuggestedWindow {
  readonly start: string;
  readonly end: string;
}

export interface RenewalDecision {
  readonly due: boolean;
  /** When renewal becomes (or became) due. */
  readonly dueAt: string;
  /** One line a reviewer reads in a preview. */
  readonly reason: string;
}

const DAY_MS = 86_400_000;
/** Short-lived certificates (10 days or less) renew at half their life, others at two thirds. */
const SHORT_LIVED_MS = 10 * DAY_MS;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/**
 * The longest duration certstage reads. No certificate lives a century, so a longer window is a
 * typo; and beyond the range of a Date (a thousand digits of days is Infinity) every time computed
 * from it would be invalid.
 */
export const MAX_DURATION_MS = 100 * 365 * DAY_MS;

/** `30d`, `720h`, `1h30m`, `90s`: a duration in milliseconds, or undefined if it is not one (or longer than MAX_DURATION_MS). */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?[smhdw])+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) total += Number(amount) * UNITS[unit];
  return total <= MAX_DURATION_MS ? total : undefined;
}

/** How long before notAfter renewal is due, for a certificate of `lifetimeMs`. */
export function renewBeforeMs(window: RenewalWindow, lifetimeMs: number): number {
  if (window.renewBeforeMs !== undefined) return window.renewBeforeMs;
  if (window.renewBeforePercent !== undefined) return (lifetimeMs * window.renewBeforePercent) / 100;
  return lifetimeMs <= SHORT_LIVED_MS ? lifetimeMs / 2 : lifetimeMs / 3;
}

/**
 * Problems with a window: one that can never be satisfied (renewal due the moment a certificate is
 * issued, a renewal loop) or that is not a window at all. `lifetimeMs` is the lifetime of the
 * certificate the CA issues, when known (after the first issuance).
 */
export function windowProblems(window: RenewalWindow, lifetimeMs?: number): CertstageError[] {
  const problems: CertstageError[] = [];
  if (window.renewBeforeMs !== undefined && window.renewBeforePercent !== undefined) {
    problems.push(new CertstageError("RENEWAL_WINDOW_INVALID", "both renewBefore and renewBeforePercent are set", { field: "renewBefore", fix: "set only one of them" }));
  }
  if (window.renewBeforePercent !== undefined && !(window.renewBeforePercent > 0 && window.renewBeforePercent < 100)) {
    problems.push(
      new CertstageError("RENEWAL_WINDOW_INVALID", `renewBeforePercent ${window.renewBeforePercent} is not between 0 and 100 (exclusive)`, {
        field: "renewBeforePercent",
        fix: "use a share of the lifetime such as 33 (renew when a third is left)",
      }),
    );
  }
  if (window.renewBeforeMs !== undefined && !(window.renewBeforeMs > 0)) {
    problems.push(new CertstageError("RENEWAL_WINDOW_INVALID", "renewBefore must be a positive duration", { field: "renewBefore", fix: "use a duration such as '30d' or '720h'" }));
  }
  if (lifetimeMs !== undefined && window.renewBeforeMs !== undefined && window.renewBeforeMs >= lifetimeMs) {
    problems.push(
      new CertstageError("RENEWAL_WINDOW_INVALID", `renewBefore (${formatDuration(window.renewBeforeMs)}) is not shorter than the certificates this CA issues (${formatDuration(lifetimeMs)}): every certificate would be due at once`, {
        field: "renewBefore",
        fix: `use less than ${formatDuration(lifetimeMs)}, or renewBeforePercent`,
      }),
    );
  }
  return problems;
}

/**
 * Picks one time inside the CA's suggested window, as RFC 9773 §4.2 asks (uniformly at random, so
 * a fleet does not renew at once). `random` in [0, 1) is injected: callers persist the result so
 * that every later preview agrees.
 */
export function chooseRenewalTime(window: SuggestedWindow, random: number): string {
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  return new Date(start + Math.floor(Math.max(0, end - start) * Math.min(Math.max(random, 0), 0.999999))).toISOString();
}

export interface RenewalFacts {
  readonly notBefore: string;
  readonly notAfter: string;
  readonly window: RenewalWindow;
  /** The time chosen inside the CA's ARI window, when the CA offers one; it overrides the window. */
  readonly ariRenewalTime?: string;
  readonly now: Date;
}

export function decideRenewal({ notBefore, notAfter, window, ariRenewalTime, now }: RenewalFacts): RenewalDecision {
  const expires = Date.parse(notAfter);
  const lifetime = expires - Date.parse(notBefore);
  const before = renewBeforeMs(window, lifetime);
  const dueAt = ariRenewalTime ?? new Date(expires - before).toISOString();
  const due = now.getTime() >= Date.parse(dueAt);
  const left = expires - now.getTime();
  const expiry = left > 0 ? `expires ${notAfter.slice(0, 10)}, ${formatDuration(left)} left` : `expired ${notAfter.slice(0, 10)}`;
  const rule = ariRenewalTime ? `the CA's renewal window (ARI) suggests ${dueAt}` : `window ${formatDuration(before)}`;
  return { due, dueAt, reason: due ? `renewal due: ${expiry}, ${rule}` : `not due until ${dueAt}: ${expiry}, ${rule}` };
}

/** `12 days`, `5 hours`, `3 minutes`: the largest whole unit, for messages. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  const [size, unit] = abs >= 2 * DAY_MS ? [DAY_MS, "day"] : abs >= 2 * 3_600_000 ? [3_600_000, "hour"] : abs >= 2 * 60_000 ? [60_000, "minute"] : [1000, "second"];
  const count = Math.floor(abs / size);
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}
