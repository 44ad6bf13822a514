/**
 * A chat tool's incoming webhook, on 127.0.0.1: it records every JSON message posted to its one
 * secret path and answers as told (a queue of statuses, then 200), so a test can make it fail,
 * recover, or go away. What certstage prints is checked against `secretPath`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface WebhookServer {
  /** The whole URL, secret path included, as a chat tool gives it. */
  readonly url: string;
  /** The part of the URL that must never be printed. */
  readonly secretPath: string;
  /** Messages the server accepted (answered 2xx), in order. */
  readonly messages: Array<Record<string, unknown>>;
  /** Every request, whatever it was answered. */
  readonly requests: Array<{ method: string; path: string; status: number; contentType?: string }>;
  /** Statuses to answer next, in order; then 200. */
  answers: number[];
  /**
   * When set, requests are held unanswered until this many are waiting, then all are answered:
   * two runs are then known to have been sending at the same time.
   */
  holdUntil: number;
  stop(): Promise<void>;
}

export async function startWebhookServer(secretPath = "/services/T0001/B0002/xoxb-not-a-real-token-123456"): Promise<WebhookServer> {
  let server: Server;
  const state: WebhookServer = {
    url: "",
    secretPath,
    messages: [],
    requests: [],
    answers: [],
    holdUntil: 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const held: Array<() => void> = [];
  server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += String(chunk)));
    request.on("end", () => {
      if (state.holdUntil > 0) {
        held.push(answer);
        if (held.length < state.holdUntil) return;
        state.holdUntil = 0;
        for (const release of held.splice(0)) release();
        return;
      }
      answer();
    });
    function answer(): void {
      const status = request.url !== secretPath || request.method !== "POST" ? 404 : (state.answers.shift() ?? 200);
      state.requests.push({ method: request.method ?? "", path: request.url ?? "", status, contentType: request.headers["content-type"] });
      if (status >= 200 && status < 300) state.messages.push(JSON.parse(text) as Record<string, unknown>);
      // Echoes the path back, as some servers do in errors: certstage must not pass it on.
      response.writeHead(status, { "Content-Type": "text/plain" }).end(status === 200 ? "ok" : `error at ${request.url}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${secretPath}` });
}
