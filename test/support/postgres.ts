/**
 * A real, throwaway PostgreSQL 15 cluster per test file (Debian's postgresql-15, provided by
 * scripts/postgres.sh): initdb in a fresh temporary directory, a server on 127.0.0.1 and a free
 * port, its Unix socket in that directory, TLS on with a CA made for this cluster alone, and
 * scram-sha-256 for every connection (pg_hba.conf allows TCP with and without TLS, so a test can
 * prove what sslmode does). The superuser is `postgres`, with a random password.
 *
 * Durability is off (fsync, synchronous_commit, full_page_writes): a test cluster never outlives
 * its test, and a crash of the machine only loses a directory that is deleted anyway.
 *
 * Run as root, initdb and postgres refuse to start; the server then runs as the Debian `postgres`
 * user (setpriv), and the directory is chowned to it. The postmaster is this process's own child,
 * started through `setpriv --pdeathsig INT`: if the test worker dies by any means, the kernel
 * sends the postmaster SIGINT, PostgreSQL's fast shutdown. stop() and the exit handler SIGKILL
 * the postmaster and its children as a last resort (found by parent pid: each child of a
 * postmaster makes itself a session leader); a directory left by a killed worker is removed (its
 * server killed first) by the next startPostgres().
 *
 * restart() is what `pg_ctl restart -m fast` does, done here so the new postmaster is again our
 * child (pg_ctl would start it detached, where no parent-death signal can reach it): SIGINT
 * (fast shutdown: open transactions roll back, every client is disconnected), wait until the
 * postmaster has exited, start it again on the same port and data.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chownSync, closeSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import pg from "pg";
import { processIsAlive } from "../../provider/store/file-lock";
import { listProcesses, ProcessEntry, tail } from "./processes";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const LOOPBACK = "127.0.0.1";
const SUPERUSER = "postgres";
/** The application_name of the helper's own connections, which terminateBackends spares. */
const HELPER_APPLICATION_NAME = "certstage-test-superuser";
/** Bounds that only catch a hang: a cold start takes about a second, a fast shutdown less. */
const READY_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 20;
/** A port found free can be taken by someone else before the server binds it; start again then. */
const START_ATTEMPTS = 3;
const DIRECTORY_PREFIX = "certstage-postgres-";
const OWNER_FILE = "owner.pid";

export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

export interface PostgresOptions {
  /** Where initdb and postgres are (default: ask scripts/postgres.sh; the tier provides `postgresBinDirectory`). */
  bindir?: string;
  /** More postgresql.conf settings, such as `{ max_connections: 200 }`; strings are quoted for the file. */
  settings?: Readonly<Record<string, string | number | boolean>>;
}

export interface UrlOptions {
  user: string;
  password?: string;
  /** Default `postgres`. */
  database?: string;
  /** Default `verify-full`. */
  sslmode?: SslMode;
  /** The CA file the URL names as sslrootcert. Default: the cluster's CA for verify-ca and verify-full, none otherwise. */
  sslrootcert?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** More query parameters (application_name, hostaddr, …). */
  params?: Readonly<Record<string, string>>;
}

export interface RoleOptions {
  /** Default false (a group role). */
  login?: boolean;
  password?: string;
  /** Roles the new role becomes a member of (`IN ROLE`). */
  inRoles?: readonly string[];
  superuser?: boolean;
  bypassRls?: boolean;
}

export type BackendMatch = { readonly applicationName: string } | { readonly where: string };

