/**
 * The embedded store: a directory whose layout is a contract, because web servers read it.
 *
 *   <root>/certificates/<name>/certificate.json
 *   <root>/certificates/<name>/versions/<n>/{cert.pem,chain.pem,fullchain.pem,privkey.pem,jwk.json,version.json}
 *                                               (+ csr.pem for generated versions, keystore.p12 (0600) for versions saved with a keystore)
 *   <root>/certificates/<name>/versions.json  every version's summary, for listings (see below)
 *   <root>/environments/<environment>/<name>  -> ../../certificates/<name>/versions/<n>
 *   <root>/store.json                         the store's identity, made by its first write
 *   <root>/history.jsonl
 *   <root>/tasks/<id>.json                    standby deployments, one file each
 *   <root>/acme/accounts/<sha256 of directory URL>.json + .key.pem (0600)
 *   <root>/acme/renewals/<name>.json
 *   <root>/agents/<agentId>.json              what each `certstage agent` reports it serves
 *   <root>/notifications.json                 what `certstage notify` sent, or is sending
 *   <root>/releases.json                      the versions history records as released (see below)
 *
 * A version directory is assembled under a temporary name and renamed into place, so it appears
 * whole or not at all. A deployment is a symlink replaced by one rename(2), so nginx reading
 * `environments/production/api/fullchain.pem` always gets a complete version, old or new.
 *
 * `versions.json` holds the summary (VersionSummary) of each version, rewritten atomically
 * under the lock by every createVersion and deleteVersion: `certstage status` of 10,000 versions
 * reads one small file per certificate instead of 10,000 version.json files (mostly their JWK).
 * It only ever summarizes what the version directories hold, so the directory listing decides
 * which versions exist: an entry whose directory is gone is ignored, and a version the index
 * lacks (a store written before the index, a run killed between the two) is read from its
 * version.json. The next version saved writes the index whole again. It sits beside `versions/`,
 * not in it, so that directory holds only versions (scripts list it).
 *
 * `releases.json` is the fold of history.jsonl's release lines (store-rules.ts's recordRelease)
 * up to a byte offset, rewritten under the lock by every release appended: status reads it and
 * only the history appended after that offset, instead of all of history. history.jsonl is only
 * ever appended to, so whatever was appended since (by any certstage, one that predates the
 * record included) is in that tail and is folded in the same way. The record names the line that
 * ends at its offset; when that line is not there (history.jsonl restored from a backup, cut),
 * or the record is absent (a store written before it), history is folded from its start, which
 * is what status did before the record.
 */
import * as storeFs from "../store-fs";
import * as os from "node:os";
import * as path from "node:path";
import { compareText } from "../../code-point-order";
import { CertstageError } from "../../errors";
import { RELEASE, releasedVersionOf } from "../../lifecycle/ownership";
import { nextVersionNumber } from "../../lifecycle/version-numbering";
import type { VersionMaterial } from "../../pki/version-material";
import {
  appendLineDurably,
  fsyncDirectory,
  keepEntry,
  replaceFileAtomically,
  replaceSymlinkAtomically,
  truncateFile,
  writeNewFilesDurably,
} from "../atomic-file";
import { withFileLock } from "../file-lock";
import { HistoryLineIndex } from "../history-line-index";
import { nodeCrypto, randomHex } from "../lazy-crypto";
import { MAX_RECORD_BYTES, StorePaths, storeCorrupt } from "../file-paths";
import {
  accountFileFrom,
  CertificateFile,
  certificateFileFrom,
  historyLineFrom,
  identityFileFrom,
  MAX_VERSION_INDEX_BYTES,
  orderFileFrom,
  RELEASES_FILE,
  releasesFileFrom,
  type ReleasesFile,
  renewalFileFrom,
  STORE_FORMAT,
  taskFileFrom,
  VERSION_INDEX_FILE,
  versionFileFrom,
  versionIndexFrom,
} from "../file-records";
import { isWriteFailure, stillDeployed, storeVanished, storeWriteFailed, versionNotFound } from "../store-errors";
import {
  AcmeAccount,
  AcmeOrderInFlight,
  AcmeRenewalRecord,
  Actor,
  CertificateChanges,
  CertificateRecord,
  DeploymentRecord,
  DeploymentTask,
  HistoryAction,
  HistoryEntry,
  HistoryFilter,
  NAME_PATTERN,
  NewCertificate,
  NewDeploymentTask,
  Principal,
  ReleasedVersions,
  ResourceOrigin,
  StatusListings,
  Store,
  StoreIdentity,
  TaskFilter,
  TaskPruning,
  VersionFiles,
  VersionMethod,
  VersionRecord,
  VersionSummary,
} from "../store";
import {
  assertFilterNames,
  assertName,
  assertTaskId,
  assertTaskMayFinish,
  byCreation,
  certificateExists,
  certificateNotFound,
  definedOnly,
  finishAction,
  finishedSummary,
  isTaskId,
  matchesHistoryFilter,
  newTaskId,
  queuedSummary,
  recordRelease,
  runnerDied,
  supersededDetail,
  swapAction,
  taskChangeOf,
  taskHistoryChange,
  taskNotFound,
  tasksToPrune,
  versionSummaryOf,
} from "../store-rules";
import { UndoLog } from "../undo-log";
// Agent reports (their own section below).
import { checkAgentReportFilter, checkedAgentReport, compareAgentReports, matchesAgentReportFilter } from "../agent-reports";
import { agentFileFrom } from "../file-records";
import { AGENT_ID_PATTERN, type AgentReport, type AgentReportFilter } from "../store";
// Notifications (their own section below).
import { assertClaimHeld, byNotificationKey, checkedNotificationClaim, checkNotificationFilter, claimedNotification, failedNotification, mayClaimNotification, sentNotification } from "../notification-rules";
import { notificationsFileFrom } from "../file-records";
import type { NotificationClaim, NotificationFilter, NotificationRecord } from "../store";

export const FILE_DRIVER = "file";

export interface FileStoreOptions {
  /** The store directory; created on first use. */
  readonly root: string;
  readonly lockTimeoutMs?: number;
}

/** File names inside a version directory; servers are configured with these. */
export const VERSION_FILES = {
  certificate: "cert.pem",
  chain: "chain.pem",
  fullchain: "fullchain.pem",
  /** Absent for a CA certificate uploaded without its key. */
  privateKey: "privkey.pem",
  /** Only for generated versions: the request to send to a CA. */
  csr: "csr.pem",
  /** Only for versions saved with a keystore: PKCS#12 (pki/pkcs12.ts), 0600 like the key it holds. */
  pkcs12: "keystore.p12",
  /** The public key as a JWK (RFC 7517); through an environment link it follows every rotation. */
  jwk: "jwk.json",
  metadata: "version.json",
} as const;

export function createFileStore(options: FileStoreOptions): Store {
  return new FileStore(path.resolve(options.root), options.lockTimeoutMs);
}

class FileStore implements Store {
  readonly description: string;
  private readonly paths: StorePaths;
  /** Where each certificate's lines are in history.jsonl, for reads of one certificate's history. */
  private readonly historyIndex: HistoryLineIndex;
  /** How many reads of one certificate's history this Store made (readHistory). */
  private certificateHistoryReads = 0;
  private readonly environmentsRoot: string;
  private readonly certificatesRoot: string;
  /** Set once the root was there: from then on a missing root vanished, and is not made again. */
  private rootSeen = false;
  /** What the running locked operation changed so far (operations are serialized by the lock). */
  private changes: UndoLog | undefined;

