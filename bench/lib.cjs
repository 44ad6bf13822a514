/**
 * Shared helpers for the benchmarks: statistics over samples, timing of in-process work and of
 * child processes, memory snapshots and markdown tables. Only Node's standard library is used, so
 * the benchmarks measure certstage and OpenSSL, not a benchmarking framework.
 */
"use strict";

const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const v8 = require("node:v8");
const vm = require("node:vm");

/** A garbage collector we can call without asking for `node --expose-gc`, so deltas are not GC noise. */
const collectGarbage = (() => {
  if (typeof global.gc === "function") return global.gc;
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc");
})();

/** The p-th percentile (0..100) of already sorted numbers, by nearest rank. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median (mean of the two middle values for an even count), p90, min and max of samples in ms. */
function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return {
    iterations: sorted.length,
    median,
    p90: percentile(sorted, 90),
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** Runs `work` (sync or async) `warmup` times untimed, then `iterations` times timed; returns ms samples. */
async function timeInProcess(work, { warmup, iterations }) {
  for (let i = 0; i < warmup; i++) await work();
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return samples;
}

/**
 * Wall-clock time of one child process from spawn to exit, in ms. Output is captured (not shown),
 * and a non-zero exit fails the benchmark: a failing peer must not look fast.
 */
function timeChildProcess(command, args, options = {}) {
  const start = performance.now();
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024, ...options });
  const elapsed = performance.now() - start;
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}: ${result.stderr.trim()}`);
  }
  return { elapsed, stdout: result.stdout };
}

/** Spawns the command `warmup` times untimed, then `iterations` times timed; returns ms samples. */
function timeChildProcesses(command, args, { warmup, iterations, check, ...options }) {
  for (let i = 0; i < warmup; i++) timeChildProcess(command, args, options);
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const { elapsed, stdout } = timeChildProcess(command, args, options);
    if (check) check(stdout);
    samples.push(elapsed);
  }
  return samples;
}

/** The bare cost of starting a process that does nothing useful: subtract it from openssl rows. */
function measureOpensslProcessStart({ warmup = 3, iterations = 30 } = {}) {
  return summarize(timeChildProcesses("openssl", ["version"], { warmup, iterations }));
}

/** Memory of this process in bytes, after a full collection so that deltas mean retained memory. */
function memorySnapshot() {
  collectGarbage();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

/** Growth between two snapshots in MiB, formatted with a sign. */
function memoryDelta(before, after) {
  const mib = (bytes) => (bytes / (1024 * 1024)).toFixed(1);
  const signed = (bytes) => {
    const text = mib(bytes);
    return Number(text) < 0 ? text : `+${text.replace(/^-/, "")}`; // -0.0 reads as +0.0
  };
  return {
    rss: signed(after.rss - before.rss),
    heapUsed: signed(after.heapUsed - before.heapUsed),
    external: signed(after.external - before.external),
  };
}

/** Milliseconds with precision that suits the size: 0.0123, 1.23, 123. */
function formatMs(ms) {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 0.1) return ms.toFixed(4);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** The timing columns every benchmark table shares. */
const TIMING_HEADERS = ["iterations", "median ms", "p90 ms", "min ms", "max ms"];

function timingCells(stats) {
  return [String(stats.iterations), formatMs(stats.median), formatMs(stats.p90), formatMs(stats.min), formatMs(stats.max)];
}

/** A GitHub-flavoured markdown table; cells are escaped so a `|` never breaks the layout. */
function markdownTable(headers, rows) {
  const escape = (cell) => String(cell).replace(/\|/g, "\\|");
  const line = (cells) => `| ${cells.map(escape).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The same table aligned in plain text for the terminal. */
function textTable(headers, rows) {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells) => cells.map((cell, column) => String(cell).padEnd(widths[column])).join("  ");
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Loading the TypeScript test helper without a build step or a copy.

/**
 * Loads a .ts file as a CommonJS module: transpiled (types dropped, no checking) by the project's
 * own TypeScript, with `require` resolving like Node's from the file's directory, except that a
 * relative import of a sibling .ts file (pebble.ts imports ./certificates) is loaded the same way.
 */
function loadTypeScriptModule(filename, loaded = new Map()) {
  const known = loaded.get(filename);
  if (known) return known.exports;
  const ts = require("typescript");
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const directory = path.dirname(filename);
  const compiled = new Module(filename, module);
  compiled.filename = filename;
  compiled.paths = Module._nodeModulePaths(directory);
  const requireFromNode = compiled.require.bind(compiled);
  compiled.require = (specifier) => {
    if (specifier.startsWith("./") || specifier.startsWith("../")) {
      const candidate = path.resolve(directory, specifier.endsWith(".ts") ? specifier : `${specifier}.ts`);
      if (fs.existsSync(candidate)) return loadTypeScriptModule(candidate, loaded);
    }
    return requireFromNode(specifier);
  };
  loaded.set(filename, compiled);
  compiled._compile(outputText, filename);
  compiled.loaded = true;
  return compiled.exports;
}

// ---------------------------------------------------------------------------------------------
// Peers: presence, and installing them.

function commandWorks(command, versionFlag = "--version") {
  const result = spawnSync(command, [versionFlag], { stdio: "ignore" });
  return !result.error && result.status === 0;
}

/** Installs Debian's package for a missing peer when running as root; otherwise says what to do. */
function ensureDebianPeer(command, debianPackage, versionFlag = "--version") {
  if (commandWorks(command, versionFlag)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`this benchmark needs \`${command}\`: install Debian's package first (sudo apt-get install -y ${debianPackage})`);
  }
  console.log(`installing ${debianPackage} (apt-get install -y ${debianPackage}) …`);
  const install = () =>
    spawnSync("apt-get", ["install", "-y", debianPackage], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (install().status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: ["ignore", "inherit", "inherit"] });
    if (install().status !== 0) throw new Error(`apt-get install -y ${debianPackage} failed; install it by hand and run again`);
  }
  if (!commandWorks(command, versionFlag)) throw new Error(`${debianPackage} is installed but \`${command} ${versionFlag}\` still fails`);
}

/**
 * The machine's CPU time from /proc/stat (all cores, in clock ticks) and this process's own,
 * children it has waited for included (/proc/self/stat utime, stime, cutime, cstime). Two
 * readings give how busy the machine was between them, and how much of that was not the
 * benchmark: what a reader needs to judge the figures, measured rather than assumed.
 */
function cpuReading() {
  const [, ...fields] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const idle = ticks[3] + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + (value || 0), 0);
  const own = fs.readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ");
  // Fields after the command: state is [0], so utime..cstime are [11]..[14].
  const ownTicks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(own[index]), 0);
  return { total, busy: total - idle, own: ownTicks, at: Date.now() };
}

/** Between two readings: share of all cores busy, and share busy with work other than this process and its reaped children. */
function cpuLoadBetween(start, end) {
  const total = end.total - start.total;
  if (total <= 0) return { busyPercent: 0, otherPercent: 0 };
  const busy = end.busy - start.busy;
  const own = Math.min(busy, end.own - start.own);
  return { busyPercent: (100 * busy) / total, otherPercent: (100 * Math.max(0, busy - own)) / total };
}

module.exports = {
  cpuReading,
  cpuLoadBetween,
  loadTypeScriptModule,
  commandWorks,
  ensureDebianPeer,
  percentile,
  summarize,
  timeInProcess,
  timeChildProcess,
  timeChildProcesses,
  measureOpensslProcessStart,
  memorySnapshot,
  memoryDelta,
  formatMs,
  TIMING_HEADERS,
  timingCells,
  markdownTable,
  textTable,
};
