/**
 * The agent in front of HAProxy through its runtime API (`--haproxy-socket`): a deploy is pushed
 * into the running HAProxy, which serves it at once without a reload (same process); and a
 * HAProxy that serves another leaf again (what a restart from an old crt file does) gets the
 * installed version pushed again at the next full resync. Checked by handshakes with HAProxy.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { haproxyPemPayload, type HaproxyServer, startHaproxy, tlsHandshake } from "../support/tls-servers";
import { AgentFixture, agentFixture, AgentProcess, certstage, expectWholeVersion, reportOnceSo, SERVER_NAME, spawnAgent, waitFor } from "./agent-support";

let fixture: AgentFixture;
let haproxy: HaproxyServer;
let agent: AgentProcess;

const servedIs = (version: number) => waitFor(`HAProxy serves version ${version}`, async () => ((await tlsHandshake(haproxy.port, SERVER_NAME)).leaf.fingerprint256 === fixture.fingerprintOf(version) ? true : undefined));

beforeAll(async () => {
  fixture = await agentFixture("haproxy", 2);
  await fixture.deploy(1);
  const once = await certstage(["agent", "--once", "--store", fixture.storeRoot, "--environment", "production", "--directory", fixture.directory]);
  expect(once.code, once.stderr).toBe(0);
  const [first] = fixture.materials;
  haproxy = await startHaproxy({ fullchainPem: first.fullchainPem, privateKeyPem: first.privateKeyPem!, binary: inject("tlsServerBinaries").haproxy });
  agent = spawnAgent([
    "--store", fixture.storeRoot,
    "--environment", "production",
    "--directory", fixture.directory,
    "--certificate", "api",
    "--agent-id", "edge-haproxy",
    "--haproxy-socket", haproxy.adminSocket,
    "--haproxy-crt", haproxy.certificatePath,
    "--serve-check", `127.0.0.1:${haproxy.port}`,
    "--poll-interval", "50ms",
    "--resync-interval", "1s",
  ]);
  await agent.waitForLog(/polling file store/);
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) await agent.stop();
  await haproxy?.stop();
});

describe("certstage agent with HAProxy's runtime API", () => {
  it("pushes a deploy into the running HAProxy, which serves it without a reload", async () => {
    await fixture.deploy(2);
    await servedIs(2);
    expect(expectWholeVersion(fixture.directory, fixture.materials.map((material) => material.facts.fingerprintSha256), "after the push")).toBe(2);
    expect(/^Pid: (\d+)$/m.exec(await haproxy.command("show info"))?.[1]).toBe(String(haproxy.pid));
    await reportOnceSo(fixture.store, "edge-haproxy", "serves version 2", (report) => report.version === 2 && report.lastError === undefined);
    expect(agent.log()).toMatch(/reload for api v2/);
  });

  it("pushes the installed version again when HAProxy serves another (as after a restart from an old crt file)", async () => {
    const [first] = fixture.materials;
    expect(await haproxy.command(`set ssl cert ${haproxy.certificatePath} <<\n${haproxyPemPayload(first.fullchainPem, first.privateKeyPem!)}`)).toMatch(/Transaction (created|updated)/);
    expect(await haproxy.command(`commit ssl cert ${haproxy.certificatePath}`)).toMatch(/Success/);
    await agent.waitForLog(/push api v2 to HAProxy again: it served v1/);
    await servedIs(2);
    await reportOnceSo(fixture.store, "edge-haproxy", "serves version 2 again", (report) => report.version === 2 && report.lastError === undefined);
  });
});
