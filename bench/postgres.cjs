/**
 * A throwaway PostgreSQL 15 on loopback for the benchmarks: the test suite's own cluster
 * (test/support/postgres.ts, transpiled at bench time: initdb in a temporary directory, TLS,
 * scram-sha-256, durability off, stopped with its directory removed; Debian's postgresql-15
 * installed by scripts/postgres.sh when missing), in two shapes:
 *
 *   - `startPostgres(settings)`: the bare cluster behind a small interface, for a benchmark that
 *     makes its own roles (agent-convergence);
 *   - `startBenchPostgres({ team, runners })`: the cluster with certstage's roles as a team sets
 *     them up, made here as the cluster's superuser as test/postgres/support.ts makes them:
 *       - `certstage_owner`: owns the store database and migrates it (not a login the benchmarks use);
 *       - the team role, which owns every certificate;
 *       - runner logins in `certstage_runner` and the team: plain roles, no superuser, no
 *         BYPASSRLS, not the tables' owner, so row-level security binds them as it binds a CI runner;
 *       - `copier`, in `certstage_admin`, which `certstage store copy` needs to write other roles' rows.
 *
 * Durability is off as in the tests (fsync, synchronous_commit): figures are for certstage's work
 * and the database's CPU, not for the disk's flush latency. `settings` are postgresql.conf lines
 * (`{ max_connections: 300 }`).
 */
"use strict";

const path = require("node:path");
const { randomBytes } = require("node:crypto");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const STORE_OWNER = "certstage_owner";

function startCluster(settings) {
  return lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "postgres.ts")).startPostgres({ settings });
}

/** The bare cluster: URLs for logins, statements as the superuser, its processes. */
async function startPostgres(settings = {}) {
  const cluster = await startCluster(settings);
  return {
    /** A URL for `user` on `database`, verifying the server's certificate (verify-full). */
    url: (database, user, password) => cluster.url({ database, user, password }),
    /** One statement as the superuser, in `database` (default `postgres`); resolves with its rows. */
    sql: async (text, params = [], database = undefined) => (await cluster.sql(text, params, { database })).rows,
    /** The server's processes (postmaster and backends), for memory readings. */
    serverProcesses: () => cluster.serverProcesses(),
    stop: () => cluster.stop(),
  };
}

/**
 * Starts the cluster with `runners` runner logins acting for `team`. `newStore()` makes a migrated
 * store database and returns the URL of each login for it (`runner-1`…, `copier`).
 */
async function startBenchPostgres({ team, runners = 1, settings = {} }) {
  const cluster = await startCluster(settings);
  try {
    const secret = () => randomBytes(12).toString("base64url");
    const ownerPassword = secret();
    await cluster.sql(`CREATE ROLE ${STORE_OWNER} LOGIN CREATEROLE PASSWORD '${ownerPassword}'`);
    const { createPostgresStore } = require(path.join(DIST, "store", "drivers", "postgres.js"));
    const { postgresConnectionFrom } = require(path.join(DIST, "store", "postgres", "connection.js"));
    const { parseKeyRing } = require(path.join(DIST, "store", "key-envelope.js"));
    // The key-encryption key every bench store seals private keys with (CERTSTAGE_STORE_KEY for a CLI).
    const storeKey = randomBytes(32).toString("base64");
    const keyRing = parseKeyRing(storeKey, "CERTSTAGE_STORE_KEY");
    const open = (url) => {
      const { config, description } = postgresConnectionFrom(url, {}, { applicationName: "certstage-bench" });
      return createPostgresStore({ connection: config, description, keyRing });
    };
    let databases = 0;
    const newDatabase = async () => {
      databases += 1;
      const database = `certstage_bench_${databases}`;
      await cluster.createDatabase(database, { owner: STORE_OWNER });
      const migrator = open(cluster.url({ user: STORE_OWNER, password: ownerPassword, database }));
      await migrator.migrate();
      await migrator.close();
      return database;
    };
    // The first migration makes the certstage_* group roles the logins below join.
    await newDatabase();

    await cluster.createRole(team);
    const passwords = {};
    const login = async (name, roles) => {
      passwords[name] = secret();
      await cluster.createRole(name, { login: true, password: passwords[name], inRoles: roles });
    };
    const runnerNames = [];
    for (let index = 1; index <= runners; index += 1) {
      runnerNames.push(`runner-${index}`);
      await login(`runner-${index}`, ["certstage_runner", team]);
    }
    await login("copier", ["certstage_admin"]);
    await assertPlainRoles(cluster, Object.keys(passwords));
    const newStore = async () => {
      const database = await newDatabase();
      return Object.fromEntries(Object.entries(passwords).map(([user, password]) => [user, cluster.url({ user, password, database })]));
    };
    return { cluster, runnerNames, storeKey, open, newStore, stop: () => cluster.stop() };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** A benchmark as a superuser or the tables' owner would measure a database that enforces nothing. */
async function assertPlainRoles(cluster, names) {
  const { rows } = await cluster.sql("SELECT rolname FROM pg_roles WHERE rolname = ANY($1) AND (rolsuper OR rolbypassrls OR pg_has_role(rolname, $2, 'MEMBER'))", [names, STORE_OWNER]);
  if (rows.length > 0) throw new Error(`bench logins must be plain roles bound by row-level security: ${rows.map((row) => row.rolname).join(", ")}`);
}

module.exports = { startPostgres, startBenchPostgres };
