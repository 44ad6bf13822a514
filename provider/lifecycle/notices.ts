/**
 * Which notices `certstage notify` owes: pure, over what the store holds and a clock.
 *
 * - **Expiry bands.** Each deployed version is inside some of the bands (`30d,14d,7d,1d` by
 *   default, or shares of its lifetime such as `33%`), and inside `expired` once notAfter passed.
 *   Only the most urgent band it is inside is owed, and only when neither that band nor a more
 *   urgent one was sent for this version in this environment: a run that was skipped for a few
 *   nights sends `7d` once, not `30d`, `14d` and `7d` at once, and nothing ever steps back to a
 *   less urgent band. A version swapped in is a new version, judged afresh.
 * - **Failures.** Every failed history entry (a standby task that failed, a verification that
 *   saw the wrong certificate) of the last FAILURE_LOOKBACK_MS is owed once.
 *
 * Every notice has an idempotency key, the store's record of it: a notice whose key was sent is
 * never owed again.
 */
import { CertstageError } from "../errors";
import type { DeploymentRecord, HistoryEntry, VersionSummary } from "../store";
import { parseExpiryWindow, windowLengthMs, type ExpiryWindow } from "./expiry-window";

export const DEFAULT_BANDS = "30d,14d,7d,1d";
/** Failures older than this are history, not news: a first run on an old store does not replay them. */
export const FAILURE_LOOKBACK_MS = 7 * 86_400_000;
/** The band a version enters when its notAfter has passed; always the most urgent. */
export const EXPIRED_BAND = "expired";

const DAY_MS = 86_400_000;

export interface ExpiryNotice {
  readonly kind: "expiry";
  readonly key: string;
  readonly certificate: string;
  readonly environment: string;
  readonly version: number;
  /** The band as given (`7d`, `33%`), or `expired`. */
  readonly band: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days left, rounded down; negative once expired. */
  readonly daysLeft: number;
  readonly expired: boolean;
  readonly subject: string;
  readonly sans: readonly string[];
}

export interface FailureNotice {
  readonly kind: "failure";
  readonly key: string;
  readonly certificate: string;
  readonly environment?: string;
  /** The version the failed step was taking the environment to, when it says. */
  readonly version?: number;
  /** The history action that failed: `task.run`, `verify`, … */
  readonly action: string;
  readonly at: string;
  readonly detail?: string;
  /** Of the version the environment serves, when there is one. */
  readonly notAfter?: string;
  readonly daysLeft?: number;
}

export type Notice = ExpiryNotice | FailureNotice;

/** `30d,14d,7d,1d` or `33%,10%` (mixed is fine); each a window certstage expiring accepts. */
export function parseBands(text: string, field = "--bands"): ExpiryWindow[] {
  const parts = text.split(",").map((part) => part.trim());
  if (parts.some((part) => part === "")) {
    throw new CertstageError("NOTIFY_BANDS_INVALID", `${field} '${text.slice(0, 60)}' has an empty band`, { field, fix: "give bands separated by commas, such as 30d,14d,7d,1d or 33%,10%" });
  }
  const bands = parts.map((part) => parseExpiryWindow(part, field));
  const seen = new Set<string>();
  for (const band of bands) {
    if (seen.has(band.text)) throw new CertstageError("NOTIFY_BANDS_INVALID", `${field} names the band ${band.text} twice`, { field, fix: "name each band once, such as 30d,14d,7d,1d" });
    seen.add(band.text);
  }
  return bands;
}

export function expiryKey(certificate: string, environment: string, version: number, band: string): string {
  return `expiry:${certificate}:${environment}:v${version}:${band}`;
}

export function failureKey(entry: HistoryEntry): string {
  return `failure:${entry.certificate}:${entry.environment ?? "-"}:${entry.action}:${entry.at}`;
}

/** The bands this version is inside at `now`, most urgent first (the shortest window; `expired` first of all). */
export function bandsCrossed(bands: readonly ExpiryWindow[], version: VersionSummary, now: Date): string[] {
  const left = Date.parse(version.notAfter) - now.getTime();
  const inside = bandsByUrgency(bands, version).filter((band) => band.length >= left);
  return [...(left <= 0 ? [EXPIRED_BAND] : []), ...inside.map((band) => band.text)];
}

/** Bands ordered most urgent first for this version's lifetime; ties keep the order given. */
function bandsByUrgency(bands: readonly ExpiryWindow[], version: VersionSummary): Array<{ text: string; length: number }> {
  return bands.map((band) => ({ text: band.text, length: windowLengthMs(band, version) })).sort((a, b) => a.length - b.length);
}

