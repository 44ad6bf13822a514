/**
 * EnvironmentDeployment with environment definitions: the directory target's reload command,
 * verification by TLS handshake and the swap back when it fails, and the promotion rule. The
 * endpoint is a real TLS server that, like nginx on `-s reload`, re-reads the environment's
 * files when its reload command pokes it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { createServer as createNetServer, Server as NetServer } from "node:net";
import * as path from "node:path";
import { createServer, Server } from "node:tls";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { inspectUpload } from "../../provider/pki/version-material";
import { configure, providerFor } from "../../provider/resources/runtime";
import { createFileStore } from "../../provider/store/drivers/file";
import { servedLeaf } from "../../provider/targets/verify";
import type { Store } from "../../provider/store";
import { makeTestCertificate, makeTestMaterials, temporaryDirectory } from "../support/certificates";

const deployments = providerFor("EnvironmentDeployment");
const actor = { principal: "targets-tester" };

let storeRoot: string;
let store: Store;
let tls: Server;
let control: NetServer;
let tlsPort: number;
let controlPort: number;
let reloadScript: string;

/** The TLS server serves staging's files; a connection to the control port makes it re-read them. */
function reloadFromStore() {
  const directory = path.join(storeRoot, "environments", "staging", "api");
  tls.setSecureContext({ cert: readFileSync(path.join(directory, "fullchain.pem")), key: readFileSync(path.join(directory, "privkey.pem")) });
}

beforeAll(async () => {
  const pki = temporaryDirectory("targets-pki");
  const first = makeTestCertificate(pki, "api.example.test");
  tls = createServer({ cert: first.certificatePem + first.chainPem, key: first.privateKeyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
  tlsPort = (tls.address() as { port: number }).port;
  control = createNetServer((socket) => {
    reloadFromStore();
    socket.end("reloaded\n");
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  controlPort = (control.address() as { port: number }).port;
  reloadScript = path.join(pki, "reload.cjs");
  writeFileSync(reloadScript, `require("net").connect(${controlPort}, "127.0.0.1").on("data", () => process.exit(0)).on("error", () => process.exit(1));`);

  storeRoot = temporaryDirectory("targets-store");
  store = createFileStore({ root: storeRoot });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
  for (const leaf of [first, makeTestCertificate(pki, "api.example.test"), makeTestCertificate(pki, "api.example.test")]) {
    const material = inspectUpload(leaf);
    if (!material.ok) throw new Error("bad certificate");
    await store.createVersion("api", "upload", material.value, actor);
  }
});
afterAll(async () => {
  tls?.close();
  control?.close();
});

/** A short settle period keeps this tier quick; the servers tier verifies with the default one. */
const SETTLE_MS = 200;

/** The default timeout: a verification that passes returns as soon as it settles; failures pass 600. */
function environments(stagingReload: string[], verifyTimeoutMs = 30_000) {
  return JSON.stringify([
    { name: "staging", target: { type: "directory", reload: stagingReload }, verify: { endpoints: [`127.0.0.1:${tlsPort}`], serverName: "api.example.test", timeoutMs: verifyTimeoutMs, settleMs: SETTLE_MS } },
    { name: "production", target: { type: "directory" }, promotion: { requires: "staging" } },
  ]);
}

function useSettings(environmentsJson: string) {
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": actor.principal, "certstage:teams": "team-edge", "certstage:environments": environmentsJson };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
}

beforeEach(() => useSettings(environments([process.execPath, reloadScript])));

describe("deployments through targets", () => {
  it("swaps, reloads and verifies; history records the verification", async () => {
    const created = await deployments.create({ certificate: "api", environment: "staging", version: 1 });
    expect(created.outs.deployedVersion).toBe(1);
    const updated = await deployments.update(created.id, created.outs, { certificate: "api", environment: "staging", version: 2 });
    expect(updated.outs.deployedVersion).toBe(2);
    const verified = (await store.readHistory({ environment: "staging" })).filter((entry) => entry.action === "verify");
    expect(verified.at(-1)).toMatchObject({ toVersion: 2, result: "ok" });
  });

  it("a server that keeps serving the old certificate fails verification, and the old version is put back", async () => {
    useSettings(environments([process.execPath, "-e", "process.exit(0)"], 600)); // the reload reaches nothing
    const before = await store.getDeployment("api", "staging");
    await expect(deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: 3 })).rejects.toThrow(
      new RegExp(`^\\[VERIFICATION_FAILED\\] resource 'api': staging did not serve version 3 to every handshake for ${SETTLE_MS} ms within 600 ms \\(127\\.0\\.0\\.1:${tlsPort} served [0-9A-F:]+… \\(CN=api\\.example\\.test\\)\\); version ${before!.version} was put back`),
    );
    expect((await store.getDeployment("api", "staging"))?.version).toBe(before!.version);
    expect((await store.readHistory({ environment: "staging" })).filter((entry) => entry.action === "verify").at(-1)).toMatchObject({ toVersion: 3, result: "failed" });
  });

  it("a failing reload command is reported and the previous version stays deployed", async () => {
    useSettings(environments([process.execPath, "-e", "process.stderr.write('nginx: [emerg] bad config'); process.exit(1)"]));
    const before = await store.getDeployment("api", "staging");
    await expect(deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: 3 })).rejects.toThrow(/\[RELOAD_FAILED\].*exited with 1: nginx: \[emerg\] bad config/);
    expect((await store.getDeployment("api", "staging"))?.version).toBe(before!.version);
  });

  it("production refuses at preview a version never verified in staging, and takes it once it was", async () => {
    const refused = await deployments.check({}, { certificate: "api", environment: "production", version: 3 });
    expect(refused.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[PROMOTION_REFUSED\] field 'version': version 3 of 'api' was deployed to staging but never verified there/)]);
    await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: 3 });
    expect((await deployments.check({}, { certificate: "api", environment: "production", version: 3 })).failures).toEqual([]);
    const created = await deployments.create({ certificate: "api", environment: "production", version: 3 });
    expect(created.outs.deployedVersion).toBe(3);
  });
});

