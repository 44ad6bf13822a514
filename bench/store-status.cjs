/**
 * `certstage status` and `certstage history` on a large store, on both drivers: 1,000 and 10,000
 * versions (20 per certificate, so 50 and 500 certificates; about 2,000 and 20,500 history lines),
 * to show how the cost grows. Goal: each command under 200 ms for 10,000 versions, start included.
 *
 * Stores are made by bench/store-fixtures.cjs (the file store through the Store API, then copied
 * into PostgreSQL as `certstage store copy` does); the database is bench/postgres.cjs's, and status
 * reads it as a runner login bound by row-level security (certificates owned by its team).
 *
 * Rows, per size and driver:
 *   - in-process: `buildStatusReport` from dist/ on a Store opened once (a warm pool for postgres),
 *     and `writeHistory(store.streamHistory())` as JSON into a discarding stream;
 *   - the CLI: `node dist/provider/cli/main.js status --json --store …`, `status` as text, and
 *     `… history --json`, one process per run (Node's start, loading certstage, opening the store,
 *     the work, the output on stdout).
 * Floors, in the same run:
 *   - file store, status: the files status reads (certificate.json and versions.json of each
 *     certificate, each versions directory listed, the environment links, releases.json, tasks,
 *     agent reports) with plain synchronous `fs`, one after another as the store does, but with
 *     none of the store's checks; and, as before the index, every version.json instead of the index;
 *   - file store, `status --json` as a command line: bench/status-floor-cli.cjs, a process that
 *     reads those files with plain `fs` and prints the versions and deployments as status does;
 *   - file store, history: history.jsonl read and each line parsed with plain `fs`;
 *   - postgres: the same rows in one round trip of plain node-postgres (one multi-statement query
 *     on an open connection, as the same login, so row-level security applies to it too; each
 *     version's status_summary column, one JSON array per certificate, and the released
 *     versions, as readStatusListings reads them), and history's rows in one query;
 *   - the CLI: a bare `node -e 0`, the cost of any Node command line, and `certstage --help`, the
 *     cost of starting certstage's command line.
 * A row minus its floor is what certstage adds; the CLI row minus the bare start is what loading
 * certstage and the store costs per invocation.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const lib = require("./lib.cjs");
const fixtures = require("./store-fixtures.cjs");
const { startBenchPostgres } = require("./postgres.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const CLI = path.join(DIST, "cli", "main.js");
const FLOOR_CLI = path.join(__dirname, "status-floor-cli.cjs");
const VERSIONS_PER_CERTIFICATE = 20;
const SIZES = (process.env.CERTSTAGE_BENCH_STATUS_SIZES ?? "1000,10000").split(",").map(Number);
const RUNS = (versions) => (versions >= 10_000 ? { warmup: 2, iterations: 10 } : { warmup: 3, iterations: 20 });

/**
 * The same files status reads, with fs alone: the floor of the file store's rows. Synchronous
 * calls, as the store makes them (provider/store/file-paths.ts), and none of its checks: no lstat
 * of each path component, no O_NOFOLLOW, no validation of what was parsed.
 */
function readFilesBare(root, { index }) {
  const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
  const certificatesRoot = path.join(root, "certificates");
  let versions = 0;
  for (const name of fs.readdirSync(certificatesRoot).sort()) {
    readJson(path.join(certificatesRoot, name, "certificate.json"));
    const directory = path.join(certificatesRoot, name, "versions");
    const entries = fs.readdirSync(directory, { withFileTypes: true }).filter((entry) => /^[1-9][0-9]*$/.test(entry.name));
    if (index) versions += readJson(path.join(certificatesRoot, name, "versions.json")).versions.length;
    else for (const entry of entries) readJson(path.join(directory, entry.name, "version.json"));
    if (!index) versions += entries.length;
  }
  const environments = path.join(root, "environments");
  for (const environment of fs.readdirSync(environments)) {
    for (const link of fs.readdirSync(path.join(environments, environment))) {
      fs.lstatSync(path.join(environments, environment, link));
      fs.readlinkSync(path.join(environments, environment, link));
    }
  }
  // The record of releases, which status reads instead of the whole history.
  JSON.parse(fs.readFileSync(path.join(root, "releases.json"), "utf8"));
  for (const directory of ["tasks", "agents"]) {
    for (const entry of fs.readdirSync(path.join(root, directory))) if (entry.endsWith(".json")) readJson(path.join(root, directory, entry));
  }
  return versions;
}

