/**
 * The walk-through's last step, for real: Prometheus (Debian's), started here with the shipped
 * rules and a one-second scrape and evaluation interval, scrapes `certstage agent
 * --metrics-listen`, and CertstageCertificateExpiring fires for the certificate with less than a
 * third of its lifetime left, and not for the one with nearly all of it ahead. The test polls
 * Prometheus's /api/v1/alerts until the state is reached; the bound is only a hang guard.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../support/certificates";
import { withParentDeathSignal } from "../support/processes";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { waitFor } from "../agent/agent-support";
import { freePort, monitoringStore, type MonitoringStore } from "./support";

const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const RULES = path.join(REPO_ROOT, "examples", "gitops", "alerts", "certstage.rules.yml");
/** How long a wait may take before the test calls it a hang: never a speed requirement. */
const HANG_BOUND_MS = 90_000;

interface Started {
  readonly child: ChildProcess;
  log(): string;
}

function start(program: string, args: string[]): Started {
  const [command, commandArgs] = withParentDeathSignal(program, args);
  const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
  let log = "";
  child.stdout!.on("data", (chunk) => (log += String(chunk)));
  child.stderr!.on("data", (chunk) => (log += String(chunk)));
  return { child, log: () => log };
}

async function stop(started: Started | undefined): Promise<void> {
  if (!started || started.child.exitCode !== null || started.child.signalCode !== null) return;
  const exited = new Promise((resolve) => started.child.once("exit", resolve));
  started.child.kill("SIGTERM");
  await exited;
}

interface Alert {
  readonly labels: Record<string, string>;
  readonly state: "pending" | "firing";
  readonly value: string;
}

let fixture: MonitoringStore;
let agent: Started | undefined;
let prometheus: Started | undefined;
let prometheusUrl: string;
let metricsUrl: string;
const logs = () => `agent log:\n${agent?.log() ?? ""}\nprometheus log (tail):\n${(prometheus?.log() ?? "").split("\n").slice(-30).join("\n")}`;

async function api<T>(pathAndQuery: string): Promise<T> {
  const response = await fetch(`${prometheusUrl}${pathAndQuery}`);
  const body = (await response.json()) as { status: string; data: T };
  if (body.status !== "success") throw new Error(`${pathAndQuery}: ${JSON.stringify(body)}`);
  return body.data;
}

beforeAll(async () => {
  const { prometheus: binary } = inject("prometheusTools");
  fixture = await monitoringStore("alerts");
  agent = start(process.execPath, [CLI, "agent", "--store", fixture.storeRoot, "--environment", "production", "--directory", path.join(fixture.workspace, "edge"), "--agent-id", "edge-1", "--metrics-listen", "127.0.0.1:0"]);
  metricsUrl = await waitFor("the agent's metrics address", async () => /serving metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(agent!.log())?.[1], HANG_BOUND_MS, logs);
  const target = new URL(metricsUrl).host;
  const config = path.join(fixture.workspace, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "rule_files:",
      `  - ${JSON.stringify(RULES)}`,
      "scrape_configs:",
      "  - job_name: certstage-agent",
      "    static_configs:",
      `      - targets: [${JSON.stringify(target)}]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = start(binary, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(fixture.workspace, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`]);
  await waitFor("Prometheus ready", async () => ((await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined), HANG_BOUND_MS, logs);
});

afterAll(async () => {
  await stop(prometheus);
  await stop(agent);
});

describe("a real Prometheus scraping certstage agent --metrics-listen with the shipped rules", () => {
  it("fires CertstageCertificateExpiring for the certificate inside its window, and not for the one outside", async () => {
    const firing = await waitFor(
      "CertstageCertificateExpiring firing for old",
      async () => (await api<{ alerts: Alert[] }>("/api/v1/alerts")).alerts.find((alert) => alert.labels.alertname === "CertstageCertificateExpiring" && alert.labels.certificate === "old" && alert.state === "firing"),
      HANG_BOUND_MS,
      logs,
    );
    expect(firing.labels).toMatchObject({ environment: "production", version: "1", severity: "warning", job: "certstage-agent" });
    // About 10 days left, as seconds: the value the summary humanizes.
    expect(Number(firing.value)).toBeGreaterThan(9 * 86_400);
    expect(Number(firing.value)).toBeLessThanOrEqual(10 * 86_400);

    // The evaluation that fired it read fresh's series from the same scrape: it was there, and no rule fires for it.
    const fresh = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent('certstage_certificate_not_after_timestamp_seconds{certificate="fresh"}')}`);
    expect(fresh.result.map((series) => series.value[1])).toEqual([String(Date.parse(fixture.notAfter.fresh) / 1000)]);
    const alerts = (await api<{ alerts: Alert[] }>("/api/v1/alerts")).alerts;
    expect(alerts.filter((alert) => alert.labels.certificate === "fresh")).toEqual([]);
    // The agent just looked, and serves each its latest healthy version: neither of those rules fires.
    expect(alerts.map((alert) => alert.labels.alertname).sort()).toEqual(["CertstageCertificateExpiring"]);
  });

  it("scrapes no private key: what the agent serves holds none", async () => {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expectNoPrivateKeyMaterial(await response.text(), fixture.privateKeys, "the agent's /metrics");
  });
});