describe("refresh of an HAProxy environment", () => {
  it("falls back to the store's version, saying so, when HAProxy cannot be asked", async () => {
    useSettings(JSON.stringify([{ name: "lb", target: { type: "haproxy", socket: path.join(storeRoot, "no-such.sock"), certificatePath: "/etc/haproxy/certs/api.pem" } }]));
    await store.deploy("api", "lb", 2, actor);
    const refreshed = await deployments.read("lb/api", { certificate: "api", environment: "lb", version: 2 });
    expect(refreshed.props).toMatchObject({ version: 2, deployedVersion: 2, status: "deployed" });

    // A standby swap to servers that cannot be asked is queued, not skipped as "already served".
    const queued = await deployments.update("lb/api", {}, { certificate: "api", environment: "lb", version: 2, mode: "standby" });
    expect(queued.outs).toMatchObject({ status: "pending", task: { state: "pending" } });
    await store.finishTask(queued.outs.task.id, { state: "cancelled" }, actor);
    await store.undeploy("api", "lb", actor);
  });
});

describe("a directory target with a path of its own", () => {
  it("publishes each version there once and swaps <path>/<name>, 0600 key; undeploy removes the link", async () => {
    const published = temporaryDirectory("published");
    const definitions = JSON.stringify([
      { name: "staging", target: { type: "directory", reload: [process.execPath, reloadScript] } },
      { name: "edge", target: { type: "directory", path: published } },
    ]);
    useSettings(definitions);
    const link = path.join(published, "api");
    await deployments.create({ certificate: "api", environment: "edge", version: 1 });
    expect(readlinkSync(link)).toBe(path.join(".versions", "api", "1"));
    const files = await store.readVersionFiles("api", 1);
    expect(readFileSync(path.join(link, "fullchain.pem"), "utf8")).toBe(files.fullchainPem);
    expect(readFileSync(path.join(link, "privkey.pem"), "utf8")).toBe(files.privateKeyPem);
    expect(statSync(path.join(link, "privkey.pem")).mode & 0o777).toBe(0o600);

    await deployments.update("edge/api", {}, { certificate: "api", environment: "edge", version: 2 });
    expect(readlinkSync(link)).toBe(path.join(".versions", "api", "2"));
    expect(readFileSync(path.join(link, "cert.pem"), "utf8")).toBe((await store.readVersionFiles("api", 2)).certificatePem);
    await deployments.update("edge/api", {}, { certificate: "api", environment: "edge", version: 1 });
    expect(readlinkSync(link)).toBe(path.join(".versions", "api", "1"));
    expect(readdirSync(path.join(published, ".versions", "api")).sort()).toEqual(["1", "2"]);

    await deployments.delete("edge/api", {});
    expect(existsSync(link)).toBe(false);
    expect(await store.getDeployment("api", "edge")).toBeUndefined();
  });

  it("a failed reload points the published link back too", async () => {
    const published = temporaryDirectory("published-reload");
    useSettings(JSON.stringify([{ name: "edge", target: { type: "directory", path: published, reload: [process.execPath, "-e", "process.exit(3)"] } }]));
    await expect(deployments.create({ certificate: "api", environment: "edge", version: 2 })).rejects.toThrow(/\[RELOAD_FAILED\]/);
    expect(existsSync(path.join(published, "api"))).toBe(false);
    expect(await store.getDeployment("api", "edge")).toBeUndefined();
  });
});

