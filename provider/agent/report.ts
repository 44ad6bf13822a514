/**
 * What the agent actually serves, found the way a client finds it: a TLS handshake with the local
 * server (`--serve-check 127.0.0.1:8443`), sending the certificate's first DNS name as SNI, and
 * the SHA-256 fingerprint of the leaf that comes back. Installed files prove nothing on their own:
 * nginx keeps its old configuration when a reload fails, and a server that was never reloaded
 * serves yesterday's certificate from memory (a certificate "renewed on disk but never reloaded").
 *
 * Right after a reload the handshakes are repeated until the installed leaf has been served for a
 * settle period (an old nginx worker can still answer for ~100 ms, see targets/verify.ts), or a
 * bound passes; then the report says what was served last.
 */
import { isIP } from "node:net";
import type { Store, VersionRecord } from "../store";
import { type Endpoint, servedLeaf, waitUntilServed } from "../targets/verify";

export interface ServeCheck {
  readonly host: string;
  readonly port: number;
}

/** How long the handshakes after a reload may take to show the installed leaf. */
export const SERVE_WAIT_MS = 10_000;
const SERVE_SETTLE_MS = 300;
const HANDSHAKE_TIMEOUT_MS = 3000;

export interface Observation {
  /** The version served: the installed one, or whichever version of the certificate the leaf is. */
  readonly version?: number;
  readonly servedFingerprintSha256?: string;
  /** Why what is served is not the installed version, in one line. */
  readonly problem?: string;
}

/** The SNI name for a version: its first DNS name (clients send names, not addresses). */
export function serverNameOf(record: VersionRecord): string | undefined {
  return record.sans.find((name) => isIP(name) === 0);
}

export const describeServeCheck = (check: ServeCheck) => `${check.host.includes(":") ? `[${check.host}]` : check.host}:${check.port}`;

/**
 * What is served for the certificate whose installed version is `installed` (undefined: none is
 * installed). Without a serve check, the installed version is taken as served.
 */
export async function observeServed(store: Store, check: ServeCheck | undefined, installed: VersionRecord | undefined, afterReload: boolean): Promise<Observation> {
  if (installed === undefined) return {};
  if (check === undefined) return { version: installed.version };
  const serverName = serverNameOf(installed);
  const where = describeServeCheck(check);
  if (serverName === undefined) return { version: installed.version, problem: `no serve check at ${where}: version ${installed.version} has no DNS name to send as SNI` };
  const endpoint: Endpoint = { host: check.host, port: check.port, serverName };
  let served;
  if (afterReload) {
    const result = await waitUntilServed([endpoint], installed.fingerprintSha256, { timeoutMs: SERVE_WAIT_MS, settleMs: SERVE_SETTLE_MS, handshakesPerRound: 2, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
    served = Object.values(result.endpoints)[0].served;
  } else {
    served = await servedLeaf(endpoint, HANDSHAKE_TIMEOUT_MS);
  }
  if ("error" in served) return { problem: `the handshake with ${where} for ${serverName} failed: ${served.error}` };
  const fingerprint = served.fingerprintSha256;
  if (fingerprint === installed.fingerprintSha256) return { version: installed.version, servedFingerprintSha256: fingerprint };
  const version = (await store.listVersions(installed.certificate)).find((record) => record.fingerprintSha256 === fingerprint)?.version;
  const what = version !== undefined ? `version ${version}` : `a certificate that is no version of '${installed.certificate}' (sha256 ${fingerprint.slice(0, 23)}…)`;
  return {
    ...(version !== undefined ? { version } : {}),
    servedFingerprintSha256: fingerprint,
    problem: `${where} serves ${what} for ${serverName}, not the installed version ${installed.version}${afterReload ? ` ${SERVE_WAIT_MS / 1000} s after the reload` : ""} (does the server read the agent's directory for this name, and did it take the last reload?)`,
  };
}
