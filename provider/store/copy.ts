/**
 * `certstage store copy`: moves an existing store (a team's file store) into a postgres store.
 * Everything is read first, then written in one transaction, so a copy cut off half-way leaves
 * the target as it was. The source is only read.
 */
import type { PostgresStore, StoreSnapshot } from "./drivers/postgres";
import type { AcmeAccount, Store } from "./store";

export interface CopySummary {
  readonly certificates: number;
  readonly versions: number;
  readonly deployments: number;
  readonly historyEntries: number;
  readonly tasks: number;
  readonly deletedCertificates: number;
}

export async function readSnapshot(source: Store): Promise<StoreSnapshot> {
  const certificates: StoreSnapshot["certificates"][number][] = [];
  const accountUrls = new Set<string>();
  for (const record of await source.listCertificates()) {
    const versions = [];
    for (const version of await source.listVersions(record.name)) versions.push({ record: version, files: await source.readVersionFiles(record.name, version.version) });
    const renewal = await source.getAcmeRenewal(record.name);
    const order = await source.getAcmeOrder(record.name);
    if (renewal) accountUrls.add(renewal.directoryUrl);
    if (order) accountUrls.add(order.directoryUrl);
    certificates.push({ record, versions, deployments: await source.listDeployments(record.name), ...(renewal ? { renewal } : {}), ...(order ? { order } : {}) });
  }
  const history = await source.readHistory();
  const held = new Set(certificates.map((entry) => entry.record.name));
  // Deleted certificates keep a row, with their owner where the source still knows it: the history
  // about them stays readable by their team, and a name made again goes on numbering.
  const deleted = new Map<string, { owner?: string; lastVersion: number }>();
  for (const record of (await source.listDeletedCertificates?.()) ?? []) deleted.set(record.name, { owner: record.owner, lastVersion: record.lastVersion });
  for (const entry of history) {
    if (held.has(entry.certificate)) continue;
    const known = deleted.get(entry.certificate);
    deleted.set(entry.certificate, { ...known, lastVersion: Math.max(known?.lastVersion ?? 0, entry.toVersion ?? 0, entry.fromVersion ?? 0) });
  }
  const accounts: AcmeAccount[] = [];
  for (const url of accountUrls) {
    const account = await source.getAcmeAccount(url);
    if (account) accounts.push(account);
  }
  return {
    certificates,
    deletedCertificates: [...deleted].map(([name, known]) => ({ name, ...known })),
    history,
    tasks: await source.listTasks(),
    accounts,
  };
}

export async function copyStore(source: Store, target: PostgresStore): Promise<CopySummary> {
  const snapshot = await readSnapshot(source);
  await target.importSnapshot(snapshot);
  return {
    certificates: snapshot.certificates.length,
    versions: snapshot.certificates.reduce((sum, entry) => sum + entry.versions.length, 0),
    deployments: snapshot.certificates.reduce((sum, entry) => sum + entry.deployments.length, 0),
    historyEntries: snapshot.history.length,
    tasks: snapshot.tasks.length,
    deletedCertificates: snapshot.deletedCertificates.length,
  };
}
