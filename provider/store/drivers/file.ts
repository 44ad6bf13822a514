/**
 * The embedded store: a directory whose layout is a contract, because web servers read it.
 *
 *   <root>/certificates/<name>/certificate.json
 *   <root>/certificates/<name>/versions/<n>/{cert.pem,chain.pem,fullchain.pem,privkey.pem,jwk.json,version.json}
 *                                               (+ csr.pem for generated versions)
 *   <root>/environments/<environment>/<name>  -> ../../certificates/<name>/versions/<n>
 *   <root>/history.jsonl
 *   <root>/tasks/<id>.json                    standby deployments, one file each
 *   <root>/acme/accounts/<sha256 of directory URL>.json + .key.pem (0600)
 *   <root>/acme/renewals/<name>.json
 *
 * A version directory is assembled under a temporary name and renamed into place, so it appears
 * whole or not at all. A deployment is a symlink replaced by one rename(2), so nginx reading
 * `environments/production/api/fullchain.pem` always gets a complete version, old or new.
 */
import { createHash, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CertstageError } from "../../errors";
import { nextVersionNumber } from "../../lifecycle/version-numbering";
import type { VersionMaterial } from "../../pki/version-material";
import {
  appendLineDurably,
  fsyncDirectory,
  replaceFileAtomically,
  replaceSymlinkAtomically,
  writeFileDurably,
} from "../atomic-file";
import { processIsAlive, withFileLock } from "../file-lock";
import { nameInvalid, stillDeployed, versionNotFound } from "../store-errors";
import {
  AcmeAccount,
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
  Store,
  TaskFilter,
  VersionFiles,
  VersionMethod,
  VersionRecord,
} from "../store";

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
  /** The public key as a JWK (RFC 7517); through an environment link it follows every rotation. */
  jwk: "jwk.json",
  metadata: "version.json",
} as const;

const STORE_FORMAT = 1;

interface CertificateFile extends CertificateRecord {
  readonly format: number;
  /** Set when deleted: the record stays so version numbers are never reused. */
  readonly deletedAt?: string;
}

export function createFileStore(options: FileStoreOptions): Store {
  return new FileStore(path.resolve(options.root), options.lockTimeoutMs);
}

class FileStore implements Store {
  readonly description: string;

  constructor(
    private readonly root: string,
    private readonly lockTimeoutMs: number | undefined,
  ) {
    this.description = `file store ${root}`;
  }

  // ---- certificates -------------------------------------------------------------------------

  async createCertificate(certificate: NewCertificate, actor: Actor): Promise<CertificateRecord> {
    assertName(certificate.name, "certificate");
    return this.locked(async () => {
      const existing = await this.readCertificateFile(certificate.name);
      if (existing && existing.deletedAt === undefined) {
        throw new CertstageError("CERTIFICATE_EXISTS", `certificate '${certificate.name}' already exists in ${this.description}`, {
          resource: certificate.name,
          fix: "choose another name, or manage the existing certificate from the stack that created it",
        });
      }
      const now = new Date().toISOString();
      const record: CertificateFile = {
        format: STORE_FORMAT,
        ...certificate,
        shareWith: [...certificate.shareWith],
        lastVersion: existing?.lastVersion ?? 0,
        createdAt: now,
        updatedAt: now,
      };
      // A delete killed half-way may have left its moved-aside versions behind; they are gone.
      await removeDeletedVersionDirectories(path.dirname(this.versionsDirectory(certificate.name)));
      await fs.mkdir(this.versionsDirectory(certificate.name), { recursive: true });
      await this.writeCertificateFile(record);
      await this.appendHistory(actor, "certificate.create", certificate.name);
      return toCertificateRecord(record);
    });
  }

