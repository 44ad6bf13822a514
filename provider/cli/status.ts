/**
 * `certstage status`: every certificate, its versions, what each environment serves and which
 * standby swaps wait, read straight from the store, so it shows the truth even when Pulumi state
 * is stale.
 */
import { agentLag, DEFAULT_RESYNC_INTERVAL_MS } from "../agent/lag";
import { compareText } from "../code-point-order";
import { unclaimedVersions } from "../lifecycle/ownership";
import type { StatusListings, Store, VersionStatusSummary } from "../store";
import { ChunkedOutput, writeJsonList } from "./json-list-output";

export interface StatusReport {
  readonly certificates: CertificateStatus[];
}

export interface CertificateStatus {
  readonly name: string;
  readonly displayName: string;
  readonly type: string;
  readonly owner: string;
  readonly latestVersion: number;
  readonly versions: Array<{
    readonly version: number;
    readonly method: string;
    readonly serial: string;
    readonly subject: string;
    readonly sans: string[];
    readonly notAfter: string;
    readonly fingerprintSha256: string;
    /** No resource owns it: an interrupted run left it (see `certstage versions remove`). */
    readonly unclaimed: boolean;
  }>;
  readonly deployments: Record<string, { readonly version: number; readonly deployedAt: string }>;
  /** Standby swaps still waiting, per environment (at most one each). */
  /** A standby swap names its version; a standby undeploy says `action: "undeploy"` instead. */
  readonly pending: Record<string, { readonly version?: number; readonly action?: "undeploy"; readonly notBefore?: string; readonly task: string }>;
  /** What each `certstage agent` following an environment reports it serves (see `certstage agents`). */
  readonly agents: AgentStatus[];
}

export interface AgentStatus {
  readonly agentId: string;
  readonly host: string;
  readonly environment: string;
  readonly version?: number;
  readonly lastSeen: string;
  readonly lagging: boolean;
}

/**
 * Every certificate's status, one at a time, in code-point order of their names: each store-wide
 * thing is read once (certificates, deployments, tasks, agent reports and which versions were
 * released, in one Store.readStatusListings; asking per certificate made status read the whole
 * history and every agent report once for each certificate, which grew with the square of the
 * store), and the versions come a certificate at a time, so `use` can write each certificate out
 * before the next one's versions are read: 10,000 versions are never held at once.
 */
export function readCertificateStatuses<T>(store: Store, use: (statuses: AsyncIterable<CertificateStatus>) => Promise<T>): Promise<T> {
  return store.readStatusListings((listings) => use(certificateStatuses(listings)));
}

/** All of it at once: the report `status --json` prints, as one value (the tests and the bench compare it whole). */
export async function buildStatusReport(store: Store): Promise<StatusReport> {
  return readCertificateStatuses(store, async (statuses) => {
    const certificates: CertificateStatus[] = [];
    for await (const certificate of statuses) certificates.push(certificate);
    return { certificates };
  });
}

async function* certificateStatuses(listings: StatusListings): AsyncGenerator<CertificateStatus> {
  const reports = groupBy(listings.agentReports, (report) => report.certificate);
  const deploymentsOf = groupBy(listings.deployments, (deployment) => deployment.certificate);
  const tasksOf = groupBy(listings.tasks, (task) => task.certificate);
  const now = new Date();
  // The versions come in code-point order of certificate names: the certificates are walked in
  // the same order, and each takes its group when the two meet.
  const groups = listings.versionsByCertificate[Symbol.asyncIterator]();
  let group = await groups.next();
  try {
    for (const certificate of [...listings.certificates].sort((a, b) => compareText(a.name, b.name))) {
      while (!group.done && compareText(group.value[0].certificate, certificate.name) < 0) group = await groups.next();
      let versions: readonly VersionStatusSummary[] = [];
      if (!group.done && group.value[0].certificate === certificate.name) {
        versions = group.value;
        group = await groups.next();
      }
      const certificateDeployments = deploymentsOf.get(certificate.name) ?? [];
      const unclaimed = new Set(unclaimedVersions(versions, listings.released.get(certificate.name) ?? NONE_RELEASED, certificateDeployments).map((version) => version.version));
      const deployments: CertificateStatus["deployments"] = {};
      for (const deployment of certificateDeployments) {
        deployments[deployment.environment] = { version: deployment.version, deployedAt: deployment.deployedAt };
      }
      const pending: CertificateStatus["pending"] = {};
      for (const task of tasksOf.get(certificate.name) ?? []) {
        if (task.state !== "pending" && task.state !== "running") continue;
        pending[task.environment] = { ...(task.action === "undeploy" ? { action: "undeploy" as const } : { version: task.version }), ...(task.notBefore ? { notBefore: task.notBefore } : {}), task: task.id };
      }
      yield {
        name: certificate.name,
        displayName: certificate.displayName,
        type: certificate.type,
        owner: certificate.owner,
        latestVersion: certificate.lastVersion,
        versions: versions.map((version) => ({
          version: version.version,
          method: version.method,
          serial: version.serial,
          subject: version.subject,
          sans: version.sans,
          notAfter: version.notAfter,
          fingerprintSha256: version.fingerprintSha256,
          unclaimed: unclaimed.has(version.version),
        })),
        deployments,
        pending,
        agents: (reports.get(certificate.name) ?? []).map((report) => ({
          agentId: report.agentId,
          host: report.host,
          environment: report.environment,
          ...(report.version !== undefined ? { version: report.version } : {}),
          lastSeen: report.lastSeen,
          lagging: agentLag(report, deployments[report.environment]?.version, now, DEFAULT_RESYNC_INTERVAL_MS).lagging,
        })),
      };
    }
  } finally {
    // Stopped early (the reader went away): the driver's read of the versions ends here too.
    if (!group.done) await groups.return?.();
  }
}