export interface PostgresCluster {
  readonly host: typeof LOOPBACK;
  readonly port: number;
  /** The CA that signed the server's certificate (for DNS:localhost and IP:127.0.0.1). */
  readonly caFile: string;
  /** The server's Unix socket is `<socketDirectory>/.s.PGSQL.<port>`. */
  readonly socketDirectory: string;
  /** The temporary directory holding everything (removed by stop()). */
  readonly directory: string;
  /** The server's log (stderr), for failure messages. */
  readonly logFile: string;
  readonly superuser: { readonly user: typeof SUPERUSER; readonly password: string };
  /** `postgres://postgres:…@127.0.0.1:<port>/postgres?sslmode=verify-full&sslrootcert=<caFile>` */
  readonly superuserUrl: string;
  /** A `postgres://` URL with user, password and database percent-encoded. */
  url(options: UrlOptions): string;
  /** One statement as the superuser, in `database` (default `postgres`), through a small pool per database. */
  sql<Row extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[], options?: { database?: string }): Promise<pg.QueryResult<Row>>;
  createDatabase(name: string, options?: { owner?: string }): Promise<void>;
  createRole(name: string, options?: RoleOptions): Promise<void>;
  /** The running postmaster's pid; a new one after restart(). */
  postmasterPid(): number;
  /** The postmaster and every process it started (backends, checkpointer, …) that still runs. */
  serverProcesses(): ProcessEntry[];
  /** Fast shutdown and start again (what `pg_ctl restart -m fast` does); resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Terminates the server (fast shutdown) and removes the directory; safe to call twice. */
  stop(): Promise<void>;
  /** `pg_dump` of `database` as the superuser: the plain SQL text. */
  dump(database: string): Promise<string>;
  /**
   * pg_terminate_backend for every client backend matching (other than the helper's own), waiting
   * until each is gone; resolves with how many there were. `where` is SQL over pg_stat_activity.
   */
  terminateBackends(match: BackendMatch): Promise<number>;
}

let cachedBinDirectory: string | undefined;

