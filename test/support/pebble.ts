/**
 * A real ACME server for tests: Pebble v2.10.1 plus pebble-challtestsrv (its DNS server), built by
 * scripts/pebble.sh and started on loopback ports chosen per call, so several can run at once.
 *
 * What Pebble v2.10.1 does, read from its source (module github.com/letsencrypt/pebble/v2):
 *
 * Config file: JSON `{ "pebble": { … } }` (keys matched case-insensitively):
 *   listenAddress, managementListenAddress, certificate, privateKey (the HTTPS listener's cert and
 *   key, shared by both listeners), httpPort / tlsPort (the ports its validation authority dials
 *   for http-01 / tls-alpn-01; Pebble itself does not listen on them), ocspResponderURL,
 *   externalAccountBindingRequired, externalAccountMACKeys ({ kid: base64url key without
 *   padding }), caaIdentities, domainBlocklist, keyAlgorithm ("rsa" default, or "ecdsa"),
 *   retryAfter { authz, order } (seconds; 0 sends no Retry-After), and profiles
 *   { name: { description, validityPeriod (seconds), promoteCommonName } }.
 *   `certificateValidityPeriod` is still parsed but ignored in v2.10.1: certificate lifetime comes
 *   only from the order's profile. A profile with validityPeriod 0 gets Pebble's 90 days.
 *
 * Profiles: with no `profiles` key Pebble runs one profile, "default". Every configured profile
 *   is listed in the directory as `meta.profiles` ({ name: description }). An order that names
 *   no profile gets a RANDOM one of the configured profiles, so tests that configure extra
 *   profiles and care about lifetime must name the profile in the order.
 *
 * ARI: the directory's `renewalInfo` is `<base>/draft-ietf-acme-ari-03/renewalInfo` (GET
 *   `…/renewalInfo/<certID>`). The suggested window is a 2-day window around two thirds of the
 *   lifetime, clamped to the validity; a revoked certificate gets a window an hour in the past
 *   ("renew now"). The management listener's POST /set-renewal-info/ with
 *   `{ "certificate": PEM, "ariResponse": "<any text>" }` overrides the answer for that
 *   certificate. A newOrder's `replaces` field is checked against issued certificates.
 *
 * Management listener (HTTPS, same listener cert): GET /roots/<n>, /intermediates/<n>,
 *   /root-keys/<n>, /intermediate-keys/<n>, /cert-status-by-serial/<hex>.
 *
 * Environment switches: PEBBLE_VA_NOSLEEP=1 (no random 0-15 s delay before validating),
 *   PEBBLE_VA_SLEEPTIME, PEBBLE_VA_ALWAYS_VALID=1 (skip validation), PEBBLE_WFE_NONCEREJECT
 *   (percent of good nonces rejected as bad; 5 when unset), PEBBLE_AUTHZREUSE (percent chance an
 *   order reuses the account's valid authorization for a name; 50 when unset; at 0 still 1 in 100,
 *   since a new one is made only when rand.Intn(100) > percent: see support/acme-authorizations.ts), PEBBLE_WFE_ORDERS_PER_PAGE,
 *   PEBBLE_CHAIN_LENGTH (intermediates per chain, default 1), PEBBLE_ALTERNATE_ROOTS.
 *   The children get only the switches set here, so a stray PEBBLE_* in the shell changes nothing.
 *
 * Flags: pebble `-config`, `-dnsserver host:port` (the validation authority's resolver, asked over
 *   TCP, AAAA first then A, first address wins; without it Pebble uses the system resolver),
 *   `-strict`. pebble-challtestsrv: `-management`, `-dnsserver` (UDP and TCP; there is no
 *   `-dns01`), `-http01`, `-https01`, `-tlsalpn01`, `-doh`, `-doh-cert`, `-doh-cert-key`,
 *   `-defaultIPv4`, `-defaultIPv6` ("" disables each). Its management API takes JSON POSTs such
 *   as /add-a { host, addresses }, /set-txt { host, value }, /clear-txt { host }.
 *
 * challtestsrv starts with no default A/AAAA answer, so only names registered with addHost
 * resolve: a test cannot reach a name it did not mean to, and no query ever leaves the machine.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as dgram from "node:dgram";
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "./certificates";
import { removeDirectoriesOfDeadRuns, tail, withParentDeathSignal } from "./processes";
import { releasePort, reservePort } from "./reserved-ports";

const LOOPBACK = "127.0.0.1";
const USER_AGENT = "certstage-tests";
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3_000;
/** A port found free can be taken by someone else before Pebble binds it; start again then. */
const START_ATTEMPTS = 3;

