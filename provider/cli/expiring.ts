/**
 * `certstage expiring --within 30d|33% [--environment <name>] [--json]`: every deployed version
 * that expires inside the window, read from the store, so a scheduled job notices what no one
 * renewed (since 2025 Let's Encrypt sends no expiry e-mail). Exit 0 when nothing is inside, 1 when
 * something is, 2 when it could not tell (a bad option, a store it cannot read): a monitor that
 * only checks for non-zero still alerts on the last.
 *
 * The JSON output is a versioned contract (schema/expiring-report.schema.json): fields are only
 * added within a schemaVersion, never renamed or removed.
 */
import { isInsideWindow, type ExpiryWindow } from "../lifecycle/expiry-window";
import type { Store, VersionSummary } from "../store";

export const EXPIRING_REPORT_SCHEMA_VERSION = 1;

export interface ExpiringReport {
  readonly schemaVersion: typeof EXPIRING_REPORT_SCHEMA_VERSION;
  readonly checkedAt: string;
  /** The window as given: a duration (`30d`) or a share of each lifetime (`33%`). */
  readonly within: string;
  /** Only this environment, when --environment was given. */
  readonly environment?: string;
  /** Soonest first. */
  readonly expiring: ExpiringDeployment[];
}

export interface ExpiringDeployment {
  readonly certificate: string;
  readonly environment: string;
  readonly version: number;
  readonly serial: string;
  readonly subject: string;
  readonly sans: string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly expired: boolean;
  /** Negative once expired. */
  readonly secondsLeft: number;
  /** The share of its lifetime still ahead, 0 once expired. */
  readonly lifetimeLeftPercent: number;
}

const DAY_MS = 86_400_000;

export async function buildExpiringReport(store: Store, window: ExpiryWindow, now: Date, environment?: string): Promise<ExpiringReport> {
  const deployments = (await store.listDeployments()).filter((deployment) => environment === undefined || deployment.environment === environment);
  const versions = new Map<string, VersionSummary>();
  for (const version of await store.listAllVersions()) versions.set(`${version.certificate}\u0000${version.version}`, version);
  const expiring: ExpiringDeployment[] = [];
  for (const deployment of deployments) {
    const version = versions.get(`${deployment.certificate}\u0000${deployment.version}`);
    // A deployment always names a saved version; one the store cannot show is status's to report.
    if (!version || !isInsideWindow(window, version, now)) continue;
    const notAfter = Date.parse(version.notAfter);
    const lifetime = notAfter - Date.parse(version.notBefore);
    const left = notAfter - now.getTime();
    expiring.push({
      certificate: deployment.certificate,
      environment: deployment.environment,
      version: deployment.version,
      serial: version.serial,
      subject: version.subject,
      sans: [...version.sans],
      notBefore: version.notBefore,
      notAfter: version.notAfter,
      expired: left <= 0,
      secondsLeft: Math.floor(left / 1000),
      lifetimeLeftPercent: left <= 0 || lifetime <= 0 ? 0 : Math.round((left / lifetime) * 1000) / 10,
    });
  }
  expiring.sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || compare(a.certificate, b.certificate) || compare(a.environment, b.environment));
  return {
    schemaVersion: EXPIRING_REPORT_SCHEMA_VERSION,
    checkedAt: now.toISOString(),
    within: window.text,
    ...(environment !== undefined ? { environment } : {}),
    expiring,
  };
}

export function formatExpiringReport(report: ExpiringReport): string {
  const where = report.environment === undefined ? "" : ` to ${report.environment}`;
  if (report.expiring.length === 0) return `Nothing deployed${where} expires within ${report.within}.\n`;
  const rows = report.expiring.map((entry) => [entry.certificate, entry.environment, `v${entry.version}`, entry.notAfter, leftText(entry)]);
  const header = ["CERTIFICATE", "ENVIRONMENT", "VERSION", "NOT AFTER", "LEFT"];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => `${cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()}\n`;
  const count = report.expiring.length;
  return `${count} deployed version${count === 1 ? "" : "s"}${where} expire${count === 1 ? "s" : ""} within ${report.within}:\n${line(header)}${rows.map(line).join("")}`;
}

function leftText(entry: ExpiringDeployment): string {
  if (entry.expired) return `expired ${daysText(-entry.secondsLeft * 1000)} ago`;
  return `${daysText(entry.secondsLeft * 1000)} (${entry.lifetimeLeftPercent}% of its lifetime)`;
}

function daysText(ms: number): string {
  if (ms < DAY_MS) return `${Math.max(0, Math.floor(ms / 3_600_000))} h`;
  const days = Math.floor(ms / DAY_MS);
  return `${days} day${days === 1 ? "" : "s"}`;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
