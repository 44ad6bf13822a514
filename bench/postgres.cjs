/**
 * A throwaway PostgreSQL 15 for the benchmarks: the tests' own cluster (test/support/postgres.ts,
 * loaded as it is: initdb in a temporary directory, a server on 127.0.0.1 and a free port, TLS and
 * scram-sha-256, durability off, stopped with its directory removed), behind a small interface.
 * Debian's binaries are used from /usr/lib/postgresql/15/bin when there, else scripts/postgres.sh
 * provides them.
 *
 *   const postgres = await startPostgres();
 *   await postgres.sql("CREATE ROLE …");           // as the superuser; resolves with the rows
 *   postgres.url("certs", "edge-ci", password);    // postgres://edge-ci:…@127.0.0.1:<port>/certs?sslmode=verify-full&…
 *   await postgres.stop();
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DEBIAN_BINDIR = "/usr/lib/postgresql/15/bin";

/** `settings` are postgresql.conf lines (`{ max_connections: 200 }`); none are needed. */
async function startPostgres(settings = {}) {
  const support = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "postgres.ts"));
  const bindir = fs.existsSync(path.join(DEBIAN_BINDIR, "initdb")) ? DEBIAN_BINDIR : support.postgresBinDirectory();
  const cluster = await support.startPostgres({ bindir, settings });
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

module.exports = { startPostgres };
