/**
 * How close to its notAfter a certificate may come before `certstage expiring` names it: a fixed
 * duration (`30d`), or a share of the certificate's own lifetime (`33%`), which keeps meaning the
 * same thing as lifetimes shrink (a 47-day certificate is always "inside 30 days" for a third of
 * its life, but inside 33 % for exactly a third).
 */
import { CertstageError } from "../errors";
import { parseDuration } from "./renewal";

export type ExpiryWindow =
  | { readonly text: string; readonly durationMs: number }
  | { readonly text: string; readonly lifetimePercent: number };

/** The validity of a version, as the store keeps it (ISO times). */
export interface Validity {
  readonly notBefore: string;
  readonly notAfter: string;
}

export function parseExpiryWindow(text: string, field = "--within"): ExpiryWindow {
  const trimmed = text.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(trimmed);
  if (percent) {
    const lifetimePercent = Number(percent[1]);
    if (lifetimePercent > 0 && lifetimePercent <= 100) return { text: trimmed, lifetimePercent };
    throw invalid(trimmed, field, "a share of the lifetime must be more than 0 % and at most 100 %");
  }
  const durationMs = parseDuration(trimmed);
  if (durationMs !== undefined && durationMs > 0) return { text: trimmed, durationMs };
  throw invalid(trimmed, field, "it is neither a duration nor a share of the lifetime");
}

function invalid(text: string, field: string, problem: string): CertstageError {
  return new CertstageError("EXPIRY_WINDOW_INVALID", `${field} '${text.slice(0, 40)}': ${problem}`, {
    field,
    fix: "give a duration such as 30d, 72h or 2w, or a share of each certificate's lifetime such as 33%",
  });
}

/** How far ahead of notAfter the window opens for this validity, in milliseconds. */
export function windowLengthMs(window: ExpiryWindow, validity: Validity): number {
  if ("durationMs" in window) return window.durationMs;
  return ((Date.parse(validity.notAfter) - Date.parse(validity.notBefore)) * window.lifetimePercent) / 100;
}

/** Whether a certificate of this validity is inside the window at `now` (an expired one always is). */
export function isInsideWindow(window: ExpiryWindow, validity: Validity, now: Date): boolean {
  return Date.parse(validity.notAfter) - now.getTime() <= windowLengthMs(window, validity);
}