/** Runs scripts/postgres.sh once per process (installing Debian's postgresql-15 on a cold machine). */
export function postgresBinDirectory(): string {
  cachedBinDirectory ??= parsePostgresBinDirectory(
    execFileSync("bash", [path.join(REPO_ROOT, "scripts", "postgres.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  );
  return cachedBinDirectory;
}

/** Reads the `bindir=<path>` line scripts/postgres.sh prints. */
export function parsePostgresBinDirectory(output: string): string {
  const match = /^bindir=(\/.+)$/m.exec(output);
  if (!match) throw new Error(`scripts/postgres.sh did not name the bindir:\n${output}`);
  return match[1].trim();
}

/** Percent-encodes a URL part; encodeURIComponent leaves !'()* alone, which libpq reads literally anyway. */
const encode = encodeURIComponent;

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresCluster> {
  const bindir = options.bindir ?? postgresBinDirectory();
  removeClustersOfDeadRuns();
  const directory = mkdtempSync(path.join(os.tmpdir(), DIRECTORY_PREFIX));
  writeFileSync(path.join(directory, OWNER_FILE), String(process.pid));
  const running: Running = { directory, child: undefined, exited: Promise.resolve() };
  liveClusters.add(running);
  const logFile = path.join(directory, "postgres.log");
  const layout = {
    data: path.join(directory, "data"),
    socket: path.join(directory, "socket"),
    tls: path.join(directory, "tls"),
  };
  const runAs = serverUser();
  const password = randomBytes(18).toString("base64url");
  try {
    mkdirSync(layout.socket);
    mkdirSync(layout.tls);
    const authority = createCertificateAuthority(layout.tls, "certstage test PostgreSQL CA");
    const server = issueServerCertificate(layout.tls, authority, ["DNS:localhost", `IP:${LOOPBACK}`]);
    const passwordFile = path.join(directory, "superuser.password");
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) chownTree(directory, runAs);

    run(runAs, path.join(bindir, "initdb"), [
      "--pgdata", layout.data,
      "--username", SUPERUSER,
      "--pwfile", passwordFile,
      "--auth", "scram-sha-256",
      "--encoding", "UTF8",
      "--locale", "C",
      "--no-sync",
      "--no-instructions",
    ]);
    rmSync(passwordFile);
    writeFileSync(path.join(layout.data, "pg_hba.conf"), [
      "# TYPE     DATABASE  USER  ADDRESS       METHOD",
      "local      all       all                 scram-sha-256",
      `hostssl    all       all   ${LOOPBACK}/32  scram-sha-256`,
      `hostnossl  all       all   ${LOOPBACK}/32  scram-sha-256`,
      "",
    ].join("\n"));
    appendFileSync(path.join(layout.data, "postgresql.conf"), serverSettings(layout, server, options.settings ?? {}));

    let port = 0;
    const ca = readFileSync(authority.certificateFile, "utf8");
    // The helper's own connections verify the server as verify-full would (IP SAN 127.0.0.1).
    const connect = (database: string): pg.ClientConfig => ({
      host: LOOPBACK,
      port,
      user: SUPERUSER,
      password,
      database,
      ssl: { ca },
      application_name: HELPER_APPLICATION_NAME,
    });
    for (let attempt = 1; ; attempt += 1) {
      port = await freeLoopbackPort();
      try {
        await startServer(running, { bindir, runAs, data: layout.data, port, logFile }, connect("postgres"));
        break;
      } catch (error) {
        if (attempt >= START_ATTEMPTS || !(error instanceof PortTakenError)) throw error;
      }
    }

    const pools = new Map<string, pg.Pool>();
    const pool = (database: string): pg.Pool => {
      let found = pools.get(database);
      if (!found) {
        found = new pg.Pool({ ...connect(database), max: 4 });
        // An idle client whose backend was terminated (a restart, terminateBackends) reports it
        // here; the pool drops that client, and an unhandled 'error' would crash the worker.
        found.on("error", () => undefined);
        pools.set(database, found);
      }
      return found;
    };
    const closePools = async () => {
      const closing = [...pools.values()].map((each) => each.end());
      pools.clear();
      await Promise.allSettled(closing);
    };
    const sql = <Row extends pg.QueryResultRow>(text: string, params?: unknown[], sqlOptions?: { database?: string }) =>
      pool(sqlOptions?.database ?? "postgres").query<Row>(text, params);

    const url = (urlOptions: UrlOptions): string => {
      const sslmode = urlOptions.sslmode ?? "verify-full";
      const credentials = urlOptions.password === undefined ? encode(urlOptions.user) : `${encode(urlOptions.user)}:${encode(urlOptions.password)}`;
      const query = new URLSearchParams({ sslmode });
      const sslrootcert = urlOptions.sslrootcert ?? (sslmode.startsWith("verify-") ? authority.certificateFile : undefined);
      if (sslrootcert !== undefined) query.set("sslrootcert", sslrootcert);
      for (const [key, value] of Object.entries(urlOptions.params ?? {})) query.set(key, value);
      // URLSearchParams writes a space as "+", which libpq reads literally; %20 means a space to both.
      const search = query.toString().replace(/\+/g, "%20");
      return `postgres://${credentials}@${urlOptions.host ?? LOOPBACK}:${port}/${encode(urlOptions.database ?? "postgres")}?${search}`;
    };

    let stopped: Promise<void> | undefined;
    return {
      host: LOOPBACK,
      port,
      caFile: authority.certificateFile,
      socketDirectory: layout.socket,
      directory,
      logFile,
      superuser: { user: SUPERUSER, password },
      superuserUrl: url({ user: SUPERUSER, password }),
      url,
      sql,
      async createDatabase(name, databaseOptions = {}) {
        const owner = databaseOptions.owner === undefined ? "" : ` OWNER ${pg.escapeIdentifier(databaseOptions.owner)}`;
        await sql(`CREATE DATABASE ${pg.escapeIdentifier(name)}${owner}`);
      },
      async createRole(name, roleOptions = {}) {
        const clauses = [
          roleOptions.login ? "LOGIN" : "NOLOGIN",
          roleOptions.superuser ? "SUPERUSER" : "NOSUPERUSER",
          roleOptions.bypassRls ? "BYPASSRLS" : "NOBYPASSRLS",
          ...(roleOptions.password === undefined ? [] : [`PASSWORD ${pg.escapeLiteral(roleOptions.password)}`]),
          ...(roleOptions.inRoles?.length ? [`IN ROLE ${roleOptions.inRoles.map((role) => pg.escapeIdentifier(role)).join(", ")}`] : []),
        ];
        await sql(`CREATE ROLE ${pg.escapeIdentifier(name)} ${clauses.join(" ")}`);
      },
      postmasterPid() {
        if (running.child?.pid === undefined) throw new Error("the cluster is not running");
        return running.child.pid;
      },
      serverProcesses: () => (running.child?.pid === undefined ? [] : serverProcesses(running.child.pid)),
      async restart() {
        // The pools' connections die with the server; new ones are opened on the next sql().
        await closePools();
        await stopServer(running);
        await startServer(running, { bindir, runAs, data: layout.data, port, logFile }, connect("postgres"));
      },
      stop: () =>
        (stopped ??= (async () => {
          await closePools();
          await stopServer(running);
          liveClusters.delete(running);
          rmSync(directory, { recursive: true, force: true });
        })()),
      dump: (database) => dumpDatabase(bindir, { port, password, caFile: authority.certificateFile, database }),
      async terminateBackends(match) {
        const condition = "applicationName" in match ? "application_name = $1" : `(${match.where})`;
        const params = "applicationName" in match ? [match.applicationName] : [];
        // pg_terminate_backend(pid, timeout) waits until the backend has exited (PostgreSQL 14+).
        const result = await sql<{ terminated: boolean }>(
          `SELECT pg_terminate_backend(pid, 10000) AS terminated FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
              AND application_name <> $${params.length + 1} AND ${condition}`,
          [...params, HELPER_APPLICATION_NAME],
        );
        const failed = result.rows.filter((row) => !row.terminated).length;
        if (failed > 0) throw new Error(`terminateBackends: ${failed} backend(s) did not exit within 10 s`);
        return result.rowCount ?? 0;
      },
    };
  } catch (error) {
    await stopServer(running).catch(() => undefined);
    const message = `PostgreSQL did not start: ${(error as Error).message}\n--- postgres log (tail) ---\n${tail(logFile)}`;
    liveClusters.delete(running);
    rmSync(directory, { recursive: true, force: true });
    throw new (error instanceof PortTakenError ? PortTakenError : Error)(message);
  }
}

// ---------------------------------------------------------------------------------------------
// TLS material (openssl)

export interface CertificateAuthority {
  readonly certificateFile: string;
  readonly keyFile: string;
}

/** A self-signed ECDSA P-256 CA in `directory` (`<name-derived>.crt` / `.key`), valid for a week. */
export function createCertificateAuthority(directory: string, commonName: string): CertificateAuthority {
  const base = path.join(directory, commonName.toLowerCase().replace(/[^a-z0-9]+/g, "-"));
  const config = `${base}.cnf`;
  writeFileSync(config, [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "x509_extensions = ca",
    "[dn]",
    `CN = ${commonName}`,
    "[ca]",
    "basicConstraints = critical,CA:TRUE",
    "keyUsage = critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier = hash",
    "",
  ].join("\n"));
  openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.crt`, "-days", "7", "-config", config]);
  return { certificateFile: `${base}.crt`, keyFile: `${base}.key` };
}

/** server.crt / server.key in `directory`, signed by `authority`, for the given subjectAltName entries. */
function issueServerCertificate(directory: string, authority: CertificateAuthority, subjectAltNames: readonly string[]): { certificateFile: string; keyFile: string } {
  const base = path.join(directory, "server");
  writeFileSync(`${base}.ext`, [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature",
    "extendedKeyUsage = serverAuth",
    `subjectAltName = ${subjectAltNames.join(",")}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    "",
  ].join("\n"));
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", "/CN=localhost"]);
  openssl([
    "x509", "-req", "-in", `${base}.csr`, "-CA", authority.certificateFile, "-CAkey", authority.keyFile,
    "-set_serial", `0x${randomBytes(16).toString("hex")}`, "-days", "7", "-extfile", `${base}.ext`, "-out", `${base}.crt`,
  ]);
  return { certificateFile: `${base}.crt`, keyFile: `${base}.key` };
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
}

// ---------------------------------------------------------------------------------------------
// The server process

interface Running {
  readonly directory: string;
  child: ChildProcess | undefined;
  /** Settles when `child` has exited. */
  exited: Promise<void>;
}

interface ServerStart {
  readonly bindir: string;
  readonly runAs: OsUser | undefined;
  readonly data: string;
  readonly port: number;
  readonly logFile: string;
}

class PortTakenError extends Error {}

/** Clusters not yet stopped; killed when the test process exits so none outlives a crashed run. */
const liveClusters = new Set<Running>();
process.on("exit", () => {
  for (const running of liveClusters) {
    if (running.child?.pid !== undefined) killServerNow(running.child.pid);
    rmSync(running.directory, { recursive: true, force: true });
  }
});

function serverSettings(layout: { socket: string }, server: { certificateFile: string; keyFile: string }, extra: Readonly<Record<string, string | number | boolean>>): string {
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: LOOPBACK,
    unix_socket_directories: layout.socket,
    ssl: true,
    ssl_cert_file: server.certificateFile,
    ssl_key_file: server.keyFile,
    fsync: false,
    synchronous_commit: false,
    full_page_writes: false,
    shared_buffers: "32MB",
    ...extra,
  };
  const value = (setting: string | number | boolean) =>
    typeof setting === "string" ? `'${setting.replace(/'/g, "''")}'` : typeof setting === "boolean" ? (setting ? "on" : "off") : String(setting);
  return `\n# certstage test cluster\n${Object.entries(settings).map(([name, setting]) => `${name} = ${value(setting)}`).join("\n")}\n`;
}

