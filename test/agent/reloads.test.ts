/**
 * What the agent's reloads cost the servers, counted by a reload command that appends a line to
 * a file (and a check command that can be made to fail):
 *
 * - 100 deployments within about a second, seen by an agent that polls the file store every
 *   20 ms, or told by PostgreSQL's 100 notifications (its full resync once an hour), cause at
 *   most 2 reloads, and the last version deployed is the one installed;
 * - resyncs that find nothing changed on disk reload nothing;
 * - a failing configuration check puts the version the servers loaded back;
 * - a failing reload leaves the new files in place and is retried at the next pass.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentFixture, expectWholeVersion, linkedVersion, reportOnceSo, spawnAgent, type StoreFixture, waitFor } from "./agent-support";
import { AGENT_STORE_DRIVERS, fixtureOn, stopAgentDatabase } from "./postgres-agent-support";

interface Counter {
  readonly file: string;
  count(): number;
}

function counter(fixture: StoreFixture, name: string): Counter {
  const file = path.join(fixture.workspace, name);
  writeFileSync(file, "");
  return { file, count: () => readFileSync(file, "utf8").split("\n").filter(Boolean).length };
}

const shell = (script: string) => JSON.stringify(["/bin/sh", "-c", script]);

const baseArgs = (fixture: StoreFixture, agentId: string) => ["--store", fixture.location, "--environment", "production", "--directory", fixture.directory, "--agent-id", agentId];

afterAll(async () => stopAgentDatabase());

describe.each(AGENT_STORE_DRIVERS)("reloads of a burst (%s store)", (driver) => {
  it("100 deployments within a second cause at most 2 reloads, and the last one deployed is installed", async () => {
    const fixture = await fixtureOn(driver, "burst", 3);
    const fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
    const reloads = counter(fixture, "reloads");
    await fixture.deploy(1);
    // On PostgreSQL only the notifications can start a pass: no poll, and no resync before an hour.
    const agent = spawnAgent([...baseArgs(fixture, "edge-burst"), "--reload", shell(`echo reload >> '${reloads.file}'`), "--poll-interval", "20ms", "--resync-interval", "1h"], fixture.env);
    try {
      await agent.waitForLog(/reload for api v1/);
      const before = reloads.count();
      const started = Date.now();
      for (let change = 1; change <= 100; change += 1) await fixture.deploy((change % 3) + 1);
      const ended = Date.now();
      const burstMs = ended - started;
      const last = (100 % 3) + 1;
      // A pass that reports `last` after the burst has installed it; any pass after that finds nothing to change.
      await reportOnceSo(fixture.store, "edge-burst", `serves version ${last} after the burst`, (report) => report.version === last && Date.parse(report.lastSeen) >= ended);
      expect(linkedVersion(fixture.directory)).toBe(last);
      const during = reloads.count() - before;
      console.log(`${driver} store: 100 deployments in ${burstMs} ms: ${during} reload(s); agent log:\n${agent.log()}`);
      expect(during).toBeGreaterThanOrEqual(1);
      expect(during).toBeLessThanOrEqual(2);
      expect(expectWholeVersion(fixture.directory, fingerprints, "after the burst")).toBe(last);
      expect((await fixture.store.readHistory({ environment: "production" })).filter((entry) => entry.action === "deploy" || entry.action === "rollback")).toHaveLength(101);
    } finally {
      await agent.stop();
    }
  });
});

describe("reloads", () => {
  it("resyncs that find the disk as deployed reload nothing", async () => {
    const fixture = await agentFixture("idle", 1);
    const reloads = counter(fixture, "reloads");
    await fixture.deploy(1);
    const agent = spawnAgent([...baseArgs(fixture, "edge-idle"), "--reload", shell(`echo reload >> '${reloads.file}'`), "--resync-interval", "1s"]);
    try {
      await agent.waitForLog(/reload for api v1/);
      // Every pass reports; three new reports are three resyncs.
      const seen: string[] = [];
      await waitFor("three resyncs", async () => {
        const [report] = await fixture.store.listAgentReports({ certificate: "api" });
        if (report && !seen.includes(report.lastSeen)) seen.push(report.lastSeen);
        return seen.length >= 4 ? true : undefined;
      });
      expect(reloads.count()).toBe(1);
    } finally {
      await agent.stop();
    }
  });

  it("a failing configuration check puts back the version the servers loaded, and the report says so", async () => {
    const fixture = await agentFixture("check", 2);
    const fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
    const reloads = counter(fixture, "reloads");
    const broken = path.join(fixture.workspace, "config-broken");
    await fixture.deploy(1);
    const agent = spawnAgent([
      ...baseArgs(fixture, "edge-check"),
      "--check", shell(`if test -f '${broken}'; then echo 'emerg: unexpected end of file' >&2; exit 1; fi`),
      "--reload", shell(`echo reload >> '${reloads.file}'`),
      "--poll-interval", "50ms",
    ]);
    try {
      await agent.waitForLog(/reload for api v1/);
      writeFileSync(broken, "");
      await fixture.deploy(2);
      await agent.waitForLog(/check failed for api v2: .*unexpected end of file.*; put back api v1/);
      expect(expectWholeVersion(fixture.directory, fingerprints, "after the failed check")).toBe(1);
      expect(reloads.count()).toBe(1);
      const report = await reportOnceSo(fixture.store, "edge-check", "says version 2 was put back", (found) => found.lastError?.includes("version 2 put back") === true);
      expect(report.version).toBe(1);
    } finally {
      await agent.stop();
    }
  });

  it("a failing reload leaves the new files and is retried at the next pass", async () => {
    const fixture = await agentFixture("reload", 2);
    const fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
    const reloads = counter(fixture, "reloads");
    const down = path.join(fixture.workspace, "server-down");
    await fixture.deploy(1);
    const agent = spawnAgent([
      ...baseArgs(fixture, "edge-reload"),
      "--reload", shell(`if test -f '${down}'; then echo 'no server to signal' >&2; exit 1; fi; echo reload >> '${reloads.file}'`),
      "--resync-interval", "1s",
      "--poll-interval", "50ms",
    ]);
    try {
      await agent.waitForLog(/reload for api v1/);
      writeFileSync(down, "");
      await fixture.deploy(2);
      await agent.waitForLog(/reload failed for api v2: .*no server to signal/);
      expect(expectWholeVersion(fixture.directory, fingerprints, "after the failed reload")).toBe(2);
      expect(existsSync(path.join(fixture.directory, ".reload-pending")), "a reload is owed").toBe(true);
      await reportOnceSo(fixture.store, "edge-reload", "says the reload failed", (found) => found.lastError?.includes("no server to signal") === true);
      rmSync(down);
      await agent.waitForLog(/reload for a reload owed by an earlier pass/);
      expect(reloads.count()).toBe(2);
      await reportOnceSo(fixture.store, "edge-reload", "serves version 2 without error", (found) => found.version === 2 && found.lastError === undefined);
      expect(existsSync(path.join(fixture.directory, ".reload-pending"))).toBe(false);
    } finally {
      await agent.stop();
    }
  });
});
