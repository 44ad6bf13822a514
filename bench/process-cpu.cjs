/**
 * A command's CPU time split by the processes it starts, read from /proc while it runs: for
 * `pulumi up`, how much went to the engine (the `pulumi` process itself, which rewrites the
 * checkpoint after every step), the program's Node process, the dynamic provider and the
 * language host. A ratio of wall times says how much slower certstage is than its floor; this
 * says whose work the difference is.
 *
 * Every process under the command is sampled every SAMPLE_MS (utime + stime of /proc/<pid>/stat);
 * a process's figure is its last sample, so one that exits between samples loses at most that
 * long. Linux reports these in USER_HZ ticks, which is 100 a second on every architecture.
 */
"use strict";

const fs = require("node:fs");
const { spawn } = require("node:child_process");

const SAMPLE_MS = 100;
const TICKS_PER_SECOND = 100;

/** What a process under `pulumi` is, from its command line. */
function kindOf(pid, rootPid, commandLine) {
  if (pid === rootPid) return "engine";
  if (commandLine.includes("dynamic-provider")) return "provider";
  if (commandLine.includes("--monitor")) return "program";
  if (commandLine.includes("pulumi-language-nodejs")) return "languageHost";
  return "other";
}

/** pid -> { ppid, cpuSeconds } for every process now. */
function processTable() {
  const table = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name (field 2) is in parentheses and may hold spaces: fields count from after it.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(entry), { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // Gone since the listing.
    }
  }
  return table;
}

/**
 * Runs `command` as spawnSync would (stdout gathered, stderr gathered) and resolves to its wall
 * time, stdout, stderr, exit status and CPU seconds by kind of process.
 */
function runSampled(command, args, options) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const seen = new Map(); // pid -> { kind, cpuSeconds }
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    const sample = () => {
      const table = processTable();
      for (const [pid, { ppid, cpuSeconds }] of table) {
        // Under the command: its own pid, or a parent chain that reaches it.
        let ancestor = pid;
        for (let depth = 0; ancestor !== child.pid && ancestor > 1 && depth < 32; depth += 1) ancestor = table.get(ancestor)?.ppid ?? 0;
        if (ancestor !== child.pid) continue;
        const known = seen.get(pid);
        if (known !== undefined) {
          known.cpuSeconds = cpuSeconds;
          continue;
        }
        let commandLine = "";
        try {
          commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
          continue;
        }
        seen.set(pid, { kind: kindOf(pid, child.pid, commandLine), cpuSeconds });
      }
    };
    const timer = setInterval(sample, SAMPLE_MS);
    child.on("error", (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.on("close", (status) => {
      clearInterval(timer);
      const cpu = { engine: 0, program: 0, provider: 0, languageHost: 0, other: 0 };
      for (const { kind, cpuSeconds } of seen.values()) cpu[kind] += cpuSeconds;
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout, stderr, status, cpu });
    });
  });
}

module.exports = { runSampled };