const BARE_ROWS_SQL = [
  "SELECT id, name, display_name, type, owner, share_with, description, profile, last_version, origin, created_at, updated_at FROM certstage.certificates WHERE deleted_at IS NULL ORDER BY name",
  // What readStatusListings reads of each version (the status_summary column of migration 10),
  // as it reads them: one JSON array per certificate, parsed below.
  "SELECT certificate_id, '[' || string_agg(status_summary::text, ',' ORDER BY version) || ']' AS versions FROM certstage.versions GROUP BY certificate_id",
  "SELECT certificate_id, environment, version, deployed_at FROM certstage.deployments",
  "SELECT record FROM certstage.tasks",
  // Which versions were released (migration 8), where status once read the whole history.
  "SELECT certificate, string_agg(version::text, ',') AS versions FROM certstage.version_releases GROUP BY certificate",
  "SELECT agent_id, host, environment, certificate, version, served_fingerprint, last_seen, last_error FROM certstage.agent_reports",
].join(";\n");

/** history.jsonl read whole and each line parsed, with plain fs: the floor of the file store's history rows. */
function readHistoryBare(root) {
  let lines = 0;
  for (const line of fs.readFileSync(path.join(root, "history.jsonl"), "utf8").split("\n")) {
    if (line === "") continue;
    JSON.parse(line);
    lines += 1;
  }
  return lines;
}

const HISTORY_SQL = "SELECT at, actor, action, certificate, environment, from_version, to_version, result, detail FROM certstage.history ORDER BY id";

/** A stream that keeps nothing: in-process history is timed up to the output, not into a terminal. */
function discard() {
  const { Writable } = require("node:stream");
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

function countVersions(report) {
  return report.certificates.reduce((sum, certificate) => sum + certificate.versions.length, 0);
}

function checkCliOutput(expectedVersions) {
  return (stdout) => {
    const versions = countVersions(JSON.parse(stdout));
    if (versions !== expectedVersions) throw new Error(`certstage status showed ${versions} versions, the store holds ${expectedVersions}`);
  };
}

/** The text status prints one `  v<n> ` line per version. */
function checkTextOutput(expectedVersions) {
  return (stdout) => {
    const versions = stdout.split("\n").filter((line) => /^  v\d+ /.test(line)).length;
    if (versions !== expectedVersions) throw new Error(`certstage status printed ${versions} version lines, the store holds ${expectedVersions}`);
  };
}

function checkHistoryOutput(expectedLines) {
  return (stdout) => {
    const lines = JSON.parse(stdout).history.length;
    if (lines !== expectedLines) throw new Error(`certstage history showed ${lines} entries, the store holds ${expectedLines}`);
  };
}

async function measureSize(versions, postgres, scratch, materials) {
  const certificates = versions / VERSIONS_PER_CERTIFICATE;
  const runs = RUNS(versions);
  // Built on tmpfs (the fixture's fsyncs cost nothing there), then copied to the disk status reads.
  const built = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "certstage-bench-store-"));
  const root = path.join(scratch, `file-${versions}`);
  let build;
  try {
    build = await fixtures.buildFileStore(built, { certificates, versions: VERSIONS_PER_CERTIFICATE, materials });
    execFileSync("cp", ["-a", built, root]);
  } finally {
    fs.rmSync(built, { recursive: true, force: true });
  }
  const urls = await postgres.newStore();
  const copier = postgres.open(urls.copier);
  const copy = await fixtures.copyIntoPostgres(root, copier);
  await copier.close();
  console.log(`  ${versions} versions over ${certificates} certificates: file store built in ${build.seconds.toFixed(0)} s, copied into PostgreSQL in ${copy.seconds.toFixed(1)} s`);

  const { buildStatusReport } = require(path.join(DIST, "cli", "status.js"));
  const { writeHistory } = require(path.join(DIST, "cli", "history.js"));
  const historyLines = readHistoryBare(root);
  const expectLines = (count) => {
    if (count !== historyLines) throw new Error(`read ${count} history entries, the store holds ${historyLines}`);
  };
  const countingHistory = async (store) => {
    let count = 0;
    const counted = (async function* () {
      for await (const batch of store.streamHistory()) {
        count += batch.length;
        yield batch;
      }
    })();
    await writeHistory(counted, true, discard());
    return count;
  };
  const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
  const rows = [];
  const row = (label, samples) => rows.push([String(versions), String(certificates), label, ...lib.timingCells(lib.summarize(samples))]);
  const expectVersions = (count) => {
    if (count !== versions) throw new Error(`read ${count} versions, the store holds ${versions}`);
  };

  // ---- file store
  const fileStore = createFileStore({ root });
  row("file: status, in-process", await lib.timeInProcess(async () => expectVersions(countVersions(await buildStatusReport(fileStore))), runs));
  row("file: floor, the same files read with fs", await lib.timeInProcess(() => expectVersions(readFilesBare(root, { index: true })), runs));
  row("file: floor, every version.json read with fs (no index)", await lib.timeInProcess(() => expectVersions(readFilesBare(root, { index: false })), runs));
  row("file: `certstage status --json`", lib.timeChildProcesses(process.execPath, [CLI, "status", "--json", "--store", root], { ...runs, check: checkCliOutput(versions) }));
  row("file: `certstage status` (text)", lib.timeChildProcesses(process.execPath, [CLI, "status", "--store", root], { ...runs, check: checkTextOutput(versions) }));
  row("file: floor, a command line printing the same with plain fs", lib.timeChildProcesses(process.execPath, [FLOOR_CLI, root], { ...runs, check: checkCliOutput(versions) }));
  row("file: history, in-process", await lib.timeInProcess(async () => expectLines(await countingHistory(fileStore)), runs));
  row("file: floor, history.jsonl parsed with fs", await lib.timeInProcess(() => expectLines(readHistoryBare(root)), runs));
  row("file: `certstage history --json`", lib.timeChildProcesses(process.execPath, [CLI, "history", "--json", "--store", root], { ...runs, check: checkHistoryOutput(historyLines) }));

  // ---- postgres, as a runner login
  const runnerUrl = urls[postgres.runnerNames[0]];
  const postgresStore = postgres.open(runnerUrl);
  row("postgres: status, in-process", await lib.timeInProcess(async () => expectVersions(countVersions(await buildStatusReport(postgresStore))), runs));
  row("postgres: history, in-process", await lib.timeInProcess(async () => expectLines(await countingHistory(postgresStore)), runs));
  await postgresStore.close();
  const pg = require("pg");
  const { postgresConnectionFrom } = require(path.join(DIST, "store", "postgres", "connection.js"));
  const client = new pg.Client(postgresConnectionFrom(runnerUrl, {}, {}).config);
  await client.connect();
  row(
    "postgres: floor, the same rows in one query",
    await lib.timeInProcess(async () => {
      const results = await client.query(BARE_ROWS_SQL);
      expectVersions(results[1].rows.reduce((count, row) => count + JSON.parse(row.versions).length, 0));
      for (const row of results[4].rows) new Set(row.versions.split(",").map(Number));
    }, runs),
  );
  row("postgres: floor, history's rows in one query", await lib.timeInProcess(async () => expectLines((await client.query(HISTORY_SQL)).rows.length), runs));
  await client.end();
  // The CLI reads no libpq variables here: everything it needs is in the URL.
  row("postgres: `certstage status --json`", lib.timeChildProcesses(process.execPath, [CLI, "status", "--json", "--store", runnerUrl], { ...runs, check: checkCliOutput(versions) }));
  row("postgres: `certstage status` (text)", lib.timeChildProcesses(process.execPath, [CLI, "status", "--store", runnerUrl], { ...runs, check: checkTextOutput(versions) }));
  row("postgres: `certstage history --json`", lib.timeChildProcesses(process.execPath, [CLI, "history", "--json", "--store", runnerUrl], { ...runs, check: checkHistoryOutput(historyLines) }));
  return rows;
}