  constructor(
    private readonly root: string,
    private readonly lockTimeoutMs: number | undefined,
  ) {
    this.description = `file store ${root}`;
    this.paths = new StorePaths(root);
    this.historyIndex = new HistoryLineIndex(this.paths, this.historyFile());
    this.environmentsRoot = path.join(root, "environments");
    this.certificatesRoot = path.join(root, "certificates");
  }

  // ---- identity -----------------------------------------------------------------------------

  async identity(): Promise<StoreIdentity | undefined> {
    const contents = await this.paths.readFile(this.identityFile(), MAX_RECORD_BYTES);
    if (contents === undefined) return undefined;
    const { format: _format, ...identity } = identityFileFrom(contents, this.identityFile());
    return identity;
  }

  /** Called under the lock by every change: the first write of a store gives it its identity. */
  private async ensureIdentity(): Promise<void> {
    if (await this.paths.exists(this.identityFile())) return;
    const identity = { format: STORE_FORMAT, id: nodeCrypto().randomUUID(), createdAt: new Date().toISOString() };
    await this.replaceFile(this.identityFile(), `${JSON.stringify(identity, null, 2)}\n`);
  }

  // ---- who acts -----------------------------------------------------------------------------

  /**
   * A directory cannot tell who is writing it, so the stack's word is taken: the principal and the
   * teams `certstage:teams` says it acts for. The ownership rules are advisory here: certstage
   * keeps to them, but anyone who can write the directory can change anything in it.
   */
  async principal(actor: Actor): Promise<Principal> {
    return { name: actor.principal, roles: [...new Set([actor.principal, ...(actor.teams ?? [])])], enforcedBy: "advisory" };
  }

  // ---- certificates -------------------------------------------------------------------------

  async createCertificate(certificate: NewCertificate, actor: Actor): Promise<CertificateRecord> {
    assertName(certificate.name, "certificate");
    return this.locked(async () => {
      const existing = await this.readCertificateFile(certificate.name);
      if (existing && existing.deletedAt === undefined) throw certificateExists(certificate.name, this.description);
      const now = new Date().toISOString();
      const { profile, ...fields } = certificate;
      const record: CertificateFile = {
        format: STORE_FORMAT,
        ...fields,
        ...(profile !== undefined ? { profile } : {}),
        shareWith: [...certificate.shareWith],
        lastVersion: existing?.lastVersion ?? 0,
        createdAt: now,
        updatedAt: now,
      };
      // A delete killed half-way may have left its moved-aside versions behind; they are gone.
      await this.removeDeletedVersionDirectories(path.dirname(this.versionsDirectory(certificate.name)));
      await this.makeDirectory(this.versionsDirectory(certificate.name));
      await this.writeCertificateFile(record);
      await this.appendHistory(actor, "certificate.create", certificate.name);
      return toCertificateRecord(record);
    });
  }

  async updateCertificate(name: string, changes: CertificateChanges, actor: Actor): Promise<CertificateRecord> {
    return this.locked(async () => {
      const current = await this.requireCertificate(name);
      const { profile: _previous, ...kept } = current;
      const record: CertificateFile = {
        ...("profile" in changes ? kept : current),
        ...definedOnly(changes),
        format: STORE_FORMAT,
        updatedAt: new Date().toISOString(),
      };
      await this.writeCertificateFile(record);
      await this.appendHistory(actor, "certificate.update", name);
      return toCertificateRecord(record);
    });
  }

  async getCertificate(name: string): Promise<CertificateRecord | undefined> {
    assertName(name, "certificate");
    const file = await this.readCertificateFile(name);
    return file && file.deletedAt === undefined ? toCertificateRecord(file) : undefined;
  }

  async listCertificates(): Promise<CertificateRecord[]> {
    const certificatesRoot = path.join(this.root, "certificates");
    const entries = (await this.paths.listEntries(certificatesRoot)).filter((entry) => NAME_PATTERN.test(entry.name));
    const records: CertificateRecord[] = [];
    for (const entry of entries.sort((a, b) => compareText(a.name, b.name))) {
      await this.paths.checkEntry(certificatesRoot, entry, "directory");
      const file = await this.readCertificateFileInCheckedDirectory(entry.name);
      if (file && file.deletedAt === undefined) records.push(toCertificateRecord(file));
    }
    return records;
  }

  async listDeletedCertificates(): Promise<CertificateRecord[]> {
    const records: CertificateRecord[] = [];
    for (const name of (await this.paths.list(path.join(this.root, "certificates"))).filter((entry) => NAME_PATTERN.test(entry)).sort()) {
      const file = await this.readCertificateFile(name);
      if (file && file.deletedAt !== undefined) records.push(toCertificateRecord(file));
    }
    return records;
  }

  async deleteCertificate(name: string, actor: Actor): Promise<void> {
    await this.locked(async () => {
      const current = await this.requireCertificate(name);
      await this.refuseWhileDeployed(name, undefined);
      const versions = this.versionsDirectory(name);
      await this.paths.check(versions, "directory");
      const aside = `${versions}.deleted.${randomHex(6)}`;
      const moved = await storeFs.rename(versions, aside).then(
        () => true,
        (error: unknown) => {
          ignoreMissing(error);
          return false;
        },
      );
      if (moved) this.onUndo(() => storeFs.rename(aside, versions));
      await this.writeCertificateFile({ ...current, format: STORE_FORMAT, deletedAt: new Date().toISOString() });
      // Removed only once history records the delete: until then the delete can be undone.
      this.onSuccess(() => this.removeDeletedVersionDirectories(path.dirname(versions)));
      await this.appendHistory(actor, "certificate.delete", name, { fromVersion: current.lastVersion || undefined });
    });
  }

  // ---- versions -----------------------------------------------------------------------------

