/**
 * What the summary needs from the store, read with read-only calls only (a pull request's preview
 * role may read, never write, and holds no store key): each certificate's last version number,
 * the public facts of its versions, what every environment serves, and pending standby swaps and
 * undeploys.
 * Plain data, so the summary itself is a pure function of the preview and this view, and golden
 * tests can keep a view beside a recorded preview. No file, key or PEM of a version is read.
 */
import type { Store, VersionSummary } from "../store";

/** The allow-list of a version's facts that may reach a summary. */
export interface VersionFacts {
  readonly version: number;
  readonly method: string;
  readonly subject: string;
  readonly issuer: string;
  readonly sans: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly keyAlgorithm: string;
  readonly fingerprintSha256: string;
  readonly publicKeySha256?: string;
}

export interface CertificateView {
  readonly name: string;
  readonly lastVersion: number;
  readonly versions: readonly VersionFacts[];
  /** environment -> version served there. */
  readonly deployments: Readonly<Record<string, number>>;
  readonly pendingSwaps: ReadonlyArray<{ readonly environment: string; readonly version: number; readonly notBefore?: string }>;
  /** Standby undeploys already queued: the environment stops serving what `deployments` says it serves when the task runs. */
  readonly pendingUndeploys: ReadonlyArray<{ readonly environment: string; readonly task: string; readonly notBefore?: string }>;
}

export interface StoreView {
  readonly store: string;
  readonly certificates: readonly CertificateView[];
}

/** Reads the view of `names` (every certificate when absent) in three listings and one task listing. */
export async function readStoreView(store: Store, names?: ReadonlySet<string>): Promise<StoreView> {
  const wanted = (name: string) => names === undefined || names.has(name);
  const certificates = (await store.listCertificates()).filter((certificate) => wanted(certificate.name));
  const versions = new Map<string, VersionFacts[]>();
  for (const summary of await store.listAllVersions()) {
    if (wanted(summary.certificate)) versions.set(summary.certificate, [...(versions.get(summary.certificate) ?? []), factsOf(summary)]);
  }
  const deployments = new Map<string, Record<string, number>>();
  for (const deployment of await store.listDeployments()) {
    if (wanted(deployment.certificate)) deployments.set(deployment.certificate, { ...deployments.get(deployment.certificate), [deployment.environment]: deployment.version });
  }
  const tasks = (await store.listTasks({ state: "pending" })).filter((task) => wanted(task.certificate));
  return {
    store: store.description,
    certificates: certificates.map((certificate) => ({
      name: certificate.name,
      lastVersion: certificate.lastVersion,
      versions: versions.get(certificate.name) ?? [],
      deployments: deployments.get(certificate.name) ?? {},
      pendingSwaps: tasks.flatMap((task) => (task.certificate === certificate.name && task.action !== "undeploy" ? [{ environment: task.environment, version: task.version, ...(task.notBefore ? { notBefore: task.notBefore } : {}) }] : [])),
      pendingUndeploys: tasks.flatMap((task) => (task.certificate === certificate.name && task.action === "undeploy" ? [{ environment: task.environment, task: task.id, ...(task.notBefore ? { notBefore: task.notBefore } : {}) }] : [])),
    })),
  };
}

function factsOf(version: VersionSummary): VersionFacts {
  return {
    version: version.version,
    method: version.method,
    subject: version.subject,
    issuer: version.issuer,
    sans: [...version.sans],
    notBefore: version.notBefore,
    notAfter: version.notAfter,
    keyAlgorithm: version.keyAlgorithm,
    fingerprintSha256: version.fingerprintSha256,
    ...(version.publicKeySha256 ? { publicKeySha256: version.publicKeySha256 } : {}),
  };
}
