/**
 * One HTTP exchange of an http target, over Node's own http and https (no dependency, nothing
 * between certstage and the wire), retried as http-retry.ts plans. Each attempt has a deadline;
 * redirects are not followed (a token must not travel to a host the definition does not name);
 * an answer larger than MAX_ANSWER_BYTES is cut off, as no certificate API answers that much.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";
import { retryDecision, type AttemptOutcome } from "./http-retry";

export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface HttpCall {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How retries wait; tests pass one that records the delays and returns at once. */
export interface RetryWait {
  sleep(milliseconds: number): Promise<void>;
}

export const realWait: RetryWait = { sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)) };

export interface HttpCallOptions {
  readonly timeoutMs: number;
  readonly attempts: number;
  /** Extra CA certificates (PEM) trusted besides the system's. */
  readonly extraCaPem?: string;
  readonly wait?: RetryWait;
}

/** The last attempt's outcome: an answer (any status), or why there was none. */
export type HttpResult = { readonly answer: HttpAnswer; readonly attempts: number; readonly gaveUp?: string } | { readonly failure: "timeout" | "connection"; readonly detail: string; readonly attempts: number };

class AttemptFailure extends Error {
  constructor(
    readonly kind: "timeout" | "connection",
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** What went wrong on the wire, from the error's code only: a message may quote the URL. */
function connectionDetail(error: NodeJS.ErrnoException): string {
  const code = error.code ?? "";
  if (code === "ECONNREFUSED") return "the connection was refused (ECONNREFUSED)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `the host name does not resolve (${code})`;
  if (code === "ECONNRESET" || code === "EPIPE") return `the connection was dropped (${code})`;
  if (/^(CERT_|ERR_TLS|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_SSL)/.test(code) || /certificate/i.test(error.message)) return `the API's TLS certificate was not trusted (${code || "TLS"}); give caFile for a private CA`;
  return code !== "" ? `the request failed (${code})` : "the request failed";
}

function attempt(call: HttpCall, options: HttpCallOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const https = call.url.protocol === "https:";
    const send = https ? httpsRequest : httpRequest;
    const headers = { ...call.headers, ...(call.body ? { "Content-Length": String(call.body.length) } : {}) };
    const request = send(call.url, {
      method: call.method,
      headers,
      // A fresh connection per attempt: no pooled socket outlives the deploy.
      agent: false,
      ...(https && options.extraCaPem ? { ca: [...rootCertificates, options.extraCaPem] } : {}),
    });
    const deadline = setTimeout(() => request.destroy(new AttemptFailure("timeout", `no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) request.destroy(new AttemptFailure("connection", `the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on("end", () => {
        clearTimeout(deadline);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") });
      });
      response.on("error", () => undefined);
    });
    request.on("error", (error) => {
      clearTimeout(deadline);
      reject(error instanceof AttemptFailure ? error : new AttemptFailure("connection", connectionDetail(error)));
    });
    request.end(call.body);
  });
}

/** Sends `call`, again while http-retry.ts says so; resolves with the last outcome, never rejects. */
export async function sendWithRetries(call: HttpCall, options: HttpCallOptions): Promise<HttpResult> {
  const wait = options.wait ?? realWait;
  for (let count = 1; ; count++) {
    let outcome: AttemptOutcome;
    let result: HttpResult;
    try {
      const answer = await attempt(call, options);
      if (answer.status >= 200 && answer.status <= 299) return { answer, attempts: count };
      const retryAfter = answer.headers["retry-after"];
      outcome = { status: answer.status, ...(typeof retryAfter === "string" ? { retryAfter } : {}) };
      result = { answer, attempts: count };
    } catch (error) {
      const failure = error as AttemptFailure;
      outcome = { failure: failure.kind };
      result = { failure: failure.kind, detail: failure.detail, attempts: count };
    }
    const decision = retryDecision(outcome, count, options.attempts, new Date());
    if (!decision.retry) return decision.why && "answer" in result ? { ...result, gaveUp: decision.why } : result;
    await wait.sleep(decision.delayMs);
  }
}