async function startServer(running: Running, start: ServerStart, probe: pg.ClientConfig): Promise<void> {
  const output = openSync(start.logFile, "a");
  // What this start logs, apart from an earlier attempt's lines.
  const logOffset = fstatSync(output).size;
  let child: ChildProcess;
  try {
    const postgres = [path.join(start.bindir, "postgres"), "-D", start.data, "-p", String(start.port)];
    const identity = start.runAs ? ["--reuid", String(start.runAs.uid), "--regid", String(start.runAs.gid), "--init-groups"] : [];
    // Own process group (detached), so stop() and the exit handler reach every backend.
    child = spawn("setpriv", [...identity, "--pdeathsig", "INT", "--", ...postgres], {
      stdio: ["ignore", output, output],
      detached: true,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
    });
  } finally {
    closeSync(output);
  }
  running.child = child;
  running.exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  child.on("error", (error) => appendFileSync(start.logFile, `spawn setpriv/postgres: ${error.message}\n`));
  await waitUntilReady(child, { ...probe, port: start.port }, start, logOffset);
}

/**
 * Until the superuser can connect over TLS and the server says it serves our data directory:
 * proves it is up, that TLS and scram work, and that the port is this cluster's.
 */
async function waitUntilReady(child: ChildProcess, probe: pg.ClientConfig, start: ServerStart, logOffset: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = "no attempt";
  for (;;) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      const log = readFileSync(start.logFile).subarray(logOffset).toString("utf8");
      const message = `postgres exited (${child.exitCode ?? child.signalCode ?? "not started"}) before it was ready`;
      throw new (/could not bind|Address already in use/i.test(log) ? PortTakenError : Error)(message);
    }
    const client = new pg.Client({ ...probe, connectionTimeoutMillis: 5_000 });
    // Errors after connect() settled (the server going away mid-probe) must not crash the worker.
    client.on("error", () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ data_directory: string }>("SELECT current_setting('data_directory') AS data_directory");
      if (rows[0]?.data_directory === start.data) return;
      lastProblem = `port ${start.port} is served from ${rows[0]?.data_directory}, not ${start.data}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${lastProblem}`);
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