const NONE_RELEASED: ReadonlySet<number> = new Set();

/** Items by key, each group in the order the items came (the store's order is kept). */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** Certificates per stringify: at 20 versions each, some 200 kB of output. */
const JSON_BATCH_CERTIFICATES = 16;

/**
 * `status --json`: the bytes of `JSON.stringify(report, null, 2)` and a newline, written a few
 * certificates at a time, so the reader takes the first while the rest are made.
 */
export function writeStatusJson(certificates: AsyncIterable<CertificateStatus> | Iterable<CertificateStatus>, output: NodeJS.WritableStream): Promise<void> {
  return writeJsonList("certificates", certificates, output, { batchItems: JSON_BATCH_CERTIFICATES });
}

/** `status` as text, a certificate at a time (formatStatusReport's text). */
export async function writeStatusText(certificates: AsyncIterable<CertificateStatus> | Iterable<CertificateStatus>, storeDescription: string, output: NodeJS.WritableStream): Promise<void> {
  const out = new ChunkedOutput(output);
  let any = false;
  for await (const certificate of certificates) {
    any = true;
    out.add(certificateText(certificate));
    if (out.full) await out.flush();
  }
  if (!any) out.add(noCertificatesText(storeDescription));
  await out.flush();
}

export function formatStatusReport(report: StatusReport, storeDescription: string): string {
  if (report.certificates.length === 0) return noCertificatesText(storeDescription);
  return report.certificates.map(certificateText).join("");
}

function noCertificatesText(storeDescription: string): string {
  return `No certificates in ${storeDescription}.\n`;
}

/** One certificate's lines, each ending in a newline, and an empty line after them. */
function certificateText(certificate: CertificateStatus): string {
  const lines: string[] = [];
  const label = certificate.displayName !== certificate.name ? ` "${certificate.displayName}"` : "";
  lines.push(`${certificate.name}${label}  (${certificate.type}, owner ${certificate.owner}, latest version ${certificate.latestVersion})`);
  const environments = Object.entries(certificate.deployments);
  if (environments.length === 0) lines.push("  not deployed");
  for (const [environment, deployment] of environments) {
    lines.push(`  ${environment.padEnd(12)} serves version ${deployment.version}  since ${deployment.deployedAt}`);
  }
  for (const agent of certificate.agents) {
    const serves = agent.version === undefined ? "serves none of its versions" : `serves version ${agent.version}`;
    lines.push(`  ${agent.environment.padEnd(12)} agent ${agent.agentId} (${agent.host}) ${serves}, seen ${agent.lastSeen}${agent.lagging ? "  LAGS (certstage agents says why)" : ""}`);
  }
  for (const [environment, waiting] of Object.entries(certificate.pending)) {
    const when = waiting.notBefore ? `not before ${waiting.notBefore}` : "at the next `certstage tasks run`";
    lines.push(`  ${environment.padEnd(12)} standby: ${waiting.action === "undeploy" ? "undeploy" : `version ${waiting.version}`} ${when}  (task ${waiting.task})`);
  }
  for (const version of certificate.versions) {
    const names = version.sans.length > 0 ? version.sans.join(", ") : version.subject;
    const owner = version.unclaimed ? `  unclaimed: no resource owns it (certstage versions remove ${certificate.name} ${version.version})` : "";
    lines.push(`  v${String(version.version).padEnd(4)} ${version.method.padEnd(8)} expires ${version.notAfter}  ${names}  sha256 ${version.fingerprintSha256.slice(0, 23)}…${owner}`);
  }
  lines.push("");
  return `${lines.join("\n")}\n`;
}