describe("retention under a directory target's path", () => {
  const COUNT = 12;
  let published: string;
  const versionsOf = () => readdirSync(path.join(published, ".versions", "web")).sort((a, b) => Number(a) - Number(b));
  const link = () => path.join(published, "web");

  /** What a server reading <path>/web gets, checked against the store's version: every file, and the key's mode. */
  async function expectServes(version: number): Promise<void> {
    expect(readlinkSync(link())).toBe(path.join(".versions", "web", String(version)));
    const files = await store.readVersionFiles("web", version);
    expect(readFileSync(path.join(link(), "fullchain.pem"), "utf8")).toBe(files.fullchainPem);
    expect(readFileSync(path.join(link(), "cert.pem"), "utf8")).toBe(files.certificatePem);
    expect(readFileSync(path.join(link(), "privkey.pem"), "utf8")).toBe(files.privateKeyPem);
    expect(statSync(path.join(link(), "privkey.pem")).mode & 0o777).toBe(0o600);
  }

  beforeAll(async () => {
    const pki = temporaryDirectory("retention-pki");
    await store.createCertificate({ name: "web", displayName: "web", type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
    for (const material of makeTestMaterials(pki, Array.from({ length: COUNT }, () => "web.example.test"))) await store.createVersion("web", "upload", material, actor);
  });
  beforeEach(() => {
    published = temporaryDirectory("retention-published");
    useSettings(JSON.stringify([{ name: "edge", target: { type: "directory", path: published } }]));
  });

  it("after 10 swaps holds the served version and the 3 most recent others, whole, and the served one answers", async () => {
    await deployments.create({ certificate: "web", environment: "edge", version: 1 });
    for (let version = 2; version <= 10; version += 1) await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version });
    expect(versionsOf()).toEqual(["7", "8", "9", "10"]);
    await expectServes(10);
    // Every version kept is whole, key 0600, readable by a server that drops privileges.
    for (const version of [7, 8, 9]) {
      const directory = path.join(published, ".versions", "web", String(version));
      expect(readFileSync(path.join(directory, "fullchain.pem"), "utf8")).toBe((await store.readVersionFiles("web", version)).fullchainPem);
      expect(statSync(path.join(directory, "privkey.pem")).mode & 0o777).toBe(0o600);
      expect(statSync(directory).mode & 0o777).toBe(0o755);
    }
    // History keeps every swap: retention removes files, never records.
    expect((await store.readHistory({ certificate: "web", environment: "edge" })).filter((entry) => entry.action === "deploy").map((entry) => entry.toVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("rolls back to a retained version from disk, and to a pruned one from the store", async () => {
    await deployments.create({ certificate: "web", environment: "edge", version: 5 });
    for (let version = 6; version <= 10; version += 1) await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version });
    const retained = statSync(path.join(published, ".versions", "web", "8")).ino;
    await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version: 8 });
    await expectServes(8);
    expect(statSync(path.join(published, ".versions", "web", "8")).ino).toBe(retained); // the directory on disk, not a new copy
    expect(versionsOf()).toEqual(["7", "8", "9", "10"]);
    expect((await store.readHistory({ certificate: "web", environment: "edge" })).at(-1)).toMatchObject({ action: "rollback", fromVersion: 10, toVersion: 8 });

    await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version: 2 });
    await expectServes(2);
    expect(versionsOf()).toEqual(["2", "8", "9", "10"]);
  });

  it("keeps what a pending task will install and what the link serves whatever keepVersions says; clears what a killed prune left aside", async () => {
    useSettings(JSON.stringify([{ name: "edge", target: { type: "directory", path: published, keepVersions: 0 } }]));
    await deployments.create({ certificate: "web", environment: "edge", version: 1 });
    await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version: 2 });
    expect(versionsOf()).toEqual(["2"]);
    // A kill between the rename aside and the removal leaves a .stale directory, never a half version under its number.
    const aside = path.join(published, ".versions", "web", ".1.4194000.0123456789ab.stale");
    mkdirSync(aside);
    writeFileSync(path.join(aside, "fullchain.pem"), "half");
    const environments = [{ name: "edge", target: { type: "directory", path: published, keepVersions: 0 } }];
    const task = await store.queueTask({ certificate: "web", environment: "later", version: 2, environments }, actor);
    await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version: 3 });
    expect(readdirSync(path.join(published, ".versions", "web")).sort()).toEqual(["2", "3"]);
    await expectServes(3);
    await store.finishTask(task.id, { state: "cancelled" }, actor);
    await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version: 4 });
    expect(versionsOf()).toEqual(["4"]);
    await expectServes(4);
    await deployments.delete("edge/web", {});
    expect(existsSync(link())).toBe(false);
    expect(versionsOf()).toEqual([]);
  });

  it("`tasks run` removes the pair's finished tasks past the environment's retention; history and `tasks list` say what happened", async () => {
    useSettings(JSON.stringify([{ name: "edge", target: { type: "directory", path: published }, finishedTasks: { keepDays: 0, keepLast: 1 } }]));
    let output = "";
    const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
    const tasksRun = () => main(["tasks", "run", "--store", storeRoot, "--principal", "scheduler@ci", "--teams", "team-edge"], sink);
    await deployments.create({ certificate: "web", environment: "edge", version: 1 });
    const ran: string[] = [];
    for (const version of [2, 3, 4]) {
      const queued = await deployments.update("edge/web", {}, { certificate: "web", environment: "edge", version, mode: "standby" });
      ran.push(queued.outs.task.id);
      expect(await tasksRun()).toBe(0);
    }
    expect(output).toMatch(/edge\/web: removed 1 finished task\(s\) past retention \(history keeps their outcome\)/);
    const left = (await store.listTasks({ certificate: "web", environment: "edge" })).map((task) => `${task.id} ${task.state}`);
    expect(left).toEqual([`${ran[2]} done`]);
    const history = await store.readHistory({ certificate: "web", environment: "edge" });
    for (const id of ran) expect(history.filter((entry) => entry.action === "task.run" && entry.detail?.includes(id)).map((entry) => entry.result)).toEqual(["ok"]);
    await expectServes(4);
  });
});