/**
 * Fast shutdown (SIGINT, what `pg_ctl stop -m fast` sends) and wait for the postmaster to exit
 * (it waits for its backends first); should that hang, SIGKILL the postmaster and each process it
 * started. Every child of a postmaster makes itself a session leader (InitPostmasterChild calls
 * setsid), so they are found by parent pid, not by process group.
 */
async function stopServer(running: Running): Promise<void> {
  const child = running.child;
  if (!child || child.pid === undefined) return;
  running.child = undefined;
  const postmaster = child.pid;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGINT");
    let timer: NodeJS.Timeout | undefined;
    const hung = await Promise.race([
      running.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), SHUTDOWN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (hung) await killServer(postmaster);
    await running.exited;
  }
}

/** The postmaster `pid` and its children that can still run (zombies are not). */
function serverProcesses(pid: number): ProcessEntry[] {
  return listProcesses().filter((entry) => (entry.pid === pid || entry.ppid === pid) && entry.state !== "Z");
}

/**
 * SIGKILLs a postmaster and every process it started. SIGSTOP first: a stopped postmaster forks
 * nothing more, and its children keep it as their parent while they are listed.
 */
function killServerNow(pid: number): ProcessEntry[] {
  signal(pid, "SIGSTOP");
  const processes = serverProcesses(pid);
  for (const entry of processes) signal(entry.pid, "SIGKILL");
  return processes;
}