export interface PebbleOptions {
  /** Lifetime in seconds of certificates from the "default" profile (default: Pebble's 90 days). */
  validitySeconds?: number;
  /** PEBBLE_WFE_NONCEREJECT percentage (default 0; Pebble's own default would be 5). */
  nonceRejectPercent?: number;
  /**
   * PEBBLE_AUTHZREUSE percentage (default 0; Pebble's own default is 50). Even at 0, an order for a
   * name the account validated before reuses that authorization 1 time in 100, without a challenge.
   */
  authzReusePercent?: number;
  /** Require external account binding; the helper then configures one EAB key and returns it. */
  requireEab?: boolean;
  /**
   * Extra profiles besides "default", name -> validity seconds. Orders that name no profile then
   * get a random one of them (Pebble's behaviour), so name the profile when lifetime matters.
   */
  profiles?: Record<string, number>;
  /** Directory holding the pebble binaries (default: ask scripts/pebble.sh). */
  binDirectory?: string;
}

export interface PebbleServer {
  /** https://127.0.0.1:<port>/dir */
  readonly directoryUrl: string;
  /** https://127.0.0.1:<mgmtport> */
  readonly managementUrl: string;
  /** http://127.0.0.1:<challtestsrv management port> */
  readonly challengeServerUrl: string;
  /** The port Pebble's validation authority dials for http-01; the test's own server must listen there. */
  readonly httpChallengePort: number;
  /** The port Pebble's validation authority dials for tls-alpn-01. */
  readonly tlsAlpnChallengePort: number;
  /** challtestsrv's DNS (UDP and TCP), which Pebble uses as its resolver. */
  readonly dnsPort: number;
  /** CA that signed Pebble's HTTPS listener certificate (to trust the directory). */
  readonly listenerCaPem: string;
  /** Present when requireEab: the key id and the base64url HMAC key, as ACME clients expect. */
  readonly eab?: { kid: string; hmacKey: string };
  /** Where each process's stdout and stderr go, for diagnosing a failed test. */
  readonly logs: { readonly pebble: string; readonly challtestsrv: string };
  /** Current issuing root(s) from <management>/roots/0. */
  rootsPem(): Promise<string>;
  /** <management>/intermediates/0 */
  intermediatesPem(): Promise<string>;
  /** Makes challtestsrv answer A queries for `name` (under .test) with 127.0.0.1. */
  addHost(name: string): Promise<void>;
  stop(): Promise<void>;
}

let cachedBinDirectory: string | undefined;

