/**
 * The report's content, decided without a file or a browser: which cell shows which version,
 * which swaps and undeploys wait, one timeline bar per served version, the urgency bands, and the order.
 */
import { describe, expect, it } from "vitest";
import type { CertificateRecord, DeploymentRecord, DeploymentTask, VersionSummary } from "../../../provider/store";
import { buildReportModel, orderEnvironments, type ReportInputs } from "../../../provider/report/model";
import { urgencyOf } from "../../../provider/report/urgency";

const DAY = 86_400_000;
const NOW = new Date("2027-03-01T00:00:00.000Z");
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

function certificate(name: string, lastVersion: number, displayName = name): CertificateRecord {
  return { name, displayName, type: "server", owner: "team-a", shareWith: [], description: "", lastVersion, createdAt: at(-100), updatedAt: at(-100) };
}

/** A version issued `age` days ago for `lifetime` days. */
function version(certificateName: string, number: number, age: number, lifetime: number): VersionSummary {
  return {
    certificate: certificateName,
    version: number,
    method: "upload",
    createdAt: at(-age),
    createdBy: "alice",
    notBefore: at(-age),
    notAfter: at(lifetime - age),
    subject: `CN=${certificateName}.example.test`,
    sans: [`${certificateName}.example.test`],
    serial: `0${number}`,
    fingerprintSha256: "AA:BB",
  } as VersionSummary;
}

const deployment = (certificateName: string, environment: string, number: number): DeploymentRecord => ({ certificate: certificateName, environment, version: number, deployedAt: at(-10) });

function task(id: string, certificateName: string, environment: string, number: number, state: DeploymentTask["state"], notBefore?: string): DeploymentTask {
  return { id, certificate: certificateName, environment, version: number, fromVersion: 1, ...(notBefore ? { notBefore } : {}), createdAt: at(-1), createdBy: "bob", state, environments: [] };
}

function undeployTask(id: string, certificateName: string, environment: string, state: DeploymentTask["state"], notBefore?: string): DeploymentTask {
  return { id, certificate: certificateName, environment, action: "undeploy", fromVersion: 1, ...(notBefore ? { notBefore } : {}), createdAt: at(-2), createdBy: "carol", state, environments: [] };
}

const inputs: ReportInputs = {
  storeDescription: "file store /srv/certs",
  certificates: [certificate("api", 2, "Public API"), certificate("web", 1), certificate("idle", 1), certificate("db", 1)],
  versions: [version("api", 1, 80, 90), version("api", 2, 5, 90), version("web", 1, 10, 398), version("idle", 1, 1, 90), version("db", 1, 100, 90)],
  deployments: [deployment("api", "production", 1), deployment("api", "staging", 2), deployment("web", "production", 1), deployment("web", "staging", 1), deployment("web", "canary", 1), deployment("db", "staging", 1)],
  tasks: [
    task("t-done", "api", "staging", 2, "done"),
    task("t-later", "api", "production", 2, "pending", at(3)),
    task("t-next", "web", "qa", 1, "pending"),
    task("t-cancelled", "web", "production", 1, "cancelled"),
    undeployTask("u-canary", "web", "canary", "pending", at(5)),
    undeployTask("u-running", "db", "staging", "running"),
    undeployTask("u-done", "api", "staging", "done"),
    undeployTask("u-gone", "idle", "qa", "pending", at(9)),
  ],
};