/** killServerNow, then wait until none of those processes can run any more. */
async function killServer(pid: number): Promise<void> {
  const killed = killServerNow(pid);
  const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
  for (;;) {
    const left = listProcesses().filter((entry) => entry.state !== "Z" && killed.some((each) => each.pid === entry.pid && each.command === entry.command));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`postgres processes still running after SIGKILL: ${left.map((entry) => `${entry.pid} ${entry.command}`).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * A test worker killed by a signal cannot remove its cluster's directory, and if the kernel's
 * parent-death signal did not stop its server (no setpriv), the server still runs: the next start
 * kills the server of every directory whose owner process is gone, then removes the directory.
 */
function removeClustersOfDeadRuns(): void {
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(DIRECTORY_PREFIX)) continue;
    const directory = path.join(os.tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(directory, OWNER_FILE), "utf8"));
    } catch {
      continue; // Being set up right now, or another user's.
    }
    if (!Number.isInteger(owner) || owner <= 0 || processIsAlive(owner)) continue;
    const postmaster = leftoverPostmaster(path.join(directory, "data"));
    if (postmaster !== undefined) killServerNow(postmaster);
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The pid in `<data>/postmaster.pid`, if that process still runs postgres on this data directory. */
function leftoverPostmaster(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return commandLine.includes(data) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function dumpDatabase(bindir: string, target: { port: number; password: string; caFile: string; database: string }): Promise<string> {
  // Everything through the environment, none from the caller's: a database name is never read
  // as a connection string there, and the password is not on a command line `ps` shows.
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    PGHOST: LOOPBACK,
    PGPORT: String(target.port),
    PGUSER: SUPERUSER,
    PGPASSWORD: target.password,
    PGDATABASE: target.database,
    PGSSLMODE: "verify-full",
    PGSSLROOTCERT: target.caFile,
    PGCONNECT_TIMEOUT: "10",
    PGPASSFILE: "/dev/null",
  };
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(bindir, "pg_dump"), ["--no-password"], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`pg_dump ${target.database} failed (${code ?? signal}): ${Buffer.concat(err).toString("utf8")}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Users, ports, files

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

/** Root runs the server as `postgres` (initdb and postgres refuse root); anyone else as themselves. */
function serverUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, SUPERUSER], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

function run(user: OsUser | undefined, program: string, args: string[]): void {
  const identity = user ? ["--reuid", String(user.uid), "--regid", String(user.gid), "--init-groups"] : [];
  try {
    execFileSync("setpriv", [...identity, "--", program, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
    });
  } catch (error) {
    const failed = error as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(`${path.basename(program)} failed: ${failed.stderr?.toString() || failed.stdout?.toString() || failed.message}`);
  }
}

function chownTree(target: string, user: OsUser): void {
  chownSync(target, user.uid, user.gid);
  if (!lstatSync(target).isDirectory()) return;
  for (const entry of readdirSync(target)) chownTree(path.join(target, entry), user);
}

/** Binds port 0 on loopback and releases it for the server to take. */
async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, LOOPBACK, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
