/**
 * The shared store: one PostgreSQL database that many CI runners, previews and edge agents use at
 * once, with the same guarantees as the file store. The schema (postgres/migrations.ts) enforces
 * the invariants and the ownership rules itself; this driver keeps to them, checks first where it
 * can say more precisely what is wrong, and turns what the database refuses into CertstageErrors
 * (postgres/pg-errors.ts).
 *
 * Every change is one transaction on one checked-out connection, and it locks the certificate's
 * row first (`FOR UPDATE`), then the environment's: one lock order, so concurrent writers queue
 * instead of deadlocking. Only transaction-scoped locks and settings are used, so a PgBouncer in
 * transaction mode between runners and the database is fine.
 *
 * Private keys are sealed (key-envelope.ts) under a data key per value, bound to the store, the
 * certificate and the version: the database only ever holds ciphertext, and a preview that runs
 * without the key-encryption key reads everything else.
 */
import * as os from "node:os";
import { Client, Pool, type PoolClient, type PoolConfig, type QueryConfig } from "pg";
import { compareText } from "../../code-point-order";
import { CertstageError } from "../../errors";
import type { VersionMaterial } from "../../pki/version-material";
import { checkAgentReportFilter, checkedAgentReport } from "../agent-reports";
import { assertClaimHeld, checkedNotificationClaim, checkNotificationFilter, claimedNotification, failedNotification, mayClaimNotification, sentNotification } from "../notification-rules";
import { open, rewrap, seal, type KeyRing, type SealedValue } from "../key-envelope";
import { DEPLOYMENT_CHANNEL, GROUP_ROLES, LATEST_SCHEMA_VERSION } from "../postgres/migrations";
import { storeErrorFrom } from "../postgres/pg-errors";
import { migrate, notMigrated, refuseNewer, schemaVersion, type MigrationOutcome } from "../postgres/schema";
import { SharedConnection, type ConnectionLease } from "../postgres/shared-connection";
import { stillDeployed, versionNotFound } from "../store-errors";
import {
  assertFilterNames,
  assertName,
  assertTaskId,
  assertTaskMayFinish,
  byCertificateAndVersion,
  byCreation,
  certificateExists,
  certificateNotFound,
  definedOnly,
  finishAction,
  finishedSummary,
  newTaskId,
  queuedSummary,
  runnerDied,
  supersededDetail,
  swapAction,
  taskChangeOf,
  taskHistoryChange,
  tasksToPrune,
} from "../store-rules";
import { actionOf } from "../store";
import type { RetainedTask } from "../../lifecycle/retention";
import type {
  AgentReport,
  AgentReportFilter,
  DeploymentWatch,
  DeploymentWatchHandlers,
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
  NewCertificate,
  NewDeploymentTask,
  NotificationClaim,
  NotificationFilter,
  NotificationRecord,
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
  VersionStatusSummary,
  VersionSummary,
} from "../store";

export interface PostgresStoreOptions {
  readonly connection: PoolConfig;
  /** How messages name the store, e.g. `postgres store ci@db.internal:5432/certs` (never a password). */
  readonly description: string;
  /** Seals and opens private keys; without it the store reads and writes everything else. */
  readonly keyRing?: KeyRing;
  /** Run missing migrations on first write when the role may (default true); else refuse with STORE_NOT_MIGRATED. */
  readonly migrate?: boolean;
  /** How often a deployment watch proves its connection alive with a query (default 30 s). */
  readonly watchHealthCheckMs?: number;
}

export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options);
}

type Query = Pick<PoolClient, "query">;

interface CertificateRow {
  id: string;
  name: string;
  display_name: string;
  type: "server" | "ca";
  owner: string;
  share_with: string[];
  description: string;
  profile: "public" | "private" | null;
  last_version: number;
  origin: ResourceOrigin | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

const CERTIFICATE_COLUMNS = "id, name, display_name, type, owner, share_with, description, profile, last_version, origin, created_at, updated_at, deleted_at";

export class PostgresStore implements Store {
  readonly description: string;
  private readonly pool: Pool;
  private readonly connection: PoolConfig;
  private readonly watchHealthCheckMs: number;
  private readonly keyRing: KeyRing | undefined;
  private readonly migrateOnWrite: boolean;
  /** Set once the database was seen at the schema this certstage knows. */
  private schemaReady = false;
  private storeId: string | undefined;
  private role: string | undefined;
  /** A watch's LISTEN connection while it is up: every call runs on it instead of the pool (see SharedConnection). */
  private feed: SharedConnection | undefined;

  constructor(options: PostgresStoreOptions) {
    this.description = options.description;
    this.keyRing = options.keyRing;
    this.migrateOnWrite = options.migrate ?? true;
    this.connection = options.connection;
    this.watchHealthCheckMs = options.watchHealthCheckMs ?? 30_000;
    // allowExitOnIdle: a CLI run or a provider process ends when its work does, not when the pool times out.
    this.pool = new Pool({ max: 4, allowExitOnIdle: true, ...options.connection });
    // An idle connection the server dropped (a restart) must not crash the process; the next call reconnects.
    this.pool.on("error", () => undefined);
  }

  // ---- schema and connections ---------------------------------------------------------------

