/**
 * Agent convergence: how long after a deployment commits until every `certstage agent` that
 * follows the environment serves the new version, on a real PostgreSQL with real agents (the CLI
 * as it runs on an edge server, one process each) and, for 3 of them, a real nginx each.
 *
 * t0 is the moment the runner's `store.deploy(certificate, environment, version)` resolves: the
 * Store API call a `pulumi up` makes at the end of an EnvironmentDeployment's swap, returning
 * once PostgreSQL acknowledged the COMMIT of the deployment row (whose trigger sends the NOTIFY
 * agents LISTEN for). Every figure is measured from there, so it leaves out the `up` before it:
 * the call's own duration is shown apart.
 *
 * - 3 agents, each with its own nginx on a loopback port serving from the agent's directory,
 *   `--check`/`--reload` on that nginx and `--serve-check` its port: a worker thread makes a TLS
 *   handshake with each nginx every 10 ms until it gets the new leaf ("serves"); the per-swap
 *   figure is the last of the three.
 * - 50 agents at once (10 swaps: see FLEET_SWAPS), without nginx (50 nginx reloading at once would measure nginx on 2 cores):
 *   until each agent's directory holds the new version (its `api/fullchain.pem` leaf, read on
 *   every inotify event of the directory: the agent swaps a version in by renaming a link there),
 *   and until its report in the store names the version (polled every 25 ms).
 * - Floors, in the same run: a bare node-postgres client that LISTENs on the same channel, in the
 *   benchmark's process and in a node process of its own (what any LISTEN-based follower cannot
 *   beat), and the agent's 200 ms quiet window (a burst of changes becomes one pass, by design).
 *
 * Each swap deploys a fresh version (a new leaf, so no stale worker can serve what a swap waits
 * for). Before the next swap, every agent has reported the version, and for reloading agents 2 s
 * (the agent's minimum spacing between reloads) have passed: each swap is an independent deploy,
 * not a burst. Connections are counted on pg_stat_activity by application_name (`certstage`:
 * the agent's pool, `certstage watch`: its LISTEN session), memory from /proc (agents: VmRSS;
 * PostgreSQL backends: Pss, which shares the server's shared memory out fairly).
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { randomBytes, X509Certificate } = require("node:crypto");
const { spawn } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const { Worker } = require("node:worker_threads");
const lib = require("./lib.cjs");
const { startPostgres } = require("./postgres.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const CLI = path.join(DIST, "cli", "main.js");
const SERVER_NAME = "api.example.test";
const ENVIRONMENT = "production";
const CERTIFICATE = "api";
const SWAPS = Number(process.env.CERTSTAGE_BENCH_SWAPS ?? 20);
const WARMUP = 2;
const FLEET = Number(process.env.CERTSTAGE_BENCH_AGENTS ?? 50);
/**
 * Fewer swaps for the fleet: on 2 shared cores one swap of 50 agents takes about 13 s (2.3 s of
 * the agents' CPU, and retries after refused connections), so 20 would keep the run going past
 * 4 minutes. CERTSTAGE_BENCH_FLEET_SWAPS=20 measures as many as the 3 agents get.
 */
const FLEET_SWAPS = Number(process.env.CERTSTAGE_BENCH_FLEET_SWAPS ?? process.env.CERTSTAGE_BENCH_SWAPS ?? 10);
const FLEET_WARMUP = 1;
/** PostgreSQL's max_connections: its default (100) unless set, to see the fleet without the limit. */
const MAX_CONNECTIONS = process.env.CERTSTAGE_BENCH_MAX_CONNECTIONS;
const PROBE_INTERVAL_MS = 10;
const REPORT_POLL_MS = 25;
/** A swap not converged within this long has failed; the run fails rather than waits. */
const SWAP_BOUND_MS = 60_000;
/** After a reload the agent starts no pass for 2 s (pass-scheduler.ts), plus room for the pass to end after its report. */
const RELOAD_SPACING_MS = 2000 + 250;
const AGENT_APPLICATIONS = ["certstage", "certstage watch"];