  async createVersion(certificate: string, method: VersionMethod, material: VersionMaterial, actor: Actor, origin?: ResourceOrigin): Promise<VersionRecord> {
    return this.locked(async () => {
      const owner = await this.requireCertificate(certificate);
      const versionsDirectory = this.versionsDirectory(certificate);
      await this.makeDirectory(versionsDirectory);
      const entries = await this.paths.list(versionsDirectory);
      await removeAbandonedStaging(versionsDirectory, entries);
      const version = nextVersionNumber(owner.lastVersion, entries.filter(isVersionDirectoryName).map(Number));

      const record: VersionRecord = {
        certificate,
        version,
        method,
        ...material.facts,
        chainFingerprints: material.chainFingerprints,
        jwk: material.jwk,
        createdAt: new Date().toISOString(),
        createdBy: actor.principal,
        ...(origin !== undefined ? { origin: { urn: origin.urn, inputs: origin.inputs } } : {}),
      };
      const staging = path.join(versionsDirectory, `.staging-${version}-${randomHex(6)}`);
      const target = this.versionDirectory(certificate, version);
      await storeFs.mkdir(staging, { mode: 0o755 });
      try {
        await writeNewFilesDurably(staging, [
          { name: VERSION_FILES.certificate, contents: material.certificatePem },
          { name: VERSION_FILES.chain, contents: material.chainPem },
          { name: VERSION_FILES.fullchain, contents: material.fullchainPem },
          ...(material.privateKeyPem !== undefined ? [{ name: VERSION_FILES.privateKey, contents: material.privateKeyPem, mode: 0o600 }] : []),
          ...(material.csrPem !== undefined ? [{ name: VERSION_FILES.csr, contents: material.csrPem }] : []),
          ...(material.pkcs12 !== undefined ? [{ name: VERSION_FILES.pkcs12, contents: Buffer.from(material.pkcs12, "base64"), mode: 0o600 }] : []),
          { name: VERSION_FILES.jwk, contents: `${JSON.stringify(material.jwk, null, 2)}\n` },
          { name: VERSION_FILES.metadata, contents: `${JSON.stringify({ format: STORE_FORMAT, ...record }, null, 2)}\n` },
        ]);
        if (await this.paths.exists(target)) {
          throw new CertstageError("VERSION_IMMUTABLE", `version ${version} of certificate '${certificate}' already exists`, {
            resource: certificate,
            fix: "versions are never written twice; this indicates a damaged certificate.json, report it",
          });
        }
        await storeFs.rename(staging, target);
      } catch (error) {
        await storeFs.rm(staging, { recursive: true, force: true });
        throw error;
      }
      // Until certificate.json and history record it, the version can be taken back (moved aside
      // first, so it never shows half-removed): no version exists that history does not know.
      this.onUndo(async () => {
        const aside = path.join(versionsDirectory, `.deleted-${version}-${randomHex(6)}`);
        await storeFs.rename(target, aside);
        await fsyncDirectory(versionsDirectory);
        await storeFs.rm(aside, { recursive: true, force: true });
      });
      await fsyncDirectory(versionsDirectory);
      await this.writeVersionIndex(certificate, [...(await this.indexedSummaries(certificate, entries.filter(isVersionDirectoryName).map(Number), { rebuild: true })), versionSummaryOf(record)]);
      await this.writeCertificateFile({ ...owner, format: STORE_FORMAT, lastVersion: version, updatedAt: record.createdAt });
      await this.appendHistory(actor, "version.create", certificate, { toVersion: version });
      return record;
    });
  }

  async getVersion(certificate: string, version: number): Promise<VersionRecord | undefined> {
    assertName(certificate, "certificate");
    if (!Number.isSafeInteger(version) || version < 1) return undefined;
    await this.paths.check(this.versionDirectory(certificate, version), "directory");
    return this.readVersionFile(certificate, version);
  }

  async listVersions(certificate: string): Promise<VersionRecord[]> {
    assertName(certificate, "certificate");
    // The versions directory's path is checked once, and each version directory by the kind
    // readdir reports, rather than every component again for every version.
    const versionsDirectory = this.versionsDirectory(certificate);
    const entries = (await this.paths.listEntries(versionsDirectory)).filter((entry) => isVersionDirectoryName(entry.name));
    const records: VersionRecord[] = [];
    for (const entry of entries.sort((a, b) => Number(a.name) - Number(b.name))) {
      await this.paths.checkEntry(versionsDirectory, entry, "directory");
      const record = await this.readVersionFile(certificate, Number(entry.name), childPath(versionsDirectory, entry.name));
      if (record) records.push(record);
    }
    return records;
  }

  /** version.json of a version whose directory (`directory`, if the caller has its path) was just checked. */
  private async readVersionFile(certificate: string, version: number, directory = this.versionDirectory(certificate, version)): Promise<VersionRecord | undefined> {
    const file = childPath(directory, VERSION_FILES.metadata);
    const contents = await this.paths.readFileInCheckedDirectory(file, MAX_RECORD_BYTES);
    if (contents === undefined) return undefined;
    const { format: _format, ...record } = versionFileFrom(contents, file, certificate, version);
    return record;
  }

  async listAllVersions(): Promise<VersionSummary[]> {
    const summaries: VersionSummary[] = [];
    for await (const versions of this.versionsByCertificate()) summaries.push(...versions);
    return summaries;
  }

  /**
   * Every certificate's version summaries, a certificate at a time, certificates in code-point
   * order of their names (as the directories are walked) and each one's versions in version
   * order (as indexedSummaries gives them).
   */
  private async *versionsByCertificate(): AsyncGenerator<VersionSummary[]> {
    const checked = new Set<string>();
    // Every certificate directory, without reading its certificate.json: a delete moves the
    // versions directory aside before it marks the certificate deleted, so a deleted certificate
    // has none to list, and callers that want the certificates list them anyway (status did, and
    // this read all of them a second time).
    const certificatesRoot = path.join(this.root, "certificates");
    const certificates = (await this.paths.listEntries(certificatesRoot, checked)).filter((entry) => NAME_PATTERN.test(entry.name)).sort((a, b) => compareText(a.name, b.name));
    for (const certificate of certificates) {
      await this.paths.checkEntry(certificatesRoot, certificate, "directory");
      checked.add(childPath(certificatesRoot, certificate.name));
      // Every version directory is checked as listVersions checks it; the summaries come from the index.
      const versionsDirectory = this.versionsDirectory(certificate.name);
      const entries = (await this.paths.listEntries(versionsDirectory, checked)).filter((entry) => isVersionDirectoryName(entry.name));
      if (entries.length === 0) continue;
      for (const entry of entries) await this.paths.checkEntry(versionsDirectory, entry, "directory");
      const summaries = await this.indexedSummaries(certificate.name, entries.map((entry) => Number(entry.name)), { rebuild: false });
      if (summaries.length > 0) yield summaries;
    }
  }

  /**
   * The summaries of `versions` (numbers whose directories exist), in version order: from the
   * index, else from each version.json. A damaged index is refused on a read; a write (`rebuild`)
   * makes it again from the version files instead, since it is about to replace it.
   */
  private async indexedSummaries(certificate: string, versions: readonly number[], options: { rebuild: boolean }): Promise<VersionSummary[]> {
    const file = this.versionIndexFile(certificate);
    let indexed = new Map<number, VersionSummary>();
    try {
      const contents = await this.paths.readFileInCheckedDirectory(file, MAX_VERSION_INDEX_BYTES);
      if (contents !== undefined) indexed = new Map(versionIndexFrom(contents, file, certificate).versions.map((summary) => [summary.version, summary]));
    } catch (error) {
      if (!options.rebuild || !(error instanceof CertstageError) || error.code !== "STORE_CORRUPT") throw error;
    }
    const summaries: VersionSummary[] = [];
    for (const version of [...versions].sort((a, b) => a - b)) {
      let summary = indexed.get(version);
      if (summary === undefined) {
        // listAllVersions checked each directory already; a write did not, and checks this one now.
        if (options.rebuild) await this.paths.check(this.versionDirectory(certificate, version), "directory");
        const record = await this.readVersionFile(certificate, version);
        summary = record && versionSummaryOf(record);
      }
      if (summary) summaries.push(summary);
    }
    return summaries;
  }

  /** Replaces the certificate's version index (call under the lock; undone with the change). */
  private async writeVersionIndex(certificate: string, summaries: readonly VersionSummary[]): Promise<void> {
    await this.replaceFile(this.versionIndexFile(certificate), `${JSON.stringify({ format: STORE_FORMAT, certificate, versions: summaries })}\n`);
  }