  /** Runs the migrations this database lacks (`certstage store migrate`). */
  async migrate(): Promise<MigrationOutcome> {
    const client = await this.connect("migrate the schema");
    try {
      const outcome = await migrate(client, this.description);
      this.schemaReady = true;
      return outcome;
    } catch (error) {
      throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what: "migrate the schema" });
    } finally {
      client.release();
    }
  }

  /**
   * The role the store connects as, and every role it acts for (its teams): the database decides
   * who acts, whatever the stack's certstage:principal says, and enforces it.
   */
  async principal(_actor?: Actor): Promise<Principal> {
    const client = await this.connect("read the connecting role");
    try {
      const row = (
        await client.query<{ name: string; roles: string[] }>(
          "SELECT current_user::text AS name, coalesce((SELECT array_agg(r.rolname::text ORDER BY r.rolname) FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')), '{}') AS roles",
        )
      ).rows[0];
      const readOnly = row.roles.includes(GROUP_ROLES.reader) && !row.roles.includes(GROUP_ROLES.runner) && !row.roles.includes(GROUP_ROLES.admin);
      return { name: row.name, roles: row.roles, enforcedBy: "database", ...(readOnly ? { readOnly } : {}) };
    } catch (error) {
      throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what: "read the connecting role" });
    } finally {
      client.release();
    }
  }

  private async connect(what: string): Promise<ConnectionLease> {
    let client: ConnectionLease | undefined;
    try {
      client = this.feed ? await this.feed.lease() : await this.pool.connect();
      if (this.role === undefined) this.role = (await client.query<{ role: string }>("SELECT current_user::text AS role")).rows[0].role;
      return client;
    } catch (error) {
      client?.release();
      throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what });
    }
  }

  /**
   * Whether the schema is there. Reads of a database certstage never ran in see an empty store
   * (a preview before the first `up`); a write migrates it when the role may.
   */
  private async ensureSchema(client: Query, forWrite: boolean): Promise<boolean> {
    if (this.schemaReady) return true;
    const version = await schemaVersion(client);
    refuseNewer(version, this.description);
    if (version === LATEST_SCHEMA_VERSION) {
      this.schemaReady = true;
      return true;
    }
    if (!forWrite && version === 0) return false;
    if (!forWrite || !this.migrateOnWrite) throw notMigrated(this.description, version);
    return false;
  }

  /** A read; `undefined` when the database holds no certstage schema yet. */
  private async read<T>(what: string, action: (client: Query) => Promise<T>, certificate?: string): Promise<T | undefined> {
    const client = await this.connect(what);
    try {
      if (!(await this.ensureSchema(client, false))) return undefined;
      return await action(client);
    } catch (error) {
      throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what, certificate });
    } finally {
      client.release();
    }
  }

  /** A change: one transaction, whole or not at all. */
  private async write<T>(what: string, certificate: string | undefined, action: (client: Query) => Promise<T>, options: { identity?: boolean } = {}): Promise<T> {
    const client = await this.connect(what);
    try {
      if (!(await this.ensureSchema(client, true))) {
        await migrate(client, this.description);
        this.schemaReady = true;
      }
      await client.query("BEGIN");
      try {
        // The first write of a store gives it its identity (agents only report, and may not).
        if (options.identity !== false) await client.query("INSERT INTO certstage.store_identity DEFAULT VALUES ON CONFLICT DO NOTHING");
        const result = await action(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what, certificate });
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // ---- identity -----------------------------------------------------------------------------

  async identity(): Promise<StoreIdentity | undefined> {
    return this.read("read the store's identity", async (client) => {
      const row = (await client.query<{ id: string; created_at: Date }>("SELECT id::text, created_at FROM certstage.store_identity")).rows[0];
      return row ? { id: row.id, createdAt: row.created_at.toISOString() } : undefined;
    });
  }

  private async requireStoreId(client: Query): Promise<string> {
    this.storeId ??= (await client.query<{ id: string }>("SELECT id::text FROM certstage.store_identity")).rows[0].id;
    return this.storeId;
  }

  // ---- certificates -------------------------------------------------------------------------

  async createCertificate(certificate: NewCertificate, _actor: Actor): Promise<CertificateRecord> {
    assertName(certificate.name, "certificate");
    return this.write(`create certificate '${certificate.name}'`, certificate.name, async (client) => {
      const existing = await this.visibleCertificate(client, certificate.name);
      if (existing && existing.deleted_at === null) throw certificateExists(certificate.name, this.description);
      const values = [certificate.displayName, certificate.type, certificate.owner, [...certificate.shareWith], certificate.description, certificate.profile ?? null, certificate.origin ? { urn: certificate.origin.urn, inputs: certificate.origin.inputs } : null];
      let row: CertificateRow;
      if (existing) {
        // Made again under a deleted certificate's name: the row (and its last version number) lives on.
        await this.lockOwned(client, existing);
        row = (
          await client.query<CertificateRow>(
            `UPDATE certstage.certificates SET display_name = $2, type = $3, owner = $4, share_with = $5, description = $6, profile = $7, origin = $8,
               created_at = now(), updated_at = now(), deleted_at = NULL WHERE id = $1 RETURNING ${CERTIFICATE_COLUMNS}`,
            [existing.id, ...values],
          )
        ).rows[0];
      } else {
        row = (
          await client.query<CertificateRow>(
            `INSERT INTO certstage.certificates (name, display_name, type, owner, share_with, description, profile, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${CERTIFICATE_COLUMNS}`,
            [certificate.name, ...values],
          )
        ).rows[0];
      }
      await this.appendHistory(client, "certificate.create", certificate.name);
      return certificateRecordFrom(row);
    });
  }

  async updateCertificate(name: string, changes: CertificateChanges, _actor: Actor): Promise<CertificateRecord> {
    assertName(name, "certificate");
    return this.write(`change certificate '${name}'`, name, async (client) => {
      const current = await this.requireOwned(client, name);
      const next = {
        display_name: changes.displayName ?? current.display_name,
        owner: changes.owner ?? current.owner,
        share_with: sharedAfterTransfer(current, changes),
        description: changes.description ?? current.description,
        profile: "profile" in changes ? (changes.profile ?? null) : current.profile,
      };
      // No RETURNING: after a transfer the row may belong to a team this role cannot see.
      const updated = await client.query<{ updated_at: Date }>(
        "UPDATE certstage.certificates SET display_name = $2, owner = $3, share_with = $4, description = $5, profile = $6, updated_at = now() WHERE id = $1",
        [current.id, next.display_name, next.owner, next.share_with, next.description, next.profile],
      );
      if (updated.rowCount !== 1) throw this.notOwner(name, current.owner, "change");
      await this.appendHistory(client, "certificate.update", name);
      const now = (await client.query<{ now: Date }>("SELECT now()")).rows[0].now;
      return certificateRecordFrom({ ...current, ...next, updated_at: now });
    });
  }

  async getCertificate(name: string): Promise<CertificateRecord | undefined> {
    assertName(name, "certificate");
    return this.read(`read certificate '${name}'`, async (client) => {
      const row = await this.visibleCertificate(client, name);
      return row && row.deleted_at === null ? certificateRecordFrom(row) : undefined;
    });
  }

  async listCertificates(): Promise<CertificateRecord[]> {
    const rows = await this.read("list certificates", (client) => client.query<CertificateRow>(CERTIFICATES_QUERY));
    return (rows?.rows ?? []).map(certificateRecordFrom);
  }

  async deleteCertificate(name: string, _actor: Actor): Promise<void> {
    assertName(name, "certificate");
    await this.write(`delete certificate '${name}'`, name, async (client) => {
      const current = await this.requireOwned(client, name);
      const deployments = await this.deploymentsOf(client, current.id, name);
      if (deployments.length > 0) throw stillDeployed(name, undefined, deployments);
      await client.query("INSERT INTO certstage.version_removals (certificate_id, version) SELECT certificate_id, version FROM certstage.versions WHERE certificate_id = $1", [current.id]);
      await client.query("DELETE FROM certstage.versions WHERE certificate_id = $1", [current.id]);
      await client.query("UPDATE certstage.certificates SET deleted_at = now(), updated_at = now() WHERE id = $1", [current.id]);
      await this.appendHistory(client, "certificate.delete", name, { fromVersion: current.last_version || undefined });
    });
  }

  // ---- versions -----------------------------------------------------------------------------

  async createVersion(certificate: string, method: VersionMethod, material: VersionMaterial, actor: Actor, origin?: ResourceOrigin): Promise<VersionRecord> {
    assertName(certificate, "certificate");
    if (material.privateKeyPem !== undefined || material.pkcs12 !== undefined) this.requireKeyRing(`save a version of '${certificate}' with its private key`);
    return this.write(`save a version of '${certificate}'`, certificate, async (client) => {
      const owner = await this.requireOwned(client, certificate);
      const version = owner.last_version + 1;
      const record: VersionRecord = {
        certificate,
        version,
        method,
        ...material.facts,
        chainFingerprints: material.chainFingerprints,
        jwk: material.jwk,
        createdAt: new Date().toISOString(),
        createdBy: this.role ?? actor.principal,
        ...(origin !== undefined ? { origin: { urn: origin.urn, inputs: origin.inputs } } : {}),
      };
      await client.query(
        `INSERT INTO certstage.versions (certificate_id, version, record, certificate_pem, chain_pem, fullchain_pem, csr_pem, has_private_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [owner.id, version, record, material.certificatePem, material.chainPem, material.fullchainPem, material.csrPem ?? null, material.privateKeyPem !== undefined],
      );
      if (material.privateKeyPem !== undefined) {
        const sealed = seal(material.privateKeyPem, await this.versionContext(client, owner.id, version), this.requireKeyRing("seal the private key"));
        await client.query("INSERT INTO certstage.version_keys (certificate_id, version, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5)", [owner.id, version, sealed.kekId, sealed.wrappedKey, sealed.ciphertext]);
      }
      if (material.pkcs12 !== undefined) await this.sealKeystore(client, owner.id, version, material.pkcs12);
      await this.appendHistory(client, "version.create", certificate, { toVersion: version });
      return record;
    });
  }

  async getVersion(certificate: string, version: number): Promise<VersionRecord | undefined> {
    assertName(certificate, "certificate");
    if (!Number.isSafeInteger(version) || version < 1) return undefined;
    return this.read(`read version ${version} of '${certificate}'`, async (client) => {
      const row = (
        await client.query<{ record: VersionRecord }>(
          "SELECT v.record FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id WHERE c.name = $1 AND c.deleted_at IS NULL AND v.version = $2",
          [certificate, version],
        )
      ).rows[0];
      return row?.record;
    });
  }

  async listVersions(certificate: string): Promise<VersionRecord[]> {
    assertName(certificate, "certificate");
    const rows = await this.read(`list versions of '${certificate}'`, (client) =>
      client.query<{ record: VersionRecord }>(
        "SELECT v.record FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id WHERE c.name = $1 AND c.deleted_at IS NULL ORDER BY v.version",
        [certificate],
      ),
    );
    return (rows?.rows ?? []).map((row) => row.record);
  }

  async listAllVersions(): Promise<VersionSummary[]> {
    // The summary column (migration 2), not the record: a record is mostly its JWK, stored out of
    // line (TOAST), and reading 10,000 of them whole cost four times what their summaries do.
    const rows = await this.read("list every version", (client) =>
      client.query<{ summary: VersionSummary }>(ALL_VERSIONS_QUERY),
    );
    // Sorted here, not by ORDER BY: the database's collation need not be code-point order.
    return (rows?.rows ?? []).map((row) => row.summary).sort(byCertificateAndVersion);
  }

  async readVersionFiles(certificate: string, version: number): Promise<VersionFiles> {
    assertName(certificate, "certificate");
    const files = await this.read(`read the files of version ${version} of '${certificate}'`, async (client) => {
      const row = (
        await client.query<{ certificate_id: string; certificate_pem: string; chain_pem: string; fullchain_pem: string; csr_pem: string | null; has_private_key: boolean }>(
          `SELECT v.certificate_id, v.certificate_pem, v.chain_pem, v.fullchain_pem, v.csr_pem, v.has_private_key
             FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id WHERE c.name = $1 AND c.deleted_at IS NULL AND v.version = $2`,
          [certificate, version],
        )
      ).rows[0];
      if (!row) return undefined;
      let privateKeyPem: string | undefined;
      if (row.has_private_key) {
        const ring = this.requireKeyRing(`open the private key of version ${version} of '${certificate}'`);
        const sealed = (await client.query<SealedRow>("SELECT kek_id, wrapped_key, ciphertext FROM certstage.version_keys WHERE certificate_id = $1 AND version = $2", [row.certificate_id, version])).rows[0];
        if (!sealed) throw new CertstageError("STORE_CORRUPT", `the private key of version ${version} of '${certificate}' is missing from ${this.description}`, { resource: certificate, fix: "restore certstage.version_keys from a backup of the database" });
        privateKeyPem = open(sealedFrom(sealed), await this.versionContext(client, row.certificate_id, version), ring);
      }
      // A keystore holds the key: there is none without one, and only roles that may read keys ask.
      const pkcs12 = row.has_private_key ? await this.openKeystore(client, row.certificate_id, version, certificate) : undefined;
      return {
        certificatePem: row.certificate_pem,
        chainPem: row.chain_pem,
        fullchainPem: row.fullchain_pem,
        ...(privateKeyPem !== undefined ? { privateKeyPem } : {}),
        ...(row.csr_pem !== null ? { csrPem: row.csr_pem } : {}),
        ...(pkcs12 !== undefined ? { pkcs12 } : {}),
      };
    }, certificate);
    if (!files) throw versionNotFound(certificate, version);
    return files;
  }

  async deleteVersion(certificate: string, version: number, _actor: Actor, action: "version.delete" | "version.remove" = "version.delete"): Promise<void> {
    assertName(certificate, "certificate");
    await this.write(`delete version ${version} of '${certificate}'`, certificate, async (client) => {
      const owner = await this.requireOwned(client, certificate);
      const exists = await client.query("SELECT 1 FROM certstage.versions WHERE certificate_id = $1 AND version = $2", [owner.id, version]);
      if (exists.rowCount === 0) throw versionNotFound(certificate, version);
      const serving = (await this.deploymentsOf(client, owner.id, certificate)).filter((deployment) => deployment.version === version);
      if (serving.length > 0) throw stillDeployed(certificate, version, serving);
      await client.query("INSERT INTO certstage.version_removals (certificate_id, version) VALUES ($1, $2)", [owner.id, version]);
      await client.query("DELETE FROM certstage.versions WHERE certificate_id = $1 AND version = $2", [owner.id, version]);
      await this.appendHistory(client, action, certificate, { fromVersion: version });
    });
  }

  async environmentsServing(certificate: string, version?: number): Promise<string[]> {
    const deployments = await this.listDeployments(certificate);
    return deployments.filter((deployment) => version === undefined || deployment.version === version).map((deployment) => deployment.environment);
  }

  /** Re-wraps every data key this role may change under the ring's current key-encryption key; returns how many moved. */
  async rekey(): Promise<{ rewrapped: number; total: number }> {
    const ring = this.requireKeyRing("re-wrap the stored private keys");
    return this.write("re-wrap the stored private keys", undefined, async (client) => {
      let rewrapped = 0;
      let total = 0;
      const storeId = await this.requireStoreId(client);
      const versions = await client.query<SealedRow & { certificate_id: string; version: number }>("SELECT certificate_id, version, kek_id, wrapped_key, ciphertext FROM certstage.version_keys FOR UPDATE");
      for (const row of versions.rows) {
        total += 1;
        if (row.kek_id === ring.currentKeyId) continue;
        const moved = rewrap(sealedFrom(row), versionContextOf(storeId, row.certificate_id, row.version), ring);
        await client.query("UPDATE certstage.version_keys SET kek_id = $3, wrapped_key = $4 WHERE certificate_id = $1 AND version = $2", [row.certificate_id, row.version, moved.kekId, moved.wrappedKey]);
        rewrapped += 1;
      }
      const keystores = await client.query<SealedRow & { certificate_id: string; version: number }>("SELECT certificate_id, version, kek_id, wrapped_key, ciphertext FROM certstage.version_keystores FOR UPDATE");
      for (const row of keystores.rows) {
        total += 1;
        if (row.kek_id === ring.currentKeyId) continue;
        const moved = rewrap(sealedFrom(row), keystoreContextOf(storeId, row.certificate_id, row.version), ring);
        await client.query("UPDATE certstage.version_keystores SET kek_id = $3, wrapped_key = $4 WHERE certificate_id = $1 AND version = $2", [row.certificate_id, row.version, moved.kekId, moved.wrappedKey]);
        rewrapped += 1;
      }
      for (const table of ["acme_accounts", "acme_orders"] as const) {
        const key = table === "acme_accounts" ? "directory_url" : "certificate";
        const rows = await client.query<SealedRow & { key: string }>(`SELECT ${key} AS key, kek_id, wrapped_key, ciphertext FROM certstage.${table} FOR UPDATE`);
        for (const row of rows.rows) {
          total += 1;
          if (row.kek_id === ring.currentKeyId) continue;
          const context = table === "acme_accounts" ? accountContextOf(storeId, row.key) : orderContextOf(storeId, row.key);
          const moved = rewrap(sealedFrom(row), context, ring);
          await client.query(`UPDATE certstage.${table} SET kek_id = $2, wrapped_key = $3 WHERE ${key} = $1`, [row.key, moved.kekId, moved.wrappedKey]);
          rewrapped += 1;
        }
      }
      return { rewrapped, total };
    });
  }

  // ---- deployments --------------------------------------------------------------------------

  async deploy(certificate: string, environment: string, version: number, _actor: Actor): Promise<DeploymentRecord> {
    assertName(certificate, "certificate");
    assertName(environment, "environment");
    return this.write(`deploy version ${version} of '${certificate}' to ${environment}`, certificate, async (client) => {
      const owner = await this.requireOwned(client, certificate);
      const exists = await client.query("SELECT 1 FROM certstage.versions WHERE certificate_id = $1 AND version = $2", [owner.id, version]);
      if (exists.rowCount === 0) throw versionNotFound(certificate, version);
      const generation = await this.lockEnvironment(client, environment);
      const current = await this.deploymentOf(client, owner.id, certificate, environment);
      if (current?.version === version) return current;
      const next = await this.bumpGeneration(client, environment, generation);
      const row = (
        await client.query<{ deployed_at: Date }>(
          `INSERT INTO certstage.deployments (certificate_id, environment, version, generation) VALUES ($1, $2, $3, $4)
             ON CONFLICT (certificate_id, environment) DO UPDATE SET version = EXCLUDED.version, generation = EXCLUDED.generation, deployed_at = now(), deployed_by = current_user
             RETURNING deployed_at`,
          [owner.id, environment, version, next],
        )
      ).rows[0];
      await this.appendHistory(client, swapAction(current?.version, version), certificate, { environment, fromVersion: current?.version, toVersion: version });
      return { certificate, environment, version, deployedAt: row.deployed_at.toISOString() };
    });
  }

  async undeploy(certificate: string, environment: string, _actor: Actor): Promise<void> {
    assertName(certificate, "certificate");
    assertName(environment, "environment");
    await this.write(`undeploy '${certificate}' from ${environment}`, certificate, async (client) => {
      const visible = await this.visibleCertificate(client, certificate);
      if (!visible || visible.deleted_at !== null) return;
      // Nothing served: nothing to undeploy, whoever asks (no NOT_OWNER for a no-op).
      if (!(await this.deploymentOf(client, visible.id, certificate, environment))) return;
      await this.lockOwned(client, visible);
      const generation = await this.lockEnvironment(client, environment);
      // Read again under the locks: a deploy of the same pair that committed while this one waited
      // for them is what the DELETE below removes, and history must name that version, not the one
      // read before the wait.
      const current = await this.deploymentOf(client, visible.id, certificate, environment);
      if (!current) return;
      await this.bumpGeneration(client, environment, generation);
      await client.query("DELETE FROM certstage.deployments WHERE certificate_id = $1 AND environment = $2", [visible.id, environment]);
      await this.appendHistory(client, "undeploy", certificate, { environment, fromVersion: current.version });
    });
  }

  async getDeployment(certificate: string, environment: string): Promise<DeploymentRecord | undefined> {
    assertName(certificate, "certificate");
    assertName(environment, "environment");
    return this.read(`read the deployment of '${certificate}' in ${environment}`, async (client) => {
      const row = (
        await client.query<DeploymentRow>(
          "SELECT c.name, d.environment, d.version, d.deployed_at FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id WHERE c.name = $1 AND c.deleted_at IS NULL AND d.environment = $2",
          [certificate, environment],
        )
      ).rows[0];
      return row ? deploymentFrom(row) : undefined;
    });
  }

  async listDeployments(certificate?: string): Promise<DeploymentRecord[]> {
    if (certificate !== undefined) assertName(certificate, "certificate");
    const rows = await this.read("list deployments", (client) =>
      client.query<DeploymentRow>(`${DEPLOYMENTS_QUERY} AND ($1::text IS NULL OR c.name = $1) ${DEPLOYMENTS_ORDER}`, [certificate ?? null]),
    );
    return (rows?.rows ?? []).map(deploymentFrom);
  }

  /** The environment's generation, its row locked until the transaction ends (made at 0 on first use). */
  private async lockEnvironment(client: Query, environment: string): Promise<number> {
    await client.query("INSERT INTO certstage.environments (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", [environment]);
    const row = (await client.query<{ generation: string }>("SELECT generation FROM certstage.environments WHERE name = $1 FOR UPDATE", [environment])).rows[0];
    return Number(row.generation);
  }

  /** The compare-and-swap every deployment change makes; the database checks the deployment row carries its result. */
  private async bumpGeneration(client: Query, environment: string, expected: number): Promise<number> {
    const bumped = await client.query<{ generation: string }>("UPDATE certstage.environments SET generation = generation + 1 WHERE name = $1 AND generation = $2 RETURNING generation", [environment, expected]);
    if (bumped.rowCount !== 1) {
      throw new CertstageError("DEPLOYMENT_CONFLICT", `environment ${environment} changed (generation ${expected}) while this change was being made`, { fix: "run again; the environment's latest state wins" });
    }
    return Number(bumped.rows[0].generation);
  }

  // ---- history ------------------------------------------------------------------------------

  async readHistory(filter: HistoryFilter = {}): Promise<HistoryEntry[]> {
    assertFilterNames(filter);
    const rows = await this.read("read history", (client) => client.query<HistoryRow>(HISTORY_QUERY, historyParameters(filter)));
    return (rows?.rows ?? []).map(historyEntryFrom);
  }

  /**
   * readHistory's rows through a cursor, HISTORY_FETCH_ROWS at a time, in a read-only
   * transaction on one connection (so the rows are one snapshot, and a PgBouncer in transaction
   * mode keeps the cursor's session). The connection goes back to the pool when the stream ends,
   * fails or is left early.
   *
   * The next FETCH is sent as soon as a batch arrives, before its rows are handed on: the server
   * reads batch n + 1 while this process turns batch n into entries and output, instead of each
   * side waiting for the other. At most two batches are held, so memory stays flat.
   */
  async *streamHistory(filter: HistoryFilter = {}): AsyncGenerator<HistoryEntry[]> {
    assertFilterNames(filter);
    const what = "read history";
    const client = await this.connect(what);
    let open = false;
    let next: Promise<HistoryRow[]> | undefined;
    const fetchBatch = () => {
      const fetched = client.query<HistoryRow>(`FETCH ${HISTORY_FETCH_ROWS} FROM certstage_history`).then(
        (result) => result.rows,
        (error: unknown) => {
          throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what });
        },
      );
      // Seen as handled until awaited: a caller that stops early never awaits the last one.
      fetched.catch(() => undefined);
      return fetched;
    };
    try {
      try {
        if (!(await this.ensureSchema(client, false))) return;
        await client.query("BEGIN READ ONLY");
        open = true;
        await client.query(`DECLARE certstage_history NO SCROLL CURSOR FOR ${HISTORY_QUERY}`, historyParameters(filter));
      } catch (error) {
        throw storeErrorFrom(error, { storeDescription: this.description, role: this.role, what });
      }
      next = fetchBatch();
      while (next !== undefined) {
        const batch: HistoryRow[] = await next;
        next = batch.length === HISTORY_FETCH_ROWS ? fetchBatch() : undefined;
        if (batch.length > 0) yield batch.map(historyEntryFrom);
      }
    } finally {
      // A FETCH still in flight (the caller stopped early) is answered before the ROLLBACK,
      // which ends the transaction and with it the cursor.
      if (next !== undefined) await next.catch(() => undefined);
      if (open) await client.query("ROLLBACK").catch(() => undefined);
      client.release();
    }
  }

  async recordHistory(entry: Omit<HistoryEntry, "at">): Promise<void> {
    await this.write(`record ${entry.action} of '${entry.certificate}' in history`, entry.certificate, (client) =>
      this.appendHistory(client, entry.action, entry.certificate, { environment: entry.environment, fromVersion: entry.fromVersion, toVersion: entry.toVersion }, entry.detail, entry.result),
    );
  }

  // ---- released versions and status --------------------------------------------------------

  /** From version_releases (migration 8), which a trigger fills as history's release lines are written. */
  async listReleasedVersions(): Promise<ReleasedVersions> {
    const rows = await this.read("list released versions", (client) => client.query<ReleasedRow>(RELEASED_QUERY));
    return releasedFrom(rows?.rows ?? []);
  }

  /**
   * Every listing, each the statement its listing method runs (without its filters), sent in one
   * round trip inside one READ ONLY REPEATABLE READ transaction, so all of them read one snapshot
   * of every table. The rows become records through the same functions as the listing methods'.
   * Rows, not one json_agg value per listing (10,000 summaries cost 49 ms as rows against 70 ms as
   * one aggregate, the client parsing 7.7 MB in one piece); the versions a row per certificate
   * (STATUS_VERSIONS_QUERY).
   *
   * The versions come in this one round trip, not through a cursor a certificate at a time as the
   * interface allows: ordered by certificate, the database sorts every row before it sends the
   * first (on disk, at the default work_mem), and with the round trips of the FETCHes status took
   * 254 ms against 244 ms at 10,000 versions.
   */
  async readStatusListings<T>(reader: (listings: StatusListings) => Promise<T>): Promise<T> {
    const results = await this.read("read the store's status", async (client) => {
      try {
        // BEGIN, the six listings, COMMIT.
        return ((await client.query(STATUS_QUERY)) as unknown as { rows: unknown[] }[]).slice(1, -1).map((result) => result.rows);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
    if (!results) return reader({ certificates: [], agentReports: [], deployments: [], tasks: [], released: new Map(), versionsByCertificate: byCertificate([]) });
    const [certificates, agentReports, deployments, tasks, versions, released] = results as [CertificateRow[], AgentReportRow[], DeploymentRow[], { record: DeploymentTask }[], StatusVersionsRow[], ReleasedRow[]];
    return reader({
      certificates: certificates.map(certificateRecordFrom),
      agentReports: agentReports.map(agentReportFrom),
      deployments: deployments.map(deploymentFrom),
      tasks: tasks.map((row) => row.record).sort(byCreation),
      released: releasedFrom(released),
      // Sorted here, not by ORDER BY: the database's collation need not be code-point order.
      versionsByCertificate: byCertificate(versions.sort((a, b) => compareText(a.certificate, b.certificate))),
    });
  }

  /** The database records the connecting role as the actor: nobody writes history in another's name. */
  private async appendHistory(
    client: Query,
    action: HistoryAction,
    certificate: string,
    details: Pick<HistoryEntry, "environment" | "fromVersion" | "toVersion"> = {},
    detail?: string,
    result: HistoryEntry["result"] = "ok",
  ): Promise<void> {
    await client.query("INSERT INTO certstage.history (action, certificate, environment, from_version, to_version, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)", [
      action,
      certificate,
      details.environment ?? null,
      details.fromVersion ?? null,
      details.toVersion ?? null,
      result,
      detail ?? null,
    ]);
  }

  // ---- standby tasks ------------------------------------------------------------------------

  async queueTask(task: NewDeploymentTask, actor: Actor): Promise<DeploymentTask> {
    assertName(task.certificate, "certificate");
    assertName(task.environment, "environment");
    return this.write(`queue a standby deployment of '${task.certificate}' to ${task.environment}`, task.certificate, async (client) => {
      const owner = await this.requireOwned(client, task.certificate);
      if (task.version !== undefined) {
        const exists = await client.query("SELECT 1 FROM certstage.versions WHERE certificate_id = $1 AND version = $2", [owner.id, task.version]);
        if (exists.rowCount === 0) throw versionNotFound(task.certificate, task.version);
      }
      const now = new Date().toISOString();
      const principal = this.role ?? actor.principal;
      const superseded = await client.query<{ record: DeploymentTask }>("SELECT record FROM certstage.tasks WHERE certificate_id = $1 AND environment = $2 AND state = 'pending' FOR UPDATE", [owner.id, task.environment]);
      for (const { record: earlier } of superseded.rows) {
        await this.writeTask(client, { ...earlier, state: "cancelled", finishedAt: now, finishedBy: principal, detail: supersededDetail(task.version) });
        await this.appendHistory(client, "task.cancel", earlier.certificate, taskHistoryChange(earlier), `task ${earlier.id} superseded`);
      }
      const current = await this.deploymentOf(client, owner.id, task.certificate, task.environment);
      const id = newTaskId(now, task.environment, task.certificate, task.version);
      const queued: DeploymentTask = {
        id,
        certificate: task.certificate,
        environment: task.environment,
        ...taskChangeOf(task),
        ...definedOnly({ fromVersion: current?.version, notBefore: task.notBefore }),
        createdAt: now,
        createdBy: principal,
        state: "pending",
        environments: task.environments,
      };
      await client.query("INSERT INTO certstage.tasks (id, certificate_id, environment, action, version, state, record) VALUES ($1, $2, $3, $4, $5, $6, $7)", [id, owner.id, task.environment, actionOf(queued), queued.version ?? null, "pending", queued]);
      await this.appendHistory(client, "task.queue", task.certificate, taskHistoryChange(queued), queuedSummary(id, task.notBefore, task));
      return queued;
    });
  }

  async getTask(id: string): Promise<DeploymentTask | undefined> {
    assertTaskId(id);
    return this.read(`read task ${id}`, async (client) => (await client.query<{ record: DeploymentTask }>("SELECT record FROM certstage.tasks WHERE id = $1", [id])).rows[0]?.record);
  }

  async listTasks(filter: TaskFilter = {}): Promise<DeploymentTask[]> {
    assertFilterNames(filter);
    const rows = await this.read("list tasks", (client) =>
      client.query<{ record: DeploymentTask }>(
        `${TASKS_QUERY} WHERE ($1::text IS NULL OR c.name = $1) AND ($2::text IS NULL OR t.environment = $2) AND ($3::text IS NULL OR t.state = $3)`,
        [filter.certificate ?? null, filter.environment ?? null, filter.state ?? null],
      ),
    );
    return (rows?.rows ?? []).map((row) => row.record).sort(byCreation);
  }

  async claimTask(id: string, actor: Actor): Promise<DeploymentTask | undefined> {
    assertTaskId(id);
    return this.write(`claim task ${id}`, undefined, async (client) => {
      // SKIP LOCKED: a runner claiming the same task right now has it; this one moves on.
      const row = (await client.query<{ record: DeploymentTask }>("SELECT record FROM certstage.tasks WHERE id = $1 FOR UPDATE SKIP LOCKED", [id])).rows[0];
      if (!row) return undefined;
      const task = row.record;
      if (task.state !== "pending" && !runnerDied(task)) return undefined;
      const claimed: DeploymentTask = { ...task, state: "running", startedAt: new Date().toISOString(), runner: { principal: this.role ?? actor.principal, host: os.hostname(), pid: process.pid } };
      await this.writeTask(client, claimed);
      return claimed;
    });
  }

  async finishTask(id: string, outcome: { state: "done" | "failed" | "cancelled"; detail?: string }, actor: Actor): Promise<DeploymentTask> {
    assertTaskId(id);
    return this.write(`finish task ${id}`, undefined, async (client) => {
      const row = (await client.query<{ record: DeploymentTask }>("SELECT record FROM certstage.tasks WHERE id = $1 FOR UPDATE", [id])).rows[0];
      if (!row) {
        const visible = await client.query("SELECT 1 FROM certstage.tasks WHERE id = $1", [id]);
        if (visible.rowCount === 0) throw new CertstageError("TASK_NOT_FOUND", `there is no task '${id}' in ${this.description}`, { fix: "list tasks with `certstage tasks list`" });
        throw new CertstageError("NOT_OWNER", `task '${id}' belongs to a certificate role '${this.role}' does not act for`, { fix: "run it as a member of the certificate's owning role" });
      }
      assertTaskMayFinish(row.record, outcome.state);
      const finished: DeploymentTask = { ...row.record, state: outcome.state, finishedAt: new Date().toISOString(), finishedBy: this.role ?? actor.principal, ...definedOnly({ detail: outcome.detail }) };
      await this.writeTask(client, finished);
      const task = row.record;
      await this.appendHistory(client, finishAction(outcome.state), task.certificate, taskHistoryChange(task), finishedSummary(id, outcome.detail), outcome.state === "failed" ? "failed" : "ok");
      return finished;
    });
  }

  async pruneFinishedTasks(pruning: TaskPruning, _actor: Actor): Promise<string[]> {
    if (pruning.certificate !== undefined) assertName(pruning.certificate, "certificate");
    if (pruning.environment !== undefined) assertName(pruning.environment, "environment");
    return this.write("prune finished standby tasks", pruning.certificate, async (client) => {
      // What the rule reads, not the records (their environment definitions are most of a row).
      const finished = await client.query<RetainedTask>(
        `SELECT t.id, c.name AS certificate, t.environment, t.state, t.record->>'createdAt' AS "createdAt", t.record->>'finishedAt' AS "finishedAt"
           FROM certstage.tasks t JOIN certstage.certificates c ON c.id = t.certificate_id
           WHERE t.state IN ('done', 'failed', 'cancelled') AND ($1::text IS NULL OR c.name = $1) AND ($2::text IS NULL OR t.environment = $2)`,
        [pruning.certificate ?? null, pruning.environment ?? null],
      );
      const chosen = tasksToPrune(finished.rows.map((row) => ({ ...row, finishedAt: row.finishedAt ?? undefined })), pruning);
      if (chosen.length === 0) return [];
      // Row-level security lets a role remove only finished tasks of certificates it owns; a trigger refuses a pending or running one to anybody.
      const removed = await client.query<{ id: string }>("DELETE FROM certstage.tasks WHERE id = ANY ($1::text[]) AND state IN ('done', 'failed', 'cancelled') RETURNING id", [chosen]);
      const ids = new Set(removed.rows.map((row) => row.id));
      return chosen.filter((id) => ids.has(id));
    });
  }

  private async writeTask(client: Query, task: DeploymentTask): Promise<void> {
    const updated = await client.query("UPDATE certstage.tasks SET state = $2, record = $3 WHERE id = $1", [task.id, task.state, task]);
    if (updated.rowCount !== 1) throw new CertstageError("NOT_OWNER", `task '${task.id}' could not be changed by role '${this.role}'`, { resource: task.certificate, fix: "run it as a member of the certificate's owning role" });
  }

  // ---- ACME ---------------------------------------------------------------------------------

  async getAcmeAccount(directoryUrl: string): Promise<AcmeAccount | undefined> {
    return this.read("read the ACME account", async (client) => {
      const row = (await client.query<SealedRow & { account_url: string | null }>("SELECT account_url, kek_id, wrapped_key, ciphertext FROM certstage.acme_accounts WHERE directory_url = $1", [directoryUrl])).rows[0];
      if (!row) return undefined;
      const accountKeyPem = open(sealedFrom(row), accountContextOf(await this.requireStoreId(client), directoryUrl), this.requireKeyRing("open the ACME account key"));
      return { directoryUrl, accountKeyPem, ...(row.account_url !== null ? { accountUrl: row.account_url } : {}) };
    });
  }

  async putAcmeAccount(account: AcmeAccount): Promise<void> {
    const ring = this.requireKeyRing("seal the ACME account key");
    await this.write("save the ACME account", undefined, async (client) => {
      const sealed = seal(account.accountKeyPem, accountContextOf(await this.requireStoreId(client), account.directoryUrl), ring);
      await client.query(
        `INSERT INTO certstage.acme_accounts (directory_url, account_url, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (directory_url) DO UPDATE SET account_url = EXCLUDED.account_url, kek_id = EXCLUDED.kek_id, wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext`,
        [account.directoryUrl, account.accountUrl ?? null, sealed.kekId, sealed.wrappedKey, sealed.ciphertext],
      );
    });
  }

  async ensureAcmeAccount(account: AcmeAccount): Promise<AcmeAccount> {
    const ring = this.requireKeyRing("seal the ACME account key");
    await this.write("save the ACME account", undefined, async (client) => {
      const sealed = seal(account.accountKeyPem, accountContextOf(await this.requireStoreId(client), account.directoryUrl), ring);
      await client.query("INSERT INTO certstage.acme_accounts (directory_url, account_url, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (directory_url) DO NOTHING", [
        account.directoryUrl,
        account.accountUrl ?? null,
        sealed.kekId,
        sealed.wrappedKey,
        sealed.ciphertext,
      ]);
    });
    const kept = await this.getAcmeAccount(account.directoryUrl);
    if (!kept) throw new CertstageError("STORE_CORRUPT", `the ACME account for ${account.directoryUrl} vanished right after it was saved`, { fix: "run again" });
    return kept;
  }

  async getAcmeOrder(certificate: string): Promise<AcmeOrderInFlight | undefined> {
    assertName(certificate, "certificate");
    return this.read(`read the ACME order of '${certificate}'`, async (client) => {
      const row = (await client.query<SealedRow & { record: Omit<AcmeOrderInFlight, "certificateKeyPem"> }>("SELECT record, kek_id, wrapped_key, ciphertext FROM certstage.acme_orders WHERE certificate = $1", [certificate])).rows[0];
      if (!row) return undefined;
      const certificateKeyPem = open(sealedFrom(row), orderContextOf(await this.requireStoreId(client), certificate), this.requireKeyRing("open the key of an ACME order"));
      return { ...row.record, certificateKeyPem };
    }, certificate);
  }

  async putAcmeOrder(order: AcmeOrderInFlight): Promise<void> {
    assertName(order.certificate, "certificate");
    const ring = this.requireKeyRing("seal the key of an ACME order");
    await this.write(`save the ACME order of '${order.certificate}'`, order.certificate, async (client) => {
      const { certificateKeyPem, ...record } = order;
      const sealed = seal(certificateKeyPem, orderContextOf(await this.requireStoreId(client), order.certificate), ring);
      await client.query(
        `INSERT INTO certstage.acme_orders (certificate, owner, record, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (certificate) DO UPDATE SET record = EXCLUDED.record, kek_id = EXCLUDED.kek_id, wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext`,
        [order.certificate, await this.ownerFor(client, order.certificate), record, sealed.kekId, sealed.wrappedKey, sealed.ciphertext],
      );
    });
  }

  async deleteAcmeOrder(certificate: string): Promise<void> {
    assertName(certificate, "certificate");
    await this.write(`remove the ACME order of '${certificate}'`, certificate, async (client) => {
      await client.query("DELETE FROM certstage.acme_orders WHERE certificate = $1", [certificate]);
    });
  }

  async getAcmeRenewal(certificate: string): Promise<AcmeRenewalRecord | undefined> {
    assertName(certificate, "certificate");
    return this.read(`read the renewal record of '${certificate}'`, async (client) => (await client.query<{ record: AcmeRenewalRecord }>("SELECT record FROM certstage.acme_renewals WHERE certificate = $1", [certificate])).rows[0]?.record);
  }

  async putAcmeRenewal(record: AcmeRenewalRecord): Promise<void> {
    assertName(record.certificate, "certificate");
    await this.write(`save the renewal record of '${record.certificate}'`, record.certificate, async (client) => {
      await client.query("INSERT INTO certstage.acme_renewals (certificate, owner, record) VALUES ($1, $2, $3) ON CONFLICT (certificate) DO UPDATE SET record = EXCLUDED.record", [
        record.certificate,
        await this.ownerFor(client, record.certificate),
        record,
      ]);
    });
  }

  async deleteAcmeRenewal(certificate: string): Promise<void> {
    assertName(certificate, "certificate");
    await this.write(`remove the renewal record of '${certificate}'`, certificate, async (client) => {
      await client.query("DELETE FROM certstage.acme_renewals WHERE certificate = $1", [certificate]);
    });
  }

  /** ACME records belong to the certificate's owner, or to the writing role before the certificate exists. */
  private async ownerFor(client: Query, certificate: string): Promise<string> {
    const row = await this.visibleCertificate(client, certificate);
    return row && row.deleted_at === null ? row.owner : (this.role ?? "unknown");
  }

  // ---- moving a store over ------------------------------------------------------------------

  /**
   * Writes a whole other store into this empty one, in one transaction: versions keep their
   * numbers (gaps included), deployments, history (with its actors and times), tasks and ACME
   * records come along. Needs a member of certstage_admin, who may write for every owner.
   */
  async importSnapshot(snapshot: StoreSnapshot): Promise<void> {
    this.requireKeyRing("seal the private keys being copied");
    await this.write("copy a store in", undefined, async (client) => {
      const existing = await client.query<{ name: string }>("SELECT name FROM certstage.certificates WHERE name = ANY($1)", [[...snapshot.certificates.map((entry) => entry.record.name), ...snapshot.deletedCertificates.map((entry) => entry.name)]]);
      if (existing.rows.length > 0) throw certificateExists(existing.rows.map((row) => row.name).join("', '"), this.description);
      const storeId = await this.requireStoreId(client);
      for (const entry of snapshot.certificates) {
        const certificate = entry.record;
        const id = (
          await client.query<{ id: string }>(
            "INSERT INTO certstage.certificates (name, display_name, type, owner, share_with, description, profile, origin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            [certificate.name, certificate.displayName, certificate.type, certificate.owner, certificate.shareWith, certificate.description, certificate.profile ?? null, certificate.origin ?? null, certificate.createdAt, certificate.updatedAt],
          )
        ).rows[0].id;
        for (const { record, files } of [...entry.versions].sort((a, b) => a.record.version - b.record.version)) {
          // The numbering trigger takes only the next number: move the counter up to just below a gap.
          await client.query("UPDATE certstage.certificates SET last_version = $2 WHERE id = $1 AND last_version < $2", [id, record.version - 1]);
          await client.query(
            "INSERT INTO certstage.versions (certificate_id, version, record, certificate_pem, chain_pem, fullchain_pem, csr_pem, has_private_key, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [id, record.version, record, files.certificatePem, files.chainPem, files.fullchainPem, files.csrPem ?? null, files.privateKeyPem !== undefined, record.createdAt, record.createdBy],
          );
          if (files.privateKeyPem !== undefined) {
            const sealed = seal(files.privateKeyPem, versionContextOf(storeId, id, record.version), this.requireKeyRing("seal"));
            await client.query("INSERT INTO certstage.version_keys (certificate_id, version, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5)", [id, record.version, sealed.kekId, sealed.wrappedKey, sealed.ciphertext]);
          }
          if (files.pkcs12 !== undefined) await this.sealKeystore(client, id, record.version, files.pkcs12);
        }
        await client.query("UPDATE certstage.certificates SET last_version = $2 WHERE id = $1 AND last_version < $2", [id, certificate.lastVersion]);
        for (const deployment of entry.deployments) {
          const generation = await this.lockEnvironment(client, deployment.environment);
          const next = await this.bumpGeneration(client, deployment.environment, generation);
          await client.query("INSERT INTO certstage.deployments (certificate_id, environment, version, generation, deployed_at) VALUES ($1, $2, $3, $4, $5)", [id, deployment.environment, deployment.version, next, deployment.deployedAt]);
        }
        if (entry.renewal) await client.query("INSERT INTO certstage.acme_renewals (certificate, owner, record) VALUES ($1, $2, $3)", [certificate.name, certificate.owner, entry.renewal]);
        if (entry.order) {
          const { certificateKeyPem, ...record } = entry.order;
          const sealed = seal(certificateKeyPem, orderContextOf(storeId, certificate.name), this.requireKeyRing("seal"));
          await client.query("INSERT INTO certstage.acme_orders (certificate, owner, record, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5, $6)", [certificate.name, certificate.owner, record, sealed.kekId, sealed.wrappedKey, sealed.ciphertext]);
        }
      }
      // A deleted certificate keeps a row so that its history has a home and a name made again goes on numbering.
      for (const deleted of snapshot.deletedCertificates) {
        await client.query("INSERT INTO certstage.certificates (name, display_name, type, owner, last_version, deleted_at) VALUES ($1, $1, 'server', coalesce($3, current_user), $2, now())", [deleted.name, deleted.lastVersion, deleted.owner ?? null]);
      }
      for (const entry of snapshot.history) {
        await client.query("INSERT INTO certstage.history (at, actor, action, certificate, environment, from_version, to_version, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", [
          entry.at,
          entry.actor,
          entry.action,
          entry.certificate,
          entry.environment ?? null,
          entry.fromVersion ?? null,
          entry.toVersion ?? null,
          entry.result,
          entry.detail ?? null,
        ]);
      }
      for (const task of snapshot.tasks) {
        await client.query("INSERT INTO certstage.tasks (id, certificate_id, environment, action, version, state, record) SELECT $1, id, $3, $4, $5, $6, $7 FROM certstage.certificates WHERE name = $2", [task.id, task.certificate, task.environment, actionOf(task), task.version ?? null, task.state, task]);
      }
      for (const account of snapshot.accounts) {
        const sealed = seal(account.accountKeyPem, accountContextOf(storeId, account.directoryUrl), this.requireKeyRing("seal"));
        await client.query("INSERT INTO certstage.acme_accounts (directory_url, account_url, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5)", [account.directoryUrl, account.accountUrl ?? null, sealed.kekId, sealed.wrappedKey, sealed.ciphertext]);
      }
    });
  }

  // ---- agents -----------------------------------------------------------------------------

  async putAgentReport(report: AgentReport): Promise<void> {
    const checked = checkedAgentReport(report);
    await this.write(`record what agent ${checked.agentId} serves of '${checked.certificate}'`, checked.certificate, async (client) => {
      await client.query(
        `INSERT INTO certstage.agent_reports (agent_id, environment, certificate, host, version, served_fingerprint, last_seen, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (agent_id, environment, certificate) DO UPDATE SET host = EXCLUDED.host, version = EXCLUDED.version, served_fingerprint = EXCLUDED.served_fingerprint,
             last_seen = EXCLUDED.last_seen, last_error = EXCLUDED.last_error`,
        [checked.agentId, checked.environment, checked.certificate, checked.host, checked.version ?? null, checked.servedFingerprintSha256 ?? null, checked.lastSeen, checked.lastError ?? null],
      );
    }, { identity: false });
  }

  async listAgentReports(filter: AgentReportFilter = {}): Promise<AgentReport[]> {
    checkAgentReportFilter(filter);
    const rows = await this.read("list agent reports", (client) =>
      client.query<AgentReportRow>(
        `${AGENT_REPORTS_QUERY} WHERE ($1::text IS NULL OR environment = $1) AND ($2::text IS NULL OR certificate = $2) ${AGENT_REPORTS_ORDER}`,
        [filter.environment ?? null, filter.certificate ?? null],
      ),
    );
    return (rows?.rows ?? []).map(agentReportFrom);
  }

  // ---- notifications ---------------------------------------------------------------------------

  async listNotifications(filter: NotificationFilter = {}): Promise<NotificationRecord[]> {
    checkNotificationFilter(filter);
    const rows = await this.read("list notifications", (client) =>
      client.query<{ record: NotificationRecord }>(`SELECT record FROM certstage.notifications WHERE ($1::text IS NULL OR certificate = $1) ORDER BY key COLLATE "C"`, [filter.certificate ?? null]),
    );
    return (rows?.rows ?? []).map((row) => row.record);
  }

  async claimNotification(claim: NotificationClaim, actor: Actor): Promise<NotificationRecord | undefined> {
    const checked = checkedNotificationClaim(claim);
    return this.write(`claim the notice ${checked.key}`, checked.certificate, async (client) => {
      // A first claim inserts; of two runs inserting at once, the second waits on the key and then
      // finds the row (DO NOTHING), and reads it below like any existing claim.
      const principal = { ...actor, principal: this.role ?? actor.principal };
      const fresh = claimedNotification(undefined, checked, principal);
      const inserted = await client.query("INSERT INTO certstage.notifications (key, certificate, environment, state, record) VALUES ($1, $2, $3, 'claimed', $4) ON CONFLICT (key) DO NOTHING", [
        fresh.key,
        fresh.certificate,
        fresh.environment ?? null,
        fresh,
      ]);
      if (inserted.rowCount === 1) return fresh;
      const row = (await client.query<{ record: NotificationRecord }>("SELECT record FROM certstage.notifications WHERE key = $1 FOR UPDATE", [checked.key])).rows[0];
      if (!row || !mayClaimNotification(row.record, checked.at)) return undefined;
      const claimed = claimedNotification(row.record, checked, principal);
      await this.writeNotification(client, claimed);
      return claimed;
    }, { identity: false });
  }

  async markNotificationSent(claimed: NotificationRecord, sentAt: string): Promise<NotificationRecord> {
    return this.endNotificationClaim(claimed, () => sentNotification(claimed, sentAt));
  }

  async releaseNotification(claimed: NotificationRecord, error: string): Promise<NotificationRecord> {
    return this.endNotificationClaim(claimed, () => failedNotification(claimed, error));
  }

  private async endNotificationClaim(claimed: NotificationRecord, next: () => NotificationRecord): Promise<NotificationRecord> {
    return this.write(`record the notice ${claimed.key}`, claimed.certificate, async (client) => {
      const row = (await client.query<{ record: NotificationRecord }>("SELECT record FROM certstage.notifications WHERE key = $1 FOR UPDATE", [claimed.key])).rows[0];
      assertClaimHeld(row?.record, claimed);
      const ended = next();
      await this.writeNotification(client, ended);
      return ended;
    }, { identity: false });
  }

  private async writeNotification(client: Query, record: NotificationRecord): Promise<void> {
    await client.query("UPDATE certstage.notifications SET state = $2, record = $3, written_by = current_user WHERE key = $1", [record.key, record.state, record]);
  }

  /**
   * Follows deployment changes of one environment by LISTEN on a connection of its own (never a
   * pooled one: a pool hands connections around, and LISTEN belongs to one session). Every
   * (re)connection listens first and then reports a resync, so nothing committed in between is
   * missed; a periodic `SELECT 1` finds a connection that died without a word (a server that
   * restarted behind a NAT, a half-open socket).
   */
  async watchDeployments(environment: string, handlers: DeploymentWatchHandlers): Promise<DeploymentWatch> {
    assertName(environment, "environment");
    let closed = false;
    let current: Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let health: NodeJS.Timeout | undefined;
    let delay = RECONNECT_MIN_MS;
    const drop = (client: Client) => {
      if (this.feed?.client === client) this.feed = undefined;
      if (current !== client) return;
      current = undefined;
      if (health) clearInterval(health);
      client.removeAllListeners("notification");
      client.end().catch(() => undefined);
      if (closed) return;
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    };
    const connect = async () => {
      retry = undefined;
      if (closed) return;
      // No query_timeout for the connection: the store's own calls run on it too once it listens.
      const client = new Client({ ...this.connection, application_name: `${this.connection.application_name ?? "certstage"} watch` });
      current = client;
      client.on("error", (error: Error) => {
        handlers.onError(storeErrorFrom(error, { storeDescription: this.description, role: this.role, what: `follow ${environment}` }) as Error);
        drop(client);
      });
      client.on("end", () => drop(client));
      client.on("notification", (message) => {
        if (message.channel !== DEPLOYMENT_CHANNEL || message.payload === undefined) return;
        try {
          if ((JSON.parse(message.payload) as { environment?: string }).environment === environment) handlers.onChange();
        } catch {
          handlers.onChange(); // unreadable hint: reading again is always safe
        }
      });
      try {
        await client.connect();
        await client.query(timedQuery(`LISTEN ${DEPLOYMENT_CHANNEL}`));
      } catch (error) {
        handlers.onError(storeErrorFrom(error, { storeDescription: this.description, role: this.role, what: `follow ${environment}` }) as Error);
        drop(client);
        return;
      }
      if (closed || current !== client) return;
      delay = RECONNECT_MIN_MS;
      const shared = new SharedConnection(client);
      this.feed ??= shared;
      health = setInterval(() => {
        // In its turn: between another caller's BEGIN and COMMIT it would run inside that transaction.
        shared.run(() => client.query(timedQuery("SELECT 1"))).catch((error: Error) => {
          handlers.onError(storeErrorFrom(error, { storeDescription: this.description, role: this.role, what: `follow ${environment}` }) as Error);
          drop(client);
        });
      }, this.watchHealthCheckMs);
      handlers.onResync();
    };
    await connect();
    return {
      close: async () => {
        closed = true;
        if (retry) clearTimeout(retry);
        if (health) clearInterval(health);
        const client = current;
        current = undefined;
        if (client && this.feed?.client === client) this.feed = undefined;
        if (client) {
          client.removeAllListeners("notification");
          await client.end().catch(() => undefined);
        }
      },
    };
  }

  // ---- shared steps -------------------------------------------------------------------------

  private async visibleCertificate(client: Query, name: string): Promise<CertificateRow | undefined> {
    return (await client.query<CertificateRow>(`SELECT ${CERTIFICATE_COLUMNS} FROM certstage.certificates WHERE name = $1`, [name])).rows[0];
  }

  /**
   * The certificate, its row locked for this transaction. Visible but not lockable means the row
   * security refused: the role does not act for its owner, said plainly before the database would.
   */
  private async requireOwned(client: Query, name: string): Promise<CertificateRow> {
    const row = await this.visibleCertificate(client, name);
    if (!row || row.deleted_at !== null) throw certificateNotFound(name, this.description);
    await this.lockOwned(client, row);
    return row;
  }

  private async lockOwned(client: Query, row: CertificateRow): Promise<void> {
    const locked = await client.query<{ last_version: number }>("SELECT last_version FROM certstage.certificates WHERE id = $1 FOR UPDATE", [row.id]);
    if (locked.rowCount !== 1) throw this.notOwner(row.name, row.owner, "change");
    row.last_version = locked.rows[0].last_version;
  }

  private notOwner(certificate: string, owner: string, what: string): CertstageError {
    return new CertstageError("NOT_OWNER", `certificate '${certificate}' belongs to '${owner}', and role '${this.role}' does not act for it, so it may not ${what} it`, {
      resource: certificate,
      fix: `connect as a member of '${owner}' (GRANT "${owner}" TO <runner role>), or ask '${owner}' to transfer the certificate`,
    });
  }

  private async deploymentsOf(client: Query, certificateId: string, name: string): Promise<DeploymentRecord[]> {
    const rows = await client.query<DeploymentRow>("SELECT $2::text AS name, environment, version, deployed_at FROM certstage.deployments WHERE certificate_id = $1 ORDER BY environment", [certificateId, name]);
    return rows.rows.map(deploymentFrom);
  }

  private async deploymentOf(client: Query, certificateId: string, name: string, environment: string): Promise<DeploymentRecord | undefined> {
    const row = (await client.query<DeploymentRow>("SELECT $2::text AS name, environment, version, deployed_at FROM certstage.deployments WHERE certificate_id = $1 AND environment = $3", [certificateId, name, environment])).rows[0];
    return row ? deploymentFrom(row) : undefined;
  }

  /** Saves a version's keystore (base64) sealed under its own data key, bound to its version. */
  private async sealKeystore(client: Query, certificateId: string, version: number, pkcs12: string): Promise<void> {
    const sealed = seal(pkcs12, keystoreContextOf(await this.requireStoreId(client), certificateId, version), this.requireKeyRing("seal the keystore"));
    await client.query("INSERT INTO certstage.version_keystores (certificate_id, version, kek_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5)", [certificateId, version, sealed.kekId, sealed.wrappedKey, sealed.ciphertext]);
  }

  /** The version's keystore (base64), or undefined when it was saved without one. */
  private async openKeystore(client: Query, certificateId: string, version: number, certificate: string): Promise<string | undefined> {
    const sealed = (await client.query<SealedRow>("SELECT kek_id, wrapped_key, ciphertext FROM certstage.version_keystores WHERE certificate_id = $1 AND version = $2", [certificateId, version])).rows[0];
    if (!sealed) return undefined;
    const context = keystoreContextOf(await this.requireStoreId(client), certificateId, version);
    return open(sealedFrom(sealed), context, this.requireKeyRing(`open the keystore of version ${version} of '${certificate}'`), `the keystore of version ${version} of '${certificate}'`);
  }

  private async versionContext(client: Query, certificateId: string, version: number): Promise<string> {
    return versionContextOf(await this.requireStoreId(client), certificateId, version);
  }

  private requireKeyRing(what: string): KeyRing {
    if (this.keyRing) return this.keyRing;
    throw new CertstageError("STORE_KEY_MISSING", `${this.description} keeps private keys sealed, and no key-encryption key is configured to ${what}`, {
      field: "certstage:storeKey",
      fix: "set certstage:storeKey as a secret (`pulumi config set --secret certstage:storeKey <key>`) or CERTSTAGE_STORE_KEY; previews need none",
    });
  }
}

/**
 * A transfer leaves the previous owner among those it is shared with: the row must stay visible
 * to the role that makes the change (PostgreSQL checks an updated row against the read policy),
 * and a team that hands a certificate over usually still serves it. The new owner can drop it.
 */
function sharedAfterTransfer(current: CertificateRow, changes: CertificateChanges): string[] {
  const shareWith = changes.shareWith ? [...changes.shareWith] : [...current.share_with];
  const transferred = changes.owner !== undefined && changes.owner !== current.owner;
  return transferred && !shareWith.includes(current.owner) ? [...shareWith, current.owner] : shareWith;
}

// ---- rows to records ------------------------------------------------------------------------

/** Reconnection backoff of a deployment watch: quick after a blip, never hammering a database that is down. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;
/** A health query that takes longer than this means the connection is dead. */
const HEALTH_QUERY_TIMEOUT_MS = 5_000;

/** A watch's own query, failing after HEALTH_QUERY_TIMEOUT_MS (node-postgres reads query_timeout per query; its types omit it). */
const timedQuery = (text: string): QueryConfig => ({ text, query_timeout: HEALTH_QUERY_TIMEOUT_MS }) as QueryConfig;

interface AgentReportRow {
  agent_id: string;
  host: string;
  environment: string;
  certificate: string;
  version: number | null;
  served_fingerprint: string | null;
  last_seen: Date;
  last_error: string | null;
}

function agentReportFrom(row: AgentReportRow): AgentReport {
  return {
    agentId: row.agent_id,
    host: row.host,
    environment: row.environment,
    certificate: row.certificate,
    ...(row.version !== null ? { version: row.version } : {}),
    ...(row.served_fingerprint !== null ? { servedFingerprintSha256: row.served_fingerprint } : {}),
    lastSeen: row.last_seen.toISOString(),
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
  };
}

interface SealedRow {
  kek_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
}

interface DeploymentRow {
  name: string;
  environment: string;
  version: number;
  deployed_at: Date;
}

/**
 * A timestamptz as toISOString() writes it (UTC, milliseconds, `Z`), made by the server: history
 * is the longest listing, and parsing 20,000 times into a Date only to write them out again was
 * a fifth of `certstage history`. PostgreSQL's MS truncates the microseconds, as the Date did.
 */
const ISO_TIME_OF = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const HISTORY_QUERY = `SELECT ${ISO_TIME_OF("at")} AS at, actor, action, certificate, environment, from_version, to_version, result, detail FROM certstage.history
  WHERE ($1::text IS NULL OR certificate = $1) AND ($2::text IS NULL OR environment = $2) AND ($3::text[] IS NULL OR action = ANY($3)) ORDER BY id`;

function historyParameters(filter: HistoryFilter): unknown[] {
  return [filter.certificate ?? null, filter.environment ?? null, filter.actions === undefined ? null : [...filter.actions]];
}

/** Rows a history stream fetches per round trip: a few hundred kilobytes. */
const HISTORY_FETCH_ROWS = 2000;

interface HistoryRow {
  /** ISO_TIME_OF(at). */
  at: string;
  actor: string;
  action: HistoryAction;
  certificate: string;
  environment: string | null;
  from_version: number | null;
  to_version: number | null;
  result: "ok" | "failed";
  detail: string | null;
}

function sealedFrom(row: SealedRow): SealedValue {
  return { kekId: row.kek_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext };
}

/** Where a sealed key lives; part of its associated data, so a copy into another row does not open. */
function versionContextOf(storeId: string, certificateId: string, version: number): string {
  return `version|${storeId}|${certificateId}|${version}`;
}

function keystoreContextOf(storeId: string, certificateId: string, version: number): string {
  return `keystore|${storeId}|${certificateId}|${version}`;
}

function accountContextOf(storeId: string, directoryUrl: string): string {
  return `acme-account|${storeId}|${directoryUrl}`;
}

function orderContextOf(storeId: string, certificate: string): string {
  return `acme-order|${storeId}|${certificate}`;
}

function certificateRecordFrom(row: CertificateRow): CertificateRecord {
  return {
    name: row.name,
    displayName: row.display_name,
    type: row.type,
    owner: row.owner,
    shareWith: [...row.share_with],
    description: row.description,
    ...(row.profile !== null ? { profile: row.profile } : {}),
    lastVersion: row.last_version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...(row.origin !== null ? { origin: row.origin } : {}),
  };
}

function deploymentFrom(row: DeploymentRow): DeploymentRecord {
  return { certificate: row.name, environment: row.environment, version: row.version, deployedAt: row.deployed_at.toISOString() };
}

/**
 * Member by member, in the order the file store writes them, and only those set: built with
 * spreads of definedOnly() this took a tenth of reading history's rows.
 */
function historyEntryFrom(row: HistoryRow): HistoryEntry {
  const entry: { -readonly [K in keyof HistoryEntry]?: HistoryEntry[K] } = { at: row.at, actor: row.actor, action: row.action, certificate: row.certificate };
  if (row.environment !== null) entry.environment = row.environment;
  if (row.from_version !== null) entry.fromVersion = row.from_version;
  if (row.to_version !== null) entry.toVersion = row.to_version;
  entry.result = row.result;
  if (row.detail !== null) entry.detail = row.detail;
  return entry as HistoryEntry;
}

/**
 * The listing methods' statements, shared with readStatusListings, which runs them without their
 * filters (the parameters are bound to NULL there).
 */
const CERTIFICATES_QUERY = `SELECT ${CERTIFICATE_COLUMNS} FROM certstage.certificates WHERE deleted_at IS NULL ORDER BY name`;
const AGENT_REPORTS_QUERY = `SELECT agent_id, host, environment, certificate, version, served_fingerprint, last_seen, last_error FROM certstage.agent_reports`;
const AGENT_REPORTS_ORDER = `ORDER BY agent_id COLLATE "C", environment COLLATE "C", certificate COLLATE "C"`;
const DEPLOYMENTS_QUERY = "SELECT c.name, d.environment, d.version, d.deployed_at FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id WHERE c.deleted_at IS NULL";
const DEPLOYMENTS_ORDER = "ORDER BY d.environment, c.name";
const TASKS_QUERY = "SELECT t.record FROM certstage.tasks t JOIN certstage.certificates c ON c.id = t.certificate_id";
const ALL_VERSIONS_QUERY = "SELECT v.summary FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id WHERE c.deleted_at IS NULL";
/**
 * What status reads of every version: the narrower column of migration 10 (about 58 % of the
 * summary's bytes), one row per certificate holding its summaries as one JSON array in version
 * order. That array is text to node-postgres, parsed only when its certificate's turn comes
 * (byCertificate), so the summaries die young instead of all 10,000 being held; and 500 rows cost
 * the client less than 10,000. At 10,000 versions: 228 -> 212 ms for `certstage status --json`
 * against a row per version parsed as it came (rows parsed late: 235 ms).
 */
const STATUS_VERSIONS_QUERY = `SELECT c.name AS certificate, '[' || string_agg(v.status_summary::text, ',' ORDER BY v.version) || ']' AS versions
  FROM certstage.versions v JOIN certstage.certificates c ON c.id = v.certificate_id WHERE c.deleted_at IS NULL GROUP BY c.name`;

interface StatusVersionsRow {
  readonly certificate: string;
  /** The certificate's VersionStatusSummary list, as JSON text. */
  readonly versions: string;
}

/**
 * A row per certificate, its released versions as text ("1,2,5"): at 10,000 versions, 500 rows
 * instead of 9,000 made status 216 -> 198 ms (the client's cost is per row).
 */
const RELEASED_QUERY = "SELECT certificate, string_agg(version::text, ',') AS versions FROM certstage.version_releases GROUP BY certificate";

interface ReleasedRow {
  readonly certificate: string;
  readonly versions: string;
}

const STATUS_QUERY = [
  "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ",
  CERTIFICATES_QUERY,
  `${AGENT_REPORTS_QUERY} ${AGENT_REPORTS_ORDER}`,
  `${DEPLOYMENTS_QUERY} ${DEPLOYMENTS_ORDER}`,
  TASKS_QUERY,
  STATUS_VERSIONS_QUERY,
  RELEASED_QUERY,
  "COMMIT",
].join(";\n");

/** Status's rows of versions, one certificate's summaries at a time. */
async function* byCertificate(rows: readonly StatusVersionsRow[]): AsyncGenerator<VersionStatusSummary[]> {
  for (const row of rows) yield JSON.parse(row.versions) as VersionStatusSummary[];
}

function releasedFrom(rows: readonly ReleasedRow[]): ReleasedVersions {
  return new Map(rows.map((row) => [row.certificate, new Set(row.versions.split(",").map(Number))]));
}

/** Everything `certstage store copy` moves from another store, read whole before anything is written. */
export interface StoreSnapshot {
  readonly certificates: readonly {
    readonly record: CertificateRecord;
    readonly versions: readonly { readonly record: VersionRecord; readonly files: VersionFiles }[];
    readonly deployments: readonly DeploymentRecord[];
    readonly renewal?: AcmeRenewalRecord;
    readonly order?: AcmeOrderInFlight;
  }[];
  /** Names history mentions that the source no longer holds, with the highest version they reached. */
  readonly deletedCertificates: readonly { readonly name: string; readonly owner?: string; readonly lastVersion: number }[];
  readonly history: readonly HistoryEntry[];
  readonly tasks: readonly DeploymentTask[];
  readonly accounts: readonly AcmeAccount[];
}
