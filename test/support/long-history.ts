/**
 * A long history and `certstage history` over it, for the tests that prove history is streamed:
 * the command runs as a child process (its own memory), preloaded with peak-memory.cjs, and its
 * stdout is read as it comes.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, temporaryDirectory } from "./certificates";

const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const PEAK_MEMORY = path.join(REPO_ROOT, "test", "support", "peak-memory.cjs");

/** What line `index` (from 1) of a generated history says in its detail, so order can be checked. */
export const lineMark = (index: number) => `#${index}`;

/** The time of generated line `index`: one a second from 2026-01-01, in the store's ISO form. */
export const lineTime = (index: number) => new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString();

/** `count` history lines of certificate `api` in production, as the file store writes them (one JSON object a line). */
export function historyLines(count: number): string {
  const lines: string[] = [];
  for (let index = 1; index <= count; index += 1) {
    lines.push(JSON.stringify({ at: lineTime(index), actor: "bulk", action: "deploy", certificate: "api", environment: "production", fromVersion: 1, toVersion: 1, result: "ok", detail: lineMark(index) }));
  }
  return `${lines.join("\n")}\n`;
}

export interface HistoryRun {
  readonly lines: string[];
  /** The child's peak resident set size, in bytes. */
  readonly peakRssBytes: number;
  readonly outputBytes: number;
}

/** `certstage history <args>` in a child process; resolves with its output lines and peak memory. */
export function runHistory(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<HistoryRun> {
  const peakFile = path.join(temporaryDirectory("history-peak"), "rss");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", PEAK_MEMORY, CLI, "history", ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, CERTSTAGE_TEST_PEAK_RSS_FILE: peakFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`certstage history exited ${code}: ${stderr}`));
      const output = Buffer.concat(chunks);
      resolve({ lines: output.toString("utf8").trimEnd().split("\n"), peakRssBytes: Number(readFileSync(peakFile, "utf8")) * 1024, outputBytes: output.length });
    });
  });
}

/** The detail marks of the output lines that carry one, in output order. */
export function marksOf(lines: readonly string[]): string[] {
  return lines.map((line) => /  (#\d+)$/.exec(line)?.[1]).filter((mark): mark is string => mark !== undefined);
}
