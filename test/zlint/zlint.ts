/**
 * Running zlint (scripts/zlint.sh builds it) over certificates: one process for many files, one
 * JSON object per file in order, each lint's result. A lint "fires" when it says warn, error or
 * fatal; pass, NA (does not apply), NE (not yet effective), info and notice do not.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type LintResults = Record<string, { readonly result: string }>;

const FIRING = new Set(["warn", "error", "fatal"]);

export const firedLints = (results: LintResults) => Object.keys(results).filter((lint) => FIRING.has(results[lint].result)).sort();

/** What zlint said of one certificate: its lint results, or why it could not read it. */
export type ZlintVerdict = { readonly results: LintResults } | { readonly unreadable: string };

/** zlint over each PEM, one process each, every lint. */
export function runZlint(binDirectory: string, pems: readonly string[]): ZlintVerdict[] {
  const work = mkdtempSync(path.join(os.tmpdir(), "certstage-zlint-"));
  try {
    return pems.map((pem, index) => {
      const file = path.join(work, `${index}.pem`);
      writeFileSync(file, pem);
      const run = spawnSync(path.join(binDirectory, "zlint"), [file], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      if (run.status !== 0) return { unreadable: (run.stderr.match(/msg="([^"]*)"/)?.[1] ?? run.stderr).slice(0, 300) };
      return { results: JSON.parse(run.stdout) as LintResults };
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every lint zlint knows, with its source (CABF_BR, RFC5280, Mozilla, …). */
export function lintSources(binDirectory: string): Map<string, string> {
  const output = execFileSync(path.join(binDirectory, "zlint"), ["-list-lints-json"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return new Map(output.trim().split("\n").map((line) => JSON.parse(line) as { name: string; source: string }).map((lint) => [lint.name, lint.source]));
}
