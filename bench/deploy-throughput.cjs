/**
 * Deploy throughput: 20 deploys at once from 4 processes (5 each, all in flight together), against
 * the same 20 deploys one after another in one process, on both drivers. A deploy is
 * `Store.deploy` of another version of a certificate to `production` (each round swaps every
 * certificate to the version it did not serve), the step an EnvironmentDeployment's update makes
 * in the store; each of the 20 is a different certificate.
 *
 * The file store serializes every change under its lock (a lock file, with retries), so processes
 * wait for each other; PostgreSQL takes row locks on the environment's generation and the
 * certificate, so deploys to one environment also wait for each other there. The figures show
 * what concurrency buys or costs on each driver: deploys per second over the round (first start to
 * last finish, across processes), and each deploy's latency (p50, p99 over every round).
 *
 * Each worker process starts, opens its store, warms up (one read), and says it is ready; the
 * round starts when all are, so Node's start and the first connection are not in the figures. On
 * PostgreSQL each process connects as its own runner login (bench/postgres.cjs: plain roles in
 * certstage_runner and the owning team, bound by row-level security).
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { spawn } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const PROCESSES = 4;
const DEPLOYS_PER_PROCESS = 5;
const DEPLOYS = PROCESSES * DEPLOYS_PER_PROCESS;
const ROUNDS = Number(process.env.CERTSTAGE_BENCH_DEPLOY_ROUNDS ?? 6);
const ENVIRONMENT = "production";
/** A round that takes longer than this has hung: the benchmark fails rather than waits. */
const ROUND_TIMEOUT_MS = 120_000;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const epochMs = () => performance.timeOrigin + performance.now();

function openStore(driver, location, storeKey) {
  if (driver === "file") return require(path.join(DIST, "store", "drivers", "file.js")).createFileStore({ root: location });
  const { createPostgresStore } = require(path.join(DIST, "store", "drivers", "postgres.js"));
  const { postgresConnectionFrom } = require(path.join(DIST, "store", "postgres", "connection.js"));
  const { parseKeyRing } = require(path.join(DIST, "store", "key-envelope.js"));
  const { config, description } = postgresConnectionFrom(location, {}, { applicationName: "certstage-bench-deploy" });
  return createPostgresStore({ connection: config, description, keyRing: parseKeyRing(storeKey, "CERTSTAGE_STORE_KEY") });
}

/** Deploys each certificate to `version`, all at once; the start, end and latency of each. */
async function deployAll(store, certificates, version) {
  const actor = { principal: "bench", teams: ["team-bench"] };
  return Promise.all(
    certificates.map(async (certificate) => {
      const start = epochMs();
      await store.deploy(certificate, ENVIRONMENT, version, actor);
      const end = epochMs();
      return { start, end, latency: end - start };
    }),
  );
}

// ---- worker process: `node deploy-throughput.cjs --worker <driver> <location> <certificates,…>` ----

async function worker([driver, location, names]) {
  const store = openStore(driver, location, process.env.CERTSTAGE_BENCH_STORE_KEY);
  const certificates = names.split(",");
  await store.getDeployment(certificates[0], ENVIRONMENT);
  process.stdout.write("ready\n");
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [command, version] = line.split(" ");
    if (command !== "round") break;
    process.stdout.write(`${JSON.stringify(await deployAll(store, certificates, Number(version)))}\n`);
  }
  await store.close();
}

// ---- the benchmark -------------------------------------------------------------------------------