describe("standby deployments and `certstage tasks`", () => {
  let versions: number[];

  async function cli(...args: string[]): Promise<{ code: number; output: string }> {
    let output = "";
    const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
    const code = await main([...args, "--store", storeRoot, "--principal", "scheduler@ci", "--teams", "team-edge"], sink);
    return { code, output };
  }

  const served = () => servedLeaf({ host: "127.0.0.1", port: tlsPort, serverName: "api.example.test" });
  const fingerprintOf = async (version: number) => (await store.getVersion("api", version))!.fingerprintSha256;

  beforeAll(async () => {
    const pki = temporaryDirectory("standby-pki");
    versions = [];
    for (let index = 0; index < 3; index += 1) {
      const material = inspectUpload(makeTestCertificate(pki, "api.example.test"));
      if (!material.ok) throw new Error("bad certificate");
      versions.push((await store.createVersion("api", "upload", material.value, actor)).version);
    }
  });
  afterEach(() => {
    delete process.env.CERTSTAGE_NOW;
  });

  it("a standby swap changes nothing during up, shows pending, and `tasks run` performs and verifies it", async () => {
    const before = (await store.getDeployment("api", "staging"))!.version;
    reloadFromStore();
    const next = versions[0];
    const updated = await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: next, mode: "standby" });
    expect(updated.outs).toMatchObject({ version: next, deployedVersion: before, status: "pending", task: { state: "pending" } });
    expect((await store.getDeployment("api", "staging"))?.version).toBe(before);
    expect(await served()).toMatchObject({ fingerprintSha256: await fingerprintOf(before) });

    const listed = await cli("tasks", "list", "--state", "pending");
    expect(listed.output).toContain(updated.outs.task.id);
    expect(listed.output).toMatch(new RegExp(`pending\\s+staging\\s+api\\s+v${before} -> v${next}`));
    const stillPending = await deployments.read("staging/api", updated.outs);
    expect(stillPending.props).toMatchObject({ version: next, deployedVersion: before, status: "pending" });

    const ran = await cli("tasks", "run");
    expect(ran.code).toBe(0);
    expect(ran.output).toMatch(new RegExp(`staging/api: verified v${next} at 1 endpoint`));
    expect((await store.getDeployment("api", "staging"))?.version).toBe(next);
    expect(await served()).toMatchObject({ fingerprintSha256: await fingerprintOf(next) });
    const actions = (await store.readHistory({ environment: "staging" })).slice(-4).map(({ action, actor: who, result }) => `${action} ${who} ${result}`);
    expect(actions).toEqual(["task.queue targets-tester ok", "deploy scheduler@ci ok", "verify scheduler@ci ok", "task.run scheduler@ci ok"]);
    const history = await cli("history", "--environment", "staging");
    expect(history.output).toMatch(new RegExp(`task\\.run\\s+v${before} -> v${next}\\s+scheduler@ci  ok  task ${updated.outs.task.id}`));

    const refreshed = await deployments.read("staging/api", updated.outs);
    expect(refreshed.props).toMatchObject({ version: next, deployedVersion: next, status: "deployed", task: { id: updated.outs.task.id, state: "done" } });
    expect((await cli("tasks", "run")).output).toBe("No task is due.\n");
  });

  it("a task waits for notBefore; a later task for the same environment supersedes it", async () => {
    const first = await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: versions[1], mode: "standby", notBefore: "2099-01-01T00:00:00Z" });
    const second = await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: versions[2], mode: "standby", notBefore: "2099-01-01T00:00:00Z" });
    expect((await store.getTask(first.outs.task.id))?.state).toBe("cancelled");
    expect((await cli("tasks", "run")).output).toBe("No task is due.\n");
    expect((await store.getDeployment("api", "staging"))?.version).toBe(versions[0]);

    process.env.CERTSTAGE_NOW = "2099-01-01T00:00:01Z";
    const ran = await cli("tasks", "run", "--json");
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.output).ran).toEqual([expect.objectContaining({ id: second.outs.task.id, state: "done", finishedBy: "scheduler@ci" })]);
    expect((await store.getDeployment("api", "staging"))?.version).toBe(versions[2]);
  });

  it("a standby deployment that breaks the promotion rule is refused at up and queues nothing", async () => {
    const tasksBefore = (await store.listTasks()).length;
    await expect(deployments.update("production/api", {}, { certificate: "api", environment: "production", version: versions[1], mode: "standby" })).rejects.toThrow(/^\[PROMOTION_REFUSED\]/);
    expect(await store.listTasks()).toHaveLength(tasksBefore);
  });

  it("a task whose verification fails puts the old version back, exits 1, and refresh shows the drift", async () => {
    useSettings(environments([process.execPath, "-e", "process.exit(0)"], 600)); // the reload reaches nothing
    const before = (await store.getDeployment("api", "staging"))!.version;
    const queued = await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: versions[1], mode: "standby" });
    // The task carries the stack's environments as queued: the runner needs no stack configuration.
    useSettings(environments([process.execPath, reloadScript]));
    const ran = await cli("tasks", "run");
    expect(ran.code).toBe(1);
    const task = await store.getTask(queued.outs.task.id);
    expect(task).toMatchObject({ state: "failed" });
    expect(task?.detail).toMatch(/^\[VERIFICATION_FAILED\] resource 'api': staging did not serve version \d+ to every handshake for 200 ms within 600 ms .*version \d+ was put back/);
    expect((await store.getDeployment("api", "staging"))?.version).toBe(before);
    expect((await store.readHistory({ environment: "staging" })).at(-1)).toMatchObject({ action: "task.run", result: "failed" });

    const refreshed = await deployments.read("staging/api", queued.outs);
    expect(refreshed.props).toMatchObject({ version: before, deployedVersion: before, status: "deployed", task: { state: "failed" } });
  });

  it("deploying now, `tasks cancel`, or deleting the deployment cancels a pending task", async () => {
    const queued = await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: versions[1], mode: "standby" });
    await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: versions[1] });
    expect(await store.getTask(queued.outs.task.id)).toMatchObject({ state: "cancelled", detail: `superseded by deploying version ${versions[1]} now` });

    const again = await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: versions[2], mode: "standby" });
    const cancelled = await cli("tasks", "cancel", again.outs.task.id);
    expect(cancelled.output).toMatch(/cancelled\s+staging/);
    expect((await cli("tasks", "list", "--state", "pending")).output).toBe("No tasks.\n");

    const production = await deployments.update("production/api", {}, { certificate: "api", environment: "production", version: versions[1], mode: "standby" });
    await deployments.delete("production/api", production.outs);
    expect(await store.getTask(production.outs.task.id)).toMatchObject({ state: "cancelled", detail: "its EnvironmentDeployment was deleted" });
    expect(await store.getDeployment("api", "production")).toBeUndefined();
  });

  it("refuses, at preview, a deployment's own verify whose settle period does not fit its timeout", async () => {
    const result = await deployments.check({}, { certificate: "api", environment: "staging", version: 1, verify: { endpoints: ["127.0.0.1:1"], timeoutMs: 500 } });
    expect(result.failures?.map((failure) => failure.reason)).toEqual([
      "[INPUT_SCHEMA] field 'verify.settleMs': verify.settleMs (1000 ms) must be shorter than verify.timeoutMs (500 ms), or no verification can pass. Fix: make verify.settleMs shorter than verify.timeoutMs (defaults: 1000 and 30000)",
    ]);
  });

  it("refuses notBefore without standby, and a time that is not one, at preview", async () => {
    const withoutStandby = await deployments.check({}, { certificate: "api", environment: "staging", version: 1, notBefore: "2030-01-01T00:00:00Z" });
    expect(withoutStandby.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[INPUT_SCHEMA\] field 'notBefore': only applies to standby deployments\. Fix: add mode: "standby"/)]);
    const notATime = await deployments.check({}, { certificate: "api", environment: "staging", version: 1, mode: "standby", notBefore: "2030-02-31T25:00:00Z" });
    expect(notATime.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[INPUT_SCHEMA\] field 'notBefore': '2030-02-31T25:00:00Z' is not a time/)]);
  });

  it("a deployment's own verify replaces its environment's and can fail where the environment's would pass", async () => {
    const elsewhere = createServer({ cert: readFileSync(path.join(storeRoot, "environments", "staging", "api", "fullchain.pem")), key: readFileSync(path.join(storeRoot, "environments", "staging", "api", "privkey.pem")) }, (socket) => socket.end());
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    try {
      const before = (await store.getDeployment("api", "staging"))!.version;
      const next = before === versions[2] ? versions[1] : versions[2];
      const verify = { endpoints: [`127.0.0.1:${(elsewhere.address() as { port: number }).port}`], serverName: "api.example.test", timeoutMs: 500, settleMs: 100 };
      await expect(deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: next, verify })).rejects.toThrow(/^\[VERIFICATION_FAILED\]/);
      expect((await store.getDeployment("api", "staging"))?.version).toBe(before);

      // Deploying the version the store already names still verifies (the servers may have drifted).
      const verifications = async () => (await store.readHistory({ environment: "staging" })).filter((entry) => entry.action === "verify" && entry.toVersion === before && entry.result === "ok").length;
      const verifiedBefore = await verifications();
      await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: before, verify });
      expect(await verifications()).toBe(verifiedBefore + 1);
    } finally {
      elsewhere.close();
    }
  });
});

