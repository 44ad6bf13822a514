/**
 * Real TLS-terminating servers for deployment tests: Debian's nginx (1.22.1 on Debian 12) and
 * HAProxy (2.6.x), provided by scripts/servers.sh and started here on loopback ports chosen per
 * call, each with its own temporary directory (config, pid file, logs, nginx's temp paths), so
 * several can run at once and none touches the system's /etc, /run or /var.
 *
 * nginx runs in the foreground (`daemon off;`) with a master and one worker; the master is our
 * child. It reads `ssl_certificate` / `ssl_certificate_key` when it starts and on every reload,
 * following symlinks at that moment, which is what a certstage deployment (a swapped
 * `environments/<env>/<cert>` symlink) relies on. When run as root it says `user root;`, so it
 * needs neither www-data nor nobody/nogroup to exist (without a `user` line a root master would
 * switch its workers to the compiled-in nobody:nogroup). Run as another user it needs no `user`.
 *
 * reload() sends SIGHUP to the master (what `nginx -s reload` does through the pid file) and
 * resolves once the new configuration is the only one that can take a connection: the master has
 * started a worker that was not there before, and no worker of the old generation still holds the
 * listening socket (an old worker closes its copy as soon as it is told to shut down gracefully,
 * then finishes its open connections; reload() does not wait for those). Read from /proc: the
 * master's children and each one's open file descriptors, matched against the listening socket's
 * inode in /proc/net/tcp. Merely seeing "start worker process" in the error log would not do:
 * nginx starts the new workers 100 ms before it tells the old ones to stop, and in that window an
 * old worker can still accept a handshake with the old certificate (measured: waiting only for a
 * new worker pid, 48 of 100 handshakes right after still got the old certificate; with the socket
 * check, 0 of 400, also with both cores busy). A configuration nginx rejects
 * on reload (it logs [emerg] and keeps serving the old one) makes reload() throw with the log.
 *
 * HAProxy runs as one foreground process (`-db`: no daemon, no master-worker), so its pid is
 * stable across runtime API changes. Its frontend uses one combined PEM (leaf, chain, key)
 * written by the helper; that file's path is the name the runtime API knows the certificate by:
 *
 *   set ssl cert <certificatePath> <<\n<PEM lines, no blank line>\n\n   -> "Transaction created for certificate <path>!"
 *   commit ssl cert <certificatePath>                                  -> "Committing <path>.\nSuccess!" (new handshakes only)
 *   abort ssl cert <certificatePath>                                   -> "Transaction aborted for certificate '<path>'!"
 *   show ssl cert [<path> | *<path>]                                    (the `*` form shows an uncommitted transaction)
 *
 * The payload after `<<` ends at the first empty line, so a PEM with a blank line in it would be
 * cut short and its remainder taken as further commands: command() refuses such payloads, and
 * haproxyPemPayload() joins PEMs without blank lines.
 *
 * Both servers are started through `setpriv --pdeathsig`, so the kernel signals them when the test
 * worker dies by any means. nginx gets SIGTERM rather than SIGKILL: the master then stops its
 * workers, which a killed master would leave running (they hold the port). Each server also runs
 * in its own process group, which stop() and the exit handler kill as a last resort.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { REPO_ROOT } from "./certificates";
import { removeDirectoriesOfDeadRuns, tail, withParentDeathSignal } from "./processes";

const LOOPBACK = "127.0.0.1";
const DEFAULT_SERVER_NAME = "api.example.test";
const READY_TIMEOUT_MS = 10_000;
const RELOAD_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 3_000;
/** A port found free can be taken by someone else before the server binds it; start again then. */
const START_ATTEMPTS = 3;
const DIRECTORY_PREFIX = "certstage-tls-server-";
const OWNER_FILE = "owner.pid";

export interface ServerBinaries {
  readonly nginx: string;
  readonly haproxy: string;
}

let cachedBinaries: ServerBinaries | undefined;

/**
 * Runs scripts/servers.sh once per process (installing the Debian packages on a cold machine) and
 * remembers the binaries it names. The servers tier's global setup runs it first, so a test never
 * spends its own timeout on an install.
 */
