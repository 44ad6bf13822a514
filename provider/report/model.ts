/**
 * What `certstage report --html` shows, as data: certificates × environments with the version each
 * serves, the standby swaps and undeploys still waiting, and one timeline bar per served version.
 * Pure: it takes what the store listed and a clock, so the page's content is decided (and tested)
 * without a file or a browser; html.ts only draws it.
 *
 * It is built from version summaries (facts of the public certificate) and never from a version's
 * files: no private key is ever read for a report.
 */
import type { CertificateRecord, DeploymentRecord, DeploymentTask, VersionSummary } from "../store";
import { urgencyOf, type Urgency } from "./urgency";

/** What the store listed, read once each. */
export interface ReportInputs {
  /** The store as messages name it, e.g. `file store /srv/certs`. */
  readonly storeDescription: string;
  readonly certificates: readonly CertificateRecord[];
  readonly versions: readonly VersionSummary[];
  readonly deployments: readonly DeploymentRecord[];
  readonly tasks: readonly DeploymentTask[];
}

export interface ReportModel {
  readonly generatedAt: string;
  readonly storeDescription: string;
  /** Only this environment, when --environment was given. */
  readonly environment?: string;
  /** The table's columns: the default pipeline order (staging, production), then by name. */
  readonly environments: readonly string[];
  /** Soonest served expiry first; certificates serving nothing last, by name. */
  readonly certificates: readonly ReportCertificate[];
  /** Pending and running standby swaps, soonest first (a task without notBefore runs at the next `tasks run`). */
  readonly pendingSwaps: readonly PendingSwap[];
  /** Pending and running standby undeploys, in the same order: environments that will stop serving a certificate. */
  readonly pendingUndeploys: readonly PendingUndeploy[];
  readonly timeline: Timeline;
  readonly counts: Readonly<Record<Urgency, number>>;
}

export interface ReportCertificate {
  readonly name: string;
  readonly displayName: string;
  readonly type: string;
  readonly owner: string;
  readonly latestVersion: number;
  /** Per environment of `environments`; absent where it serves nothing and nothing waits. */
  readonly cells: Readonly<Record<string, ReportCell>>;
}

export interface ReportCell {
  /** Absent when the environment serves nothing yet but a swap waits. */
  readonly served?: ServedVersion;
  readonly pending?: PendingSwap;
  /** A standby undeploy waits: the served version goes when it runs (one task per pair, so never with `pending`). */
  readonly undeploy?: PendingUndeploy;
}

export interface ServedVersion {
  readonly version: number;
  readonly deployedAt: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly subject: string;
  readonly sans: readonly string[];
  readonly serial: string;
  /** Whole days left, rounded down; negative once expired. */
  readonly daysLeft: number;
  readonly urgency: Urgency;
}

