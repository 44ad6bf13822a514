/**
 * When an http target tries a request again: on 429 and 5xx answers, a timeout or a dropped
 * connection, with exponential backoff (0.5 s, 1 s, 2 s … capped at 8 s), and for as long as
 * `Retry-After` asks when the API says (seconds or an HTTP date, RFC 9110 §10.2.3) up to a
 * minute. A longer wait, or any other answer, ends the attempts: a deploy runs inside `pulumi
 * up`, and a run that waits for minutes is worse than one that fails saying why. Pure, so the
 * plan is a table in a test and no test sleeps.
 */

export const FIRST_DELAY_MS = 500;
export const MAX_BACKOFF_MS = 8000;
export const MAX_RETRY_AFTER_MS = 60_000;

export type AttemptOutcome = { readonly status: number; readonly retryAfter?: string } | { readonly failure: "timeout" | "connection" };

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly why?: string };

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** The wait before attempt `attempt + 1` by backoff alone. */
export function backoffDelayMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
}

/** Milliseconds a Retry-After value asks for, or undefined when it is not one. */
export function retryAfterMs(value: string | undefined, now: Date): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Whether attempt `attempt` (from 1) of `attempts` is followed by another, and after how long. */
export function retryDecision(outcome: AttemptOutcome, attempt: number, attempts: number, now: Date): RetryDecision {
  if ("status" in outcome && !isRetryableStatus(outcome.status)) return { retry: false };
  if (attempt >= attempts) return { retry: false };
  const backoff = backoffDelayMs(attempt);
  const asked = "status" in outcome ? retryAfterMs(outcome.retryAfter, now) : undefined;
  if (asked !== undefined && asked > MAX_RETRY_AFTER_MS) return { retry: false, why: `the API asked to wait ${Math.round(asked / 1000)} s (Retry-After), longer than certstage waits (${MAX_RETRY_AFTER_MS / 1000} s)` };
  return { retry: true, delayMs: Math.max(backoff, asked ?? 0) };
}
