/**
 * `certstage store migrate|copy|rekey`: looking after a postgres store itself, for teams that
 * keep schema rights apart from runners.
 *
 *   certstage store migrate --store postgres://owner@db/certs
 *   certstage store copy --from ./.certstage --to postgres://copier@db/certs
 *   certstage store rekey --store postgres://… (CERTSTAGE_STORE_KEY=new,old)
 */
import { CertstageError } from "../errors";
import { projectDirectory } from "../settings/project-directory";
import { openStore, parseStoreSetting, type Store } from "../store";
import { copyStore } from "../store/copy";
import type { PostgresStore } from "../store/drivers/postgres";

export type StoreAction = "migrate" | "copy" | "rekey";

export const STORE_ACTIONS: readonly StoreAction[] = ["migrate", "copy", "rekey"];

export interface StoreCommandOptions {
  readonly store?: string;
  readonly from?: string;
  readonly to?: string;
  readonly json: boolean;
}

export async function runStoreCommand(action: StoreAction, options: StoreCommandOptions, output: NodeJS.WritableStream): Promise<number> {
  const open = (setting: string | undefined) => openStore(parseStoreSetting(setting), projectDirectory());
  const write = (json: object, text: string) => output.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
  if (action === "copy") {
    if (options.from === undefined || options.to === undefined) throw usage("store copy needs --from <store> and --to <postgres store>", "--from");
    const source = open(options.from);
    const target = open(options.to);
    try {
      const summary = await copyStore(source, requirePostgres(target, "--to"));
      write(summary, `Copied ${summary.certificates} certificates (${summary.versions} versions, ${summary.deployments} deployments), ${summary.historyEntries} history entries and ${summary.tasks} tasks from ${source.description} to ${target.description}.`);
      return 0;
    } finally {
      await source.close();
      await target.close();
    }
  }
  const store = open(options.store ?? process.env.CERTSTAGE_STORE);
  try {
    const postgres = requirePostgres(store, "--store");
    if (action === "migrate") {
      const outcome = await postgres.migrate();
      const applied = outcome.applied.map((migration) => `${migration.version} (${migration.name})`).join(", ");
      write(outcome, outcome.applied.length === 0 ? `${store.description} is at schema version ${outcome.to}; nothing to do.` : `${store.description}: applied migration ${applied}; now at schema version ${outcome.to}.`);
      return 0;
    }
    const outcome = await postgres.rekey();
    write(outcome, `${store.description}: re-wrapped ${outcome.rewrapped} of ${outcome.total} sealed keys under the first key of the ring; the other keys may now be dropped.`);
    return 0;
  } finally {
    await store.close();
  }
}

function requirePostgres(store: Store, flag: string): PostgresStore {
  // Required here, not imported: the command line loads node-postgres only for a postgres store.
  const { PostgresStore: postgres } = require("../store/drivers/postgres") as typeof import("../store/drivers/postgres");
  if (store instanceof postgres) return store;
  throw usage(`${store.description} is not a postgres store; store migrate, copy --to and rekey work on postgres stores`, flag);
}

function usage(problem: string, field: string): CertstageError {
  return new CertstageError("CONFIG_INVALID", problem, { field, fix: "pass a postgres://… URL (credentials from PGPASSWORD or the URL; keys from CERTSTAGE_STORE_KEY)" });
}
