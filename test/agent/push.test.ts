/**
 * The push path: a store that offers `watchDeployments` (here a real file store plus a change
 * feed, change-feed.ts) drives the agent without polling; a resync after every reconnection makes
 * up for notifications lost while disconnected; and a store that stops answering is retried,
 * logged once, and followed again once it answers. The agent runs in this process (its API), with
 * a resync timer of an hour, so only the feed can make it act.
 *
 * The conformance suite runs against the wrapper too, so its watchDeployments case is known to
 * hold before a database driver claims it.
 */
import { promises as fs } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startAgent, type FollowingAgent } from "../../provider/agent";
import { createFileStore } from "../../provider/store/drivers/file";
import { temporaryDirectory } from "../support/certificates";
import { describeStoreConformance } from "../store/conformance";
import { actor, agentFixture, expectWholeVersion, linkedVersion, reportOnceSo, waitFor } from "./agent-support";
import { withChangeFeed } from "./change-feed";

const HOUR_MS = 3_600_000;

let running: FollowingAgent | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function feedFixture(name: string) {
  const fixture = await agentFixture(name, 4);
  const feed = withChangeFeed(fixture.store);
  const lines: string[] = [];
  await fixture.deploy(1);
  running = await startAgent({
    store: feed.store,
    environment: "production",
    directory: fixture.directory,
    agentId: "edge-push",
    resyncIntervalMs: HOUR_MS,
    pollIntervalMs: 50,
    log: (line) => lines.push(line),
  });
  await waitFor("version 1 installed", () => (linkedVersion(fixture.directory) === 1 ? true : undefined));
  await running.whenIdle();
  return { fixture, feed, lines, agent: running, fingerprints: fixture.materials.map((material) => material.facts.fingerprintSha256) };
}

describe("an agent on a store with a change feed", () => {
  it("installs a deploy it is told about, reading the deployments once per notification and never polling", async () => {
    const { fixture, feed, lines, agent, fingerprints } = await feedFixture("push");
    expect(lines.join("\n")).toMatch(/following changes file store .* pushes/);
    const readsBefore = feed.calls.get("listDeployments") ?? 0;
    await feed.store.deploy("api", "production", 2, actor);
    await waitFor("version 2 installed", () => (linkedVersion(fixture.directory) === 2 ? true : undefined));
    await agent.whenIdle();
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the notification")).toBe(2);
    expect((feed.calls.get("listDeployments") ?? 0) - readsBefore, "one pass, no polls").toBe(1);
  });

  it("makes up for notifications lost while disconnected with the resync after reconnecting", async () => {
    const { fixture, feed, lines, agent, fingerprints } = await feedFixture("resync");
    feed.disconnect();
    await feed.store.deploy("api", "production", 2, actor);
    await feed.store.deploy("api", "production", 3, actor);
    await agent.whenIdle();
    expect(linkedVersion(fixture.directory), "no notification reached the agent").toBe(1);
    feed.reconnect();
    await waitFor("version 3 installed after the resync", () => (linkedVersion(fixture.directory) === 3 ? true : undefined));
    await agent.whenIdle();
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the resync")).toBe(3);
    expect(lines.join("\n")).toMatch(/install api v3 \(was v1\)/);
    expect(lines.join("\n")).toMatch(/the change feed of file store .*: the listening connection was lost/);
  });

  it("keeps running while the store does not answer, logs it once, and follows again when it answers", async () => {
    const { fixture, feed, lines, agent, fingerprints } = await feedFixture("outage");
    feed.failing = true;
    // Deployed behind the agent's back while its store is unreachable, then the feed reconnects.
    await fixture.store.deploy("api", "production", 4, actor);
    feed.reconnect();
    await waitFor("the failure logged", () => (lines.some((line) => line.includes("ECONNREFUSED")) ? true : undefined));
    const retriesBefore = feed.calls.get("identity") ?? 0;
    await waitFor("two more attempts", () => ((feed.calls.get("identity") ?? 0) >= retriesBefore + 2 ? true : undefined));
    expect(linkedVersion(fixture.directory), "nothing removed or changed while the store fails").toBe(1);
    feed.failing = false;
    await waitFor("version 4 installed once the store answers", () => (linkedVersion(fixture.directory) === 4 ? true : undefined));
    await reportOnceSo(fixture.store, "edge-push", "serves version 4", (report) => report.version === 4);
    await agent.whenIdle();
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the outage")).toBe(4);
    expect(lines.filter((line) => line.includes("ECONNREFUSED")), "one line for the outage, not one per attempt").toHaveLength(1);
    expect(lines.join("\n")).toMatch(/the store answers again/);
  });
});

describeStoreConformance(
  "file store with a change feed (test wrapper)",
  async () => {
    const root = temporaryDirectory("feed-store");
    return {
      store: withChangeFeed(createFileStore({ root })).store,
      reopen: () => withChangeFeed(createFileStore({ root })).store,
      cleanup: () => fs.rm(root, { recursive: true, force: true }),
    };
  },
  { watchesDeployments: true },
);
