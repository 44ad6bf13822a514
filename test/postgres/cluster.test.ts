/**
 * The throwaway cluster every postgres test stands on (test/support/postgres.ts): what it promises
 * the other tests (TLS, scram, roles with odd names, restart, terminate, dump, a clean stop) is
 * checked here against the real server, so a broken helper fails here and not as a riddle there.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { listProcesses } from "../support/processes";
import { PostgresCluster, startPostgres } from "../support/postgres";

let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgres({ bindir: inject("postgresBinDirectory") });
});

afterAll(async () => {
  await cluster?.stop();
});

async function withClient<T>(connectionString: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  // The helper's URLs are for certstage's own parser (sslrootcert is a path); pg gets fields.
  const url = new URL(connectionString);
  const client = new pg.Client({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    ssl: false,
    application_name: url.searchParams.get("application_name") ?? "cluster-test",
  });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

describe("startPostgres", () => {
  it("runs PostgreSQL 15 on 127.0.0.1 with TLS on and scram-sha-256 passwords", async () => {
    const { rows } = await cluster.sql<{ version: string; ssl: string; listen: string; encryption: string }>(
      "SELECT current_setting('server_version_num') AS version, current_setting('ssl') AS ssl, current_setting('listen_addresses') AS listen, current_setting('password_encryption') AS encryption",
    );
    expect(rows[0]).toEqual({ version: expect.stringMatching(/^15\d{4}$/), ssl: "on", listen: "127.0.0.1", encryption: "scram-sha-256" });
    const helper = await cluster.sql<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    expect(helper.rows[0].ssl).toBe(true);
  });

  it("creates roles and databases whose names need quoting, and builds URLs that reach them", async () => {
    await cluster.createRole("team-edge");
    await cluster.createRole("conformance@test", { login: true, password: "p@ss:w/rd ?&%", inRoles: ["team-edge"] });
    await cluster.createDatabase("certs \"quoted\"", { owner: "conformance@test" });
    const url = cluster.url({ user: "conformance@test", password: "p@ss:w/rd ?&%", database: "certs \"quoted\"", sslmode: "disable" });
    expect(url).toContain("conformance%40test:p%40ss%3Aw%2Frd%20%3F%26%25@127.0.0.1:");
    const seen = await withClient(url, async (client) => (await client.query("SELECT current_user, current_database(), pg_has_role('team-edge', 'MEMBER') AS member")).rows[0]);
    expect(seen).toEqual({ current_user: "conformance@test", current_database: 'certs "quoted"', member: true });
  });

  it("refuses a wrong password (scram over TCP, nothing is trusted)", async () => {
    const url = cluster.url({ user: "postgres", password: "not-the-password", sslmode: "disable" });
    await expect(withClient(url, async () => undefined)).rejects.toThrow(/password authentication failed for user "postgres"/);
  });

  it("terminates the backends of one application_name and no others", async () => {
    await cluster.createRole("listener", { login: true, password: "listener-password" });
    const connect = async (application: string) => {
      const client = new pg.Client({ host: cluster.host, port: cluster.port, user: "listener", password: "listener-password", database: "postgres", ssl: false, application_name: application });
      await client.connect();
      return client;
    };
    const doomed = await connect("doomed");
    const spared = await connect("spared");
    const ended = new Promise<Error>((resolve) => doomed.on("error", resolve));
    try {
      expect(await cluster.terminateBackends({ applicationName: "doomed" })).toBe(1);
      expect((await ended).message).toMatch(/terminat/i);
      expect((await spared.query("SELECT 1 AS one")).rows[0].one).toBe(1);
      expect(await cluster.terminateBackends({ where: "usename = 'nobody-by-that-name'" })).toBe(0);
    } finally {
      await doomed.end().catch(() => undefined);
      await spared.end();
    }
  });

  it("restarts on the same port with the same data, disconnecting clients", async () => {
    await cluster.sql("CREATE TABLE survives_restart (value text)");
    await cluster.sql("INSERT INTO survives_restart VALUES ('kept')");
    const before = (await cluster.sql<{ started: Date }>("SELECT pg_postmaster_start_time() AS started")).rows[0].started;
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: "postgres", password: cluster.superuser.password, database: "postgres", ssl: false });
    await client.connect();
    const lost = new Promise<Error>((resolve) => client.on("error", resolve));
    await cluster.restart();
    expect((await lost).message).toMatch(/terminat|shutdown|closed/i);
    await client.end().catch(() => undefined);
    const after = (await cluster.sql<{ started: Date }>("SELECT pg_postmaster_start_time() AS started")).rows[0].started;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
    expect((await cluster.sql("SELECT value FROM survives_restart")).rows).toEqual([{ value: "kept" }]);
  });

  it("dumps a database as SQL text", async () => {
    await cluster.createDatabase("dumped");
    await cluster.sql("CREATE TABLE versions (certificate text, version int)", [], { database: "dumped" });
    await cluster.sql("INSERT INTO versions VALUES ('api', 7)", [], { database: "dumped" });
    const dump = await cluster.dump("dumped");
    expect(dump).toContain("CREATE TABLE public.versions");
    expect(dump).toMatch(/^api\t7$/m);
  });

  it("stops without leaving a server process or its directory behind", async () => {
    const other = await startPostgres({ bindir: inject("postgresBinDirectory") });
    await other.sql("SELECT 1");
    const started = other.serverProcesses();
    // The postmaster, its auxiliary processes (checkpointer, walwriter, …) and the helper's backend.
    expect(started.map((entry) => entry.pid)).toContain(other.postmasterPid());
    expect(started.length).toBeGreaterThan(3);
    await other.stop();
    await other.stop();
    const alive = listProcesses().filter((entry) => entry.state !== "Z" && started.some((each) => each.pid === entry.pid));
    expect(alive).toEqual([]);
    expect(existsSync(other.directory)).toBe(false);
  });

  it.each([
    ["is SIGKILLed", "wait"],
    ["exits without stopping it", "exit"],
  ])("leaves no server behind when the test process %s, and the next start removes its directory", async (_how, mode) => {
    const worker = spawn(process.execPath, [path.join(__dirname, "cluster-worker.cjs"), inject("postgresBinDirectory"), mode], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    let errors = "";
    worker.stderr.on("data", (chunk) => (errors += chunk));
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    const started = await new Promise<{ postmaster: number; directory: string }>((resolve, reject) => {
      worker.stdout.on("data", (chunk) => {
        output += chunk;
        if (output.includes("\n")) resolve(JSON.parse(output.split("\n")[0]));
      });
      worker.once("exit", (code) => reject(new Error(`worker exited (${code}) before the cluster was up: ${errors}`)));
    });
    const serverProcesses = listProcesses().filter((entry) => entry.pid === started.postmaster || entry.ppid === started.postmaster);
    expect(serverProcesses.length).toBeGreaterThan(3);
    if (mode === "wait") worker.kill("SIGKILL");
    else worker.stdin.write("exit\n");
    await exited;

    // SIGKILL: the kernel's parent-death signal makes the postmaster shut down (fast); exit: the
    // exit handler killed it. Either way every process of that server goes, and soon.
    await eventually(() => listProcesses().filter((entry) => entry.state !== "Z" && serverProcesses.some((each) => each.pid === entry.pid && each.command === entry.command)));
    if (mode === "wait") expect(existsSync(started.directory)).toBe(true);
    const next = await startPostgres({ bindir: inject("postgresBinDirectory") });
    await next.stop();
    expect(existsSync(started.directory)).toBe(false);
  });
});

/** Polls until `left()` is empty; the bound only catches a server that never goes. */
async function eventually(left: () => unknown[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const remaining = left();
    if (remaining.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still running: ${JSON.stringify(remaining)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