  private versionIndexFile(certificate: string): string {
    return path.join(this.root, "certificates", certificate, VERSION_INDEX_FILE);
  }

  async readVersionFiles(certificate: string, version: number): Promise<VersionFiles> {
    if (!(await this.getVersion(certificate, version))) throw versionNotFound(certificate, version);
    const directory = this.versionDirectory(certificate, version);
    const readIfPresent = (name: string) => this.paths.readFile(path.join(directory, name));
    const read = async (name: string) => {
      const contents = await readIfPresent(name);
      if (contents === undefined) throw storeCorrupt(`${path.join(directory, name)} is missing from version ${version} of '${certificate}'`, "restore the version directory from a backup of the store; versions are written whole, so something removed the file");
      return contents;
    };
    const privateKeyPem = await readIfPresent(VERSION_FILES.privateKey);
    const csrPem = await readIfPresent(VERSION_FILES.csr);
    const pkcs12 = await this.paths.readFile(path.join(directory, VERSION_FILES.pkcs12), undefined, "base64");
    return {
      certificatePem: await read(VERSION_FILES.certificate),
      chainPem: await read(VERSION_FILES.chain),
      fullchainPem: await read(VERSION_FILES.fullchain),
      ...(privateKeyPem !== undefined ? { privateKeyPem } : {}),
      ...(csrPem !== undefined ? { csrPem } : {}),
      ...(pkcs12 !== undefined ? { pkcs12 } : {}),
    };
  }

  async deleteVersion(certificate: string, version: number, actor: Actor, action: "version.delete" | "version.remove" = "version.delete"): Promise<void> {
    await this.locked(async () => {
      await this.requireCertificate(certificate);
      if (!(await this.getVersion(certificate, version))) throw versionNotFound(certificate, version);
      await this.refuseWhileDeployed(certificate, version);
      const aside = path.join(this.versionsDirectory(certificate), `.deleted-${version}-${randomHex(6)}`);
      await storeFs.rename(this.versionDirectory(certificate, version), aside);
      this.onUndo(() => storeFs.rename(aside, this.versionDirectory(certificate, version)));
      await fsyncDirectory(this.versionsDirectory(certificate));
      const kept = (await this.paths.list(this.versionsDirectory(certificate))).filter(isVersionDirectoryName).map(Number);
      await this.writeVersionIndex(certificate, await this.indexedSummaries(certificate, kept, { rebuild: true }));
      // Removed only once history records the delete: until then the delete can be undone.
      this.onSuccess(() => storeFs.rm(aside, { recursive: true, force: true }));
      await this.appendHistory(actor, action, certificate, { fromVersion: version });
    });
  }

  async environmentsServing(certificate: string, version?: number): Promise<string[]> {
    const deployments = await this.listDeployments(certificate);
    return deployments.filter((deployment) => version === undefined || deployment.version === version).map((deployment) => deployment.environment);
  }

  // ---- deployments --------------------------------------------------------------------------

  async deploy(certificate: string, environment: string, version: number, actor: Actor): Promise<DeploymentRecord> {
    assertName(environment, "environment");
    return this.locked(async () => {
      await this.requireCertificate(certificate);
      if (!(await this.getVersion(certificate, version))) throw versionNotFound(certificate, version);
      const current = await this.getDeployment(certificate, environment);
      if (current?.version === version) return current;

      const environmentDirectory = path.join(this.root, "environments", environment);
      await this.makeDirectory(environmentDirectory);
      const link = path.join(environmentDirectory, certificate);
      await this.keepForUndo(link);
      await replaceSymlinkAtomically(link, path.relative(environmentDirectory, this.versionDirectory(certificate, version)));
      await this.appendHistory(actor, swapAction(current?.version, version), certificate, { environment, fromVersion: current?.version, toVersion: version });
      const deployed = await this.getDeployment(certificate, environment);
      if (!deployed) throw new Error(`certstage: deployment of ${certificate} to ${environment} vanished right after the swap`);
      return deployed;
    });
  }

  async undeploy(certificate: string, environment: string, actor: Actor): Promise<void> {
    assertName(environment, "environment");
    await this.locked(async () => {
      const current = await this.getDeployment(certificate, environment);
      if (!current) return;
      const environmentDirectory = path.join(this.root, "environments", environment);
      const link = path.join(environmentDirectory, certificate);
      await this.keepForUndo(link);
      await storeFs.rm(link, { force: true });
      await fsyncDirectory(environmentDirectory);
      await this.appendHistory(actor, "undeploy", certificate, { environment, fromVersion: current.version });
    });
  }

  async getDeployment(certificate: string, environment: string): Promise<DeploymentRecord | undefined> {
    return this.readDeployment(certificate, environment);
  }

  /** getDeployment, with the directories a listing has `checked` already (StorePaths.check). */
  private async readDeployment(certificate: string, environment: string, checked?: Set<string>, options: { readonly versionDirectoryCheckedLater?: boolean } = {}): Promise<DeploymentRecord | undefined> {
    assertName(certificate, "certificate");
    assertName(environment, "environment");
    // Paths of checked names, joined without normalizing (childPath): a listing reads 1,000 links.
    const link = childPath(childPath(this.environmentsRoot, environment), certificate);
    const found = await this.paths.readLink(link, checked);
    if (found === undefined) return undefined;
    // Only the link deploy makes: one that resolves anywhere else (/etc, another certificate's
    // version) would have servers read files certstage never checked. The target deploy writes
    // is recognised as it is; any other spelling is resolved and compared.
    const match = /(?:^|\/)([1-9][0-9]{0,8})$/.exec(found.target);
    const version = match ? Number(match[1]) : undefined;
    const versionDirectory = version === undefined ? "" : childPath(childPath(childPath(this.certificatesRoot, certificate), "versions"), String(version));
    if (version === undefined || (found.target !== deployedLinkTarget(certificate, version) && path.resolve(path.dirname(link), found.target) !== versionDirectory)) {
      throw storeCorrupt(`${link} points at '${found.target}', which is not a version of '${certificate}' (${path.join("..", "..", "certificates", certificate, "versions", "<n>")})`, "remove the link and deploy a version again with `pulumi up`");
    }
    if (!options.versionDirectoryCheckedLater) await this.paths.check(versionDirectory, "directory", checked);
    // The rename that swaps the link creates it, so its mtime is when the version was deployed.
    return { certificate, environment, version, deployedAt: found.changedAt.toISOString() };
  }

  async listDeployments(certificate?: string): Promise<DeploymentRecord[]> {
    return this.readDeployments(certificate);
  }

  /**
   * listDeployments. `versionDirectoriesCheckedLater`: the caller reads every version directory
   * after this (readStatusListings, as status comes to each certificate's versions), which
   * refuses one that is not a directory as this would, so the links are read without an lstat of
   * each version directory they point at. Nothing is read through a link here either way.
   */
  private async readDeployments(certificate?: string, options: { readonly versionDirectoriesCheckedLater?: boolean } = {}): Promise<DeploymentRecord[]> {
    const environmentsRoot = path.join(this.root, "environments");
    const deployments: DeploymentRecord[] = [];
    // Each environment's directory, and each certificate's up to its versions, is checked once for all its links.
    const checked = new Set<string>();
    for (const environment of (await this.paths.list(environmentsRoot)).filter((entry) => NAME_PATTERN.test(entry)).sort()) {
      const names = certificate !== undefined ? [certificate] : (await this.paths.list(path.join(environmentsRoot, environment))).filter((entry) => NAME_PATTERN.test(entry));
      for (const name of names.sort()) {
        const deployment = await this.readDeployment(name, environment, checked, { versionDirectoryCheckedLater: options.versionDirectoriesCheckedLater });
        if (deployment) deployments.push(deployment);
      }
    }
    return deployments;
  }

