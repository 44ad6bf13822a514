/**
 * The agent's `--metrics-listen`: GET /metrics answers with the exposition `render` makes at that
 * moment, so Prometheus scrapes the agent directly instead of a textfile. Read-only and small: one
 * path, GET (and HEAD), nothing else; a render that fails answers 500 with its one-line message
 * (store errors never carry key material), so the scrape fails visibly (`up` stays 1 only while
 * metrics are real) instead of serving stale numbers.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { CertstageError, quoted } from "../errors";

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface MetricsServer {
  /** Where it listens, with the port the system chose for port 0. */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

function listenInvalid(text: string, problem: string): CertstageError {
  return new CertstageError("METRICS_LISTEN_INVALID", `--metrics-listen ${quoted(text)}: ${problem}`, {
    field: "--metrics-listen",
    fix: "give host:port to listen on, e.g. 127.0.0.1:9793 (or [::1]:9793); 0 as the port lets the system choose",
  });
}

/** `127.0.0.1:9793`, `[::1]:9793`, `0.0.0.0:9793`. */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!match) throw listenInvalid(text, "it is not host:port");
  const port = Number(match[2]);
  if (port > 65_535) throw listenInvalid(text, `port ${port} is above 65535`);
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

export async function startMetricsServer(address: ListenAddress, render: () => Promise<string>, log: (line: string) => void = () => {}): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://metrics.invalid");
    if (url.pathname !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("certstage agent: only /metrics is served here\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("certstage agent: /metrics answers GET\n");
      return;
    }
    render().then(
      (text) => response.writeHead(200, { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" }).end(request.method === "HEAD" ? undefined : text),
      (error: unknown) => {
        const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
        log(`metrics: ${message}`);
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`certstage agent: cannot read the store for metrics: ${message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenInvalid(`${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`, `cannot listen there (${error.code ?? error.message})`)));
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: address.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
