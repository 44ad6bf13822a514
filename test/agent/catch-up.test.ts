/**
 * An agent that was not running while deployments happened catches up when it runs again: with
 * one install of the version deployed now (none of the ones in between) and one reload. On the
 * file store it finds them by its first pass; on PostgreSQL too, the notifications of the
 * deployments having reached no one.
 *
 * Reloads are counted by a reload command that appends a line to a file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectWholeVersion, linkedVersion, reportOnceSo, spawnAgent, type StoreFixture } from "./agent-support";
import { AGENT_STORE_DRIVERS, fixtureOn, stopAgentDatabase } from "./postgres-agent-support";

function countingReload(fixture: StoreFixture): { command: string; count: () => number } {
  const file = path.join(fixture.workspace, "reloads");
  writeFileSync(file, "");
  return {
    command: JSON.stringify(["/bin/sh", "-c", `echo reload >> '${file}'`]),
    count: () => readFileSync(file, "utf8").split("\n").filter(Boolean).length,
  };
}

const agentArgs = (fixture: StoreFixture, reload: string, agentId: string) => ["--store", fixture.location, "--environment", "production", "--directory", fixture.directory, "--reload", reload, "--agent-id", agentId, "--poll-interval", "50ms"];

afterAll(async () => stopAgentDatabase());

describe.each(AGENT_STORE_DRIVERS)("an agent stopped during 3 deployments (%s store)", (driver) => {
  it("catches up when started again: one install of the version deployed now, one reload", async () => {
    const fixture = await fixtureOn(driver, "catch-up", 4);
    const fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
    const reloads = countingReload(fixture);
    await fixture.deploy(1);
    const first = spawnAgent(agentArgs(fixture, reloads.command, "edge-1"), fixture.env);
    await first.waitForLog(/reload for api v1/);
    expect(await first.stop()).toBe(0);
    expect(reloads.count()).toBe(1);

    for (const version of [2, 3, 4]) await fixture.deploy(version);
    expect(linkedVersion(fixture.directory), "nothing changes while the agent is stopped").toBe(1);

    const second = spawnAgent(agentArgs(fixture, reloads.command, "edge-1"), fixture.env);
    try {
      await second.waitForLog(/reload for api v4/);
      expect(expectWholeVersion(fixture.directory, fingerprints, "after catching up")).toBe(4);
      await reportOnceSo(fixture.store, "edge-1", "serves version 4", (report) => report.version === 4 && report.lastError === undefined);
      expect(second.log()).toMatch(/install api v4 \(was v1\)/);
      expect(second.log()).not.toMatch(/install api v[23]/);
      expect(reloads.count(), "one reload to start with, one to catch up").toBe(2);
    } finally {
      await second.stop();
    }
  });
});