module.exports = async function storeStatus() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-status-"));
  const postgres = await startBenchPostgres({ team: fixtures.OWNER });
  const rows = [];
  try {
    const materials = fixtures.makeMaterials(path.join(scratch, "pki"), 3);
    const bare = lib.summarize(lib.timeChildProcesses(process.execPath, ["-e", "0"], { warmup: 3, iterations: 20 }));
    const help = lib.summarize(lib.timeChildProcesses(process.execPath, [CLI, "--help"], { warmup: 3, iterations: 20 }));
    for (const versions of SIZES) rows.push(...(await measureSize(versions, postgres, scratch, materials)));
    rows.push(["-", "-", "floor: bare `node -e 0`", ...lib.timingCells(bare)]);
    rows.push(["-", "-", "floor: `certstage --help` (the command line's start)", ...lib.timingCells(help)]);
  } finally {
    await postgres.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return {
    title: "Status and history of a large store (file and postgres drivers)",
    description: [
      `\`certstage status\` and \`certstage history\` over stores of ${SIZES.map((size) => size.toLocaleString("en-US")).join(" and ")} versions (${VERSIONS_PER_CERTIFICATE} per certificate; the newest two deployed, the rest released through Pulumi, a standby swap pending on every 50th certificate, an agent report on every 10th).`,
      "In-process is `buildStatusReport`, and `writeHistory` of `streamHistory` as JSON, on an open store; the CLI rows are one `node dist/provider/cli/main.js status|history --json --store …` process each (and `status` as text). PostgreSQL is read by a runner login bound by row-level security.",
      "Floors in the same run: the same files read with plain fs (and every version.json, as status read them before versions.json), a command line that reads them so and prints the versions and deployments as status does (bench/status-floor-cli.cjs: none of the store's checks, none of status's rules), the same rows in one query of plain node-postgres, a bare `node -e 0` and `certstage --help`. The goal is under 200 ms for 10,000 versions.",
    ].join(" "),
    tables: [{ headers: ["versions", "certificates", "what", ...lib.TIMING_HEADERS], rows }],
  };
};