describe("buildReportModel", () => {
  const model = buildReportModel(inputs, NOW);

  it("puts the served version of each certificate in its environment's column", () => {
    expect(model.environments).toEqual(["staging", "production", "canary", "qa"]);
    const served = Object.fromEntries(model.certificates.map((entry) => [entry.name, Object.fromEntries(Object.entries(entry.cells).map(([environment, cell]) => [environment, cell.served?.version ?? null]))]));
    expect(served).toEqual({ api: { production: 1, staging: 2 }, web: { production: 1, staging: 1, canary: 1, qa: null }, idle: { qa: null }, db: { staging: 1 } });
  });

  it("orders certificates by their soonest served expiry, those serving nothing last", () => {
    // db expired 10 days ago, api v1 has 10 days left, web 388; idle serves nothing.
    expect(model.certificates.map((entry) => entry.name)).toEqual(["db", "api", "web", "idle"]);
  });

  it("lists only pending and running swaps, the next to run first, and shows each in its cell", () => {
    expect(model.pendingSwaps.map((swap) => swap.task)).toEqual(["t-next", "t-later"]);
    const api = model.certificates.find((entry) => entry.name === "api")!;
    expect(api.cells.production.pending).toMatchObject({ task: "t-later", fromVersion: 1, version: 2, notBefore: at(3), createdBy: "bob" });
    expect(api.cells.staging.pending).toBeUndefined();
    const web = model.certificates.find((entry) => entry.name === "web")!;
    expect(web.cells.qa).toEqual({ pending: expect.objectContaining({ task: "t-next", state: "pending" }) });
  });

  it("lists pending and running standby undeploys, the next to run first, with the version each stops serving, in its cell", () => {
    expect(model.pendingSwaps.map((swap) => swap.task)).not.toContain("u-canary");
    expect(model.pendingUndeploys).toEqual([
      { task: "u-running", certificate: "db", environment: "staging", state: "running", servedVersion: 1, createdAt: at(-2), createdBy: "carol" },
      { task: "u-canary", certificate: "web", environment: "canary", state: "pending", servedVersion: 1, notBefore: at(5), createdAt: at(-2), createdBy: "carol" },
      // It serves nothing there any more (undeployed since it was queued): nothing stops being served.
      { task: "u-gone", certificate: "idle", environment: "qa", state: "pending", notBefore: at(9), createdAt: at(-2), createdBy: "carol" },
    ]);
    const web = model.certificates.find((entry) => entry.name === "web")!;
    expect(web.cells.canary).toMatchObject({ served: { version: 1 }, undeploy: { task: "u-canary" } });
    expect(web.cells.canary.pending).toBeUndefined();
    expect(web.cells.production.undeploy).toBeUndefined();
    expect(model.certificates.find((entry) => entry.name === "idle")!.cells).toEqual({ qa: { undeploy: expect.objectContaining({ task: "u-gone" }) } });
    // Still served until the task runs: the bar stays.
    expect(model.timeline.bars.find((bar) => bar.certificate === "web")?.environments).toContain("canary");
    expect(buildReportModel(inputs, NOW, "canary").pendingUndeploys.map((undeploy) => undeploy.task)).toEqual(["u-canary"]);
  });

  it("draws one bar per served version, naming every environment that serves it", () => {
    expect(model.timeline.bars.map((bar) => `${bar.certificate} v${bar.version} ${bar.environments.join(",")} ${bar.urgency} ${bar.daysLeft}`)).toEqual([
      "db v1 staging expired -10",
      "api v1 production warning 10",
      "api v2 staging ok 85",
      "web v1 staging,production,canary ok 388",
    ]);
    expect(model.timeline.bars[1].displayName).toBe("Public API");
    expect(model.counts).toEqual({ expired: 1, critical: 0, warning: 1, ok: 2 });
  });

  it("spans the axis from the earliest notBefore to the latest notAfter", () => {
    expect(model.timeline).toMatchObject({ start: at(-100), end: at(388), now: NOW.toISOString() });
  });

  it("keeps to one environment when asked, with its column even where nothing is served", () => {
    const production = buildReportModel(inputs, NOW, "production");
    expect(production.environment).toBe("production");
    expect(production.environments).toEqual(["production"]);
    expect(production.timeline.bars.map((bar) => `${bar.certificate} v${bar.version}`)).toEqual(["api v1", "web v1"]);
    expect(production.pendingSwaps.map((swap) => swap.task)).toEqual(["t-later"]);
    expect(buildReportModel(inputs, NOW, "nowhere").environments).toEqual(["nowhere"]);
  });

  it("gives an empty store an axis around now", () => {
    const empty = buildReportModel({ storeDescription: "file store /x", certificates: [], versions: [], deployments: [], tasks: [] }, NOW);
    expect(empty.timeline).toEqual({ start: at(-15), end: at(15), now: NOW.toISOString(), bars: [] });
    expect(empty.environments).toEqual([]);
  });
});

describe("urgencyOf", () => {
  const cases: Array<[string, number, number, ReturnType<typeof urgencyOf>]> = [
    // [what, lifetime in days, days left, urgency]
    ["a 90-day certificate with 60 days left", 90, 60, "ok"],
    ["a 90-day certificate at 30 days (both edges reached)", 90, 30, "warning"],
    ["a 90-day certificate with 8 days left", 90, 8, "warning"],
    ["a 90-day certificate at 7 days", 90, 7, "critical"],
    ["a 398-day certificate with 31 days left (a third not reached matters not: 30 days rules)", 398, 31, "ok"],
    ["a 398-day certificate with 29 days left", 398, 29, "warning"],
    ["a 47-day certificate with 20 days left (30 days reached, a third not)", 47, 20, "ok"],
    ["a 47-day certificate with 15 days left", 47, 15, "warning"],
    ["a 47-day certificate with 5 days left (7 days reached, a tenth not)", 47, 5, "warning"],
    ["a 47-day certificate with 4 days left", 47, 4, "critical"],
    ["one whose notAfter is now", 90, 0, "expired"],
    ["one expired a day ago", 90, -1, "expired"],
  ];
  it.each(cases)("%s", (_what, lifetime, left, expected) => {
    const notAfter = new Date(NOW.getTime() + left * DAY);
    expect(urgencyOf(new Date(notAfter.getTime() - lifetime * DAY), notAfter, NOW)).toBe(expected);
  });
});

describe("orderEnvironments", () => {
  it("puts the default pipeline first, then the others by name", () => {
    expect(orderEnvironments(new Set(["zeta", "production", "canary", "staging"]))).toEqual(["staging", "production", "canary", "zeta"]);
  });
});