function startWorker(driver, location, certificates, env) {
  const child = spawn(process.execPath, [__filename, "--worker", driver, location, certificates.join(",")], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let errors = "";
  child.stderr.on("data", (chunk) => (errors += chunk));
  const lines = readline.createInterface({ input: child.stdout });
  const pending = [];
  const waiting = [];
  lines.on("line", (line) => (waiting.length > 0 ? waiting.shift().resolve(line) : pending.push(line)));
  child.on("exit", (code) => {
    for (const each of waiting.splice(0)) each.reject(new Error(`deploy worker exited ${code}: ${errors.trim()}`));
  });
  const nextLine = () =>
    new Promise((resolve, reject) => {
      if (pending.length > 0) return resolve(pending.shift());
      const timer = setTimeout(() => reject(new Error(`deploy worker did not answer within ${ROUND_TIMEOUT_MS} ms: ${errors.trim()}`)), ROUND_TIMEOUT_MS);
      waiting.push({ resolve: (line) => (clearTimeout(timer), resolve(line)), reject: (error) => (clearTimeout(timer), reject(error)) });
    });
  return {
    nextLine,
    send: (line) => child.stdin.write(`${line}\n`),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", resolve), child.stdin.end()))),
  };
}

/** Rounds of the 20 deploys; `run(version)` does one round and returns the 20 timings. */
async function measureRounds(run) {
  const latencies = [];
  const throughputs = [];
  for (let round = 0; round < ROUNDS + 1; round += 1) {
    // Versions 2, 1, 2, …: every round swaps every certificate. The first round warms up.
    const timings = await run(round % 2 === 0 ? 2 : 1);
    if (timings.length !== DEPLOYS) throw new Error(`a round made ${timings.length} deploys, not ${DEPLOYS}`);
    if (round === 0) continue;
    const span = Math.max(...timings.map((timing) => timing.end)) - Math.min(...timings.map((timing) => timing.start));
    throughputs.push((DEPLOYS * 1000) / span);
    latencies.push(...timings.map((timing) => timing.latency));
  }
  return { latencies, throughputs };
}

async function measureDriver(label, driver, locations, env, certificates, check) {
  // One process, one after another.
  const store = openStore(driver, locations[0], env.CERTSTAGE_BENCH_STORE_KEY);
  await store.getDeployment(certificates[0], ENVIRONMENT);
  const sequential = await measureRounds(async (version) => {
    const timings = [];
    for (const certificate of certificates) timings.push(...(await deployAll(store, [certificate], version)));
    return timings;
  });
  await check(store);
  await store.close();

  // Four processes, five deploys each, all at once.
  const workers = [];
  try {
    for (let index = 0; index < PROCESSES; index += 1) {
      workers.push(startWorker(driver, locations[index % locations.length], certificates.slice(index * DEPLOYS_PER_PROCESS, (index + 1) * DEPLOYS_PER_PROCESS), env));
    }
    for (const each of workers) if ((await each.nextLine()) !== "ready") throw new Error("a deploy worker did not start");
    const concurrent = await measureRounds(async (version) => {
      for (const each of workers) each.send(`round ${version}`);
      return (await Promise.all(workers.map((each) => each.nextLine()))).flatMap((line) => JSON.parse(line));
    });
    for (const each of workers) each.send("stop");
    await Promise.all(workers.map((each) => each.stop()));
    const verify = openStore(driver, locations[0], env.CERTSTAGE_BENCH_STORE_KEY);
    await check(verify);
    await verify.close();
    return [row(label, `1 process, ${DEPLOYS} one after another`, sequential), row(label, `${PROCESSES} processes × ${DEPLOYS_PER_PROCESS} at once`, concurrent)];
  } finally {
    await Promise.all(workers.map((each) => each.stop()));
  }
}

function row(driver, how, { latencies, throughputs }) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const perSecond = lib.summarize(throughputs);
  return [driver, how, String(throughputs.length), perSecond.median.toFixed(1), perSecond.min.toFixed(1), lib.formatMs(lib.percentile(sorted, 50)), lib.formatMs(lib.percentile(sorted, 99)), lib.formatMs(sorted[sorted.length - 1])];
}

/** After the rounds every certificate serves the version of the last round (an even count of rounds after the warm-up ends on 1). */
function expectServing(certificates) {
  const expected = ROUNDS % 2 === 0 ? 2 : 1;
  return async (store) => {
    for (const certificate of certificates) {
      const deployment = await store.getDeployment(certificate, ENVIRONMENT);
      if (deployment?.version !== expected) throw new Error(`${certificate} serves ${deployment?.version} in ${ENVIRONMENT} after the rounds, not ${expected}`);
    }
  };
}

async function benchmark() {
  const fixtures = require("./store-fixtures.cjs");
  const { startBenchPostgres } = require("./postgres.cjs");
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-deploy-"));
  const postgres = await startBenchPostgres({ team: fixtures.OWNER, runners: PROCESSES });
  const rows = [];
  try {
    const materials = fixtures.makeMaterials(path.join(scratch, "pki"), 2);
    // On the disk, not tmpfs: a deploy's fsyncs are part of its cost.
    const root = path.join(scratch, "store");
    await fixtures.buildFileStore(root, { certificates: DEPLOYS, versions: 2, materials });
    const certificates = Array.from({ length: DEPLOYS }, (_, index) => fixtures.certificateName(index));
    const urls = await postgres.newStore();
    const copier = postgres.open(urls.copier);
    await fixtures.copyIntoPostgres(root, copier);
    await copier.close();

    rows.push(...(await measureDriver("file", "file", [root], {}, certificates, expectServing(certificates))));
    const runnerUrls = postgres.runnerNames.map((name) => urls[name]);
    rows.push(...(await measureDriver("postgres", "postgres", runnerUrls, { CERTSTAGE_BENCH_STORE_KEY: postgres.storeKey }, certificates, expectServing(certificates))));
  } finally {
    await postgres.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return {
    title: "Deploy throughput (file and postgres drivers)",
    description: [
      `${DEPLOYS} deploys (\`Store.deploy\` of another version, one certificate each, to one environment), ${ROUNDS} rounds after a warm-up: one process doing them one after another, against ${PROCESSES} processes doing ${DEPLOYS_PER_PROCESS} each, all ${DEPLOYS} in flight at once.`,
      "Deploys per second are over a round, from the first deploy's start to the last one's end across processes; latency is each deploy's, over every round. PostgreSQL is written by runner logins (one per process) bound by row-level security; the file store is on the disk, fsyncs included.",
    ].join(" "),
    tables: [{ headers: ["driver", "how", "rounds", "deploys/s (median)", "deploys/s (worst round)", "latency p50 ms", "latency p99 ms", "latency max ms"], rows }],
  };
}

if (require.main === module && process.argv[2] === "--worker") {
  worker(process.argv.slice(3)).catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
}

module.exports = benchmark;
