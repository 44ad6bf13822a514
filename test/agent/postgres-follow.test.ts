/**
 * The real `certstage agent` following a PostgreSQL store through LISTEN/NOTIFY into a real nginx,
 * observed from outside: the leaf nginx serves (a TLS handshake), the files on disk, the agent's
 * report as `certstage agents --json` shows it, and the agent's log.
 *
 * The agent's full resync runs once an hour and it does not poll (the store pushes), so once its
 * start-up passes are done, only a notification can make it run a pass:
 *
 * - v2 is deployed after the agent logged that it follows the store's pushes and reported v1:
 *   every start-up request (the first pass, the resync of the watch's connection) was made by
 *   then, and the scheduler merges every request into one pending pass, so the pass that installs
 *   v2 leaves none of them behind;
 * - v3 is deployed after v2 is served: nothing but its notification can start a pass that installs it.
 *
 * The latency from each deploy's commit (deploy() returning) to nginx serving it is reported, not
 * asserted. v3's includes the scheduler's spacing: no pass starts sooner than 2 s after one that
 * reloaded (pass-scheduler.ts), and v2's reload has just ended.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { expectWholeVersion, reportOnceSo } from "./agent-support";
import { agentListings, agentRowsText, type FollowingAgent, type PostgresAgentFixture, postgresAgentFixture, startFollowingAgent, stopAgentDatabase } from "./postgres-agent-support";

let fixture: PostgresAgentFixture;
let following: FollowingAgent;

/** Deploys `version` and resolves with the milliseconds from its commit until nginx served it. */
async function deployAndTimeUntilServed(version: number): Promise<number> {
  await fixture.deploy(version);
  const committed = performance.now();
  await following.servedOnceIs(version);
  return performance.now() - committed;
}

beforeAll(async () => {
  fixture = await postgresAgentFixture("follow", 3);
  following = await startFollowingAgent(fixture, "edge-pg");
});

afterAll(async () => {
  await following?.stop();
  await stopAgentDatabase();
});

describe("certstage agent following a PostgreSQL store by notification", () => {
  it("installs and serves each deploy made through the Store API with no timer that could have fired", async () => {
    expect(await following.served()).toBe(fixture.fingerprintOf(1));
    const toV2 = await deployAndTimeUntilServed(2);
    const toV3 = await deployAndTimeUntilServed(3);
    console.log(`deploy commit to nginx serving it, by notification: v2 ${toV2.toFixed(0)} ms; v3 ${toV3.toFixed(0)} ms (deployed at once after v2 was served: within the 2 s spacing after a reload)`);

    expect(expectWholeVersion(fixture.directory, fixture.materials.map((material) => material.facts.fingerprintSha256), "after the deploy of v3")).toBe(3);
    expect(following.agent.log()).toMatch(/install api v2 \(was v1\)/);
    expect(following.agent.log()).toMatch(/install api v3 \(was v2\)/);
    expect(following.agent.log(), "no pass failed (a failed pass is retried by a timer)").not.toMatch(/failed|retrying/);
    await reportOnceSo(fixture.store, "edge-pg", "serves version 3", (report) => report.version === 3 && report.servedFingerprintSha256 === fixture.fingerprintOf(3) && report.lastError === undefined);
    const { code, listings } = await agentListings(fixture);
    expect(code).toBe(0);
    expect(listings).toEqual([expect.objectContaining({ agentId: "edge-pg", environment: "production", certificate: "api", version: 3, deployedVersion: 3, servedFingerprintSha256: fixture.fingerprintOf(3), lagging: false })]);
  });

  it("stops with 0 on SIGTERM; neither its log nor the rows it wrote hold key material", async () => {
    expect(await following.agent.stop()).toBe(0);
    expect(following.agent.log()).toMatch(/stopped \(SIGTERM\)/);
    const keys = fixture.materials.map((material) => material.privateKeyPem!);
    expectNoPrivateKeyMaterial(following.agent.log(), keys, "the agent's log");
    const rows = await agentRowsText(fixture);
    expect(rows).toContain("edge-pg");
    expectNoPrivateKeyMaterial(rows, keys, "the agent's report rows");
  });
});
