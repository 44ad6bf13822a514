/**
 * Verification after a swap: TLS handshakes with SNI to each endpoint, until every new handshake
 * gets the deployed version's leaf, or a deadline passes.
 *
 * One handshake that gets the new leaf proves little. After `nginx -s reload` the master starts
 * the new workers and only about 100 ms later tells the old ones to stop accepting, so for a while
 * a connection reaches either generation. An endpoint therefore counts as verified only after a
 * run of consecutive handshakes, several at once in every round, has got the new leaf for a settle
 * period (`settleMs`); any other leaf inside the run starts it again. Once verification says
 * "verified", the old workers have had the settle period to let go of the socket, and every new
 * handshake gets the new version.
 *
 * What each endpoint served is kept, so a failure says exactly what clients were getting instead.
 */
import { connect } from "node:tls";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** SNI name; also how the server picks the certificate. */
  readonly serverName: string;
}

export type Served = { readonly fingerprintSha256: string; readonly subject: string } | { readonly error: string };

/** Where one endpoint stands. */
export interface EndpointVerification {
  readonly verified: boolean;
  /** The last handshake that did not get the new leaf, else the last handshake. */
  readonly served: Served;
  /** Milliseconds from the start of verification to the first handshake that got the new leaf. */
  readonly firstServedAfterMs?: number;
  /** The current run: consecutive handshakes that all got the new leaf, and the time they span. */
  readonly run: { readonly handshakes: number; readonly spanMs: number };
  /** Rounds in which another leaf (or an error) came back once the new one had been served. */
  readonly relapses: number;
  readonly handshakes: number;
}

export interface VerificationResult {
  readonly ok: boolean;
  readonly rounds: number;
  readonly elapsedMs: number;
  /** Per endpoint (`host:port`). */
  readonly endpoints: Record<string, EndpointVerification>;
}

export interface VerificationOptions {
  /** The whole verification, the settle period included. */
  readonly timeoutMs: number;
  /** How long consecutive handshakes must all get the new leaf. */
  readonly settleMs: number;
  /** Concurrent handshakes per endpoint in every round (default 4). */
  readonly handshakesPerRound?: number;
  /** Pause between rounds while the new leaf has not shown yet; default 25 ms, doubling to 200 ms. */
  readonly intervalMs?: number;
  /** Pause between rounds of the settle run (default 50 ms). */
  readonly settleIntervalMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Called after each round, for progress in the Pulumi output. */
  readonly onProgress?: (round: number, result: VerificationResult) => void;
}

const DEFAULT_HANDSHAKES_PER_ROUND = 4;
const DEFAULT_SETTLE_INTERVAL_MS = 50;

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

const isLeaf = (served: Served, fingerprintSha256: string) => "fingerprintSha256" in served && served.fingerprintSha256 === fingerprintSha256;

/** The bookkeeping of one endpoint across rounds. */
class EndpointProgress {
  verified = false;
  lastServed: Served = { error: "not asked yet" };
  lastOther: Served | undefined;
  firstServedAfterMs: number | undefined;
  runStartedAt: number | undefined;
  runHandshakes = 0;
  lastRoundAt = 0;
  relapses = 0;
  handshakes = 0;

  constructor(private readonly settleMs: number, private readonly minimumRun: number) {}

  /** One round's answers, from handshakes that all began at `startedAt` (ms since verification began). */
  record(answers: readonly Served[], fingerprintSha256: string, startedAt: number): void {
    this.handshakes += answers.length;
    this.lastServed = answers.at(-1) ?? this.lastServed;
    this.lastRoundAt = startedAt;
    const other = answers.find((served) => !isLeaf(served, fingerprintSha256));
    if (answers.some((served) => isLeaf(served, fingerprintSha256))) this.firstServedAfterMs ??= startedAt;
    if (other) {
      this.lastOther = other;
      // Another leaf once the new one has shown: a process that still serves the old one.
      if (this.firstServedAfterMs !== undefined) this.relapses += 1;
      this.runStartedAt = undefined;
      this.runHandshakes = 0;
      return;
    }
    this.runStartedAt ??= startedAt;
    this.runHandshakes += answers.length;
    this.verified = startedAt - this.runStartedAt >= this.settleMs && this.runHandshakes >= this.minimumRun;
  }

