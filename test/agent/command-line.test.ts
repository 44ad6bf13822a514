/**
 * `certstage agent` and `certstage agents` as a user runs them:
 *
 * - a configuration error stops the agent at once with exit 2 and a message naming the flag;
 * - a store that vanishes (an unmounted volume) does not: the agent changes nothing, logs it
 *   once, keeps running, and follows again when the store is back;
 * - `agents` shows an agent that went quiet as lagging, and one that serves nothing of a
 *   certificate no longer deployed as fine.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentListing } from "../../provider/cli/agent";
import { createFileStore } from "../../provider/store/drivers/file";
import { actor, agentFixture, certstage, expectWholeVersion, linkedVersion, reportOnceSo, spawnAgent, waitFor } from "./agent-support";

describe("certstage agent: configuration errors exit 2 and name the flag", () => {
  it.each([
    ["no --store", [], "[CONFIG_INVALID] field '--store'"],
    ["no --environment", ["--store", "/tmp/unused-store", "--directory", "/tmp/unused-dir"], "field '--environment': --environment is required"],
    ["an environment that cannot be a name", ["--store", "/tmp/unused-store", "--environment", "Prod", "--directory", "/tmp/unused-dir"], "[NAME_INVALID] field '--environment'"],
    ["a store driver that does not exist", ["--store", "mysql://db/certs", "--environment", "production", "--directory", "/tmp/unused-dir"], "[STORE_DRIVER_UNKNOWN]"],
    ["a time that is not one", ["--store", "/tmp/unused-store", "--environment", "production", "--directory", "/tmp/unused-dir", "--poll-interval", "2 seconds"], "field '--poll-interval'"],
    ["a serve check that is not host:port", ["--store", "/tmp/unused-store", "--environment", "production", "--directory", "/tmp/unused-dir", "--serve-check", "localhost"], "field '--serve-check'"],
    ["a reload program that does not exist", ["--store", "/tmp/unused-store", "--environment", "production", "--directory", "/tmp/unused-dir", "--reload", "no-such-nginx -s reload"], "the program 'no-such-nginx' of --reload cannot be run"],
    ["an agent id that cannot be a name", ["--store", "/tmp/unused-store", "--environment", "production", "--directory", "/tmp/unused-dir", "--agent-id", "Edge 1"], "[NAME_INVALID] field 'agentId'"],
    ["an unknown flag", ["--store", "/tmp/unused-store", "--enviroment", "production"], "Unknown option '--enviroment'"],
    ["a world-readable key mode", ["--store", "/tmp/unused-store", "--environment", "production", "--directory", "/tmp/unused-dir", "--key-mode", "0644"], "[KEY_FILE_MODE_INVALID] field '--key-mode': mode 0644 would let every user on the machine read or change the private key"],
    ["a key group this machine does not have", ["--store", "/tmp/unused-store", "--environment", "production", "--directory", "/tmp/unused-dir", "--key-group", "no-such-group-xyz"], "[KEY_FILE_GROUP_UNKNOWN] field '--key-group': group 'no-such-group-xyz' does not exist on this machine"],
  ])("%s", async (_case, args, message) => {
    const result = await certstage(["agent", ...args], { CERTSTAGE_STORE: "" });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("a directory it cannot write", async () => {
    const fixture = await agentFixture("no-directory", 1);
    const file = path.join(fixture.workspace, "a-file");
    writeFileSync(file, "");
    const result = await certstage(["agent", "--store", fixture.storeRoot, "--environment", "production", "--directory", path.join(file, "certs")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\[CONFIG_INVALID\] field '--directory': the agent cannot keep certificates in .*a-file\/certs \(ENOTDIR\)/);
  });
});

describe("certstage agent when the store vanishes", () => {
  it("changes nothing, keeps running, logs it once, and follows again when the store is back", async () => {
    const fixture = await agentFixture("vanish", 2);
    const fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
    await fixture.deploy(1);
    const agent = spawnAgent(["--store", fixture.storeRoot, "--environment", "production", "--directory", fixture.directory, "--poll-interval", "50ms", "--agent-id", "vanish-agent"]);
    try {
      await waitFor("version 1 installed", () => (linkedVersion(fixture.directory) === 1 ? true : undefined));
      // Unmounted between passes: the first pass has reported and let go of the store lock (a store
      // taken away under a writer that holds its lock keeps that lock, as with any writer).
      await reportOnceSo(fixture.store, "vanish-agent", "serves version 1", (report) => report.version === 1);
      await waitFor("the store lock released", () => (existsSync(path.join(fixture.storeRoot, ".lock")) ? undefined : true));
      const away = `${fixture.storeRoot}.unmounted`;
      renameSync(fixture.storeRoot, away);
      await agent.waitForLog(/holds no store \(missing, empty, or not mounted\); the agent changes nothing/);
      // Deployed meanwhile, where the store went.
      await createFileStore({ root: away }).deploy("api", "production", 2, actor);
      expect(linkedVersion(fixture.directory), "nothing removed while the store is gone").toBe(1);
      renameSync(away, fixture.storeRoot);
      await waitFor("version 2 installed once the store is back", () => (linkedVersion(fixture.directory) === 2 ? true : undefined));
      await agent.waitForLog(/the store answers again/);
      expect(expectWholeVersion(fixture.directory, fingerprints, "after the store came back")).toBe(2);
      expect((agent.log().match(/holds no store/g) ?? []).length, "logged once, not at every retry").toBe(1);
      expect(agent.child.exitCode).toBeNull();
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });
});

describe("certstage agents", () => {
  it("shows an agent that went quiet as lagging, and one serving nothing of an undeployed certificate as fine", async () => {
    const fixture = await agentFixture("listing", 1);
    await fixture.deploy(1);
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    await fixture.store.putAgentReport({ agentId: "edge-1", host: "edge-1.test", environment: "production", certificate: "api", version: 1, lastSeen: minutesAgo(0) });
    await fixture.store.putAgentReport({ agentId: "edge-2", host: "edge-2.test", environment: "production", certificate: "api", version: 1, lastSeen: minutesAgo(10) });
    await fixture.store.putAgentReport({ agentId: "edge-3", host: "edge-3.test", environment: "staging", certificate: "api", lastSeen: minutesAgo(10) });
    const listed = async (args: string[] = []) => {
      const result = await certstage(["agents", "--json", "--store", fixture.storeRoot, ...args]);
      return { code: result.code, agents: (JSON.parse(result.stdout) as { agents: AgentListing[] }).agents };
    };
    const all = await listed();
    expect(all.code).toBe(1);
    expect(all.agents.map(({ agentId, lagging }) => ({ agentId, lagging }))).toEqual([
      { agentId: "edge-1", lagging: false },
      { agentId: "edge-2", lagging: true },
      { agentId: "edge-3", lagging: false },
    ]);
    expect(all.agents[1].lag[0]).toMatch(/^not heard from for 6\d\d s \(more than 3 resyncs\)$/);
    // An agent that resyncs every 5 minutes is not late after 10.
    expect((await listed(["--resync-interval", "5m"])).agents[1].lagging).toBe(false);
    const production = await listed(["--environment", "production", "--resync-interval", "5m"]);
    expect(production.code).toBe(0);
    expect(production.agents.map((agent) => agent.agentId)).toEqual(["edge-1", "edge-2"]);
    const text = await certstage(["agents", "--store", fixture.storeRoot]);
    expect(text.stdout).toMatch(/^AGENT +HOST +ENVIRONMENT +CERTIFICATE +SERVES +DEPLOYED +LAST SEEN +STATE$/m);
    expect(text.stdout).toMatch(/^edge-2 +edge-2\.test +production +api +v1 +v1 +\S+ +LAGS: not heard from/m);
    const empty = await certstage(["agents", "--store", path.join(fixture.workspace, "empty-store")]);
    expect(empty.stdout).toMatch(/^No agent has reported to file store /);
    expect(empty.code).toBe(0);
  });
});
