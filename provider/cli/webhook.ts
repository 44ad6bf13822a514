/**
 * Posting one JSON message to a chat webhook (Slack, Mattermost, or anything that takes a JSON
 * POST), for `certstage notify`.
 *
 * - The URL's path and query are a secret: Slack's incoming webhooks put the token in the path
 *   (`/services/T…/B…/<token>`). Only `webhookOrigin` (scheme and host) ever reaches a message,
 *   an error, or the JSON output; the server's answer is never echoed back either.
 * - HTTPS, or plain HTTP to a loopback address only (a relay on the same machine, a test): over
 *   plain HTTP anyone on the path reads the token.
 * - Bounded retries with short, growing waits on a network failure, a 5xx or a 429: the run is
 *   a scheduled job, and what is not delivered now is sent by the next run (the store keeps it
 *   owed). Any other 4xx is the URL's or the message's fault and is not retried.
 */
import { CertstageError } from "../errors";

/** Waits between attempts: three attempts in all, a little over a second of waiting. */
export const RETRY_DELAYS_MS = [250, 1000] as const;
/** One attempt gives up after this long (a hanging server). */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** A Retry-After longer than this is not waited for; the next run sends it. */
const MAX_RETRY_AFTER_MS = 5_000;

export interface Webhook {
  readonly url: URL;
  /** `https://hooks.slack.com`: all of the URL that may be shown. */
  readonly origin: string;
}

export interface RetryWait {
  sleep(milliseconds: number): Promise<void>;
}

export const realWait: RetryWait = { sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)) };

/** Scheme and host (with its port) of a URL: never its path, query, fragment or user info. */
export function webhookOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** Reads `--webhook` (or CERTSTAGE_NOTIFY_WEBHOOK); every refusal names the field and shows no secret. */
export function parseWebhook(text: string | undefined, field: string): Webhook {
  const fix = "give the chat tool's incoming-webhook URL, such as https://hooks.slack.com/services/…, with --webhook or CERTSTAGE_NOTIFY_WEBHOOK";
  if (text === undefined || text.trim() === "") throw new CertstageError("NOTIFY_WEBHOOK_MISSING", "certstage notify needs a webhook to post to", { field: "--webhook", fix });
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    // Not even the text: a mistyped URL still holds the token.
    throw new CertstageError("NOTIFY_WEBHOOK_INVALID", `${field} is not a URL`, { field, fix });
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.test(url.hostname))) {
    throw new CertstageError("NOTIFY_WEBHOOK_INVALID", `${field} is ${url.protocol === "http:" ? `plain HTTP to ${webhookOrigin(url)}` : `a ${url.protocol.replace(/:$/, "")} URL`}; the webhook's path is a secret and must travel over HTTPS`, {
      field,
      fix: "use the https:// URL the chat tool gave (plain http:// is allowed to a loopback address only)",
    });
  }
  if (url.username !== "" || url.password !== "") {
    // fetch refuses such a URL anyway; say why, without the name or password.
    throw new CertstageError("NOTIFY_WEBHOOK_INVALID", `${field} holds a user name or password (${webhookOrigin(url)})`, { field, fix: "give the URL as the chat tool gave it: its secret is in the path, not before the host" });
  }
  return { url, origin: webhookOrigin(url) };
}

/** Whether the answer says "try again later". */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * POSTs `message` as JSON; resolves once the server answers 2xx. Rejects with
 * NOTIFY_SEND_FAILED after the last attempt, naming only the webhook's origin.
 */
export async function postWebhookMessage(webhook: Webhook, message: object, wait: RetryWait = realWait): Promise<{ attempts: number }> {
  const body = JSON.stringify(message);
  let problem = "";
  for (let attempt = 1; ; attempt++) {
    let delay: number | undefined = RETRY_DELAYS_MS[attempt - 1];
    try {
      const response = await fetch(webhook.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "certstage-notify" },
        body,
        redirect: "error",
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      // The body is read and dropped: some servers echo the request, URL included.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { attempts: attempt };
      problem = `it answered HTTP ${response.status}`;
      if (!retryable(response.status)) throw sendFailed(webhook, problem, attempt, "check the webhook URL is the one the chat tool gave and still enabled (a 4xx is not retried)");
      const retryAfter = Number(response.headers.get("retry-after"));
      if (delay !== undefined && Number.isFinite(retryAfter) && retryAfter > 0) delay = retryAfter * 1000 <= MAX_RETRY_AFTER_MS ? Math.max(delay, retryAfter * 1000) : undefined;
    } catch (error) {
      if (error instanceof CertstageError) throw error;
      problem = networkProblem(error);
    }
    if (delay === undefined) throw sendFailed(webhook, problem, attempt, "the next run of certstage notify sends what was not delivered; check the chat tool is reachable from this runner");
    await wait.sleep(delay);
  }
}

function sendFailed(webhook: Webhook, problem: string, attempts: number, fix: string): CertstageError {
  return new CertstageError("NOTIFY_SEND_FAILED", `posting to the webhook at ${webhook.origin} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${problem}`, { field: "--webhook", fix });
}

/** What went wrong on the wire, in words, from the error's code only (its message may hold the URL). */
function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause;
  const code = cause?.code ?? (error as { code?: string })?.code;
  const name = (error as { name?: string })?.name;
  if (name === "TimeoutError") return `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`;
  if (code === "ECONNREFUSED") return "the connection was refused (ECONNREFUSED)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `its host name does not resolve (${code})`;
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return `the connection was dropped (${code})`;
  if (typeof code === "string" && /^(CERT_|ERR_TLS|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code)) return `its TLS certificate was refused (${code})`;
  return typeof code === "string" ? `the request failed (${code})` : "the request failed";
}