export interface NoticeInputs {
  readonly deployments: readonly DeploymentRecord[];
  readonly versions: readonly VersionSummary[];
  readonly history: readonly HistoryEntry[];
  readonly bands: readonly ExpiryWindow[];
  /** Keys of the notices already sent. */
  readonly sent: ReadonlySet<string>;
  readonly now: Date;
  /** Only this environment. */
  readonly environment?: string;
}

/** Every notice owed now: failures first (oldest first), then expiry notices soonest first. */
export function noticesDue(inputs: NoticeInputs): Notice[] {
  const versions = new Map(inputs.versions.map((version) => [`${version.certificate}\u0000${version.version}`, version]));
  const deployments = inputs.deployments.filter((deployment) => inputs.environment === undefined || deployment.environment === inputs.environment);
  const expiry: ExpiryNotice[] = [];
  for (const deployment of deployments) {
    const version = versions.get(`${deployment.certificate}\u0000${deployment.version}`);
    if (!version) continue;
    const notice = expiryNoticeFor(deployment, version, inputs);
    if (notice) expiry.push(notice);
  }
  expiry.sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || compare(a.certificate, b.certificate) || compare(a.environment, b.environment));
  return [...failureNotices(inputs, deployments, versions), ...expiry];
}

function expiryNoticeFor(deployment: DeploymentRecord, version: VersionSummary, inputs: NoticeInputs): ExpiryNotice | undefined {
  const crossed = bandsCrossed(inputs.bands, version, inputs.now);
  if (crossed.length === 0) return undefined;
  // crossed[0] is the most urgent band it is in; every band at least as urgent was either crossed
  // (so it is in `crossed`) or is the same band: once one of them was sent, nothing is owed.
  const key = (band: string) => expiryKey(deployment.certificate, deployment.environment, deployment.version, band);
  const mostUrgent = crossed[0];
  if (atLeastAsUrgent(mostUrgent, inputs.bands, version).some((band) => inputs.sent.has(key(band)))) return undefined;
  const left = Date.parse(version.notAfter) - inputs.now.getTime();
  return {
    kind: "expiry",
    key: key(mostUrgent),
    certificate: deployment.certificate,
    environment: deployment.environment,
    version: deployment.version,
    band: mostUrgent,
    notBefore: version.notBefore,
    notAfter: version.notAfter,
    daysLeft: Math.floor(left / DAY_MS),
    expired: left <= 0,
    subject: version.subject,
    sans: [...version.sans],
  };
}

/** `band` and every band more urgent than it (shorter window for this lifetime), `expired` included. */
function atLeastAsUrgent(band: string, bands: readonly ExpiryWindow[], version: VersionSummary): string[] {
  if (band === EXPIRED_BAND) return [EXPIRED_BAND];
  const ordered = bandsByUrgency(bands, version);
  const length = ordered.find((entry) => entry.text === band)!.length;
  return [EXPIRED_BAND, ...ordered.filter((entry) => entry.length <= length).map((entry) => entry.text)];
}

function failureNotices(inputs: NoticeInputs, deployments: readonly DeploymentRecord[], versions: ReadonlyMap<string, VersionSummary>): FailureNotice[] {
  const since = inputs.now.getTime() - FAILURE_LOOKBACK_MS;
  const notices: FailureNotice[] = [];
  for (const entry of inputs.history) {
    if (entry.result !== "failed" || Date.parse(entry.at) < since) continue;
    if (inputs.environment !== undefined && entry.environment !== inputs.environment) continue;
    const key = failureKey(entry);
    if (inputs.sent.has(key)) continue;
    const served = deployments.find((deployment) => deployment.certificate === entry.certificate && deployment.environment === entry.environment);
    const version = served ? versions.get(`${served.certificate}\u0000${served.version}`) : undefined;
    notices.push({
      kind: "failure",
      key,
      certificate: entry.certificate,
      ...(entry.environment !== undefined ? { environment: entry.environment } : {}),
      ...(entry.toVersion !== undefined ? { version: entry.toVersion } : {}),
      action: entry.action,
      at: entry.at,
      ...(entry.detail !== undefined ? { detail: entry.detail } : {}),
      ...(version ? { notAfter: version.notAfter, daysLeft: Math.floor((Date.parse(version.notAfter) - inputs.now.getTime()) / DAY_MS) } : {}),
    });
  }
  return notices.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || compare(a.key, b.key));
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
