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
 * The latency from each deploy's commit (deploy() returning) to nginx serving it is reported, not asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { type NginxServer, tlsHandshake } from "../support/tls-servers";
import { type AgentProcess, certstage, expectWholeVersion, nginxCommands, reportOnceSo, SERVER_NAME, spawnAgent, startNginxOn, waitFor } from "./agent-support";
import { agentListings, agentRowsText, type PostgresAgentFixture, postgresAgentFixture, stopAgentDatabase } from "./postgres-agent-support";

let fixture: PostgresAgentFixture;
let nginx: NginxServer;
let agent: AgentProcess;
let fingerprints: string[];

const served = async () => (await tlsHandshake(nginx.port, SERVER_NAME)).leaf.fingerprint256;

/** Deploys `version` and resolves with the milliseconds from its commit until nginx served it. */
async function deployAndTimeUntilServed(version: number): Promise<number> {
  await fixture.deploy(version);
  const committed = performance.now();
  await waitFor(`nginx serves version ${version}`, async () => ((await served()) === fixture.fingerprintOf(version) ? true : undefined));
  return performance.now() - committed;
}

beforeAll(async () => {
  fixture = await postgresAgentFixture("follow", 3);
  fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
  await fixture.deploy(1);
  // What nginx reads when it starts must exist first: one resync, as a boot unit would run it.
  const once = await certstage(["agent", "--once", "--store", fixture.location, "--environment", "production", "--directory", fixture.directory, "--agent-id", "edge-pg"], fixture.env);
  expect(once.code, once.stderr).toBe(0);
  nginx = await startNginxOn(fixture.directory);
  const commands = nginxCommands(nginx.reloadCommand);
  agent = spawnAgent(
    [
      "--store", fixture.location,
      "--environment", "production",
      "--directory", fixture.directory,
      "--agent-id", "edge-pg",
      "--check", commands.check,
      "--reload", commands.reload,
      "--serve-check", `127.0.0.1:${nginx.port}`,
      "--resync-interval", "1h",
    ],
    fixture.env,
  );
  await agent.waitForLog(/following changes postgres store .* and a full resync every 3600 s/, "the agent follows the store's pushes");
  await reportOnceSo(fixture.store, "edge-pg", "serves version 1", (report) => report.version === 1 && report.servedFingerprintSha256 === fixture.fingerprintOf(1));
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) await agent.kill();
  await nginx?.stop();
  await stopAgentDatabase();
});

describe("certstage agent following a PostgreSQL store by notification", () => {
  it("installs and serves each deploy made through the Store API with no timer that could have fired", async () => {
    expect(await served()).toBe(fixture.fingerprintOf(1));
    const toV2 = await deployAndTimeUntilServed(2);
    const toV3 = await deployAndTimeUntilServed(3);
    console.log(`deploy commit to nginx serving it, by notification: v2 ${toV2.toFixed(0)} ms, v3 ${toV3.toFixed(0)} ms`);

    expect(expectWholeVersion(fixture.directory, fingerprints, "after the deploy of v3")).toBe(3);
    expect(agent.log()).toMatch(/install api v2 \(was v1\)/);
    expect(agent.log()).toMatch(/install api v3 \(was v2\)/);
    expect(agent.log(), "no pass failed (a failed pass is retried by a timer)").not.toMatch(/failed|retrying/);
    await reportOnceSo(fixture.store, "edge-pg", "serves version 3", (report) => report.version === 3 && report.servedFingerprintSha256 === fixture.fingerprintOf(3) && report.lastError === undefined);
    const { code, listings } = await agentListings(fixture);
    expect(code).toBe(0);
    expect(listings).toEqual([expect.objectContaining({ agentId: "edge-pg", environment: "production", certificate: "api", version: 3, deployedVersion: 3, servedFingerprintSha256: fixture.fingerprintOf(3), lagging: false })]);
  });

  it("stops with 0 on SIGTERM; neither its log nor the rows it wrote hold key material", async () => {
    expect(await agent.stop()).toBe(0);
    expect(agent.log()).toMatch(/stopped \(SIGTERM\)/);
    const keys = fixture.materials.map((material) => material.privateKeyPem!);
    expectNoPrivateKeyMaterial(agent.log(), keys, "the agent's log");
    const rows = await agentRowsText(fixture);
    expect(rows).toContain("edge-pg");
    expectNoPrivateKeyMaterial(rows, keys, "the agent's report rows");
  });
});