  snapshot(): EndpointVerification {
    return {
      verified: this.verified,
      served: this.verified ? this.lastServed : (this.lastOther ?? this.lastServed),
      ...(this.firstServedAfterMs !== undefined ? { firstServedAfterMs: this.firstServedAfterMs } : {}),
      run: { handshakes: this.runHandshakes, spanMs: this.runStartedAt === undefined ? 0 : this.lastRoundAt - this.runStartedAt },
      relapses: this.relapses,
      handshakes: this.handshakes,
    };
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitUntilServed(endpoints: readonly Endpoint[], fingerprintSha256: string, options: VerificationOptions): Promise<VerificationResult> {
  const { settleMs } = options;
  const perRound = Math.max(1, options.handshakesPerRound ?? DEFAULT_HANDSHAKES_PER_ROUND);
  const began = Date.now();
  const elapsed = () => Date.now() - began;
  const progress = new Map(endpoints.map((endpoint) => [endpointName(endpoint), { endpoint, state: new EndpointProgress(settleMs, perRound) }]));
  const result = (round: number): VerificationResult => {
    const snapshots = Object.fromEntries([...progress].map(([name, { state }]) => [name, state.snapshot()]));
    return { ok: Object.values(snapshots).every((snapshot) => snapshot.verified), rounds: round, elapsedMs: elapsed(), endpoints: snapshots };
  };
  for (let round = 1; ; round += 1) {
    const pending = [...progress.values()].filter(({ state }) => !state.verified);
    await Promise.all(
      pending.map(async ({ endpoint, state }) => {
        const startedAt = elapsed();
        const answers = await Promise.all(Array.from({ length: perRound }, () => servedLeaf(endpoint, options.handshakeTimeoutMs)));
        state.record(answers, fingerprintSha256, startedAt);
      }),
    );
    const current = result(round);
    options.onProgress?.(round, current);
    if (current.ok || elapsed() >= options.timeoutMs) return current;
    const settling = [...progress.values()].some(({ state }) => !state.verified && state.runStartedAt !== undefined);
    await pause(settling ? (options.settleIntervalMs ?? DEFAULT_SETTLE_INTERVAL_MS) : (options.intervalMs ?? Math.min(200, 25 * 2 ** (round - 1))));
  }
}

function describeLeaf(name: string, seen: Served): string {
  return "error" in seen ? `${name}: ${seen.error}` : `${name} served ${seen.fingerprintSha256.slice(0, 23)}… (CN=${seen.subject})`;
}

/** `127.0.0.1:8443 served AB:CD… (CN=old.example.test)`, per endpoint not yet verified, for failure messages. */
export function describeServed(result: VerificationResult): string {
  return Object.entries(result.endpoints)
    .map(([name, endpoint]) => {
      if (endpoint.verified) return `${name} verified`;
      const run = endpoint.firstServedAfterMs === undefined ? "" : `; the new leaf first after ${endpoint.firstServedAfterMs} ms, ${endpoint.relapses} time(s) another since, the last run ${endpoint.run.handshakes} handshakes over ${endpoint.run.spanMs} ms`;
      return `${describeLeaf(name, endpoint.served)}${run}`;
    })
    .join("; ");
}

/** `127.0.0.1:8443: 84 consecutive handshakes over 1012 ms`, per endpoint, for the progress line. */
export function describeSettled(result: VerificationResult): string {
  return Object.entries(result.endpoints)
    .map(([name, endpoint]) => `${name}: ${endpoint.run.handshakes} consecutive handshakes over ${endpoint.run.spanMs} ms (first after ${endpoint.firstServedAfterMs ?? 0} ms)`)
    .join(", ");
}
