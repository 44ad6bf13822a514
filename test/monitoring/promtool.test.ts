/**
 * The shipped alert rules and the metrics as Prometheus's own tool reads them: the rules load and
 * pass their unit tests (examples/gitops/alerts/certstage.rules.test.yml), and what `certstage
 * metrics` prints passes `promtool check metrics`, the exposition linter.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { monitoringStore, type MonitoringStore } from "./support";

const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const ALERTS = path.join(REPO_ROOT, "examples", "gitops", "alerts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(program: string, args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(program, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(options.input ?? "");
  });
}

let fixture: MonitoringStore;
beforeAll(async () => {
  fixture = await monitoringStore("promtool");
});

describe("the alert rules and the metrics under promtool", () => {
  it("the rules load, and pass their unit tests", async () => {
    const { promtool } = inject("prometheusTools");
    const check = await run(promtool, ["check", "rules", "certstage.rules.yml"], { cwd: ALERTS });
    expect(check.code, `${check.stdout}${check.stderr}`).toBe(0);
    expect(check.stdout).toContain("SUCCESS: 4 rules found");
    const tests = await run(promtool, ["test", "rules", "certstage.rules.test.yml"], { cwd: ALERTS });
    expect(tests.code, `${tests.stdout}${tests.stderr}`).toBe(0);
    expect(tests.stdout).toContain("SUCCESS");
  });

  it("what certstage metrics prints passes promtool check metrics", async () => {
    const { promtool } = inject("prometheusTools");
    const metrics = await run(process.execPath, [CLI, "metrics", "--store", fixture.storeRoot]);
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/^certstage_certificate_not_after_timestamp_seconds\{certificate="old",[^}]*\} \d+$/m);
    const lint = await run(promtool, ["check", "metrics"], { input: metrics.stdout });
    expect(lint, `${lint.stdout}${lint.stderr}`).toEqual({ code: 0, stdout: "", stderr: "" });
    expectNoPrivateKeyMaterial(metrics.stdout, fixture.privateKeys, "certstage metrics");
  });
});
