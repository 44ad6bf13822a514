/**
 * The postgres store's connection settings against a real PostgreSQL 15 with TLS on: what each
 * sslmode does to a real handshake (the server's pg_stat_ssl says whether the session is
 * encrypted), certificate and host name checks that fail when they must, the libpq environment
 * variables on their own, and a password that shows neither in the description nor in the error of
 * a refused login.
 */
import { mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { inspect } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { postgresConnectionFrom, type PostgresConnection } from "../../provider/store/postgres/connection";
import { temporaryDirectory } from "../support/certificates";
import { createCertificateAuthority, type PostgresCluster, startPostgres } from "../support/postgres";

const PASSWORD = "ci-password: p@ss/w?rd&more";

let cluster: PostgresCluster;
let directory: string;
/** A HOME without ~/.postgresql or ~/.pgpass, so nothing of the machine's own is read. */
let home: string;
/** A CA that never signed anything the server holds. */
let otherCaFile: string;

beforeAll(async () => {
  cluster = await startPostgres({ bindir: inject("postgresBinDirectory") });
  directory = temporaryDirectory("pg-tls");
  home = path.join(directory, "home");
  mkdirSync(home);
  otherCaFile = createCertificateAuthority(directory, "unrelated CA").certificateFile;
  await cluster.createRole("team-edge");
  await cluster.createRole("conformance@test", { login: true, password: PASSWORD, inRoles: ["team-edge"] });
  await cluster.createDatabase("certs", { owner: "conformance@test" });
});

afterAll(async () => {
  await cluster?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

interface Session {
  readonly ssl: boolean;
  readonly user: string;
  readonly database: string;
  readonly application: string;
}

/** Connects with what postgresConnectionFrom made, and asks the server about the session. */
async function session(connection: PostgresConnection): Promise<Session> {
  const client = new pg.Client(connection.config);
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<Session>(
      `SELECT s.ssl, current_user AS user, current_database() AS database, current_setting('application_name') AS application
         FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()`,
    );
    return rows[0];
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function refusedConnect(connection: PostgresConnection): Promise<Error> {
  const outcome = await session(connection).then(
    (seen) => new Error(`connected although it should not have: ${JSON.stringify(seen)}`),
    (error: Error) => error,
  );
  if (/connected although/.test(outcome.message)) throw outcome;
  return outcome;
}

function connection(setting: string, env: NodeJS.ProcessEnv = {}, overrides?: { password?: string; applicationName?: string }): PostgresConnection {
  return postgresConnectionFrom(setting, { HOME: home, ...env }, overrides);
}

const ca = () => `sslrootcert=${encodeURIComponent(cluster.caFile)}`;
const base = () => `postgres://${encodeURIComponent("conformance@test")}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.port}/certs`;

describe("TLS to the store's PostgreSQL", () => {
  it("verify-full with the server's CA connects, encrypted, as the role the URL names", async () => {
    const seen = await session(connection(cluster.url({ user: "conformance@test", password: PASSWORD, database: "certs", sslmode: "verify-full" })));
    expect(seen).toEqual({ ssl: true, user: "conformance@test", database: "certs", application: "certstage" });
  });

  it("verify-full also checks a DNS name the certificate holds (localhost)", async () => {
    const seen = await session(connection(cluster.url({ user: "conformance@test", password: PASSWORD, database: "certs", sslmode: "verify-full", host: "localhost" })));
    expect(seen.ssl).toBe(true);
  });

  it("verify-full with another CA fails the handshake", async () => {
    const error = await refusedConnect(connection(`${base()}?sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCaFile)}`));
    expect(error.message).toMatch(/self[- ]signed certificate in certificate chain|unable to (get local issuer|verify)/i);
  });

  it("verify-full to a host name the certificate does not hold fails, and verify-ca to it succeeds", async () => {
    // hostaddr: connect to 127.0.0.1 but check the certificate against db.example.test, as libpq does.
    const to = (sslmode: string) => `postgres://${encodeURIComponent("conformance@test")}:${encodeURIComponent(PASSWORD)}@db.example.test:${cluster.port}/certs?hostaddr=127.0.0.1&sslmode=${sslmode}&${ca()}`;
    const error = await refusedConnect(connection(to("verify-full")));
    expect(error.message).toMatch(/Hostname\/IP does not match certificate's altnames: Host: db\.example\.test/);
    expect((await session(connection(to("verify-ca")))).ssl).toBe(true);
  });

  it("require encrypts without checking the certificate, unless a root certificate is given (libpq's rule)", async () => {
    expect((await session(connection(`${base()}?sslmode=require`))).ssl).toBe(true);
    expect((await session(connection(`${base()}?sslmode=require&${ca()}`))).ssl).toBe(true);
    const error = await refusedConnect(connection(`${base()}?sslmode=require&sslrootcert=${encodeURIComponent(otherCaFile)}`));
    expect(error.message).toMatch(/self[- ]signed certificate in certificate chain|unable to (get local issuer|verify)/i);
  });

  it("prefer encrypts; allow and disable do not", async () => {
    expect((await session(connection(`${base()}?sslmode=prefer`))).ssl).toBe(true);
    expect((await session(connection(`${base()}?sslmode=allow`))).ssl).toBe(false);
    expect((await session(connection(`${base()}?sslmode=disable`))).ssl).toBe(false);
  });

  it("connects from the libpq environment variables alone, with no user or password in the URL", async () => {
    const env = {
      PGHOST: "127.0.0.1",
      PGPORT: String(cluster.port),
      PGUSER: "conformance@test",
      PGPASSWORD: PASSWORD,
      PGDATABASE: "certs",
      PGSSLMODE: "verify-full",
      PGSSLROOTCERT: cluster.caFile,
      PGAPPNAME: "runner-7",
      PGCONNECT_TIMEOUT: "10",
    };
    expect(await session(connection("postgres://", env))).toEqual({ ssl: true, user: "conformance@test", database: "certs", application: "runner-7" });
  });

  it("takes the password from the override (certstage:storePassword) over PGPASSWORD", async () => {
    const url = cluster.url({ user: "conformance@test", database: "certs", sslmode: "verify-full" });
    const seen = await session(connection(url, { PGPASSWORD: "stale" }, { password: PASSWORD, applicationName: "certstage agent test" }));
    expect(seen).toMatchObject({ ssl: true, user: "conformance@test", application: "certstage agent test" });
  });

  it("works as a pool config: the password function survives the spread", async () => {
    const { config } = connection(cluster.url({ user: "conformance@test", password: PASSWORD, database: "certs", sslmode: "verify-full" }));
    const pool = new pg.Pool({ ...config, max: 2 });
    try {
      const results = await Promise.all([1, 2, 3].map((n) => pool.query<{ n: number }>("SELECT $1::int AS n", [n])));
      expect(results.map((result) => result.rows[0].n)).toEqual([1, 2, 3]);
    } finally {
      await pool.end();
    }
  });

  it("never shows the password: not in the description, nor in the error of a refused login", async () => {
    const wrong = "wrong-password-ff31c9";
    const refused = connection(cluster.url({ user: "conformance@test", password: wrong, database: "certs", sslmode: "verify-full" }));
    const error = await refusedConnect(refused);
    expect(error.message).toMatch(/password authentication failed for user "conformance@test"/);
    const accepted = connection(cluster.url({ user: "conformance@test", password: PASSWORD, database: "certs", sslmode: "verify-full" }));
    expect(accepted.description).toBe(`postgres store conformance@test@127.0.0.1:${cluster.port}/certs`);
    for (const text of [refused.description, accepted.description, error.message, String(error.stack), inspect(error, { depth: 5 }), inspect(accepted.config, { depth: 5 })]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain("p@ss/w?rd");
    }
  });
});
