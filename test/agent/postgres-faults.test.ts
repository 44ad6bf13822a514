/**
 * The real `certstage agent` following a PostgreSQL store through faults of the database, each
 * while it runs, with nginx serving its files; it must never exit, and must converge:
 *
 * - pg_terminate_backend of its listening connection: it connects and listens again, resyncs in
 *   full, and follows the next deploy; and a deploy made while it cannot connect again (its
 *   notification reaches no one) is installed by the resync of the reconnection;
 * - a restart of the cluster (fast shutdown: every connection is dropped, the server refuses
 *   connections while it is down): a version deployed before it can connect again, and one
 *   deployed after, are both installed and served; and after a second restart, with nothing
 *   holding it off, a version deployed at once.
 *
 * Its full resync runs once an hour and it does not poll, so only the reconnection's resync can
 * explain a version deployed while it was disconnected being installed. To deploy while it is
 * surely disconnected, the test holds it off: `ALTER ROLE … NOLOGIN` on the agent's login refuses
 * its reconnections (the test's runner login is another role) until LOGIN gives them back; the
 * agent's log shows it was refused.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { expectWholeVersion, linkedVersion, reportOnceSo, waitFor } from "./agent-support";
import { AGENT_LISTENER, agentListings, type FollowingAgent, type PostgresAgentFixture, postgresAgentFixture, startFollowingAgent, stopAgentDatabase } from "./postgres-agent-support";

let following: FollowingAgent | undefined;

afterEach(async () => {
  await following?.stop();
  following = undefined;
});
afterAll(async () => stopAgentDatabase());

const fingerprintsOf = (fixture: PostgresAgentFixture) => fixture.materials.map((material) => material.facts.fingerprintSha256);

/** What the agent logs once its listener has run LISTEN: the first time, and after each reconnection. */
const LISTENED = /following changes postgres store .* pushes|the change feed of postgres store .* works again/;

/**
 * The pid of the agent's listening connection to the fixture's database (not `other`), once the
 * agent has said `times` times that it listens. (The connection's last query tells nothing: the
 * agent's reads and reports run on that same connection.)
 */
async function listenerOnceListening(fixture: PostgresAgentFixture, agent: FollowingAgent["agent"], times: number, other?: number): Promise<number> {
  return waitFor(`the agent's listener${other ? ` (not backend ${other})` : ""} has run LISTEN`, async () => {
    if (count(agent.log(), LISTENED) < times) return undefined;
    const { rows } = await fixture.world.cluster.sql<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = $2", [AGENT_LISTENER, fixture.database]);
    return rows.length === 1 && rows[0].pid !== other ? rows[0].pid : undefined;
  });
}

/** Refuses new connections of the agent's login while `during` runs. */
async function withAgentLoginRefused<T>(fixture: PostgresAgentFixture, during: () => Promise<T>): Promise<T> {
  const role = fixture.env.PGUSER!;
  await fixture.world.cluster.sql(`ALTER ROLE "${role}" NOLOGIN`);
  try {
    return await during();
  } finally {
    await fixture.world.cluster.sql(`ALTER ROLE "${role}" LOGIN`);
  }
}

/** What it logs about failures (the paths where a key would leak) holds none. */
function expectNoKeyInLog(fixture: PostgresAgentFixture, log: string): void {
  expectNoPrivateKeyMaterial(log, fixture.materials.map((material) => material.privateKeyPem!), "the agent's log");
}

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
const FEED_BACK = /the change feed of postgres store .* works again/;

/** The agent still runs, serves `version` without error, and `certstage agents` shows it current. */
async function expectConverged(fixture: PostgresAgentFixture, agent: FollowingAgent, agentId: string, version: number): Promise<void> {
  await agent.servedOnceIs(version);
  expect(expectWholeVersion(fixture.directory, fingerprintsOf(fixture), `after converging on v${version}`)).toBe(version);
  await reportOnceSo(fixture.store, agentId, `serves version ${version} without error`, (report) => report.version === version && report.servedFingerprintSha256 === fixture.fingerprintOf(version) && report.lastError === undefined);
  const { code, listings } = await agentListings(fixture);
  expect(code).toBe(0);
  expect(listings).toEqual([expect.objectContaining({ agentId, version, deployedVersion: version, lagging: false })]);
  expect(agent.agent.child.exitCode, "the agent still runs").toBeNull();
}