const epochNow = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined; throws `what` after `boundMs`. */
async function waitUntil(what, probe, boundMs = SWAP_BOUND_MS, intervalMs = 20) {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still not so after ${boundMs} ms`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Watching from outside: TLS handshakes, the agents' directories, floors

/**
 * The prober: a worker thread making a TLS handshake with each port every PROBE_INTERVAL_MS until
 * each serves the wanted leaf. It runs beside the agents and the benchmark's event loop, so
 * probing never waits for either. Times are epoch milliseconds, comparable across threads.
 */
const PROBER = `
const { parentPort } = require("node:worker_threads");
const { connect } = require("node:tls");
const { performance } = require("node:perf_hooks");
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const handshake = (port, serverName) => new Promise((resolve) => {
  const socket = connect({ host: "127.0.0.1", port, servername: serverName, rejectUnauthorized: false });
  const done = (value) => { socket.destroy(); resolve(value); };
  socket.once("secureConnect", () => done(socket.getPeerCertificate().fingerprint256));
  socket.once("error", () => done(undefined));
});
parentPort.on("message", async ({ ports, serverName, fingerprint, intervalMs, timeoutMs }) => {
  const start = now();
  parentPort.postMessage({ ready: true });
  try {
    const servedAt = await Promise.all(ports.map(async (port) => {
      for (;;) {
        if ((await handshake(port, serverName)) === fingerprint) return now();
        if (now() - start > timeoutMs) throw new Error("port " + port + " did not serve the new leaf within " + timeoutMs + " ms");
        await sleep(intervalMs);
      }
    }));
    parentPort.postMessage({ servedAt });
  } catch (error) {
    parentPort.postMessage({ error: error.message });
  }
});
`;

function startProber() {
  const worker = new Worker(PROBER, { eval: true });
  const next = () => new Promise((resolve, reject) => worker.once("message", (message) => (message.error ? reject(new Error(message.error)) : resolve(message))));
  return {
    /** Starts probing; resolves once the prober runs, with `servedAt`: a promise of each port's time. */
    async watch(ports, fingerprint) {
      const ready = next();
      worker.postMessage({ ports, serverName: SERVER_NAME, fingerprint, intervalMs: PROBE_INTERVAL_MS, timeoutMs: SWAP_BOUND_MS });
      await ready;
      return { servedAt: next().then((message) => message.servedAt) };
    },
    stop: () => worker.terminate(),
  };
}

/** The leaf fingerprint `<directory>/api/fullchain.pem` holds now, or undefined. */
function installedFingerprint(directory) {
  try {
    return new X509Certificate(fs.readFileSync(path.join(directory, CERTIFICATE, "fullchain.pem"))).fingerprint256;
  } catch {
    return undefined; // not there yet, or between two steps of a swap
  }
}

/**
 * Resolves with, per directory, the epoch time its `api` first held `fingerprint`. The agent swaps
 * a version in by renaming a link in the directory, which inotify reports on the directory itself;
 * a 100 ms re-read backs the events up (an event read before the rename landed).
 */
function watchDirectories(directories, fingerprint) {
  return new Promise((resolve, reject) => {
    const times = new Array(directories.length).fill(undefined);
    let left = directories.length;
    const watchers = [];
    const check = (index) => {
      if (times[index] !== undefined || installedFingerprint(directories[index]) !== fingerprint) return;
      times[index] = epochNow();
      left -= 1;
      if (left === 0) finish();
    };
    const backstop = setInterval(() => directories.forEach((_, index) => check(index)), 100);
    const bound = setTimeout(() => {
      finish();
      reject(new Error(`${left} agent directories did not hold the new version within ${SWAP_BOUND_MS} ms`));
    }, SWAP_BOUND_MS);
    function finish() {
      clearInterval(backstop);
      clearTimeout(bound);
      for (const watcher of watchers) watcher.close();
      if (left === 0) resolve(times);
    }
    directories.forEach((directory, index) => watchers.push(fs.watch(directory, () => check(index))));
  });
}

/** Until every agent's report names `version`; resolves with, per agent, when the poll first saw it, and the connection counts seen. */
async function watchReports(postgres, database, agentIds, version) {
  const times = new Map();
  let peak = { watch: 0, pooled: 0 };
  const deadline = Date.now() + SWAP_BOUND_MS;
  while (times.size < agentIds.length) {
    const [row] = await postgres.sql(
      `SELECT (SELECT coalesce(array_agg(agent_id), '{}') FROM certstage.agent_reports WHERE environment = $1 AND certificate = $2 AND version = $3 AND agent_id = ANY($4)) AS reported,
              (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'certstage watch')::int AS watch,
              (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'certstage')::int AS pooled`,
      [ENVIRONMENT, CERTIFICATE, version, agentIds],
      database,
    );
    const seenAt = epochNow();
    for (const id of row.reported) if (!times.has(id)) times.set(id, seenAt);
    peak = { watch: Math.max(peak.watch, row.watch), pooled: Math.max(peak.pooled, row.pooled) };
    if (times.size === agentIds.length) break;
    if (Date.now() > deadline) throw new Error(`${agentIds.length - times.size} agents did not report version ${version} within ${SWAP_BOUND_MS} ms`);
    await sleep(REPORT_POLL_MS);
  }
  return { times: agentIds.map((id) => times.get(id)), peak };
}

/** A bare LISTEN on a node-postgres client: `next()` resolves with the epoch time of the next notification for the environment. */
async function listenInProcess(config) {
  const pg = require("pg");
  const client = new pg.Client({ ...config, application_name: "bench-floor" });
  client.on("error", () => undefined);
  let waiting;
  client.on("notification", (message) => {
    const at = epochNow();
    if (JSON.parse(message.payload).environment === ENVIRONMENT && waiting) waiting(at);
  });
  await client.connect();
  await client.query(`LISTEN ${require(path.join(DIST, "store", "postgres", "migrations")).DEPLOYMENT_CHANNEL}`);
  return {
    next: () => new Promise((resolve) => (waiting = resolve)),
    stop: () => client.end(),
  };
}

/** The same LISTEN in a node process of its own, which prints each notification's epoch time: the cost of a process boundary. */
async function listenInOwnProcess(url, withParentDeathSignal) {
  const script = `
    const pg = require("pg");
    const { postgresConnectionFrom } = require(${JSON.stringify(path.join(DIST, "store", "postgres", "connection"))});
    const { DEPLOYMENT_CHANNEL } = require(${JSON.stringify(path.join(DIST, "store", "postgres", "migrations"))});
    // Not named \`performance\`: a top-level const of -e shadows the global that pg's loading reads.
    const clock = require("node:perf_hooks").performance;
    const client = new pg.Client({ ...postgresConnectionFrom(process.env.FLOOR_URL, {}, {}).config, application_name: "bench-floor-process" });
    client.on("notification", (message) => {
      const at = clock.timeOrigin + clock.now();
      if (JSON.parse(message.payload).environment === ${JSON.stringify(ENVIRONMENT)}) process.stdout.write(at + "\\n");
    });
    client.connect().then(() => client.query("LISTEN " + DEPLOYMENT_CHANNEL)).then(() => process.stdout.write("ready\\n"));
  `;
  const [program, args] = withParentDeathSignal(process.execPath, ["-e", script]);
  const child = spawn(program, args, { cwd: REPOSITORY, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FLOOR_URL: url } });
  let waiting;
  let ready;
  let errors = "";
  child.stderr.on("data", (chunk) => (errors += chunk));
  const isReady = new Promise((resolve, reject) => {
    ready = resolve;
    child.once("exit", (code) => reject(new Error(`the LISTEN floor process exited ${code}: ${errors.trim()}`)));
  });
  let buffer = "";
  child.stdout.on("data", (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line === "ready") ready();
      else if (waiting) waiting(Number(line));
    }
  });
  await isReady;
  return {
    next: () => new Promise((resolve) => (waiting = resolve)),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", resolve), child.kill("SIGTERM")))),
  };
}

// ---------------------------------------------------------------------------------------------
// Agents

function spawnAgent({ id, directory, storeUrl, keyText, extra = [] }, withParentDeathSignal) {
  fs.mkdirSync(directory, { recursive: true });
  const [program, args] = withParentDeathSignal(process.execPath, [CLI, "agent", "--store", storeUrl, "--environment", ENVIRONMENT, "--directory", directory, "--agent-id", id, ...extra]);
  const child = spawn(program, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, CERTSTAGE_STORE_KEY: keyText } });
  let log = "";
  let partial = "";
  /** Each logged failure with when it arrived, kept apart from the (bounded) log. */
  const failures = [];
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-20_000);
    const lines = (partial + chunk).split("\n");
    partial = lines.pop();
    for (const line of lines) if (FAILURE.test(line)) failures.push({ at: epochNow(), line });
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return {
    id,
    directory,
    child,
    log: () => log,
    failures,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

function vmRssKib(pid) {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

function pssKib(pid) {
  try {
    const match = /^Pss:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

const FAILURE = /failed|refus|too many/i;

/** How many agents logged a failure since `since`, and the commonest failure line (time, host and port taken out). */
function failureSummary(agents, since = 0) {
  const lines = new Map();
  let failing = 0;
  for (const agent of agents) {
    const failed = agent.failures.filter((failure) => failure.at >= since).map((failure) => failure.line);
    if (failed.length > 0) failing += 1;
    for (const line of new Set(failed.map((each) => each.replace(/^\S+ certstage agent \S+: /, "").replace(/[\d.]+:\d+/g, "<host:port>")))) lines.set(line, (lines.get(line) ?? 0) + 1);
  }
  const [commonest] = [...lines].sort((a, b) => b[1] - a[1]);
  if (!commonest) return "0";
  const code = /\(([^)]+)\); nothing was changed/.exec(commonest[0])?.[1];
  const named = code === "53300" ? "53300 too_many_connections" : code;
  return `${failing}; commonest (${commonest[1]} agents): ${commonest[0].slice(0, 60)}${named ? ` … (${named})` : commonest[0].slice(60, 160)}`;
}

/** CPU time of a process and the children it waited for (its --check and --reload), in ms. */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  // utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 after the command; in USER_HZ (100) ticks.
  return fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0) * 10;
}

const mib = (kib) => (kib / 1024).toFixed(1);

// ---------------------------------------------------------------------------------------------
// Statistics

const P_HEADERS = ["samples", "p50 ms", "p99 ms", "min ms", "max ms"];

/** lib.formatMs with a sign: a floor can be below t0 (see the description). */
const formatSigned = (ms) => (ms < 0 ? `-${lib.formatMs(-ms)}` : lib.formatMs(ms));

function percentileCells(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return [String(sorted.length), ...[lib.percentile(sorted, 50), lib.percentile(sorted, 99), sorted[0], sorted[sorted.length - 1]].map(formatSigned)];
}

// ---------------------------------------------------------------------------------------------
// The benchmark

async function agentConvergence() {
  const tlsServers = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "tls-servers.ts"));
  const { makeTestCertificate } = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "certificates.ts"));
  const { withParentDeathSignal } = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "processes.ts"));
  const { createPostgresStore } = require(path.join(DIST, "store", "drivers", "postgres"));
  const { postgresConnectionFrom } = require(path.join(DIST, "store", "postgres", "connection"));
  const { parseKeyRing } = require(path.join(DIST, "store", "key-envelope"));
  const { inspectUpload } = require(path.join(DIST, "pki", "version-material"));
  const nginxBinary = tlsServers.serverBinaries().nginx;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-agents-"));
  const cleanups = [];
  try {
    // The store as the README sets up a team's: an owner that migrates, a team, its runner, an agent login.
    const postgres = await startPostgres(MAX_CONNECTIONS ? { max_connections: Number(MAX_CONNECTIONS) } : {});
    cleanups.push(() => postgres.stop());
    const secret = () => randomBytes(12).toString("base64url");
    const database = "certs";
    const owner = { user: "certstage_owner", password: secret() };
    const runnerLogin = { user: "edge-ci", password: secret() };
    const agentLogin = { user: "edge-agent", password: secret() };
    await postgres.sql(`CREATE ROLE certstage_owner LOGIN CREATEROLE PASSWORD '${owner.password}'`);
    await postgres.sql(`CREATE DATABASE ${database} OWNER certstage_owner`);
    const keyText = randomBytes(32).toString("base64");
    const keyRing = parseKeyRing(keyText, "CERTSTAGE_STORE_KEY");
    const openStore = (login, applicationName) => {
      const { config, description } = postgresConnectionFrom(postgres.url(database, login.user, login.password), {}, { applicationName });
      return createPostgresStore({ connection: config, description, keyRing });
    };
    const ownerStore = openStore(owner, "bench-owner");
    await ownerStore.migrate();
    await ownerStore.close();
    await postgres.sql(`CREATE ROLE "team-edge"`);
    await postgres.sql(`CREATE ROLE "edge-ci" LOGIN PASSWORD '${runnerLogin.password}' IN ROLE certstage_runner, "team-edge"`);
    await postgres.sql(`CREATE ROLE "edge-agent" LOGIN PASSWORD '${agentLogin.password}' IN ROLE certstage_agent`);
    const agentUrl = postgres.url(database, agentLogin.user, agentLogin.password);
    const [{ max_connections: maxConnections }] = await postgres.sql("SHOW max_connections");
    const [{ superuser_reserved_connections: reserved }] = await postgres.sql("SHOW superuser_reserved_connections");

    const runner = openStore(runnerLogin, "bench-runner");
    cleanups.push(() => runner.close());
    const actor = { principal: runnerLogin.user };
    await runner.createCertificate({ name: CERTIFICATE, displayName: CERTIFICATE, type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
    const pki = path.join(work, "pki");
    /** A fresh leaf saved as the next version (untimed); its number and fingerprint. */
    const newVersion = async () => {
      const material = inspectUpload(makeTestCertificate(pki, SERVER_NAME));
      if (!material.ok) throw new Error("bench certificate did not inspect");
      const record = await runner.createVersion(CERTIFICATE, "upload", material.value, actor);
      return { version: record.version, fingerprint: record.fingerprintSha256 };
    };

    // Floors: the same NOTIFY, received by a bare LISTEN in this process and in a process of its own.
    const floorInProcess = await listenInProcess(postgresConnectionFrom(agentUrl, {}, {}).config);
    cleanups.push(() => floorInProcess.stop());
    const floorOwnProcess = await listenInOwnProcess(agentUrl, withParentDeathSignal);
    cleanups.push(() => floorOwnProcess.stop());
    const prober = startProber();
    cleanups.push(() => prober.stop());

    /**
     * One swap: arm every watcher, deploy, and wait until all agents hold, serve and report the
     * version. Times in ms from t0 (the deploy call resolved).
     */
    const swap = async (agents, next, ports) => {
      const installed$ = watchDirectories(agents.map((agent) => agent.directory), next.fingerprint);
      installed$.catch(() => undefined);
      const probe = ports ? await prober.watch(ports, next.fingerprint) : undefined;
      const floors$ = Promise.all([floorInProcess.next(), floorOwnProcess.next()]);
      const calledAt = epochNow();
      await runner.deploy(CERTIFICATE, ENVIRONMENT, next.version, actor);
      const t0 = epochNow();
      const reports = await watchReports(postgres, database, agents.map((agent) => agent.id), next.version);
      const [installed, served, floors] = await Promise.all([installed$, probe ? probe.servedAt : Promise.resolve(undefined), floors$]);
      const since = (times) => times?.map((time) => time - t0);
      return { call: t0 - calledAt, installed: since(installed), served: since(served), reported: since(reports.times), floors: since(floors), peak: reports.peak, reportedAt: Math.max(...reports.times) };
    };

    /** `warmup` + `swaps` swaps; the samples of the timed ones. `spacingMs` is waited from the last report before the next deploy. */
    const measure = async (agents, ports, spacingMs, { swaps = SWAPS, warmup = WARMUP } = {}) => {
      const results = [];
      let next = await newVersion();
      let cpuBefore = 0;
      let timedFrom = 0;
      for (let index = 0; index < warmup + swaps; index += 1) {
        if (index === warmup) {
          cpuBefore = agents.reduce((sum, agent) => sum + cpuMs(agent.child.pid), 0);
          timedFrom = epochNow();
        }
        let result;
        try {
          result = await swap(agents, next, ports);
        } catch (error) {
          const logs = agents.slice(0, 3).map((agent) => `--- ${agent.id} ---\n${agent.log().slice(-3000)}`).join("\n");
          throw new Error(`${error.message}\n${logs}`);
        }
        if (index >= warmup) results.push(result);
        next = await newVersion();
        const wait = result.reportedAt + spacingMs - epochNow();
        if (wait > 0) await sleep(wait);
      }
      const cpuPerSwapMs = (agents.reduce((sum, agent) => sum + cpuMs(agent.child.pid), 0) - cpuBefore) / swaps;
      return { results, cpuPerSwapMs, failures: failureSummary(agents, timedFrom) };
    };

    const followAll = (agents) => Promise.all(agents.map((agent) => waitUntil(`${agent.id} follows the store's pushes`, () => {
      if (agent.child.exitCode !== null) throw new Error(`${agent.id} exited ${agent.child.exitCode}:\n${agent.log()}`);
      return /following changes postgres store/.test(agent.log()) ? true : undefined;
    }, 120_000)));
    const reportedAll = (agents, version) => watchReports(postgres, database, agents.map((agent) => agent.id), version);
    const agentsRssKib = (agents) => agents.reduce((sum, agent) => sum + vmRssKib(agent.child.pid), 0);
    const agentBackends = () =>
      postgres.sql("SELECT pid, application_name FROM pg_stat_activity WHERE usename = 'edge-agent' AND application_name = ANY($1)", [AGENT_APPLICATIONS]);

    // ---- 3 agents, each with its nginx ---------------------------------------------------------
    console.log("  3 agents, each reloading its own nginx …");
    const first = await newVersion();
    await runner.deploy(CERTIFICATE, ENVIRONMENT, first.version, actor);
    const edges = [];
    for (let index = 1; index <= 3; index += 1) {
      const id = `edge-${index}`;
      const directory = path.join(work, id);
      // nginx reads its files as it starts: one pass installs them first, as a new server's setup does.
      const once = spawnAgent({ id, directory, storeUrl: agentUrl, keyText, extra: ["--once"] }, withParentDeathSignal);
      const { code } = await once.exited;
      if (code !== 0) throw new Error(`certstage agent --once exited ${code}:\n${once.log()}`);
      const nginx = await tlsServers.startNginx({ certificateFile: path.join(directory, CERTIFICATE, "fullchain.pem"), keyFile: path.join(directory, CERTIFICATE, "privkey.pem"), binary: nginxBinary });
      cleanups.push(() => nginx.stop());
      const instance = nginx.reloadCommand.slice(0, -2);
      const agent = spawnAgent(
        {
          id,
          directory,
          storeUrl: agentUrl,
          keyText,
          extra: ["--check", JSON.stringify([...instance, "-t", "-q"]), "--reload", JSON.stringify(nginx.reloadCommand), "--serve-check", `127.0.0.1:${nginx.port}`],
        },
        withParentDeathSignal,
      );
      cleanups.push(() => agent.stop());
      edges.push({ ...agent, port: nginx.port });
    }
    await followAll(edges);
    await reportedAll(edges, first.version);
    const edgeRun = await measure(edges, edges.map((edge) => edge.port), RELOAD_SPACING_MS);
    const edgeResults = edgeRun.results;
    const edgeRss = agentsRssKib(edges);
    const edgeBackends = await agentBackends();
    await Promise.all(edges.map((edge) => edge.stop()));

    // ---- 50 agents, no server ------------------------------------------------------------------
    console.log(`  ${FLEET} agents at once, files only …`);
    const fleetStart = await newVersion();
    await runner.deploy(CERTIFICATE, ENVIRONMENT, fleetStart.version, actor);
    const startedAt = epochNow();
    const fleet = Array.from({ length: FLEET }, (_, index) => {
      const id = `fleet-${index + 1}`;
      const agent = spawnAgent({ id, directory: path.join(work, id), storeUrl: agentUrl, keyText }, withParentDeathSignal);
      cleanups.push(() => agent.stop());
      return agent;
    });
    await followAll(fleet);
    const startup = await reportedAll(fleet, fleetStart.version);
    const fleetUpMs = epochNow() - startedAt;
    const startupFailures = failureSummary(fleet);
    const fleetRun = await measure(fleet, undefined, 0, { swaps: FLEET_SWAPS, warmup: FLEET_WARMUP });
    const fleetResults = fleetRun.results;
    const fleetRss = agentsRssKib(fleet);
    const busyBackends = await agentBackends();
    const busyPss = busyBackends.reduce((sum, backend) => sum + pssKib(backend.pid), 0);
    // At rest: node-postgres closes a pool's idle connections after 10 s; only the LISTEN sessions stay.
    const quietSince = epochNow();
    const restBackends = await waitUntil("the agents' pools go idle", async () => {
      const rows = await agentBackends();
      return rows.some((row) => row.application_name === "certstage") ? undefined : rows;
    }, 60_000, 250);
    const quietAfterMs = epochNow() - quietSince;
    const restPss = restBackends.reduce((sum, backend) => sum + pssKib(backend.pid), 0);
    const restRss = agentsRssKib(fleet);

    // ---- tables --------------------------------------------------------------------------------
    const all = (results, key) => results.flatMap((result) => result[key]);
    const lastOf = (results, key) => results.map((result) => Math.max(...result[key]));
    const firstOf = (results, key) => results.map((result) => Math.min(...result[key]));
    const floorRows = (results) => [
      ["floor", "bare LISTEN client in the benchmark's process: NOTIFY received", ...percentileCells(results.map((result) => result.floors[0]))],
      ["floor", "bare LISTEN client in a node process of its own: NOTIFY received", ...percentileCells(results.map((result) => result.floors[1]))],
      ["floor", "that + the agent's 200 ms quiet window before a pass", ...percentileCells(results.map((result) => result.floors[1] + 200))],
    ];
    const edgeRows = [
      ...floorRows(edgeResults),
      ["3 agents", "first agent's directory holds the new version", ...percentileCells(firstOf(edgeResults, "installed"))],
      ["3 agents", "first agent's nginx serves the new leaf", ...percentileCells(firstOf(edgeResults, "served"))],
      ["3 agents", "all 3 nginx serve it (per-swap max across agents)", ...percentileCells(lastOf(edgeResults, "served"))],
      ["3 agents", "each agent's nginx serves it (every agent, every swap)", ...percentileCells(all(edgeResults, "served"))],
      ["3 agents", "all 3 reports in the store say it is served", ...percentileCells(lastOf(edgeResults, "reported"))],
      ["runner", "the deploy call itself (before t0: call to COMMIT acknowledged)", ...percentileCells(edgeResults.map((result) => result.call))],
    ];
    const fleetRows = [
      ...floorRows(fleetResults),
      [`${FLEET} agents`, "first agent's directory holds the new version", ...percentileCells(firstOf(fleetResults, "installed"))],
      [`${FLEET} agents`, `all ${FLEET} directories hold it (per-swap max across agents)`, ...percentileCells(lastOf(fleetResults, "installed"))],
      [`${FLEET} agents`, "each agent's directory holds it (every agent, every swap)", ...percentileCells(all(fleetResults, "installed"))],
      [`${FLEET} agents`, `all ${FLEET} reports in the store name it`, ...percentileCells(lastOf(fleetResults, "reported"))],
      ["runner", "the deploy call itself (before t0: call to COMMIT acknowledged)", ...percentileCells(fleetResults.map((result) => result.call))],
    ];
    const peak = (results) => results.reduce((most, result) => ({ watch: Math.max(most.watch, result.peak.watch), pooled: Math.max(most.pooled, result.peak.pooled) }), { watch: 0, pooled: 0 });
    const edgePeak = peak(edgeResults);
    const fleetPeak = peak(fleetResults);
    const count = (rows, name) => rows.filter((row) => row.application_name === name).length;
    const resourceRows = [
      ["3 agents", "connections during swaps (most seen): LISTEN sessions + pool", `${edgePeak.watch} + ${edgePeak.pooled}`],
      ["3 agents", "connections right after the swaps", `${count(edgeBackends, "certstage watch")} + ${count(edgeBackends, "certstage")}`],
      ["3 agents", "agents' total RSS (VmRSS)", `${mib(edgeRss)} MiB (${mib(edgeRss / 3)} MiB each)`],
      [`${FLEET} agents`, "starting all at once until every one reported the deployed version", `${(fleetUpMs / 1000).toFixed(1)} s`],
      [`${FLEET} agents`, "connections during swaps (most seen): LISTEN sessions + pool", `${fleetPeak.watch} + ${fleetPeak.pooled} (startup: ${startup.peak.watch} + ${startup.peak.pooled})`],
      [`${FLEET} agents`, "connections right after the swaps", `${count(busyBackends, "certstage watch")} + ${count(busyBackends, "certstage")}`],
      [`${FLEET} agents`, `connections at rest (the pools idle after ${(quietAfterMs / 1000).toFixed(1)} s)`, `${count(restBackends, "certstage watch")} + ${count(restBackends, "certstage")}`],
      [`${FLEET} agents`, "agents' total RSS (VmRSS), after the swaps / at rest", `${mib(fleetRss)} MiB / ${mib(restRss)} MiB (${mib(restRss / FLEET)} MiB each)`],
      [`${FLEET} agents`, "PostgreSQL backends serving them (Pss), after the swaps / at rest", `${mib(busyPss)} MiB / ${mib(restPss)} MiB (${mib(restPss / Math.max(1, restBackends.length))} MiB per backend)`],
      ["3 agents", "CPU of the agents per swap (with their nginx -t and -s reload)", `${lib.formatMs(edgeRun.cpuPerSwapMs)} ms (${lib.formatMs(edgeRun.cpuPerSwapMs / 3)} ms each)`],
      ["3 agents", "agents whose log shows a failed or refused step during the swaps", edgeRun.failures],
      [`${FLEET} agents`, "CPU of the agents per swap", `${lib.formatMs(fleetRun.cpuPerSwapMs)} ms (${lib.formatMs(fleetRun.cpuPerSwapMs / FLEET)} ms each)`],
      [`${FLEET} agents`, "agents whose log shows a failed or refused step: at startup", startupFailures],
      [`${FLEET} agents`, "… during the swaps", fleetRun.failures],
      ["PostgreSQL", `max_connections / superuser_reserved_connections (${MAX_CONNECTIONS ? "max_connections set by CERTSTAGE_BENCH_MAX_CONNECTIONS" : "defaults"})`, `${maxConnections} / ${reserved}`],
    ];
    return {
      title: "Agent convergence",
      description: [
        `${SWAPS} swaps with 3 agents (after ${WARMUP} untimed), ${FLEET_SWAPS} with ${FLEET} (after ${FLEET_WARMUP}; see bench/README.md), each deploying a fresh version (a new ECDSA P-256 leaf) of one certificate to the environment the agents follow,`,
        `on PostgreSQL 15 (Debian, loopback, TLS verify-full, max_connections ${MAX_CONNECTIONS ?? "default"})`,
        "with real `certstage agent` processes (the CLI, one node process each, as the README's unit runs it).",
        "t0 is when the runner's `store.deploy` resolves: the Store API call `pulumi up` makes at the end of a swap, returning once PostgreSQL acknowledged the COMMIT whose trigger sends the NOTIFY.",
        "3 agents: each with its own Debian nginx on a loopback port serving from the agent's directory, with `--check`, `--reload` and `--serve-check` on it; \"serves\" is the first TLS handshake",
        `(SNI, one every ${PROBE_INTERVAL_MS} ms per nginx, from a worker thread) that gets the new leaf. ${FLEET} agents at once: no server (${FLEET} nginx reloading on these cores would measure nginx);`,
        "\"holds\" is when the agent's `api/fullchain.pem` has the new leaf (read at each inotify event of its directory), \"report\" when a poll of the store every 25 ms first sees the agent's report name the version.",
        "Floors: a bare node-postgres LISTEN on the same channel, in the benchmark's process and in a node process of its own (t0 comes after PostgreSQL sent both the NOTIFY and the COMMIT reply, so a floor can be below 0);",
        "the agent then waits 200 ms for a burst to end before its pass, by design. Swaps are independent deploys: before each, every agent has reported the previous version and, for reloading agents,",
        "2 s (the agent's minimum spacing between reloads) have passed. p99 is by nearest rank: over 20 or 10 swaps, the largest of them. Goal: all 3 nginx serving within 1 s, p50.",
      ].join(" "),
      tables: [
        { headers: ["case", "until", ...P_HEADERS], rows: edgeRows },
        { headers: ["case", "until", ...P_HEADERS], rows: fleetRows },
        { headers: ["case", "resource", "measured"], rows: resourceRows },
      ],
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = agentConvergence;