describe("a standby undeploy (state: undeployed, mode: standby) through a directory target with a path", () => {
  let published: string;
  const link = () => path.join(published, "api");

  async function cli(...args: string[]): Promise<{ code: number; output: string }> {
    let output = "";
    const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
    const code = await main([...args, "--store", storeRoot, "--principal", "scheduler@ci", "--teams", "team-edge"], sink);
    return { code, output };
  }

  beforeEach(() => {
    published = temporaryDirectory("undeploy-published");
    useSettings(JSON.stringify([{ name: "edge", target: { type: "directory", path: published } }]));
  });
  afterEach(() => {
    delete process.env.CERTSTAGE_NOW;
  });

  it("queues the undeploy at up; the link goes only when the task runs after notBefore; refresh then says undeployed, and delete undeploys nothing again", async () => {
    const created = await deployments.create({ certificate: "api", environment: "edge", version: 1 });
    expect(readlinkSync(link())).toBe(path.join(".versions", "api", "1"));

    const inputs = { certificate: "api", environment: "edge", version: 1, state: "undeployed", mode: "standby", notBefore: "2099-01-01T00:00:00Z" };
    const queued = await deployments.update("edge/api", created.outs, inputs);
    expect(queued.outs).toMatchObject({ state: "undeployed", deployedVersion: 1, status: "pending", task: { state: "pending", notBefore: "2099-01-01T00:00:00.000Z" } });
    const id: string = queued.outs.task.id;
    expect(id).toMatch(/-edge-api-undeploy-[0-9a-f]{6}$/);
    expect(await store.getTask(id)).toMatchObject({ action: "undeploy", fromVersion: 1, createdBy: actor.principal });
    expect(readlinkSync(link())).toBe(path.join(".versions", "api", "1"));
    expect((await store.getDeployment("api", "edge"))?.version).toBe(1);
    // The same inputs again (an `up` that changed something else) keep the task as it is.
    expect((await deployments.update("edge/api", queued.outs, inputs)).outs.task.id).toBe(id);

    expect((await cli("tasks", "list", "--state", "pending")).output).toMatch(new RegExp(`${id}  pending\\s+edge\\s+api\\s+v1 -> undeploy\\s+not before 2099-01-01T00:00:00.000Z\\s+targets-tester`));
    expect((await cli("status")).output).toContain(`standby: undeploy not before 2099-01-01T00:00:00.000Z  (task ${id})`);
    expect((await cli("tasks", "run")).output).toBe("No task is due.\n");
    expect(readlinkSync(link())).toBe(path.join(".versions", "api", "1"));
    expect((await deployments.read("edge/api", queued.outs)).props).toMatchObject({ state: "undeployed", status: "pending", deployedVersion: 1 });

    process.env.CERTSTAGE_NOW = "2099-01-01T00:00:01Z";
    const ran = await cli("tasks", "run");
    expect(ran.code).toBe(0);
    expect(ran.output).toMatch(new RegExp(`${id}  done\\s+edge\\s+api\\s+v1 -> undeploy .*edge no longer serves api`));
    expect(existsSync(link())).toBe(false);
    expect(await store.getDeployment("api", "edge")).toBeUndefined();
    const actions = (await store.readHistory({ environment: "edge" })).slice(-3).map(({ action, actor: who, result, detail }) => `${action} ${who} ${result} ${detail ?? ""}`.trim());
    expect(actions).toEqual([`task.queue targets-tester ok undeploy task ${id}, not before 2099-01-01T00:00:00.000Z`, "undeploy scheduler@ci ok", `task.run scheduler@ci ok task ${id}: edge no longer serves api`]);
    expect((await cli("history", "--environment", "edge")).output).toMatch(new RegExp(`task\\.run\\s+v1 -> undeploy\\s+scheduler@ci  ok  task ${id}: edge no longer serves api`));

    const refreshed = await deployments.read("edge/api", queued.outs);
    expect(refreshed.id).toBe("edge/api");
    expect(refreshed.props).toMatchObject({ state: "undeployed", status: "undeployed", deployedVersion: 0, deployedAt: "", task: { id, state: "done" } });
    // Nothing changed in the program: no diff, so the next `up` does nothing.
    expect((await deployments.diff("edge/api", refreshed.props, inputs)).changes).toBe(false);

    const linesBefore = (await store.readHistory()).length;
    await deployments.delete("edge/api", refreshed.props);
    expect(await store.readHistory()).toHaveLength(linesBefore);
    expect(existsSync(link())).toBe(false);
  });

  it("switching back to deployed, now or in standby, cancels the pending undeploy; `tasks cancel` does too; deleting with one pending undeploys now", async () => {
    const created = await deployments.create({ certificate: "api", environment: "edge", version: 1 });
    const undeploy = { certificate: "api", environment: "edge", version: 1, state: "undeployed", mode: "standby" };
    const first = await deployments.update("edge/api", created.outs, { ...undeploy, notBefore: "2099-01-01T00:00:00Z" });
    const back = await deployments.update("edge/api", first.outs, { certificate: "api", environment: "edge", version: 1, state: "deployed" });
    expect(await store.getTask(first.outs.task.id)).toMatchObject({ state: "cancelled", detail: "superseded by deploying version 1 now" });
    expect(back.outs).toMatchObject({ status: "deployed", deployedVersion: 1 });
    expect(readlinkSync(link())).toBe(path.join(".versions", "api", "1"));

    const second = await deployments.update("edge/api", back.outs, undeploy);
    const swap = await deployments.update("edge/api", second.outs, { certificate: "api", environment: "edge", version: 2, mode: "standby" });
    expect(await store.getTask(second.outs.task.id)).toMatchObject({ state: "cancelled", detail: "superseded by a task for version 2" });
    expect((await store.listTasks({ certificate: "api", environment: "edge", state: "pending" })).map((task) => task.id)).toEqual([swap.outs.task.id]);

    const third = await deployments.update("edge/api", swap.outs, undeploy);
    expect(await store.getTask(swap.outs.task.id)).toMatchObject({ state: "cancelled", detail: "superseded by a task to undeploy" });
    expect((await cli("tasks", "cancel", third.outs.task.id)).output).toMatch(/cancelled\s+edge\s+api\s+v1 -> undeploy/);
    expect((await cli("tasks", "list", "--state", "pending")).output).toBe("No tasks.\n");
    expect(readlinkSync(link())).toBe(path.join(".versions", "api", "1"));

    // Deleting the resource means gone now, even with an undeploy waiting for its time.
    const fourth = await deployments.update("edge/api", third.outs, { ...undeploy, notBefore: "2099-01-01T00:00:00Z" });
    await deployments.delete("edge/api", fourth.outs);
    expect(await store.getTask(fourth.outs.task.id)).toMatchObject({ state: "cancelled", detail: "its EnvironmentDeployment was deleted" });
    expect(existsSync(link())).toBe(false);
    expect((await store.readHistory({ environment: "edge" })).at(-1)).toMatchObject({ action: "undeploy", actor: actor.principal, fromVersion: 1 });
  });

  it("undeploys during up without standby, keeping the resource; refuses a notBefore that is not RFC 3339 and a state it does not know, writing nothing", async () => {
    const created = await deployments.create({ certificate: "api", environment: "edge", version: 2 });
    const now = await deployments.update("edge/api", created.outs, { certificate: "api", environment: "edge", version: 2, state: "undeployed" });
    expect(now.outs).toMatchObject({ state: "undeployed", status: "undeployed", deployedVersion: 0 });
    expect(now.outs.task).toBeUndefined();
    expect(existsSync(link())).toBe(false);
    expect((await deployments.read("edge/api", now.outs)).props).toMatchObject({ status: "undeployed" });

    const tasksBefore = await store.listTasks();
    const notRfc3339 = await deployments.check({}, { certificate: "api", environment: "edge", version: 2, state: "undeployed", mode: "standby", notBefore: "next saturday" });
    expect(notRfc3339.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[INPUT_SCHEMA\] field 'notBefore': .*RFC 3339/)]);
    const unknownState = await deployments.check({}, { certificate: "api", environment: "edge", version: 2, state: "retired" });
    expect(unknownState.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[INPUT_SCHEMA\] field 'state': .*deployed.*undeployed/)]);
    expect(await store.listTasks()).toEqual(tasksBefore);
  });
});