describe("certstage agent on PostgreSQL faults", () => {
  it("pg_terminate_backend of its listener: it listens again, resyncs in full and converges, and never exits", async () => {
    const fixture = await postgresAgentFixture("terminate", 4);
    following = await startFollowingAgent(fixture, "edge-terminate");
    const { agent } = following;
    const first = await listenerOnceListening(fixture, agent, 1);

    // Terminated, it connects and listens again on its own; the next deploy is followed.
    expect(await fixture.world.cluster.terminateBackends({ applicationName: AGENT_LISTENER })).toBe(1);
    const second = await listenerOnceListening(fixture, agent, 2, first);
    await agent.waitForLog(/the change feed of postgres store .* could not be reached to follow production \(57P01\).*; retrying/, "the agent says its listener was lost");
    await agent.waitForLog(FEED_BACK, "the agent says its change feed works again");
    await fixture.deploy(2);
    await expectConverged(fixture, following, "edge-terminate", 2);

    // Terminated and held off: v3 is deployed while it cannot listen, and its notification is lost.
    await withAgentLoginRefused(fixture, async () => {
      expect(await fixture.world.cluster.terminateBackends({ applicationName: AGENT_LISTENER })).toBe(1);
      await fixture.deploy(3);
      await agent.waitForLog(/the change feed of postgres store .*refused the login of .*; retrying/, "the agent's reconnection is refused");
      expect(linkedVersion(fixture.directory), "nothing reached the agent while it could not listen").toBe(2);
    });
    await listenerOnceListening(fixture, agent, 3, second);
    await expectConverged(fixture, following, "edge-terminate", 3);
    expect(agent.log()).toMatch(/install api v3 \(was v2\)/);
    expect(count(agent.log(), FEED_BACK), "the feed came back once per termination").toBe(2);
    // After: followed by notification again.
    await fixture.deploy(4);
    await expectConverged(fixture, following, "edge-terminate", 4);
    expect(await agent.stop()).toBe(0);
    expectNoKeyInLog(fixture, agent.log());
  });

  it("pg_ctl restart while it runs: it keeps running, reconnects, and converges on versions deployed while it was down and after", async () => {
    const fixture = await postgresAgentFixture("restart", 4);
    following = await startFollowingAgent(fixture, "edge-restart");
    const { agent } = following;
    const postmaster = fixture.world.cluster.postmasterPid();

    await withAgentLoginRefused(fixture, async () => {
      await fixture.world.cluster.restart();
      expect(fixture.world.cluster.postmasterPid(), "a new postmaster").not.toBe(postmaster);
      // The test's runner login reconnects at once; the agent's cannot until LOGIN is given back.
      await fixture.deploy(2);
      await agent.waitForLog(/the change feed of postgres store .*refused the login of .*; retrying/, "the agent's reconnection is refused");
      expect(linkedVersion(fixture.directory), "nothing reached the agent while the database was away").toBe(1);
    });
    await expectConverged(fixture, following, "edge-restart", 2);
    await fixture.deploy(3);
    await expectConverged(fixture, following, "edge-restart", 3);

    // Not held off: it comes back on its own, whenever its reconnection backs off to.
    await fixture.world.cluster.restart();
    await fixture.deploy(4);
    await expectConverged(fixture, following, "edge-restart", 4);
    expect(count(agent.log(), FEED_BACK), "the feed came back once per restart").toBe(2);
    expect(await agent.stop()).toBe(0);
    expectNoKeyInLog(fixture, agent.log());
  });
});