export function serverBinaries(): ServerBinaries {
  cachedBinaries ??= parseServerBinaries(
    execFileSync("bash", [path.join(REPO_ROOT, "scripts", "servers.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  );
  return cachedBinaries;
}

/** Reads the `nginx=<path>` and `haproxy=<path>` lines scripts/servers.sh prints. */
export function parseServerBinaries(output: string): ServerBinaries {
  const found = new Map<string, string>();
  for (const line of output.split("\n")) {
    const match = /^(nginx|haproxy)=(\/.+)$/.exec(line.trim());
    if (match) found.set(match[1], match[2]);
  }
  const nginx = found.get("nginx");
  const haproxy = found.get("haproxy");
  if (!nginx || !haproxy) throw new Error(`scripts/servers.sh did not name both binaries:\n${output}`);
  return { nginx, haproxy };
}

// ---------------------------------------------------------------------------------------------
// nginx

export interface NginxOptions {
  /** PEM with the leaf first, then the chain (certstage's fullchain.pem); may be a path through a symlink. */
  certificateFile: string;
  keyFile: string;
  /** `server_name` of the one (default) server; default api.example.test. */
  serverName?: string;
  /** The nginx binary (default: ask scripts/servers.sh). */
  binary?: string;
}

export interface NginxServer {
  /** https on 127.0.0.1:<port> */
  readonly port: number;
  /** The master process (stable across reloads). */
  readonly pid: number;
  readonly serverName: string;
  /** error: nginx's error log (level notice: reloads and worker starts show there); output: its stdout and stderr. */
  readonly logs: { readonly error: string; readonly output: string };
  /**
   * SIGHUP to the master (graceful: old workers finish their connections). Resolves when the new
   * configuration is live: a new worker runs and no old worker still holds the listening socket.
   * Throws if nginx rejected the configuration (it then keeps serving the old one).
   */
  reload(): Promise<void>;
  /** The current workers, to wait for a reload that something else triggers (`reloadedSince`). */
  generation(): NginxGeneration;
  /** Resolves once nginx has reloaded since `generation` (as `reload()` would); triggers nothing itself, so it times out if nobody reloads. */
  reloadedSince(generation: NginxGeneration): Promise<void>;
  /** `nginx -s reload` for this instance, as a certstage directory target's reload command runs it. */
  readonly reloadCommand: readonly string[];
  stop(): Promise<void>;
}

/** nginx terminating TLS for `serverName` with the given files (read at start and at each reload). */
export async function startNginx(options: NginxOptions): Promise<NginxServer> {
  const binary = options.binary ?? serverBinaries().nginx;
  return startWithRetries(() => startNginxOnce(binary, options));
}

async function startNginxOnce(binary: string, options: NginxOptions): Promise<NginxServer> {
  const serverName = options.serverName ?? DEFAULT_SERVER_NAME;
  const certificateFile = configPath(options.certificateFile, "certificateFile");
  const keyFile = configPath(options.keyFile, "keyFile");
  const running = newRunning("nginx");
  const { directory } = running;
  const logs = { error: path.join(directory, "error.log"), output: path.join(directory, "nginx.out") };
  try {
    const port = await freeLoopbackPort();
    const configFile = path.join(directory, "nginx.conf");
    writeFileSync(configFile, nginxConfig({ directory, port, serverName, certificateFile, keyFile }));
    // -p: relative paths resolve inside the directory; -e: the log for messages from before the
    // config is read (the compiled-in one is stderr on Debian, a file elsewhere).
    const child = spawnLogged(binary, ["-p", `${directory}/`, "-e", logs.error, "-c", configFile], logs.output, "TERM");
    running.children.push(child);
    // What the files hold now is what nginx reads as it starts.
    const expected = leafFingerprint(readFileSync(certificateFile, "utf8"));
    await waitUntilServing(child, port, serverName, expected);

    let stopped: Promise<void> | undefined;
    return {
      port,
      pid: child.pid as number,
      serverName,
      logs,
      reload: () => reloadNginx(child, port, logs.error),
      generation: () => nginxGeneration(child, logs.error),
      reloadedSince: (generation) => nextNginxGeneration(child, port, logs.error, generation),
      reloadCommand: [binary, "-p", `${directory}/`, "-e", logs.error, "-c", configFile, "-s", "reload"],
      stop: () => (stopped ??= stopRunning(running)),
    };
  } catch (error) {
    throw await failedStart(running, "nginx", error, [
      ["nginx error log", logs.error],
      ["nginx output", logs.output],
    ]);
  }
}

function nginxConfig(settings: { directory: string; port: number; serverName: string; certificateFile: string; keyFile: string }): string {
  const { directory, port, serverName, certificateFile, keyFile } = settings;
  if (!/^[A-Za-z0-9.*_-]+$/.test(serverName)) throw new Error(`startNginx: unsupported serverName ${JSON.stringify(serverName)}`);
  const inside = (name: string) => quote(path.join(directory, name));
  const temp = path.join(directory, "temp");
  mkdirSync(temp);
  return [
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    // A root master otherwise switches workers to nobody:nogroup, which a container may lack.
    ...(process.getuid?.() === 0 ? ["user root;"] : []),
    `pid ${inside("nginx.pid")};`,
    `lock_file ${inside("nginx.lock")};`,
    `error_log ${inside("error.log")} notice;`,
    // Bounds a graceful shutdown that a stuck client would otherwise hold open.
    "worker_shutdown_timeout 10s;",
    "events { worker_connections 256; }",
    "http {",
    `  access_log ${inside("access.log")};`,
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${quote(path.join(temp, kind))};`),
    "  default_type text/plain;",
    "  server {",
    `    listen ${LOOPBACK}:${port} ssl default_server;`,
    `    server_name ${serverName};`,
    `    ssl_certificate ${quote(certificateFile)};`,
    `    ssl_certificate_key ${quote(keyFile)};`,
    "    ssl_protocols TLSv1.2 TLSv1.3;",
    '    location / { return 200 "ok\\n"; }',
    "  }",
    "}",
    "",
  ].join("\n");
}

/** An absolute path nginx reads literally: `$` would turn ssl_certificate into a per-handshake variable. */
function configPath(file: string, option: string): string {
  const absolute = path.resolve(file);
  if (/["\\$\u0000-\u001f]/.test(absolute)) throw new Error(`startNginx: ${option} ${JSON.stringify(file)} has characters nginx config cannot hold`);
  return absolute;
}

function quote(value: string): string {
  return `"${value}"`;
}

/** What an nginx reload is measured against: the workers and the end of the error log before it. */
export interface NginxGeneration {
  readonly workers: readonly number[];
  readonly logOffset: number;
}

function nginxGeneration(master: ChildProcess, errorLog: string): NginxGeneration {
  const pid = master.pid;
  if (pid === undefined || hasExited(master)) throw new Error("nginx reload: the master process is not running");
  return { workers: childPids(pid), logOffset: fileSize(errorLog) };
}

async function reloadNginx(master: ChildProcess, port: number, errorLog: string): Promise<void> {
  const before = nginxGeneration(master, errorLog);
  process.kill(master.pid as number, "SIGHUP");
  await nextNginxGeneration(master, port, errorLog, before);
}

/**
 * Resolves once the master has reloaded since `before`: it logged "reconfiguring", a worker that
 * was not there before holds the listening socket, and no worker of `before` still holds it.
 * Sends nothing: whoever reloads (a target's reload command, say) must do it, or this times out.
 */
async function nextNginxGeneration(master: ChildProcess, port: number, errorLog: string, before: NginxGeneration): Promise<void> {
  const pid = master.pid as number;
  const { workers: oldWorkers, logOffset } = before;
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  for (;;) {
    if (hasExited(master)) throw new Error(`nginx exited during reload:\n${readFrom(errorLog, logOffset)}`);
    const logged = readFrom(errorLog, logOffset);
    // A rejected configuration: the master logs why and keeps the old workers and config.
    const rejected = logged.split("\n").filter((line) => /\[emerg\]/.test(line));
    if (rejected.length > 0) throw new Error(`nginx rejected the configuration on reload (still serving the old one):\n${rejected.join("\n")}`);
    const workers = childPids(pid);
    const newWorkers = workers.filter((worker) => !oldWorkers.includes(worker));
    const socket = listeningSocketInode(port);
    if (socket !== undefined && newWorkers.length > 0 && /reconfiguring/.test(logged)) {
      const oldStillListening = oldWorkers.filter((worker) => holdsSocket(worker, socket));
      if (oldStillListening.length === 0 && newWorkers.some((worker) => holdsSocket(worker, socket))) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`nginx did not reload within ${RELOAD_TIMEOUT_MS} ms (old workers ${oldWorkers.join(",")}, now ${workers.join(",")}):\n${logged}`);
    }
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------
// HAProxy

export interface HaproxyOptions {
  /** Leaf then chain (certstage's fullchain.pem). */
  fullchainPem: string;
  privateKeyPem: string;
  /** The name tests send as SNI (HAProxy serves its one certificate to any); default api.example.test. */
  serverName?: string;
  /**
   * More certificates on the same frontend, each in its own crt file `<certificates directory>/<fileName>`;
   * HAProxy picks one by SNI, and the first (the one above) when no name matches.
   */
  moreCertificates?: ReadonlyArray<{ fileName: string; fullchainPem: string; privateKeyPem: string }>;
  /** The haproxy binary (default: ask scripts/servers.sh). */
  binary?: string;
}

export interface HaproxyServer {
  /** TLS frontend on 127.0.0.1:<port> */
  readonly port: number;
  /** The one HAProxy process (`-db`); runtime API changes never replace it. */
  readonly pid: number;
  readonly serverName: string;
  /** Unix socket path (level admin). */
  readonly adminSocket: string;
  /** The certificate file name HAProxy knows (the crt path in its config); runtime API commands use it. */
  readonly certificatePath: string;
  /** Where every crt file is (the `moreCertificates` too). */
  readonly certificatesDirectory: string;
  /** HAProxy's stdout and stderr (alerts and warnings). */
  readonly logs: { readonly output: string };
  /**
   * Sends one runtime API command and returns the answer text. A command with a payload is
   * `<command> <<\n<payload lines>`; the empty line that ends the payload is added here, and a
   * payload holding an empty line of its own is refused (see haproxyPemPayload).
   */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * HAProxy with a TLS frontend using one combined PEM (cert + chain + key) at `certificatePath`,
 * written by the helper from the given PEMs, and a backend answering 200 "ok" to every request.
 */
export async function startHaproxy(options: HaproxyOptions): Promise<HaproxyServer> {
  const binary = options.binary ?? serverBinaries().haproxy;
  return startWithRetries(() => startHaproxyOnce(binary, options));
}

async function startHaproxyOnce(binary: string, options: HaproxyOptions): Promise<HaproxyServer> {
  const serverName = options.serverName ?? DEFAULT_SERVER_NAME;
  const running = newRunning("haproxy");
  const { directory } = running;
  const logs = { output: path.join(directory, "haproxy.out") };
  const adminSocket = path.join(directory, "admin.sock");
  const certificatePath = path.join(directory, "certs", "site.pem");
  try {
    const port = await freeLoopbackPort();
    mkdirSync(path.dirname(certificatePath), { mode: 0o700 });
    // The key is in it, so only its owner may read it.
    writeFileSync(certificatePath, haproxyPemPayload(options.fullchainPem, options.privateKeyPem) + "\n", { mode: 0o600 });
    const certificatePaths = [certificatePath];
    for (const more of options.moreCertificates ?? []) {
      if (!/^[A-Za-z0-9._-]+$/.test(more.fileName)) throw new Error(`startHaproxy: unsupported fileName ${JSON.stringify(more.fileName)}`);
      const file = path.join(path.dirname(certificatePath), more.fileName);
      writeFileSync(file, haproxyPemPayload(more.fullchainPem, more.privateKeyPem) + "\n", { mode: 0o600 });
      certificatePaths.push(file);
    }
    const configFile = path.join(directory, "haproxy.cfg");
    writeFileSync(configFile, haproxyConfig({ port, adminSocket, certificatePaths }));
    const child = spawnLogged(binary, ["-db", "-f", configFile], logs.output, "KILL");
    running.children.push(child);
    await waitUntilServing(child, port, serverName, leafFingerprint(options.fullchainPem));
    const command = (line: string) => haproxyCommand(adminSocket, line);
    // The admin socket answers, and it is this process's (not a leftover's at the same path).
    const reportedPid = /^Pid: (\d+)$/m.exec(await command("show info"))?.[1];
    if (Number(reportedPid) !== child.pid) throw new Error(`admin socket reports pid ${reportedPid}, expected ${child.pid}`);

    let stopped: Promise<void> | undefined;
    return {
      port,
      pid: child.pid as number,
      serverName,
      adminSocket,
      certificatePath,
      certificatesDirectory: path.dirname(certificatePath),
      logs,
      command,
      stop: () => (stopped ??= stopRunning(running)),
    };
  } catch (error) {
    throw await failedStart(running, "HAProxy", error, [["haproxy output", logs.output]]);
  }
}

function haproxyConfig(settings: { port: number; adminSocket: string; certificatePaths: readonly string[] }): string {
  return [
    "global",
    "  maxconn 256",
    "  nbthread 1",
    `  stats socket ${settings.adminSocket} mode 600 level admin expose-fd listeners`,
    "  stats timeout 30s",
    // Only the named file: no <crt>.key, .ocsp, .issuer or .sctl looked up beside it.
    "  ssl-load-extra-files none",
    "",
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    "  timeout client 30s",
    "  timeout server 30s",
    "",
    "frontend tls",
    `  bind ${LOOPBACK}:${settings.port} ssl ${settings.certificatePaths.map((file) => `crt ${file}`).join(" ")}`,
    "  default_backend ok",
    "",
    "backend ok",
    "  http-request return status 200 content-type text/plain string ok",
    "",
  ].join("\n");
}

/**
 * PEM blocks joined into the form a runtime API payload needs (and HAProxy's crt file takes):
 * leaf, chain, key, one after another with no blank line anywhere, no trailing newline.
 */
export function haproxyPemPayload(...pems: string[]): string {
  return pems
    .join("\n")
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .join("\n");
}

/** One command per connection (the socket's non-interactive mode): HAProxy answers, then closes. */
async function haproxyCommand(socketPath: string, line: string): Promise<string> {
  const text = line.replace(/\s+$/, "");
  const [first, ...payload] = text.split("\n");
  if (payload.length > 0) {
    if (!/ <<$/.test(first)) throw new Error(`runtime API: a multi-line command must end its first line with " <<": ${JSON.stringify(first)}`);
    if (payload.some((row) => row.trim() === "")) {
      throw new Error("runtime API: the payload holds an empty line, where HAProxy would end it; strip blank lines (haproxyPemPayload)");
    }
  }
  // A payload ends at an empty line; a plain command at its newline.
  const request = payload.length > 0 ? `${text}\n\n` : `${text}\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = "";
    socket.setEncoding("utf8");
    socket.setTimeout(COMMAND_TIMEOUT_MS, () => socket.destroy(new Error(`runtime API: no answer to ${JSON.stringify(first)} within ${COMMAND_TIMEOUT_MS} ms`)));
    socket.on("connect", () => socket.end(request));
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("error", reject);
    socket.on("close", (hadError) => {
      if (!hadError) resolve(answer.replace(/\n+$/, "\n"));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// TLS probing

export interface ServedCertificates {
  /** The leaf the server sent. */
  readonly leaf: X509Certificate;
  /** What the server sent after the leaf (its chain), in order. */
  readonly chain: X509Certificate[];
  readonly protocol: string;
}

/**
 * A fresh TLS handshake with 127.0.0.1:<port> sending `serverName` as SNI; trusts anything (the
 * point is to see what is served) and closes at once.
 */
export function tlsHandshake(port: number, serverName: string): Promise<ServedCertificates> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: LOOPBACK, port, servername: serverName, rejectUnauthorized: false, timeout: HANDSHAKE_TIMEOUT_MS });
    socket.once("secureConnect", () => {
      try {
        // Only getPeerCertificate(true): in Node 20, calling getPeerX509Certificate() first makes
        // it return an empty object.
        let current = socket.getPeerCertificate(true);
        if (!current?.raw) throw new Error("the server sent no certificate");
        const leaf = new X509Certificate(current.raw);
        const chain: X509Certificate[] = [];
        const seen = new Set([current.fingerprint256]);
        while (current.issuerCertificate && !seen.has(current.issuerCertificate.fingerprint256)) {
          current = current.issuerCertificate;
          seen.add(current.fingerprint256);
          chain.push(new X509Certificate(current.raw));
        }
        resolve({ leaf, chain, protocol: socket.getProtocol() ?? "" });
      } catch (error) {
        reject(error);
      } finally {
        socket.destroy();
      }
    });
    socket.once("timeout", () => socket.destroy(new Error(`TLS handshake with ${LOOPBACK}:${port} timed out`)));
    socket.once("error", reject);
  });
}

/**
 * The leaf `openssl s_client` is served by 127.0.0.1:<port> for `serverName`: the cross-check of
 * what Node's handshake saw, by another TLS stack.
 */
export function opensslServedLeaf(port: number, serverName: string): X509Certificate {
  const output = execFileSync("openssl", ["s_client", "-connect", `${LOOPBACK}:${port}`, "-servername", serverName], {
    encoding: "utf8",
    input: "",
    timeout: HANDSHAKE_TIMEOUT_MS * 2,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output);
  if (!pem) throw new Error(`openssl s_client to port ${port} printed no certificate:\n${output.slice(0, 2000)}`);
  return new X509Certificate(pem[0]);
}

function leafFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Until a handshake serves the expected leaf: proves the server is up and the port is its own. */
async function waitUntilServing(child: ChildProcess, port: number, serverName: string, expectedLeaf: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = "no attempt";
  for (;;) {
    if (hasExited(child)) throw new Error(`${path.basename(child.spawnargs.find((arg) => /nginx|haproxy/.test(arg)) ?? child.spawnfile)} exited (${child.exitCode ?? child.signalCode ?? "not started"}) before it was ready`);
    try {
      const served = await tlsHandshake(port, serverName);
      if (served.leaf.fingerprint256 === expectedLeaf) return;
      lastProblem = `port ${port} serves ${served.leaf.subject.replace(/\n/g, ", ")}, not the configured certificate`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${lastProblem}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes, ports, directories

class PortTakenError extends Error {}

async function startWithRetries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !(error instanceof PortTakenError)) throw error;
    }
  }
}

interface Running {
  readonly children: ChildProcess[];
  readonly directory: string;
}

/** Servers not yet stopped; killed when the test process exits so none outlives a crashed run. */
const liveServers = new Set<Running>();
process.on("exit", () => {
  for (const running of liveServers) {
    for (const child of running.children) killGroup(child, "SIGKILL");
    rmSync(running.directory, { recursive: true, force: true });
  }
});

function newRunning(kind: string): Running {
  removeDirectoriesOfDeadRuns(DIRECTORY_PREFIX, OWNER_FILE);
  const directory = mkdtempSync(path.join(os.tmpdir(), `${DIRECTORY_PREFIX}${kind}-`));
  writeFileSync(path.join(directory, OWNER_FILE), String(process.pid));
  const running: Running = { children: [], directory };
  liveServers.add(running);
  return running;
}

/** Stops what was started, keeps the logs long enough to quote them, then removes everything. */
async function failedStart(running: Running, name: string, error: unknown, logFiles: Array<[string, string]>): Promise<Error> {
  await stopRunning(running, { keepDirectory: true });
  const logs = logFiles.map(([label, file]) => `--- ${label} (tail) ---\n${tail(file)}`).join("\n");
  const message = `${name} did not start: ${(error as Error).message}\n${logs}`;
  rmSync(running.directory, { recursive: true, force: true });
  return new (/address already in use/i.test(message) ? PortTakenError : Error)(message);
}

/** Binds port 0 on loopback and releases it for the server to take. */
async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, LOOPBACK, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function spawnLogged(command: string, args: string[], logFile: string, deathSignal: "KILL" | "TERM"): ChildProcess {
  const output = openSync(logFile, "a");
  try {
    const [program, programArgs] = withParentDeathSignal(command, args, deathSignal);
    // Own process group (detached), so stop() can reach workers a dead master left behind.
    const child = spawn(program, programArgs, { stdio: ["ignore", output, output], detached: true, env: { PATH: process.env.PATH ?? "" } });
    // A missing binary is reported through this event; the readiness wait sees a child without a pid.
    child.on("error", (error) => writeFileSync(logFile, `spawn ${command}: ${error.message}\n`, { flag: "a" }));
    return child;
  } finally {
    closeSync(output);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

async function stopRunning(running: Running, { keepDirectory = false } = {}): Promise<void> {
  await Promise.all(running.children.map(terminate));
  liveServers.delete(running);
  if (!keepDirectory) rmSync(running.directory, { recursive: true, force: true });
}

/**
 * SIGTERM (nginx: fast shutdown of master and workers; HAProxy: hard stop), SIGKILL to the whole
 * process group if it is still there after the grace period, and the group killed once more after
 * the main process is gone in case it left a worker behind.
 */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid !== undefined && !hasExited(child)) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  killGroup(child, "SIGKILL");
}

/** The group id is the child's pid (detached); Linux never hands out a pid still used as a group id. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: no process left in the group.
  }
}

/** Live (not zombie) children of `parent`, from /proc/<pid>/stat. */
function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) === parent && state !== "Z") children.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return children;
}

/** Inode of the socket listening on 127.0.0.1:<port>, from /proc/net/tcp. */
function listeningSocketInode(port: number): string | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    if (fields[1] === local && fields[3] === "0A") return fields[9];
  }
  return undefined;
}

function holdsSocket(pid: number, inode: string): boolean {
  const wanted = `socket:[${inode}]`;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted;
      } catch {
        return false;
      }
    });
  } catch {
    return false; // exited
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  let descriptor: number;
  try {
    descriptor = openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const length = Math.max(0, fileSize(file) - offset);
    const buffer = Buffer.alloc(length);
    const read = readSync(descriptor, buffer, 0, length, offset);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(descriptor);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