export interface PendingSwap {
  readonly task: string;
  readonly certificate: string;
  readonly environment: string;
  readonly state: "pending" | "running";
  readonly fromVersion?: number;
  readonly version: number;
  readonly notBefore?: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface PendingUndeploy {
  readonly task: string;
  readonly certificate: string;
  readonly environment: string;
  readonly state: "pending" | "running";
  /** What the environment serves now, the version that stops being served; absent when it serves nothing any more. */
  readonly servedVersion?: number;
  readonly notBefore?: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** One bar per served version: a version served in two environments is one bar naming both. */
export interface TimelineBar {
  readonly certificate: string;
  readonly displayName: string;
  readonly version: number;
  readonly environments: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly daysLeft: number;
  readonly urgency: Urgency;
}

export interface Timeline {
  /** The axis: the earliest notBefore to the latest notAfter, widened to include now. */
  readonly start: string;
  readonly end: string;
  readonly now: string;
  /** Soonest notAfter first, as the table. */
  readonly bars: readonly TimelineBar[];
}

const DAY_MS = 86_400_000;
/** The design's default environments, in the order a version travels through them. */
const PIPELINE_ORDER = ["staging", "production"];

export function buildReportModel(inputs: ReportInputs, now: Date, environment?: string): ReportModel {
  const inScope = (name: string) => environment === undefined || name === environment;
  const deployments = inputs.deployments.filter((deployment) => inScope(deployment.environment));
  const versions = new Map(inputs.versions.map((version) => [versionKey(version.certificate, version.version), version]));
  const waiting = inputs.tasks.filter((task): task is DeploymentTask & { state: "pending" | "running" } => (task.state === "pending" || task.state === "running") && inScope(task.environment));
  const pendingSwaps = waiting
    .flatMap((task) => (task.action === "undeploy" ? [] : [pendingSwapOf(task)]))
    .sort(soonestFirst);
  const servedNow = new Map(deployments.map((deployment) => [pairKey(deployment.certificate, deployment.environment), deployment.version]));
  const pendingUndeploys = waiting
    .flatMap((task) => (task.action === "undeploy" ? [pendingUndeployOf(task, servedNow.get(pairKey(task.certificate, task.environment)))] : []))
    .sort(soonestFirst);

  const environments = orderEnvironments(new Set([...deployments.map((deployment) => deployment.environment), ...[...pendingSwaps, ...pendingUndeploys].map((task) => task.environment), ...(environment ? [environment] : [])]));

  const cellsOf = new Map<string, Record<string, { served?: ServedVersion; pending?: PendingSwap; undeploy?: PendingUndeploy }>>();
  const cell = (certificate: string, name: string) => {
    const cells = cellsOf.get(certificate) ?? {};
    cellsOf.set(certificate, cells);
    return (cells[name] ??= {});
  };
  const bars = new Map<string, { version: VersionSummary; environments: string[] }>();
  for (const deployment of deployments) {
    const version = versions.get(versionKey(deployment.certificate, deployment.version));
    // A deployment always names a saved version; one the store cannot show is status's to report.
    if (!version) continue;
    cell(deployment.certificate, deployment.environment).served = servedVersionOf(deployment, version, now);
    const key = versionKey(version.certificate, version.version);
    const bar = bars.get(key) ?? { version, environments: [] };
    bar.environments.push(deployment.environment);
    bars.set(key, bar);
  }
  for (const swap of pendingSwaps) cell(swap.certificate, swap.environment).pending = swap;
  for (const undeploy of pendingUndeploys) cell(undeploy.certificate, undeploy.environment).undeploy = undeploy;

  const displayNames = new Map(inputs.certificates.map((certificate) => [certificate.name, certificate.displayName]));
  const timelineBars = [...bars.values()]
    .map(({ version, environments: serving }): TimelineBar => ({
      certificate: version.certificate,
      displayName: displayNames.get(version.certificate) ?? version.certificate,
      version: version.version,
      environments: orderEnvironments(new Set(serving)),
      notBefore: version.notBefore,
      notAfter: version.notAfter,
      daysLeft: daysLeft(version.notAfter, now),
      urgency: urgencyOf(new Date(version.notBefore), new Date(version.notAfter), now),
    }))
    .sort((a, b) => compare(a.notAfter, b.notAfter) || compare(a.certificate, b.certificate) || a.version - b.version);

  const soonest = (name: string) => {
    const served = Object.values(cellsOf.get(name) ?? {}).flatMap((entry) => (entry.served ? [entry.served.notAfter] : []));
    return served.length === 0 ? undefined : served.sort()[0];
  };
  const certificates = inputs.certificates
    .map((certificate): ReportCertificate & { soonest?: string } => ({
      name: certificate.name,
      displayName: certificate.displayName,
      type: certificate.type,
      owner: certificate.owner,
      latestVersion: certificate.lastVersion,
      cells: cellsOf.get(certificate.name) ?? {},
      soonest: soonest(certificate.name),
    }))
    .sort((a, b) => (a.soonest === undefined ? 1 : 0) - (b.soonest === undefined ? 1 : 0) || compare(a.soonest ?? "", b.soonest ?? "") || compare(a.name, b.name))
    .map(({ soonest: _soonest, ...certificate }) => certificate);

  const counts: Record<Urgency, number> = { expired: 0, critical: 0, warning: 0, ok: 0 };
  for (const bar of timelineBars) counts[bar.urgency] += 1;

  return {
    generatedAt: now.toISOString(),
    storeDescription: inputs.storeDescription,
    ...(environment !== undefined ? { environment } : {}),
    environments,
    certificates,
    pendingSwaps,
    pendingUndeploys,
    timeline: timelineOf(timelineBars, now),
    counts,
  };
}

function servedVersionOf(deployment: DeploymentRecord, version: VersionSummary, now: Date): ServedVersion {
  return {
    version: deployment.version,
    deployedAt: deployment.deployedAt,
    notBefore: version.notBefore,
    notAfter: version.notAfter,
    subject: version.subject,
    sans: [...version.sans],
    serial: version.serial,
    daysLeft: daysLeft(version.notAfter, now),
    urgency: urgencyOf(new Date(version.notBefore), new Date(version.notAfter), now),
  };
}

function pendingSwapOf(task: DeploymentTask & { state: "pending" | "running"; version: number }): PendingSwap {
  return {
    task: task.id,
    certificate: task.certificate,
    environment: task.environment,
    state: task.state,
    ...(task.fromVersion !== undefined ? { fromVersion: task.fromVersion } : {}),
    version: task.version,
    ...(task.notBefore !== undefined ? { notBefore: task.notBefore } : {}),
    createdAt: task.createdAt,
    createdBy: task.createdBy,
  };
}

/** The version it stops serving is the one served now, not the one served when it was queued: that is what goes. */
function pendingUndeployOf(task: DeploymentTask & { state: "pending" | "running" }, servedVersion: number | undefined): PendingUndeploy {
  return {
    task: task.id,
    certificate: task.certificate,
    environment: task.environment,
    state: task.state,
    ...(servedVersion !== undefined ? { servedVersion } : {}),
    ...(task.notBefore !== undefined ? { notBefore: task.notBefore } : {}),
    createdAt: task.createdAt,
    createdBy: task.createdBy,
  };
}

/** Tasks without notBefore (due at the next run) first, then by time, certificate and environment. */
function soonestFirst(a: PendingSwap | PendingUndeploy, b: PendingSwap | PendingUndeploy): number {
  return compare(a.notBefore ?? "", b.notBefore ?? "") || compare(a.certificate, b.certificate) || compare(a.environment, b.environment);
}

function timelineOf(bars: readonly TimelineBar[], now: Date): Timeline {
  const times = [now.getTime(), ...bars.flatMap((bar) => [Date.parse(bar.notBefore), Date.parse(bar.notAfter)])];
  let start = Math.min(...times);
  let end = Math.max(...times);
  // An empty store (or one instant) still gets an axis a month wide around now.
  if (end - start < DAY_MS) {
    start -= 15 * DAY_MS;
    end += 15 * DAY_MS;
  }
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), now: now.toISOString(), bars };
}

function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / DAY_MS);
}

export function orderEnvironments(names: ReadonlySet<string>): string[] {
  const rank = (name: string) => (PIPELINE_ORDER.includes(name) ? PIPELINE_ORDER.indexOf(name) : PIPELINE_ORDER.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || compare(a, b));
}

const pairKey = (certificate: string, environment: string) => `${certificate}\u0000${environment}`;
const versionKey = (certificate: string, version: number) => `${certificate}\u0000${version}`;
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