/** Runs scripts/pebble.sh once per process (building on a cold machine) and remembers its answer. */
export function pebbleBinDirectory(): string {
  cachedBinDirectory ??= lastLine(
    execFileSync("bash", [path.join(REPO_ROOT, "scripts", "pebble.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  );
  return cachedBinDirectory;
}

export async function startPebble(options: PebbleOptions = {}): Promise<PebbleServer> {
  const binDirectory = options.binDirectory ?? pebbleBinDirectory();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(binDirectory, options);
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !(error instanceof PortTakenError)) throw error;
    }
  }
}

class PortTakenError extends Error {}

interface Ports {
  readonly acme: number;
  readonly management: number;
  readonly httpChallenge: number;
  readonly tlsAlpnChallenge: number;
  readonly challengeServer: number;
  readonly dns: number;
}

const DIRECTORY_PREFIX = "certstage-pebble-";
const OWNER_FILE = "owner.pid";

async function startOnce(binDirectory: string, options: PebbleOptions): Promise<PebbleServer> {
  removeDirectoriesOfDeadRuns(DIRECTORY_PREFIX, OWNER_FILE);
  const directory = mkdtempSync(path.join(os.tmpdir(), DIRECTORY_PREFIX));
  writeFileSync(path.join(directory, OWNER_FILE), String(process.pid));
  const children: ChildProcess[] = [];
  const logs = { pebble: path.join(directory, "pebble.log"), challtestsrv: path.join(directory, "challtestsrv.log") };
  const running: Running = { children, directory, reservedPorts: [] };
  liveServers.add(running);
  try {
    const ports = await freeLoopbackPorts(running.reservedPorts);
    const listener = makeListenerCertificate(directory);
    const eab = options.requireEab ? { kid: "certstage-test-eab", hmacKey: randomBytes(32).toString("base64url") } : undefined;
    const configFile = path.join(directory, "pebble.json");
    // Holds the EAB key, so only its owner may read it.
    writeFileSync(configFile, JSON.stringify(pebbleConfig(ports, listener, options, eab), null, 2), { mode: 0o600 });

    children.push(
      spawnLogged(
        path.join(binDirectory, "pebble-challtestsrv"),
        [
          "-management", `${LOOPBACK}:${ports.challengeServer}`,
          "-dnsserver", `${LOOPBACK}:${ports.dns}`,
          "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "",
          "-defaultIPv4", "", "-defaultIPv6", "",
        ],
        {},
        logs.challtestsrv,
      ),
    );
    children.push(
      spawnLogged(
        path.join(binDirectory, "pebble"),
        ["-config", configFile, "-dnsserver", `${LOOPBACK}:${ports.dns}`],
        {
          PEBBLE_VA_NOSLEEP: "1",
          PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 0),
          PEBBLE_AUTHZREUSE: String(options.authzReusePercent ?? 0),
        },
        logs.pebble,
      ),
    );

    const acmeBase = `https://${LOOPBACK}:${ports.acme}`;
    const managementUrl = `https://${LOOPBACK}:${ports.management}`;
    const challengeServerUrl = `http://${LOOPBACK}:${ports.challengeServer}`;
    await waitUntilReady(children, [
      () => httpsGet(`${acmeBase}/dir`, listener.caPem),
      () => httpsGet(`${managementUrl}/roots/0`, listener.caPem),
      () => httpRequest("GET", `${challengeServerUrl}/`),
      () => tcpConnect(ports.dns),
    ]);
    // challtestsrv only logs a listener it could not bind and keeps running, so the probes above
    // may have reached whoever holds that port instead.
    if (/address already in use/.test(tail(logs.challtestsrv))) throw new Error("pebble-challtestsrv could not bind one of its ports");

    let stopped: Promise<void> | undefined;
    return {
      directoryUrl: `${acmeBase}/dir`,
      managementUrl,
      challengeServerUrl,
      httpChallengePort: ports.httpChallenge,
      tlsAlpnChallengePort: ports.tlsAlpnChallenge,
      dnsPort: ports.dns,
      listenerCaPem: listener.caPem,
      eab,
      logs,
      rootsPem: () => httpsGet(`${managementUrl}/roots/0`, listener.caPem),
      intermediatesPem: () => httpsGet(`${managementUrl}/intermediates/0`, listener.caPem),
      addHost: async (name) => {
        // Names outside .test could be real; a typo must not turn into a lookup of someone's host.
        if (!/^([a-z0-9-]+\.)+test$/i.test(name)) throw new Error(`addHost: ${JSON.stringify(name)} is not a name under .test`);
        await httpRequest("POST", `${challengeServerUrl}/add-a`, JSON.stringify({ host: name, addresses: [LOOPBACK] }));
      },
      stop: () => (stopped ??= stopRunning(running)),
    };
  } catch (error) {
    await stopRunning(running, { keepDirectory: true });
    const message = `${(error as Error).message}\n--- pebble log (tail) ---\n${tail(logs.pebble)}\n--- challtestsrv log (tail) ---\n${tail(logs.challtestsrv)}`;
    rmSync(directory, { recursive: true, force: true });
    const addressTaken = /address already in use/.test(message);
    throw new (addressTaken ? PortTakenError : Error)(`Pebble did not start: ${message}`);
  }
}