  // ---- history ------------------------------------------------------------------------------

  /**
   * One certificate's history, read again by the same Store (the provider reads it for every
   * deployment to an environment with a promotion rule), is read through the line index
   * (history-line-index.ts). A first read, and every other, is a scan as streamHistory makes it:
   * indexing the file costs about twice a scan, which a command line reading once would pay for
   * nothing.
   */
  async readHistory(filter: HistoryFilter = {}): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    if (filter.certificate === undefined || this.certificateHistoryReads++ === 0) {
      for await (const batch of this.streamHistory(filter)) entries.push(...batch);
      return entries;
    }
    assertFilterNames(filter);
    const file = this.historyFile();
    const mayMatch = historyLinePrefilter(filter);
    for (const { line, lineNumber } of await this.historyIndex.linesOf(filter.certificate)) {
      if (!mayMatch(line)) continue;
      const entry = historyLineFrom(line, file, lineNumber);
      if (entry && matchesHistoryFilter(entry, filter)) entries.push(entry);
    }
    return entries;
  }

  async *streamHistory(filter: HistoryFilter = {}): AsyncGenerator<HistoryEntry[]> {
    assertFilterNames(filter);
    const file = this.historyFile();
    const mayMatch = historyLinePrefilter(filter);
    let lineNumber = 0;
    for await (const lines of this.paths.readLines(file)) {
      const batch: HistoryEntry[] = [];
      for (const line of lines) {
        lineNumber += 1;
        if (!mayMatch(line)) continue;
        const entry = historyLineFrom(line, file, lineNumber);
        if (entry && matchesHistoryFilter(entry, filter)) batch.push(entry);
      }
      if (batch.length > 0) yield batch;
    }
  }

  async recordHistory(entry: Omit<HistoryEntry, "at">): Promise<void> {
    await this.locked(() => this.appendToHistory({ at: new Date().toISOString(), ...definedOnly(entry) } as HistoryEntry));
  }

  // ---- released versions (releases.json; see the top of this file) ---------------------------

  async listReleasedVersions(): Promise<ReleasedVersions> {
    return (await this.foldReleases(await this.readReleasesFile({ rebuild: false }))).released;
  }

  /**
   * The listings one after the other, deployments before versions, so a planted environment link
   * is refused before any version is read. The version directories the links point at are
   * checked as the versions are read (versionsByCertificate checks every one), and a
   * certificate's before its status is shown.
   */
  async readStatusListings<T>(reader: (listings: StatusListings) => Promise<T>): Promise<T> {
    const certificates = await this.listCertificates();
    const agentReports = await this.listAgentReports();
    const deployments = await this.readDeployments(undefined, { versionDirectoriesCheckedLater: true });
    const tasks = await this.listTasks();
    const released = await this.listReleasedVersions();
    // The summaries as read: each is a VersionStatusSummary and more, and copying 10,000 of them
    // down to that would cost this driver more than it saves.
    return reader({ certificates, agentReports, deployments, tasks, released, versionsByCertificate: this.versionsByCertificate() });
  }

  /** releases.json; a damaged one is refused on a read, and made again by a write (`rebuild`), which is about to replace it. */
  private async readReleasesFile(options: { rebuild: boolean }): Promise<ReleasesFile | undefined> {
    const file = this.releasesFile();
    try {
      const contents = await this.paths.readFile(file, MAX_VERSION_INDEX_BYTES);
      return contents === undefined ? undefined : releasesFileFrom(contents, file);
    } catch (error) {
      if (!options.rebuild || !(error instanceof CertstageError) || error.code !== "STORE_CORRUPT") throw error;
      return undefined;
    }
  }

  /**
   * The record with the history after it folded in: from the line the record ends with (which
   * must still be where it says), or from the start of history without a record. Also says how
   * many lines history has, for the next record.
   */
  private async foldReleases(record: ReleasesFile | undefined): Promise<{ released: Map<string, Set<number>>; historyLines: number }> {
    const file = this.historyFile();
    const released = new Map<string, Set<number>>();
    let lineNumber = 0;
    let start = 0;
    if (record !== undefined) {
      for (const [certificate, versions] of Object.entries(record.released)) released.set(certificate, new Set(versions));
      // The record's last line, then what was appended after it.
      lineNumber = record.historyLines - 1;
      start = record.historyBytes - Buffer.byteLength(record.lastLine) - 1;
    }
    let first = record !== undefined;
    for await (const lines of this.paths.readLines(file, undefined, Math.max(start, 0))) {
      for (const line of lines) {
        lineNumber += 1;
        if (first) {
          first = false;
          if (start < 0 || line !== record!.lastLine) return this.foldReleases(undefined);
          continue;
        }
        // The cheap test streamHistory makes: a line without the action is no release.
        if (!line.includes(RELEASE_ACTION)) continue;
        const entry = historyLineFrom(line, file, lineNumber);
        if (entry) recordRelease(released, entry);
      }
    }
    // History shorter than the record says: not the history it was made from.
    if (first) return this.foldReleases(undefined);
    return { released, historyLines: lineNumber };
  }

  /** After a release line was appended (under the lock, undone with the change): the record made up to it. */
  private async writeReleasesFile(lastLine: string, historyBytes: number): Promise<void> {
    const folded = await this.foldReleases(await this.readReleasesFile({ rebuild: true }));
    const released = Object.fromEntries([...folded.released].sort(([a], [b]) => compareText(a, b)).map(([certificate, versions]) => [certificate, [...versions].sort((a, b) => a - b)]));
    const record: ReleasesFile = { format: STORE_FORMAT, historyBytes, historyLines: folded.historyLines, lastLine, released };
    await this.replaceFile(this.releasesFile(), `${JSON.stringify(record)}\n`);
  }

  private releasesFile(): string {
    return path.join(this.root, RELEASES_FILE);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  // ---- standby tasks -------------------------------------------------------------------------

  async queueTask(task: NewDeploymentTask, actor: Actor): Promise<DeploymentTask> {
    assertName(task.environment, "environment");
    return this.locked(async () => {
      await this.requireCertificate(task.certificate);
      if (task.version !== undefined && !(await this.getVersion(task.certificate, task.version))) throw versionNotFound(task.certificate, task.version);
      const now = new Date().toISOString();
      const superseded = await this.listTasks({ certificate: task.certificate, environment: task.environment, state: "pending" });
      for (const earlier of superseded) {
        await this.writeTask({ ...earlier, state: "cancelled", finishedAt: now, finishedBy: actor.principal, detail: supersededDetail(task.version) });
        await this.appendHistory(actor, "task.cancel", earlier.certificate, taskHistoryChange(earlier), `task ${earlier.id} superseded`);
      }
      const current = await this.getDeployment(task.certificate, task.environment);
      const id = newTaskId(now, task.environment, task.certificate, task.version);
      const queued: DeploymentTask = {
        id,
        certificate: task.certificate,
        environment: task.environment,
        ...taskChangeOf(task),
        ...definedOnly({ fromVersion: current?.version, notBefore: task.notBefore }),
        createdAt: now,
        createdBy: actor.principal,
        state: "pending",
        environments: task.environments,
      };
      await this.writeTask(queued);
      await this.appendHistory(actor, "task.queue", task.certificate, taskHistoryChange(queued), queuedSummary(id, task.notBefore, task));
      return queued;
    });
  }

  async getTask(id: string): Promise<DeploymentTask | undefined> {
    assertTaskId(id);
    const file = path.join(this.root, "tasks", `${id}.json`);
    const contents = await this.paths.readFile(file, MAX_RECORD_BYTES);
    return contents === undefined ? undefined : taskFileFrom(contents, file, id);
  }

  async listTasks(filter: TaskFilter = {}): Promise<DeploymentTask[]> {
    assertFilterNames(filter);
    const tasks: DeploymentTask[] = [];
    for (const entry of await this.paths.list(path.join(this.root, "tasks"))) {
      // Anything else in tasks/ (an editor's backup, a temporary file) is not a task.
      if (!entry.endsWith(".json") || !isTaskId(entry.slice(0, -".json".length))) continue;
      const task = await this.getTask(entry.slice(0, -".json".length));
      if (!task) continue;
      if (filter.certificate !== undefined && task.certificate !== filter.certificate) continue;
      if (filter.environment !== undefined && task.environment !== filter.environment) continue;
      if (filter.state !== undefined && task.state !== filter.state) continue;
      tasks.push(task);
    }
    return tasks.sort(byCreation);
  }

  async claimTask(id: string, actor: Actor): Promise<DeploymentTask | undefined> {
    return this.locked(async () => {
      const task = await this.getTask(id);
      if (!task) return undefined;
      if (task.state !== "pending" && !runnerDied(task)) return undefined;
      const claimed: DeploymentTask = { ...task, state: "running", startedAt: new Date().toISOString(), runner: { principal: actor.principal, host: os.hostname(), pid: process.pid } };
      await this.writeTask(claimed);
      return claimed;
    });
  }

  async finishTask(id: string, outcome: { state: "done" | "failed" | "cancelled"; detail?: string }, actor: Actor): Promise<DeploymentTask> {
    return this.locked(async () => {
      const task = await this.getTask(id);
      if (!task) throw taskNotFound(id, this.description);
      assertTaskMayFinish(task, outcome.state);
      const finished: DeploymentTask = { ...task, state: outcome.state, finishedAt: new Date().toISOString(), finishedBy: actor.principal, ...definedOnly({ detail: outcome.detail }) };
      await this.writeTask(finished);
      await this.appendHistory(actor, finishAction(outcome.state), task.certificate, taskHistoryChange(task), finishedSummary(id, outcome.detail), outcome.state === "failed" ? "failed" : "ok");
      return finished;
    });
  }

  async pruneFinishedTasks(pruning: TaskPruning, _actor: Actor): Promise<string[]> {
    return this.locked(async () => {
      // A task's id names its environment and certificate: a prune of one pair reads only the files that may be its.
      const pair = pruning.certificate !== undefined && pruning.environment !== undefined ? `-${pruning.environment}-${pruning.certificate}-` : "";
      const tasks: DeploymentTask[] = [];
      for (const entry of await this.paths.list(path.join(this.root, "tasks"))) {
        const id = entry.slice(0, -".json".length);
        if (!entry.endsWith(".json") || !isTaskId(id) || !id.includes(pair)) continue;
        const task = await this.getTask(id);
        if (task) tasks.push(task);
      }
      // A finished task never changes again; removing its file is all there is (history keeps its outcome).
      const removed = tasksToPrune(tasks, pruning);
      for (const id of removed) {
        const file = path.join(this.root, "tasks", `${id}.json`);
        await this.paths.check(file, "file");
        await storeFs.rm(file, { force: true });
      }
      if (removed.length > 0) await fsyncDirectory(path.join(this.root, "tasks"));
      return removed;
    });
  }

  private async writeTask(task: DeploymentTask): Promise<void> {
    await this.replaceFile(path.join(this.root, "tasks", `${task.id}.json`), `${JSON.stringify(task, null, 2)}\n`);
  }

  // ---- ACME --------------------------------------------------------------------------------

  async getAcmeAccount(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const base = this.acmeAccountBase(directoryUrl);
    const contents = await this.paths.readFile(`${base}.json`, MAX_RECORD_BYTES);
    if (contents === undefined) return undefined;
    const record = accountFileFrom(contents, `${base}.json`);
    const accountKeyPem = await this.paths.readFile(`${base}.key.pem`, MAX_RECORD_BYTES);
    if (accountKeyPem === undefined) throw storeCorrupt(`${base}.key.pem, the key of the ACME account in ${base}.json, is missing`, "remove both files: certstage makes a new account at the next issuance");
    return { directoryUrl: record.directoryUrl, accountUrl: record.accountUrl, accountKeyPem };
  }

  async putAcmeAccount(account: AcmeAccount): Promise<void> {
    await this.locked(() => this.writeAcmeAccount(account));
  }

  async ensureAcmeAccount(account: AcmeAccount): Promise<AcmeAccount> {
    return this.locked(async () => {
      const existing = await this.getAcmeAccount(account.directoryUrl);
      if (existing) return existing;
      await this.writeAcmeAccount(account);
      return account;
    });
  }

  async getAcmeOrder(certificate: string): Promise<AcmeOrderInFlight | undefined> {
    const base = this.acmeOrderBase(certificate);
    const contents = await this.paths.readFile(`${base}.json`, MAX_RECORD_BYTES);
    if (contents === undefined) return undefined;
    const record = orderFileFrom(contents, `${base}.json`, certificate);
    const certificateKeyPem = await this.paths.readFile(`${base}.key.pem`, MAX_RECORD_BYTES);
    if (certificateKeyPem === undefined) throw storeCorrupt(`${base}.key.pem, the key of the ACME order in ${base}.json, is missing`, "remove both files: the next issuance places a new order");
    return { ...record, certificateKeyPem };
  }

  async putAcmeOrder(order: AcmeOrderInFlight): Promise<void> {
    await this.locked(async () => {
      const { certificateKeyPem, ...record } = order;
      const base = this.acmeOrderBase(order.certificate);
      await this.replaceFile(`${base}.key.pem`, certificateKeyPem, 0o600);
      await this.replaceFile(`${base}.json`, `${JSON.stringify(record, null, 2)}\n`);
    });
  }

  async deleteAcmeOrder(certificate: string): Promise<void> {
    await this.locked(async () => {
      const base = this.acmeOrderBase(certificate);
      for (const file of [`${base}.json`, `${base}.key.pem`]) {
        await this.paths.check(file, "file");
        await storeFs.rm(file, { force: true });
      }
    });
  }

  /** The key (0600) and the record of an account; call under the lock. */
  private async writeAcmeAccount(account: AcmeAccount): Promise<void> {
    const base = this.acmeAccountBase(account.directoryUrl);
    await this.replaceFile(`${base}.key.pem`, account.accountKeyPem, 0o600);
    await this.replaceFile(`${base}.json`, `${JSON.stringify({ directoryUrl: account.directoryUrl, accountUrl: account.accountUrl }, null, 2)}\n`);
  }

  private acmeOrderBase(certificate: string): string {
    assertName(certificate, "certificate");
    return path.join(this.root, "acme", "orders", certificate);
  }

  async getAcmeRenewal(certificate: string): Promise<AcmeRenewalRecord | undefined> {
    assertName(certificate, "certificate");
    const file = path.join(this.root, "acme", "renewals", `${certificate}.json`);
    const contents = await this.paths.readFile(file, MAX_RECORD_BYTES);
    return contents === undefined ? undefined : renewalFileFrom(contents, file, certificate);
  }

  async putAcmeRenewal(record: AcmeRenewalRecord): Promise<void> {
    assertName(record.certificate, "certificate");
    await this.locked(async () => {
      await this.replaceFile(path.join(this.root, "acme", "renewals", `${record.certificate}.json`), `${JSON.stringify(record, null, 2)}\n`);
    });
  }

  async deleteAcmeRenewal(certificate: string): Promise<void> {
    assertName(certificate, "certificate");
    await this.locked(async () => {
      const file = path.join(this.root, "acme", "renewals", `${certificate}.json`);
      await this.paths.check(file, "file");
      await storeFs.rm(file, { force: true });
    });
  }

  private acmeAccountBase(directoryUrl: string): string {
    return path.join(this.root, "acme", "accounts", nodeCrypto().createHash("sha256").update(directoryUrl).digest("hex").slice(0, 32));
  }

  // ---- agent reports -------------------------------------------------------------------------
  // <root>/agents/<agentId>.json holds one agent's report for each (environment, certificate) it
  // follows. The file driver has no change feed, so it offers no watchDeployments: agents poll.

  async putAgentReport(report: AgentReport): Promise<void> {
    const checked = checkedAgentReport(report);
    await this.locked(async () => {
      const earlier = (await this.readAgentFile(checked.agentId))?.reports ?? [];
      const others = earlier.filter((kept) => kept.environment !== checked.environment || kept.certificate !== checked.certificate);
      const reports = [...others, checked].sort(compareAgentReports);
      await this.replaceFile(this.agentFile(checked.agentId), `${JSON.stringify({ format: STORE_FORMAT, agentId: checked.agentId, reports }, null, 2)}\n`);
    });
  }

  async listAgentReports(filter: AgentReportFilter = {}): Promise<AgentReport[]> {
    checkAgentReportFilter(filter);
    const reports: AgentReport[] = [];
    for (const entry of await this.paths.list(path.join(this.root, "agents"))) {
      // Anything else there (a temporary file of a write in progress, an editor's backup) is no agent.
      const agentId = entry.endsWith(".json") ? entry.slice(0, -".json".length) : "";
      if (!AGENT_ID_PATTERN.test(agentId)) continue;
      for (const report of (await this.readAgentFile(agentId))?.reports ?? []) if (matchesAgentReportFilter(report, filter)) reports.push(report);
    }
    return reports.sort(compareAgentReports);
  }

  private agentFile(agentId: string): string {
    return path.join(this.root, "agents", `${agentId}.json`);
  }

  private async readAgentFile(agentId: string): Promise<{ reports: AgentReport[] } | undefined> {
    const file = this.agentFile(agentId);
    const contents = await this.paths.readFile(file, MAX_RECORD_BYTES);
    return contents === undefined ? undefined : agentFileFrom(contents, file, agentId);
  }

  // ---- notifications ---------------------------------------------------------------------------
  // <root>/notifications.json holds every record; claims are taken under the store lock, so of two
  // runs one gets a notice.

  async listNotifications(filter: NotificationFilter = {}): Promise<NotificationRecord[]> {
    checkNotificationFilter(filter);
    const records = await this.readNotifications();
    return records.filter((record) => filter.certificate === undefined || record.certificate === filter.certificate).sort(byNotificationKey);
  }

  async claimNotification(claim: NotificationClaim, actor: Actor): Promise<NotificationRecord | undefined> {
    const checked = checkedNotificationClaim(claim);
    return this.locked(async () => {
      const records = await this.readNotifications();
      const existing = records.find((record) => record.key === checked.key);
      if (!mayClaimNotification(existing, checked.at)) return undefined;
      const claimed = claimedNotification(existing, checked, actor);
      await this.writeNotifications([...records.filter((record) => record.key !== checked.key), claimed]);
      return claimed;
    });
  }

  async markNotificationSent(claimed: NotificationRecord, sentAt: string): Promise<NotificationRecord> {
    return this.endNotificationClaim(claimed, () => sentNotification(claimed, sentAt));
  }

  async releaseNotification(claimed: NotificationRecord, error: string): Promise<NotificationRecord> {
    return this.endNotificationClaim(claimed, () => failedNotification(claimed, error));
  }

  private async endNotificationClaim(claimed: NotificationRecord, next: () => NotificationRecord): Promise<NotificationRecord> {
    return this.locked(async () => {
      const records = await this.readNotifications();
      assertClaimHeld(records.find((record) => record.key === claimed.key), claimed);
      const ended = next();
      await this.writeNotifications([...records.filter((record) => record.key !== claimed.key), ended]);
      return ended;
    });
  }

  private notificationsFile(): string {
    return path.join(this.root, "notifications.json");
  }

  private async readNotifications(): Promise<NotificationRecord[]> {
    const file = this.notificationsFile();
    const contents = await this.paths.readFile(file, MAX_RECORD_BYTES * 8);
    return contents === undefined ? [] : notificationsFileFrom(contents, file).notifications;
  }

  private async writeNotifications(records: NotificationRecord[]): Promise<void> {
    await this.replaceFile(this.notificationsFile(), `${JSON.stringify({ format: STORE_FORMAT, notifications: records.sort(byNotificationKey) }, null, 2)}\n`);
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * Runs a change under the store lock, whole or not at all: when any step fails, what the
   * earlier steps wrote is undone before the lock is released. A write the filesystem refuses
   * (full, read-only, not permitted, the store gone) becomes STORE_WRITE_FAILED.
   */
  private async locked<T>(action: () => Promise<T>): Promise<T> {
    const changes = new UndoLog();
    try {
      await this.requireRoot();
      await this.makeDirectory(path.join(this.root, "tasks"));
      return await withFileLock(
        path.join(this.root, ".lock"),
        async () => {
          // Every change ends with a history line: a planted history.jsonl is refused before the change, not after it.
          await this.paths.check(this.historyFile(), "file");
          this.changes = changes;
          try {
            await this.ensureIdentity();
            const result = await action();
            this.changes = undefined;
            await changes.succeeded();
            return result;
          } catch (error) {
            this.changes = undefined;
            await changes.undo();
            throw error;
          }
        },
        { timeoutMs: this.lockTimeoutMs },
      );
    } catch (error) {
      throw await this.asWriteFailure(error, changes.undoFailure);
    }
  }

  /**
   * Makes the store on first use, but never again once this Store saw it: mkdir -p of a root
   * that vanished (a volume unmounted under a running `up`) would start an empty store that
   * forgets every certificate and deployment.
   */
  private async requireRoot(): Promise<void> {
    if (this.rootSeen) {
      await storeFs.stat(this.root);
      return;
    }
    await storeFs.mkdir(this.root, { recursive: true });
    this.rootSeen = true;
  }

  private async asWriteFailure(error: unknown, undoFailure: unknown): Promise<unknown> {
    if (error instanceof CertstageError || !isWriteFailure(error)) return error;
    const rootGone = await storeFs.stat(this.root).then(
      () => false,
      () => true,
    );
    if (rootGone) return storeVanished(this.root, error);
    // Any other missing path inside a store that is still there is not a fault of the filesystem.
    if (error.code === "ENOENT") return error;
    return storeWriteFailed(error, this.root, shownPath(error.path ?? this.root), undoFailure);
  }

  private onUndo(step: () => Promise<void>): void {
    this.changes?.onUndo(step);
  }

  private onSuccess(cleanup: () => Promise<void>): void {
    this.changes?.onSuccess(cleanup);
  }

  /** Keeps what is at `entry` (a file or a deployment link) so that undoing puts it back. */
  private async keepForUndo(entry: string): Promise<void> {
    const kept = await keepEntry(entry);
    this.onUndo(kept.restore);
    this.onSuccess(kept.discard);
  }

  private versionsDirectory(certificate: string): string {
    return path.join(this.root, "certificates", certificate, "versions");
  }

  private versionDirectory(certificate: string, version: number): string {
    return path.join(this.versionsDirectory(certificate), String(version));
  }

  private identityFile(): string {
    return path.join(this.root, "store.json");
  }

  private historyFile(): string {
    return path.join(this.root, "history.jsonl");
  }

  private async readCertificateFile(name: string): Promise<CertificateFile | undefined> {
    await this.paths.check(path.join(this.root, "certificates", name), "directory");
    return this.readCertificateFileInCheckedDirectory(name);
  }

  private async readCertificateFileInCheckedDirectory(name: string): Promise<CertificateFile | undefined> {
    const file = path.join(this.root, "certificates", name, "certificate.json");
    const contents = await this.paths.readFileInCheckedDirectory(file, MAX_RECORD_BYTES);
    return contents === undefined ? undefined : certificateFileFrom(contents, file, name);
  }

  private async writeCertificateFile(record: CertificateFile): Promise<void> {
    await this.replaceFile(path.join(this.root, "certificates", record.name, "certificate.json"), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** mkdir -p, after making sure no component is a planted link it would follow. */
  private async makeDirectory(directory: string): Promise<void> {
    await this.paths.check(directory, "directory");
    if (this.rootSeen) await storeFs.stat(this.root); // mkdir -p must not make a vanished store again (requireRoot)
    const created = await storeFs.mkdir(directory, { recursive: true });
    if (created !== undefined) this.onUndo(() => storeFs.rm(created, { recursive: true, force: true }));
  }

  /** Replaces a file of the store (temp file + rename), never through a planted link. */
  private async replaceFile(file: string, contents: string, mode?: number): Promise<void> {
    await this.makeDirectory(path.dirname(file));
    await this.paths.check(file, "file");
    await this.keepForUndo(file);
    await replaceFileAtomically(file, contents, mode);
  }

  private async appendToHistory(entry: HistoryEntry): Promise<void> {
    await this.paths.check(this.historyFile(), "file");
    const line = JSON.stringify(entry);
    const before = await appendLineDurably(this.historyFile(), line);
    this.onUndo(() => truncateFile(this.historyFile(), before));
    if (releasedVersionOf(entry) !== undefined) await this.writeReleasesFile(line, before + Buffer.byteLength(line) + 1);
  }

  private async removeDeletedVersionDirectories(certificateDirectory: string): Promise<void> {
    for (const entry of (await this.paths.list(certificateDirectory)).filter((name) => name.startsWith("versions.deleted."))) {
      await storeFs.rm(path.join(certificateDirectory, entry), { recursive: true, force: true });
    }
  }

  private async requireCertificate(name: string): Promise<CertificateFile> {
    assertName(name, "certificate");
    const file = await this.readCertificateFile(name);
    if (!file || file.deletedAt !== undefined) throw certificateNotFound(name, this.description);
    return file;
  }

  private async refuseWhileDeployed(certificate: string, version: number | undefined): Promise<void> {
    const deployments = (await this.listDeployments(certificate)).filter((deployment) => version === undefined || deployment.version === version);
    if (deployments.length === 0) return;
    throw stillDeployed(certificate, version, deployments);
  }

  private async appendHistory(
    actor: Actor,
    action: HistoryAction,
    certificate: string,
    details: Pick<HistoryEntry, "environment" | "fromVersion" | "toVersion"> = {},
    detail?: string,
    result: HistoryEntry["result"] = "ok",
  ): Promise<void> {
    const entry: HistoryEntry = { at: new Date().toISOString(), actor: actor.principal, action, certificate, ...definedOnly(details), result, ...definedOnly({ detail }) };
    await this.appendToHistory(entry);
  }

}

/**
 * path.join of a directory path.join made and one entry name of it: the same string, without
 * normalizing again (a listing of 10,000 versions spent a tenth of its time in path.join).
 */
function childPath(directory: string, entry: string): string {
  return directory.endsWith(path.sep) ? `${directory}${entry}` : `${directory}${path.sep}${entry}`;
}

/** JSON of the release action, as every release line holds it. */
const RELEASE_ACTION = `"${RELEASE.action}"`;

/** What deploy links `environments/<environment>/<certificate>` to: the version's directory, relative to the link's. */
function deployedLinkTarget(certificate: string, version: number): string {
  return ["..", "..", "certificates", certificate, "versions", String(version)].join(path.sep);
}

function isVersionDirectoryName(entry: string): boolean {
  return /^[1-9][0-9]*$/.test(entry);
}

async function removeAbandonedStaging(versionsDirectory: string, entries: string[]): Promise<void> {
  // Left by a process killed while writing a version (we hold the lock, so none is in progress).
  for (const entry of entries.filter((name) => name.startsWith(".staging-") || name.startsWith(".deleted-"))) {
    await storeFs.rm(path.join(versionsDirectory, entry), { recursive: true, force: true });
  }
}

function toCertificateRecord(file: CertificateFile): CertificateRecord {
  const { format: _format, deletedAt: _deletedAt, ...record } = file;
  return record;
}

/** A path as the user knows it: the version being written, not its staging name; the lock, not its acquiring name. */
function shownPath(file: string): string {
  return file.replace(/\/\.staging-(\d+)-[0-9a-f]+(?=\/|$)/, "/$1").replace(/\/\.lock\.acquire\.[^/]+(?=\/|$)/, "/.lock");
}

function ignoreMissing(error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
}

/**
 * The cheap test made of a history line before it is parsed: certstage writes names and actions
 * into each line as they are (JSON escapes none of their characters), so a line lacking one the
 * filter wants cannot match, and is skipped unparsed (most of the file, for a scan of one
 * certificate or one action).
 */
function historyLinePrefilter(filter: HistoryFilter): (line: string) => boolean {
  const wanted = [filter.certificate, filter.environment].filter((value): value is string => value !== undefined).map((value) => `"${value}"`);
  const actions = filter.actions?.map((action) => `"${action}"`);
  return (line) => wanted.every((value) => line.includes(value)) && (actions === undefined || actions.some((action) => line.includes(action)));
}
