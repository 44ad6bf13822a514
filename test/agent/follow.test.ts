/**
 * The agent as it runs on an edge server: the real `certstage agent` process follows a file store,
 * nginx (started here on a loopback port) reads the agent's directory, and every claim is checked
 * by what a client sees, a TLS handshake, and by what the agent reports to the store.
 *
 * - a deploy made with the Store API is installed, nginx reloaded, and the new leaf served;
 * - a version whose key is not its certificate's is refused: nginx keeps serving the last good
 *   version, the directory still holds it whole, and the report says why (`certstage agents`
 *   shows the agent lagging, exit 1);
 * - undeploying a certificate nginx still reads makes `nginx -t` fail: the agent puts the files
 *   back and says so, and nginx keeps serving;
 * - the agent stops with 0 on SIGTERM, and its log holds no key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentListing } from "../../provider/cli/agent";
import { type NginxServer, tlsHandshake } from "../support/tls-servers";
import { actor, AgentFixture, agentFixture, AgentProcess, certstage, expectWholeVersion, linkedVersion, nginxCommands, reportOnceSo, SERVER_NAME, spawnAgent, startNginxOn, waitFor } from "./agent-support";

let fixture: AgentFixture;
let nginx: NginxServer;
let agent: AgentProcess;
let fingerprints: string[];

const served = async () => (await tlsHandshake(nginx.port, SERVER_NAME)).leaf.fingerprint256;
const servedOnceIs = (version: number) => waitFor(`nginx serves version ${version}`, async () => ((await served()) === fixture.fingerprintOf(version) ? true : undefined));

async function agents(): Promise<{ code: number; listings: AgentListing[] }> {
  const result = await certstage(["agents", "--json", "--store", fixture.storeRoot]);
  expect(result.stderr).toBe("");
  return { code: result.code, listings: (JSON.parse(result.stdout) as { agents: AgentListing[] }).agents };
}

beforeAll(async () => {
  fixture = await agentFixture("follow", 4, { mismatched: [3] });
  fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
  await fixture.deploy(1);
  // What nginx reads when it starts must exist first: one resync, as cron or a boot unit would run it.
  const once = await certstage(["agent", "--once", "--store", fixture.storeRoot, "--environment", "production", "--directory", fixture.directory, "--agent-id", "edge-1"]);
  expect(once.code, once.stderr).toBe(0);
  nginx = await startNginxOn(fixture.directory);
  const commands = nginxCommands(nginx.reloadCommand);
  agent = spawnAgent([
    "--store", fixture.storeRoot,
    "--environment", "production",
    "--directory", fixture.directory,
    "--agent-id", "edge-1",
    "--check", commands.check,
    "--reload", commands.reload,
    "--serve-check", `127.0.0.1:${nginx.port}`,
    "--poll-interval", "100ms",
  ]);
  await agent.waitForLog(/polling file store/);
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) await agent.kill();
  await nginx?.stop();
});

describe("certstage agent following a file store into nginx", () => {
  it("installs a deploy, reloads nginx once it checks out, and reports the leaf nginx serves", async () => {
    expect(await served()).toBe(fixture.fingerprintOf(1));
    await fixture.deploy(2);
    await servedOnceIs(2);
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the deploy of v2")).toBe(2);
    const report = await reportOnceSo(fixture.store, "edge-1", "serves version 2", (found) => found.version === 2 && found.servedFingerprintSha256 === fixture.fingerprintOf(2));
    expect(report).toMatchObject({ environment: "production", certificate: "api", host: expect.any(String) });
    expect(report.lastError).toBeUndefined();
    expect(agent.log()).toMatch(/install api v2 \(was v1\)/);
    expect(agent.log()).toMatch(/reload for api v2/);

    const { code, listings } = await agents();
    expect(code).toBe(0);
    expect(listings).toEqual([expect.objectContaining({ agentId: "edge-1", certificate: "api", version: 2, deployedVersion: 2, lagging: false, lag: [] })]);
  });

  it("refuses a version whose key is not its certificate's: nginx keeps serving the last good one, and the report says why", async () => {
    await fixture.deploy(3);
    const report = await reportOnceSo(fixture.store, "edge-1", "reports version 3 refused", (found) => found.lastError?.includes("version 3 refused") === true);
    expect(report.lastError).toContain("[KEY_MISMATCH]");
    expect(report.lastError).toContain("still serving v2");
    expect(report.version).toBe(2);
    expect(report.servedFingerprintSha256).toBe(fixture.fingerprintOf(2));
    expect(await served()).toBe(fixture.fingerprintOf(2));
    expect(expectWholeVersion(fixture.directory, fingerprints, "after refusing v3")).toBe(2);
    expect(agent.log()).toMatch(/refuse api v3: \[KEY_MISMATCH\]/);

    const { code, listings } = await agents();
    expect(code, "certstage agents exits 1 while an agent lags").toBe(1);
    expect(listings).toEqual([expect.objectContaining({ agentId: "edge-1", version: 2, deployedVersion: 3, lagging: true, lag: ["serves version 2, version 3 is deployed"] })]);
    const text = await certstage(["agents", "--store", fixture.storeRoot]);
    expect(text.stdout).toMatch(/edge-1 .* api +v2 +v3 .* LAGS: serves version 2, version 3 is deployed/);
    const status = JSON.parse((await certstage(["status", "--json", "--store", fixture.storeRoot])).stdout);
    expect(status.certificates[0].agents).toEqual([expect.objectContaining({ agentId: "edge-1", environment: "production", version: 2, lagging: true })]);
  });

  it("catches up with the next good version", async () => {
    await fixture.deploy(4);
    await servedOnceIs(4);
    await reportOnceSo(fixture.store, "edge-1", "serves version 4 without error", (found) => found.version === 4 && found.lastError === undefined);
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the deploy of v4")).toBe(4);
    expect((await agents()).listings[0]).toMatchObject({ version: 4, deployedVersion: 4, lagging: false });
  });

  it("puts the files back when nginx -t refuses the change (an undeploy of what nginx still reads), and nginx keeps serving", async () => {
    await fixture.store.undeploy("api", "production", actor);
    await agent.waitForLog(/check failed for api nothing: .*; put back api v4/);
    expect(linkedVersion(fixture.directory)).toBe(4);
    expect(await served()).toBe(fixture.fingerprintOf(4));
    const report = await reportOnceSo(fixture.store, "edge-1", "says the check failed", (found) => found.lastError?.includes("configuration check") === true);
    expect(report.version).toBe(4);
    // Deployed again: the version on disk is the deployed one, so nothing is installed, and no reload is owed.
    await fixture.deploy(4);
    await reportOnceSo(fixture.store, "edge-1", "serves version 4 without error", (found) => found.version === 4 && found.lastError === undefined);
  });

  it("stops with 0 on SIGTERM, and its log never holds key material", async () => {
    expect(await agent.stop()).toBe(0);
    expect(agent.log()).toMatch(/stopped \(SIGTERM\)/);
    expect(agent.log()).not.toMatch(/PRIVATE KEY|BEGIN/);
    for (const material of fixture.materials) expect(agent.log()).not.toContain(material.privateKeyPem!.split("\n")[1]);
  });
});
