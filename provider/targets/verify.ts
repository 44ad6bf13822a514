/**
 * Verification after a swap: TLS handshakes with SNI to each endpoint until the leaf it serves is
 * the deployed version's, or a deadline passes. What each endpoint served is kept, so a failure
 * says exactly what clients were getting instead.
 */
import { connect } from "node:tls";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** SNI name; also how the server picks the certificate. */
  readonly serverName: string;
}

export type Served = { readonly fingerprintSha256: string; readonly subject: string } | { readonly error: string };

export interface VerificationResult {
  readonly ok: boolean;
  readonly attempts: number;
  /** Per endpoint (`host:port`), what the last handshake saw. */
  readonly served: Record<string, Served>;
}

export interface VerificationOptions {
  readonly timeoutMs: number;
  /** Pause between rounds; default 25 ms, doubling to 200 ms (a hot swap shows within milliseconds). */
  readonly intervalMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Called after each round, for progress in the Pulumi output. */
  readonly onProgress?: (round: number, result: VerificationResult) => void;
}

export const endpointName = (endpoint: Endpoint) => `${endpoint.host}:${endpoint.port}`;

/** One handshake: the leaf the endpoint serves for `serverName`. Trust is not judged, identity is. */
export function servedLeaf(endpoint: Endpoint, handshakeTimeoutMs = 3000): Promise<Served> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, servername: endpoint.serverName, rejectUnauthorized: false });
    const finish = (served: Served) => {
      socket.destroy();
      resolve(served);
    };
    socket.setTimeout(handshakeTimeoutMs, () => finish({ error: `no handshake within ${handshakeTimeoutMs} ms` }));
    socket.once("secureConnect", () => {
      const leaf = socket.getPeerCertificate();
      finish(leaf?.fingerprint256 ? { fingerprintSha256: leaf.fingerprint256, subject: String(leaf.subject?.CN ?? "") } : { error: "no certificate presented" });
    });
    socket.once("error", (error) => finish({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
  });
}

export async function waitUntilServed(endpoints: readonly Endpoint[], fingerprintSha256: string, options: VerificationOptions): Promise<VerificationResult> {
  const deadline = Date.now() + options.timeoutMs;
  const pending = new Map(endpoints.map((endpoint) => [endpointName(endpoint), endpoint]));
  const served: Record<string, Served> = {};
  for (let round = 1; ; round += 1) {
    await Promise.all(
      [...pending.entries()].map(async ([name, endpoint]) => {
        served[name] = await servedLeaf(endpoint, options.handshakeTimeoutMs);
        if ("fingerprintSha256" in served[name] && (served[name] as { fingerprintSha256: string }).fingerprintSha256 === fingerprintSha256) pending.delete(name);
      }),
    );
    const result = { ok: pending.size === 0, attempts: round, served: { ...served } };
    options.onProgress?.(round, result);
    if (result.ok || Date.now() >= deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? Math.min(200, 25 * 2 ** (round - 1))));
  }
}

/** `127.0.0.1:8443 served AB:CD… (CN=old.example.test)`, for failure messages. */
export function describeServed(served: Record<string, Served>): string {
  return Object.entries(served)
    .map(([name, seen]) => ("error" in seen ? `${name}: ${seen.error}` : `${name} served ${seen.fingerprintSha256.slice(0, 23)}… (CN=${seen.subject})`))
    .join("; ");
}
