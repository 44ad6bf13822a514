/**
 * Brings a database to the schema this certstage knows, once: the migrations run in one
 * transaction under a transaction-scoped advisory lock (never a session lock, which a pooler in
 * transaction mode would hand to another client, and which outlives a failed unlock). A second
 * runner waiting on the lock finds the work done and applies nothing.
 */
import type { ClientBase } from "pg";
import { CertstageError } from "../../errors";
import { ADVISORY_LOCK_CLASS, LATEST_SCHEMA_VERSION, MIGRATION_LOCK_KEY, MIGRATIONS, SCHEMA } from "./migrations";

/** The schema version a database holds; 0 when certstage never ran there. */
export async function schemaVersion(client: Pick<ClientBase, "query">): Promise<number> {
  const present = await client.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [`${SCHEMA}.migrations`]);
  if (!present.rows[0].present) return 0;
  const applied = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${SCHEMA}.migrations`);
  return applied.rows[0].version ?? 0;
}

export interface MigrationOutcome {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly { readonly version: number; readonly name: string }[];
}

/** Applies every migration the database lacks; safe to run from many runners at once. */
export async function migrate(client: Pick<ClientBase, "query">, storeDescription: string): Promise<MigrationOutcome> {
  let from = 0;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, $2)", [ADVISORY_LOCK_CLASS, MIGRATION_LOCK_KEY]);
    from = await schemaVersion(client);
    refuseNewer(from, storeDescription);
    const applied: { version: number; name: string }[] = [];
    for (const migration of MIGRATIONS.filter((candidate) => candidate.version > from)) {
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${SCHEMA}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push({ version: migration.version, name: migration.name });
    }
    await client.query("COMMIT");
    return { from, to: Math.max(from, LATEST_SCHEMA_VERSION), applied };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    if ((error as { code?: string }).code === "42501") throw notMigrated(storeDescription, from, error);
    throw error;
  }
}

/** A database migrated by a newer certstage: this one would misread it, so it refuses. */
export function refuseNewer(version: number, storeDescription: string): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new CertstageError("STORE_SCHEMA_NEWER", `${storeDescription} has schema version ${version}, newer than this certstage knows (${LATEST_SCHEMA_VERSION})`, {
      field: "certstage:store",
      fix: "upgrade certstage on this runner to the version the rest of the team uses",
    });
  }
}

export function notMigrated(storeDescription: string, version: number, cause?: unknown): CertstageError {
  return new CertstageError("STORE_NOT_MIGRATED", `${storeDescription} is at schema version ${version} and needs ${LATEST_SCHEMA_VERSION}, and this role may not create it`, {
    field: "certstage:store",
    fix: "run `certstage store migrate --store postgres://<a role that owns the database>@…` once (it creates the schema and the certstage_runner/reader/agent/admin groups), then connect runners as members of certstage_runner",
    cause,
  });
}
