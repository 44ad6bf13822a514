/**
 * What `certstage metrics` and the agent's `--metrics-listen` report, read from the store
 * read-only: the validity of every deployed version, when renewal is due, which version each
 * environment serves and which it should, and when this was looked at. The names follow
 * cert-manager's (`certmanager_certificate_not_after_timestamp_seconds`, …) so dashboards and
 * alerts written for it read the same.
 *
 * Only summaries are read (listAllVersions, history, renewal records): never a version's files,
 * so no private key is ever read here, whatever the store.
 *
 * "Healthy", for the latest-healthy series: a version of the certificate that is valid now
 * (notBefore <= now < notAfter) and whose verification never failed in that environment (a
 * failed `verify` in history, as rollouts record it). The newest such version is the one an
 * environment should serve; serving an older one means a swap is held back, failed, or was
 * forgotten.
 */
import type { Store, VersionSummary } from "../store";
import type { MetricFamily, Sample } from "./exposition";

export interface CertificateMetricsOptions {
  /** Only what this environment serves (the agent's view). */
  readonly environment?: string;
}

const seconds = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
};

export async function certificateMetrics(store: Store, now: Date, options: CertificateMetricsOptions = {}): Promise<MetricFamily[]> {
  const deployments = (await store.listDeployments()).filter((deployment) => options.environment === undefined || deployment.environment === options.environment);
  const versionsOf = new Map<string, VersionSummary[]>();
  for (const version of await store.listAllVersions()) {
    const list = versionsOf.get(version.certificate) ?? [];
    list.push(version);
    versionsOf.set(version.certificate, list);
  }
  // Streamed, verifications only: history grows with every change, and only failed ones matter here.
  const failedVerification = new Set<string>();
  for await (const batch of store.streamHistory({ ...(options.environment === undefined ? {} : { environment: options.environment }), actions: ["verify"] })) {
    for (const entry of batch) {
      if (entry.result === "failed" && entry.toVersion !== undefined) failedVerification.add(`${entry.certificate}\u0000${entry.environment}\u0000${entry.toVersion}`);
    }
  }

  const notAfter: Sample[] = [];
  const notBefore: Sample[] = [];
  const deployed: Sample[] = [];
  const latestHealthy: Sample[] = [];
  for (const deployment of deployments) {
    const { certificate, environment } = deployment;
    const versions = versionsOf.get(certificate) ?? [];
    deployed.push({ labels: { certificate, environment }, value: deployment.version });
    // A deployment names a version the store cannot show (status reports that): its validity is unknown, so left out.
    const served = versions.find((version) => version.version === deployment.version);
    if (served) {
      const labels = { certificate, environment, version: served.version, serial_number: served.serial };
      notAfter.push({ labels, value: seconds(served.notAfter) });
      notBefore.push({ labels, value: seconds(served.notBefore) });
    }
    const healthy = versions
      .filter((version) => Date.parse(version.notBefore) <= now.getTime() && now.getTime() < Date.parse(version.notAfter))
      .filter((version) => !failedVerification.has(`${certificate}\u0000${environment}\u0000${version.version}`))
      .reduce<number | undefined>((newest, version) => (newest === undefined || version.version > newest ? version.version : newest), undefined);
    latestHealthy.push({ labels: { certificate, environment }, value: healthy });
  }

  // Renewal is certstage's own only for certificates an AcmeRenewal issues; the record says when
  // the window put it (older records do not say, and are left out).
  const renewal: Sample[] = [];
  const certificates = [...new Set(deployments.map((deployment) => deployment.certificate))];
  for (const certificate of certificates) {
    if (!(versionsOf.get(certificate) ?? []).some((version) => version.method === "acme")) continue;
    const record = await store.getAcmeRenewal(certificate);
    if (record) renewal.push({ labels: { certificate, version: record.version }, value: seconds(record.renewalDueAt) });
  }

  return [
    {
      name: "certstage_certificate_not_after_timestamp_seconds",
      help: "The time (Unix seconds) after which the version an environment serves is no longer valid.",
      type: "gauge",
      samples: notAfter,
    },
    {
      name: "certstage_certificate_not_before_timestamp_seconds",
      help: "The time (Unix seconds) from which the version an environment serves is valid.",
      type: "gauge",
      samples: notBefore,
    },
    {
      name: "certstage_certificate_renewal_timestamp_seconds",
      help: "When renewal of the version an AcmeRenewal issued last falls due (Unix seconds), by the window it had at issuance; absent where unknown.",
      type: "gauge",
      samples: renewal,
    },
    {
      name: "certstage_deployment_version",
      help: "The version number the store says the environment serves.",
      type: "gauge",
      samples: deployed,
    },
    {
      name: "certstage_certificate_latest_healthy_version",
      help: "The newest version valid now whose verification never failed in the environment: what it should serve; absent when there is none.",
      type: "gauge",
      samples: latestHealthy,
    },
    {
      name: "certstage_last_check_timestamp_seconds",
      help: "When certstage read the store for these metrics (Unix seconds).",
      type: "gauge",
      samples: [{ labels: {}, value: Math.floor(now.getTime() / 1000) }],
    },
  ];
}
