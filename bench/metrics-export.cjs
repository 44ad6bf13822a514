/**
 * `certstage metrics --output` on file stores of 10, 100 and 1,000 certificates (two versions
 * each: the newest serves production, the one before staging), as a textfile-collector cron job
 * runs it: one process per run, time from spawn to exit and its peak resident memory (GNU time's
 * %M), and the in-process cost (`certificateMetrics` + `formatExposition` on an open store).
 *
 * Peer and floors, in the same run: `certstage status --json` over the same store (it reads the
 * same certificates, versions and deployments, and history), and a bare `node -e 0`.
 *
 * Stores are made by bench/store-fixtures.cjs through the Store API.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const lib = require("./lib.cjs");
const fixtures = require("./store-fixtures.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const CLI = path.join(DIST, "cli", "main.js");
const SIZES = (process.env.CERTSTAGE_BENCH_METRICS_SIZES ?? "10,100,1000").split(",").map(Number);
const RUNS = { warmup: 2, iterations: 10 };
const GNU_TIME = "/usr/bin/time";

/** Peak RSS (KiB) of one run of the command, by GNU time; undefined without it. */
function peakRssKiB(command, args) {
  if (!fs.existsSync(GNU_TIME)) return undefined;
  const result = spawnSync(GNU_TIME, ["-f", "%M", command, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}: ${result.stderr}`);
  return Number(result.stderr.trim().split("\n").pop());
}

const mib = (kib) => (kib === undefined ? "n/a" : (kib / 1024).toFixed(1));

module.exports = async function metricsExport() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-metrics-"));
  const rows = [];
  try {
    const materials = fixtures.makeMaterials(path.join(scratch, "pki"), 3);
    const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
    const { certificateMetrics } = require(path.join(DIST, "metrics", "certificate-metrics.js"));
    const { formatExposition } = require(path.join(DIST, "metrics", "exposition.js"));
    for (const certificates of SIZES) {
      const root = path.join(scratch, `store-${certificates}`);
      await fixtures.buildFileStore(root, { certificates, versions: 2, materials });
      const output = path.join(scratch, `certstage-${certificates}.prom`);
      const expectSeries = () => {
        const text = fs.readFileSync(output, "utf8");
        const series = text.split("\n").filter((line) => line.startsWith("certstage_certificate_not_after_timestamp_seconds{")).length;
        if (series !== 2 * certificates) throw new Error(`expected ${2 * certificates} not-after series, got ${series}`);
      };
      const store = createFileStore({ root });
      const inProcess = lib.summarize(await lib.timeInProcess(async () => formatExposition(await certificateMetrics(store, new Date())), RUNS));
      await store.close();
      const cliArgs = [CLI, "metrics", "--output", output, "--store", root];
      const cli = lib.summarize(lib.timeChildProcesses(process.execPath, cliArgs, { ...RUNS, check: expectSeries }));
      const statusArgs = [CLI, "status", "--json", "--store", root];
      const status = lib.summarize(lib.timeChildProcesses(process.execPath, statusArgs, RUNS));
      const size = String(certificates);
      rows.push([size, "in-process: certificateMetrics + formatExposition", ...lib.timingCells(inProcess), "-", String(fs.statSync(output).size)]);
      rows.push([size, "`certstage metrics --output …`", ...lib.timingCells(cli), mib(peakRssKiB(process.execPath, cliArgs)), String(fs.statSync(output).size)]);
      rows.push([size, "peer: `certstage status --json`", ...lib.timingCells(status), mib(peakRssKiB(process.execPath, statusArgs)), "-"]);
    }
    const bare = lib.summarize(lib.timeChildProcesses(process.execPath, ["-e", "0"], RUNS));
    rows.push(["-", "floor: bare `node -e 0`", ...lib.timingCells(bare), mib(peakRssKiB(process.execPath, ["-e", "0"])), "-"]);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return {
    title: "Metrics export of a file store",
    description: [
      `\`certstage metrics --output\` over file stores of ${SIZES.map((size) => size.toLocaleString("en-US")).join(", ")} certificates (two versions each, both deployed: production and staging), one process per run, with its peak resident memory (GNU time %M).`,
      "In the same run: the in-process cost on an open store, `certstage status --json` over the same store, and a bare `node -e 0`.",
    ].join(" "),
    tables: [{ headers: ["certificates", "what", ...lib.TIMING_HEADERS, "peak RSS MiB", "output bytes"], rows }],
  };
};