  async updateCertificate(name: string, changes: CertificateChanges, actor: Actor): Promise<CertificateRecord> {
    return this.locked(async () => {
      const current = await this.requireCertificate(name);
      const record: CertificateFile = {
        ...current,
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
    const names = await listDirectory(path.join(this.root, "certificates"));
    const records: CertificateRecord[] = [];
    for (const name of names.filter((entry) => NAME_PATTERN.test(entry)).sort()) {
      const record = await this.getCertificate(name);
      if (record) records.push(record);
    }
    return records;
  }

  async deleteCertificate(name: string, actor: Actor): Promise<void> {
    await this.locked(async () => {
      const current = await this.requireCertificate(name);
      await this.refuseWhileDeployed(name, undefined);
      const versions = this.versionsDirectory(name);
      await fs.rename(versions, `${versions}.deleted.${randomBytes(6).toString("hex")}`).catch(ignoreMissing);
      await this.writeCertificateFile({ ...current, format: STORE_FORMAT, deletedAt: new Date().toISOString() });
      await removeDeletedVersionDirectories(path.dirname(versions));
      await this.appendHistory(actor, "certificate.delete", name, { fromVersion: current.lastVersion || undefined });
    });
  }

  // ---- versions -----------------------------------------------------------------------------

  async createVersion(certificate: string, method: VersionMethod, material: VersionMaterial, actor: Actor): Promise<VersionRecord> {
    return this.locked(async () => {
      const owner = await this.requireCertificate(certificate);
      const versionsDirectory = this.versionsDirectory(certificate);
      await fs.mkdir(versionsDirectory, { recursive: true });
      const entries = await listDirectory(versionsDirectory);
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
      };
      const staging = path.join(versionsDirectory, `.staging-${version}-${randomBytes(6).toString("hex")}`);
      await fs.mkdir(staging, { mode: 0o755 });
      try {
        await writeFileDurably(path.join(staging, VERSION_FILES.certificate), material.certificatePem);
        await writeFileDurably(path.join(staging, VERSION_FILES.chain), material.chainPem);
        await writeFileDurably(path.join(staging, VERSION_FILES.fullchain), material.fullchainPem);
        if (material.privateKeyPem !== undefined) await writeFileDurably(path.join(staging, VERSION_FILES.privateKey), material.privateKeyPem, 0o600);
        if (material.csrPem !== undefined) await writeFileDurably(path.join(staging, VERSION_FILES.csr), material.csrPem);
        await writeFileDurably(path.join(staging, VERSION_FILES.jwk), `${JSON.stringify(material.jwk, null, 2)}\n`);
        await writeFileDurably(path.join(staging, VERSION_FILES.metadata), `${JSON.stringify({ format: STORE_FORMAT, ...record }, null, 2)}\n`);
        await fsyncDirectory(staging);
        const target = this.versionDirectory(certificate, version);
        if (await exists(target)) {
          throw new CertstageError("VERSION_IMMUTABLE", `version ${version} of certificate '${certificate}' already exists`, {
            resource: certificate,
            fix: "versions are never written twice; this indicates a damaged certificate.json, report it",
          });
        }
        await fs.rename(staging, target);
      } catch (error) {
        await fs.rm(staging, { recursive: true, force: true });
        throw error;
      }
      await fsyncDirectory(versionsDirectory);
      await this.writeCertificateFile({ ...owner, format: STORE_FORMAT, lastVersion: version, updatedAt: record.createdAt });
      await this.appendHistory(actor, "version.create", certificate, { toVersion: version });
      return record;
    });
  }

  async getVersion(certificate: string, version: number): Promise<VersionRecord | undefined> {
    assertName(certificate, "certificate");
    const file = path.join(this.versionDirectory(certificate, version), VERSION_FILES.metadata);
    const parsed = await readJson<VersionRecord & { format?: number }>(file);
    if (!parsed) return undefined;
    const { format: _format, ...record } = parsed;
    return record;
  }

  async listVersions(certificate: string): Promise<VersionRecord[]> {
    assertName(certificate, "certificate");
    const numbers = (await listDirectory(this.versionsDirectory(certificate))).filter(isVersionDirectoryName).map(Number);
    const records: VersionRecord[] = [];
    for (const version of numbers.sort((a, b) => a - b)) {
      const record = await this.getVersion(certificate, version);
      if (record) records.push(record);
    }
    return records;
  }

  async readVersionFiles(certificate: string, version: number): Promise<VersionFiles> {
    if (!(await this.getVersion(certificate, version))) throw versionNotFound(certificate, version);
    const directory = this.versionDirectory(certificate, version);
    const read = (name: string) => fs.readFile(path.join(directory, name), "utf8");
    const readIfPresent = (name: string) => read(name).catch((error) => (ignoreMissing(error), undefined));
    const privateKeyPem = await readIfPresent(VERSION_FILES.privateKey);
    const csrPem = await readIfPresent(VERSION_FILES.csr);
    return {
      certificatePem: await read(VERSION_FILES.certificate),
      chainPem: await read(VERSION_FILES.chain),
      fullchainPem: await read(VERSION_FILES.fullchain),
      ...(privateKeyPem !== undefined ? { privateKeyPem } : {}),
      ...(csrPem !== undefined ? { csrPem } : {}),
    };
  }

  async deleteVersion(certificate: string, version: number, actor: Actor): Promise<void> {
    await this.locked(async () => {
      await this.requireCertificate(certificate);
      if (!(await this.getVersion(certificate, version))) throw versionNotFound(certificate, version);
      await this.refuseWhileDeployed(certificate, version);
      const aside = path.join(this.versionsDirectory(certificate), `.deleted-${version}-${randomBytes(6).toString("hex")}`);
      await fs.rename(this.versionDirectory(certificate, version), aside);
      await fsyncDirectory(this.versionsDirectory(certificate));
      await fs.rm(aside, { recursive: true, force: true });
      await this.appendHistory(actor, "version.delete", certificate, { fromVersion: version });
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
      await fs.mkdir(environmentDirectory, { recursive: true });
      const link = path.join(environmentDirectory, certificate);
      await replaceSymlinkAtomically(link, path.relative(environmentDirectory, this.versionDirectory(certificate, version)));
      const action: HistoryAction = current !== undefined && version < current.version ? "rollback" : "deploy";
      await this.appendHistory(actor, action, certificate, { environment, fromVersion: current?.version, toVersion: version });
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
      await fs.rm(path.join(environmentDirectory, certificate), { force: true });
      await fsyncDirectory(environmentDirectory);
      await this.appendHistory(actor, "undeploy", certificate, { environment, fromVersion: current.version });
    });
  }

  async getDeployment(certificate: string, environment: string): Promise<DeploymentRecord | undefined> {
    assertName(certificate, "certificate");
    assertName(environment, "environment");
    const link = path.join(this.root, "environments", environment, certificate);
    let target: string;
    let changedAt: Date;
    try {
      target = await fs.readlink(link);
      changedAt = (await fs.lstat(link)).mtime;
    } catch (error) {
      ignoreMissing(error);
      return undefined;
    }
    const version = versionFromLinkTarget(target);
    if (version === undefined) {
      throw new CertstageError("STORE_CORRUPT", `${link} points at '${target}', which is not a version directory of '${certificate}'`, {
        fix: "deploy a version again with `pulumi up`, or remove the link by hand",
      });
    }
    // The rename that swaps the link creates it, so its mtime is when the version was deployed.
    return { certificate, environment, version, deployedAt: changedAt.toISOString() };
  }

  async listDeployments(certificate?: string): Promise<DeploymentRecord[]> {
    const environmentsRoot = path.join(this.root, "environments");
    const deployments: DeploymentRecord[] = [];
    for (const environment of (await listDirectory(environmentsRoot)).filter((entry) => NAME_PATTERN.test(entry)).sort()) {
      const names = certificate !== undefined ? [certificate] : (await listDirectory(path.join(environmentsRoot, environment))).filter((entry) => NAME_PATTERN.test(entry));
      for (const name of names.sort()) {
        const deployment = await this.getDeployment(name, environment);
        if (deployment) deployments.push(deployment);
      }
    }
    return deployments;
  }

  // ---- history ------------------------------------------------------------------------------

  async readHistory(filter: HistoryFilter = {}): Promise<HistoryEntry[]> {
    assertFilterNames(filter);
    let text: string;
    try {
      text = await fs.readFile(this.historyFile(), "utf8");
    } catch (error) {
      ignoreMissing(error);
      return [];
    }
    const entries: HistoryEntry[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let entry: HistoryEntry;
      try {
        entry = JSON.parse(line) as HistoryEntry;
      } catch {
        continue; // A line torn by a crash mid-append; the lines around it are intact.
      }
      if (filter.certificate !== undefined && entry.certificate !== filter.certificate) continue;
      if (filter.environment !== undefined && entry.environment !== filter.environment) continue;
      entries.push(entry);
    }
    return entries;
  }

  async recordHistory(entry: Omit<HistoryEntry, "at">): Promise<void> {
    await this.locked(() => appendLineDurably(this.historyFile(), JSON.stringify({ at: new Date().toISOString(), ...definedOnly(entry) })));
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  // ---- standby tasks -------------------------------------------------------------------------

  async queueTask(task: NewDeploymentTask, actor: Actor): Promise<DeploymentTask> {
    assertName(task.environment, "environment");
    return this.locked(async () => {
      await this.requireCertificate(task.certificate);
      if (!(await this.getVersion(task.certificate, task.version))) throw versionNotFound(task.certificate, task.version);
      const now = new Date().toISOString();
      const superseded = await this.listTasks({ certificate: task.certificate, environment: task.environment, state: "pending" });
      for (const earlier of superseded) {
        await this.writeTask({ ...earlier, state: "cancelled", finishedAt: now, finishedBy: actor.principal, detail: `superseded by a task for version ${task.version}` });
        await this.appendHistory(actor, "task.cancel", earlier.certificate, { environment: earlier.environment, fromVersion: earlier.fromVersion, toVersion: earlier.version }, `task ${earlier.id} superseded`);
      }
      const current = await this.getDeployment(task.certificate, task.environment);
      const id = `${now.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${task.environment}-${task.certificate}-v${task.version}-${randomBytes(3).toString("hex")}`;
      const queued: DeploymentTask = {
        id,
        certificate: task.certificate,
        environment: task.environment,
        version: task.version,
        ...definedOnly({ fromVersion: current?.version, notBefore: task.notBefore }),
        createdAt: now,
        createdBy: actor.principal,
        state: "pending",
        environments: task.environments,
      };
      await this.writeTask(queued);
      const when = task.notBefore ? `not before ${task.notBefore}` : "as soon as a runner picks it up";
      await this.appendHistory(actor, "task.queue", task.certificate, { environment: task.environment, fromVersion: current?.version, toVersion: task.version }, `task ${id}, ${when}`);
      return queued;
    });
  }

  async getTask(id: string): Promise<DeploymentTask | undefined> {
    assertTaskId(id);
    return readJson<DeploymentTask>(path.join(this.root, "tasks", `${id}.json`));
  }

  async listTasks(filter: TaskFilter = {}): Promise<DeploymentTask[]> {
    assertFilterNames(filter);
    const tasks: DeploymentTask[] = [];
    for (const entry of await listDirectory(path.join(this.root, "tasks"))) {
      // Anything else in tasks/ (an editor's backup, a temporary file) is not a task.
      if (!entry.endsWith(".json") || !isTaskId(entry.slice(0, -".json".length))) continue;
      const task = await this.getTask(entry.slice(0, -".json".length));
      if (!task) continue;
      if (filter.certificate !== undefined && task.certificate !== filter.certificate) continue;
      if (filter.environment !== undefined && task.environment !== filter.environment) continue;
      if (filter.state !== undefined && task.state !== filter.state) continue;
      tasks.push(task);
    }
    return tasks.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async claimTask(id: string, actor: Actor): Promise<DeploymentTask | undefined> {
    return this.locked(async () => {
      const task = await this.getTask(id);
      if (!task) return undefined;
      const runnerDied = task.state === "running" && task.runner !== undefined && task.runner.host === os.hostname() && !processIsAlive(task.runner.pid);
      if (task.state !== "pending" && !runnerDied) return undefined;
      const claimed: DeploymentTask = { ...task, state: "running", startedAt: new Date().toISOString(), runner: { principal: actor.principal, host: os.hostname(), pid: process.pid } };
      await this.writeTask(claimed);
      return claimed;
    });
  }

  async finishTask(id: string, outcome: { state: "done" | "failed" | "cancelled"; detail?: string }, actor: Actor): Promise<DeploymentTask> {
    return this.locked(async () => {
      const task = await this.getTask(id);
      if (!task) throw new CertstageError("TASK_NOT_FOUND", `there is no task '${id}' in ${this.description}`, { fix: "list tasks with `certstage tasks list`" });
      const allowed = outcome.state === "cancelled" ? task.state === "pending" : task.state === "running";
      if (!allowed) {
        throw new CertstageError("TASK_STATE", `task '${id}' is ${task.state} and cannot become ${outcome.state}`, { fix: "list tasks with `certstage tasks list` to see what happened to it" });
      }
      const finished: DeploymentTask = { ...task, state: outcome.state, finishedAt: new Date().toISOString(), finishedBy: actor.principal, ...definedOnly({ detail: outcome.detail }) };
      await this.writeTask(finished);
      const action: HistoryAction = outcome.state === "cancelled" ? "task.cancel" : "task.run";
      const summary = `task ${id}${outcome.detail ? `: ${outcome.detail}` : ""}`;
      await this.appendHistory(actor, action, task.certificate, { environment: task.environment, fromVersion: task.fromVersion, toVersion: task.version }, summary, outcome.state === "failed" ? "failed" : "ok");
      return finished;
    });
  }

  private async writeTask(task: DeploymentTask): Promise<void> {
    await replaceFileAtomically(path.join(this.root, "tasks", `${task.id}.json`), `${JSON.stringify(task, null, 2)}\n`);
  }

  // ---- ACME --------------------------------------------------------------------------------

  async getAcmeAccount(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const base = this.acmeAccountBase(directoryUrl);
    const record = await readJson<{ directoryUrl: string; accountUrl?: string }>(`${base}.json`);
    if (!record) return undefined;
    const accountKeyPem = await fs.readFile(`${base}.key.pem`, "utf8");
    return { directoryUrl: record.directoryUrl, accountUrl: record.accountUrl, accountKeyPem };
  }

  async putAcmeAccount(account: AcmeAccount): Promise<void> {
    await this.locked(async () => {
      const base = this.acmeAccountBase(account.directoryUrl);
      await fs.mkdir(path.dirname(base), { recursive: true });
      await replaceFileAtomically(`${base}.key.pem`, account.accountKeyPem, 0o600);
      await replaceFileAtomically(`${base}.json`, `${JSON.stringify({ directoryUrl: account.directoryUrl, accountUrl: account.accountUrl }, null, 2)}\n`);
    });
  }

  async getAcmeRenewal(certificate: string): Promise<AcmeRenewalRecord | undefined> {
    assertName(certificate, "certificate");
    return readJson<AcmeRenewalRecord>(path.join(this.root, "acme", "renewals", `${certificate}.json`));
  }

  async putAcmeRenewal(record: AcmeRenewalRecord): Promise<void> {
    assertName(record.certificate, "certificate");
    await this.locked(async () => {
      const file = path.join(this.root, "acme", "renewals", `${record.certificate}.json`);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await replaceFileAtomically(file, `${JSON.stringify(record, null, 2)}\n`);
    });
  }

  async deleteAcmeRenewal(certificate: string): Promise<void> {
    assertName(certificate, "certificate");
    await this.locked(async () => {
      await fs.rm(path.join(this.root, "acme", "renewals", `${certificate}.json`), { force: true });
    });
  }

  private acmeAccountBase(directoryUrl: string): string {
    return path.join(this.root, "acme", "accounts", createHash("sha256").update(directoryUrl).digest("hex").slice(0, 32));
  }

  // ---- internals ----------------------------------------------------------------------------

  private async locked<T>(action: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.root, { recursive: true });
    await fs.mkdir(path.join(this.root, "tasks"), { recursive: true });
    return withFileLock(path.join(this.root, ".lock"), action, { timeoutMs: this.lockTimeoutMs });
  }

  private versionsDirectory(certificate: string): string {
    return path.join(this.root, "certificates", certificate, "versions");
  }

  private versionDirectory(certificate: string, version: number): string {
    return path.join(this.versionsDirectory(certificate), String(version));
  }

  private historyFile(): string {
    return path.join(this.root, "history.jsonl");
  }

  private async readCertificateFile(name: string): Promise<CertificateFile | undefined> {
    return readJson<CertificateFile>(path.join(this.root, "certificates", name, "certificate.json"));
  }

  private async writeCertificateFile(record: CertificateFile): Promise<void> {
    const file = path.join(this.root, "certificates", record.name, "certificate.json");
    await fs.mkdir(path.dirname(file), { recursive: true });
    await replaceFileAtomically(file, `${JSON.stringify(record, null, 2)}\n`);
  }

  private async requireCertificate(name: string): Promise<CertificateFile> {
    assertName(name, "certificate");
    const file = await this.readCertificateFile(name);
    if (!file || file.deletedAt !== undefined) {
      throw new CertstageError("CERTIFICATE_NOT_FOUND", `certificate '${name}' does not exist in ${this.description}`, {
        resource: name,
        fix: "create it with a Certificate resource first (check the certstage:store setting points at the right store)",
      });
    }
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
    await appendLineDurably(this.historyFile(), JSON.stringify(entry));
  }

}

/** Task ids become file names: only the form `queueTask` makes (time, environment-certificate, version, random). */
const TASK_ID_FORM = /^\d{8}T\d{6}Z-([a-z0-9._-]{3,129})-v[1-9]\d{0,8}-[0-9a-f]{6}$/;

function isTaskId(id: string): boolean {
  const names = TASK_ID_FORM.exec(id)?.[1];
  if (names === undefined) return false;
  // Both names may hold '-': some split must give a valid environment and a valid certificate.
  return [...names.matchAll(/-/g)].some(({ index }) => NAME_PATTERN.test(names.slice(0, index)) && NAME_PATTERN.test(names.slice(index + 1)));
}

function assertName(name: string, kind: "certificate" | "environment"): void {
  if (!NAME_PATTERN.test(name)) throw nameInvalid(kind, name);
}

/** A filter naming what no store path can hold is a typo worth saying, not an empty answer. */
function assertFilterNames(filter: HistoryFilter): void {
  if (filter.certificate !== undefined) assertName(filter.certificate, "certificate");
  if (filter.environment !== undefined) assertName(filter.environment, "environment");
}

function assertTaskId(id: string): void {
  if (!isTaskId(id)) throw nameInvalid("task", id);
}

function isVersionDirectoryName(entry: string): boolean {
  return /^[1-9][0-9]*$/.test(entry);
}

function versionFromLinkTarget(target: string): number | undefined {
  const match = /(?:^|\/)versions\/([1-9][0-9]*)\/?$/.exec(target);
  return match ? Number(match[1]) : undefined;
}

async function removeAbandonedStaging(versionsDirectory: string, entries: string[]): Promise<void> {
  // Left by a process killed while writing a version (we hold the lock, so none is in progress).
  for (const entry of entries.filter((name) => name.startsWith(".staging-") || name.startsWith(".deleted-"))) {
    await fs.rm(path.join(versionsDirectory, entry), { recursive: true, force: true });
  }
}

async function removeDeletedVersionDirectories(certificateDirectory: string): Promise<void> {
  for (const entry of (await listDirectory(certificateDirectory)).filter((name) => name.startsWith("versions.deleted."))) {
    await fs.rm(path.join(certificateDirectory, entry), { recursive: true, force: true });
  }
}

function toCertificateRecord(file: CertificateFile): CertificateRecord {
  const { format: _format, deletedAt: _deletedAt, ...record } = file;
  return record;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

async function listDirectory(directory: string): Promise<string[]> {
  try {
    return await fs.readdir(directory);
  } catch (error) {
    ignoreMissing(error);
    return [];
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    (error) => {
      ignoreMissing(error);
      return false;
    },
  );
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    ignoreMissing(error);
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new CertstageError("STORE_CORRUPT", `${file} is not valid JSON`, { fix: "restore the file from a backup", cause });
  }
}

function ignoreMissing(error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
}