function pebbleConfig(
  ports: Ports,
  listener: { certificateFile: string; keyFile: string },
  options: PebbleOptions,
  eab: { kid: string; hmacKey: string } | undefined,
): unknown {
  const profiles: Record<string, { description: string; validityPeriod: number }> = {
    default: { description: "certstage test default profile", validityPeriod: options.validitySeconds ?? 0 },
  };
  for (const [name, seconds] of Object.entries(options.profiles ?? {})) {
    profiles[name] = { description: `certstage test profile ${name}`, validityPeriod: seconds };
  }
  return {
    pebble: {
      listenAddress: `${LOOPBACK}:${ports.acme}`,
      managementListenAddress: `${LOOPBACK}:${ports.management}`,
      certificate: listener.certificateFile,
      privateKey: listener.keyFile,
      httpPort: ports.httpChallenge,
      tlsPort: ports.tlsAlpnChallenge,
      ocspResponderURL: "",
      externalAccountBindingRequired: eab !== undefined,
      externalAccountMACKeys: eab ? { [eab.kid]: eab.hmacKey } : {},
      profiles,
    },
  };
}

/** An EC P-256 CA and a leaf for localhost and 127.0.0.1, made fresh for each server. */
function makeListenerCertificate(directory: string): { caPem: string; certificateFile: string; keyFile: string } {
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: directory, stdio: ["ignore", "pipe", "pipe"] });
  const newKey = (file: string) => {
    run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
    chmodSync(path.join(directory, file), 0o600);
  };
  newKey("listener-ca.key");
  run([
    "req", "-x509", "-new", "-key", "listener-ca.key", "-subj", "/CN=certstage test Pebble listener CA", "-days", "2",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "listener-ca.pem",
  ]);
  newKey("listener.key");
  run(["req", "-new", "-key", "listener.key", "-subj", "/CN=localhost", "-out", "listener.csr"]);
  writeFileSync(
    path.join(directory, "listener.ext"),
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  run([
    "x509", "-req", "-in", "listener.csr", "-CA", "listener-ca.pem", "-CAkey", "listener-ca.key", "-set_serial", `0x${randomBytes(8).toString("hex")}`,
    "-days", "2", "-extfile", "listener.ext", "-out", "listener.pem",
  ]);
  return {
    caPem: readFileSync(path.join(directory, "listener-ca.pem"), "utf8"),
    certificateFile: path.join(directory, "listener.pem"),
    keyFile: path.join(directory, "listener.key"),
  };
}

/**
 * Binds port 0 on loopback for each role Pebble binds at once and releases the ports together (the
 * challenge ports are reserved instead: see reserved-ports.ts), so one call never hands
 * out the same port twice. The DNS port must be free for UDP as well as TCP.
 */
async function freeLoopbackPorts(reserved: number[]): Promise<Ports> {
  const held: net.Server[] = [];
  // The challenge ports are bound again at every issuance, long after this: they must stay ours.
  const reserve = async () => {
    const port = await reservePort();
    reserved.push(port);
    return port;
  };
  const take = async () => {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, LOOPBACK, resolve));
    held.push(server);
    return (server.address() as net.AddressInfo).port;
  };
  try {
    let dns = await take();
    while (!(await udpPortFree(dns))) dns = await take();
    return { acme: await take(), management: await take(), httpChallenge: await reserve(), tlsAlpnChallenge: await reserve(), challengeServer: await take(), dns };
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

function udpPortFree(port: number): Promise<boolean> {
  const socket = dgram.createSocket("udp4");
  return new Promise((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, LOOPBACK, () => socket.close(() => resolve(true)));
  });
}

