/**
 * The few GitHub REST calls certstage makes (issue comments, for `certstage pr-comment`), over
 * Node's global fetch: no SDK, so the requests are exactly what this file says and a test can
 * check every one against a local server.
 *
 * - Headers are the documented ones: `Accept: application/vnd.github+json`,
 *   `X-GitHub-Api-Version: 2022-11-28`, `Authorization: Bearer <token>`.
 * - Lists follow the `Link: <…>; rel="next"` header to the end: GitHub caps a page at 100, and a
 *   busy pull request has more comments than that (the bug of pulumi/actions' unpaginated lookup).
 * - 5xx, 429 and secondary rate limits are retried a bounded number of times, waiting through an
 *   injected clock (`Retry-After` when GitHub gives one), so tests never sleep.
 * - Every failure is a CertstageError naming the call and what to fix; the token never appears
 *   in one (it is redacted from anything GitHub echoes back).
 */
import { CertstageError, type ErrorCode } from "../errors";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";
export const GITHUB_API_VERSION = "2022-11-28";

/** How the client waits between retries; tests pass one that records the delay and returns. */
export interface RetryClock {
  sleep(milliseconds: number): Promise<void>;
}

export const realRetryClock: RetryClock = { sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)) };

export interface GitHubRestOptions {
  readonly token: string;
  /** `GITHUB_API_URL` on Actions runners (GitHub Enterprise Server has its own). */
  readonly apiUrl?: string;
  readonly clock?: RetryClock;
  /** Attempts per request, the first included. */
  readonly maxAttempts?: number;
}

export interface GitHubResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

const MAX_ATTEMPTS = 4;
const MAX_DELAY_MS = 60_000;

export class GitHubRestClient {
  private readonly apiUrl: string;
  private readonly clock: RetryClock;
  private readonly maxAttempts: number;

  constructor(private readonly options: GitHubRestOptions) {
    this.apiUrl = (options.apiUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, "");
    this.clock = options.clock ?? realRetryClock;
    this.maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  }

  /** One call; `pathAndQuery` starts with `/`, or is a full URL GitHub gave (a `Link` target). */
  async request<T>(method: string, pathAndQuery: string, body?: unknown, what = `${method} ${pathAndQuery}`): Promise<GitHubResponse<T>> {
    const url = pathAndQuery.startsWith("/") ? `${this.apiUrl}${pathAndQuery}` : pathAndQuery;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            Accept: "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
            Authorization: `Bearer ${this.options.token}`,
            "User-Agent": "certstage",
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        if (attempt < this.maxAttempts) {
          await this.clock.sleep(backoffDelay(attempt));
          continue;
        }
        throw new CertstageError("GITHUB_UNAVAILABLE", `${what}: ${this.redact(describeCause(error))} (after ${attempt} attempts)`, {
          fix: `check that GITHUB_API_URL (${this.apiUrl}) is reachable from this runner`,
        });
      }
      const text = await response.text();
      if (response.ok) return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as T, headers: response.headers };
      const message = this.redact(githubMessage(text));
      const retryAfter = retryDelay(response, message);
      if (retryAfter !== undefined && attempt < this.maxAttempts) {
        await this.clock.sleep(retryAfter ?? backoffDelay(attempt));
        continue;
      }
      throw refusal(response.status, what, message, attempt);
    }
  }

  /** Every item of a list endpoint, page after page, as `Link: rel="next"` leads. */
  async paginate<T>(pathAndQuery: string, what: string): Promise<T[]> {
    const items: T[] = [];
    for (let next: string | undefined = pathAndQuery; next !== undefined; ) {
      const page: GitHubResponse<T[]> = await this.request<T[]>("GET", next, undefined, what);
      items.push(...page.body);
      next = nextPageUrl(page.headers.get("link"));
    }
    return items;
  }

  /** Anything GitHub echoes back, without the token (it never should contain it, but may). */
  redact(text: string): string {
    return this.options.token === "" ? text : text.split(this.options.token).join("***");
  }
}

/** The `rel="next"` target of a `Link` header (RFC 8288), if there is one. */
export function nextPageUrl(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (match && /\brel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/.test(match[2])) return match[1];
  }
  return undefined;
}

/** 1 s, 2 s, 4 s … capped: a few retries ride out a blip, and a job never hangs for long. */
export function backoffDelay(attempt: number): number {
  return Math.min(MAX_DELAY_MS, 1000 * 2 ** (attempt - 1));
}

/**
 * How long to wait before retrying, or undefined when the failure is final. `null` means
 * "retry after the usual backoff" (no hint from GitHub).
 */
function retryDelay(response: Response, message: string): number | null | undefined {
  const hinted = Number(response.headers.get("retry-after"));
  const hint = Number.isFinite(hinted) && hinted > 0 ? Math.min(MAX_DELAY_MS, hinted * 1000) : null;
  if (response.status >= 500 || response.status === 429) return hint;
  const secondaryLimit = /secondary rate limit/i.test(message) || response.headers.get("x-ratelimit-remaining") === "0";
  if (response.status === 403 && (secondaryLimit || response.headers.has("retry-after"))) return hint;
  return undefined;
}

function refusal(status: number, what: string, message: string, attempts: number): CertstageError {
  const said = message === "" ? `HTTP ${status}` : `HTTP ${status}: ${message}`;
  const rateLimited = status === 429 || /rate limit/i.test(message);
  const [code, fix]: [ErrorCode, string] = rateLimited
    ? ["GITHUB_UNAVAILABLE", "wait for GitHub's rate limit to reset (its X-RateLimit-Reset header says when), or run fewer jobs that call the API at once"]
    : status === 401 || status === 403
      ? ["GITHUB_PERMISSION_DENIED", "give the job `permissions: pull-requests: write` (the GITHUB_TOKEN of a pull_request run from a fork is read-only: post from a workflow_run job), or pass a valid GITHUB_TOKEN"]
      : status === 404
        ? ["GITHUB_NOT_FOUND", "check --repository (owner/name) and --pull-request, and that the token may read the repository (permissions: pull-requests: write)"]
        : status === 422
          ? ["GITHUB_REQUEST_INVALID", "check the comment body (GitHub's message above says which field)"]
          : ["GITHUB_UNAVAILABLE", "try again later; GitHub's status page says whether it is down"];
  const retried = attempts > 1 ? ` (after ${attempts} attempts)` : "";
  return new CertstageError(code, `${what} was refused, ${said}${retried}`, { fix });
}

function githubMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const details = Array.isArray(parsed.errors) ? parsed.errors.map((error) => (typeof error === "string" ? error : JSON.stringify(error))).join("; ") : "";
    return [typeof parsed.message === "string" ? parsed.message : "", details].filter((part) => part !== "").join(": ").slice(0, 500);
  } catch {
    return text.slice(0, 200);
  }
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return [(error as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(": ");
}