function spawnLogged(command: string, args: string[], switches: Record<string, string>, logFile: string): ChildProcess {
  const output = openSync(logFile, "a");
  try {
    const [program, programArgs] = withParentDeathSignal(command, args);
    // Only PATH is inherited: Pebble's behaviour must not depend on whatever PEBBLE_* the shell has.
    const child = spawn(program, programArgs, { stdio: ["ignore", output, output], env: { PATH: process.env.PATH ?? "", ...switches } });
    // A missing binary is reported through this event; waitUntilReady sees it as a child without a pid.
    child.on("error", (error) => writeFileSync(logFile, `spawn ${command}: ${error.message}\n`, { flag: "a" }));
    return child;
  } finally {
    closeSync(output);
  }
}

async function waitUntilReady(children: ChildProcess[], probes: Array<() => Promise<unknown>>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  for (const probe of probes) {
    for (;;) {
      const exited = children.find((child) => child.pid === undefined || child.exitCode !== null || child.signalCode !== null);
      if (exited) throw new Error(`${path.basename(exited.spawnargs.find((arg) => arg.includes("pebble")) ?? exited.spawnfile)} exited (${exited.exitCode ?? exited.signalCode ?? "not started"}) before it was ready`);
      try {
        await probe();
        break;
      } catch (error) {
        if (error instanceof RefusedByServerError) throw error;
        lastError = error;
      }
      if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${(lastError as Error)?.message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** An answer that waiting longer will not change: the server is up and refuses the request. */
class RefusedByServerError extends Error {}

/** GET over HTTPS trusting only `caPem`; resolves with the body of a 200 answer. */
function httpsGet(url: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Pebble answers 400 to any request without a User-Agent.
    const request = https.get(url, { ca: caPem, agent: false, timeout: 2_000, headers: { "user-agent": USER_AGENT } }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        const status = response.statusCode ?? 0;
        if (status === 200) resolve(body);
        else reject(new (status < 500 ? RefusedByServerError : Error)(`GET ${url}: HTTP ${status}: ${body}`));
      });
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url}: timed out`))).on("error", reject);
  });
}

/** Plain HTTP to challtestsrv's management API; resolves with the body of any non-5xx answer. */
function httpRequest(method: "GET" | "POST", url: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent: false, timeout: 2_000, headers: body ? { "content-type": "application/json" } : {} }, (response) => {
      let text = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        const status = response.statusCode ?? 0;
        const ok = method === "GET" ? status < 500 : status === 200;
        if (ok) resolve(text);
        else reject(new Error(`${method} ${url}: HTTP ${status}: ${text}`));
      });
    });
    request.on("timeout", () => request.destroy(new Error(`${method} ${url}: timed out`))).on("error", reject);
    request.end(body);
  });
}

function tcpConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, LOOPBACK, () => socket.end(() => resolve()));
    socket.on("error", reject);
  });
}

interface Running {
  readonly children: ChildProcess[];
  readonly directory: string;
  /** The challenge ports (support/reserved-ports.ts), released when the server stops. */
  readonly reservedPorts: number[];
}

/** Servers not yet stopped; killed when the test process exits so none outlives a crashed run. */
const liveServers = new Set<Running>();
process.on("exit", () => {
  for (const running of liveServers) {
    for (const child of running.children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(running.directory, { recursive: true, force: true });
  }
});

async function stopRunning(running: Running, { keepDirectory = false } = {}): Promise<void> {
  await Promise.all(running.children.map(terminate));
  liveServers.delete(running);
  for (const port of running.reservedPorts.splice(0)) releasePort(port);
  if (!keepDirectory) rmSync(running.directory, { recursive: true, force: true });
}

/** SIGTERM, then SIGKILL if the process is still there after the grace period. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function lastLine(output: string): string {
  return output.trim().split("\n").at(-1) ?? "";
}
