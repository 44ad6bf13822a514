/**
 * The certstage command against a temporary store: status (the contract's JSON shape), history,
 * and removing a version no resource owns.
 */
import { Writable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { inspectUpload } from "../../provider/pki/version-material";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, temporaryDirectory } from "../support/certificates";

let storeRoot: string;

async function run(args: string[]): Promise<{ code: number; output: string }> {
  let output = "";
  const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
  const code = await main([...args, "--store", storeRoot], sink);
  return { code, output };
}

beforeAll(async () => {
  storeRoot = temporaryDirectory("cli");
  const store = createFileStore({ root: storeRoot });
  const pki = temporaryDirectory("cli-pki");
  const actor = { principal: "alice" };
  await store.createCertificate({ name: "api", displayName: "API", type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
  for (const name of ["v1.example.test", "v2.example.test"]) {
    const material = inspectUpload(makeTestCertificate(pki, name));
    if (!material.ok) throw new Error("bad test certificate");
    await store.createVersion("api", "upload", material.value, actor);
  }
  await store.deploy("api", "staging", 2, actor);
  await store.deploy("api", "production", 2, { principal: "bob" });
  await store.deploy("api", "production", 1, { principal: "bob" });
});

describe("certstage status", () => {
  it("prints the contract's JSON shape", async () => {
    const { code, output } = await run(["status", "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(output);
    expect(report.certificates).toHaveLength(1);
    expect(report.certificates[0]).toMatchObject({ name: "api", type: "server", owner: "team-a", latestVersion: 2 });
    expect(report.certificates[0].versions.map((version: { version: number; method: string }) => [version.version, version.method])).toEqual([[1, "upload"], [2, "upload"]]);
    expect(Object.keys(report.certificates[0].versions[0]).sort()).toEqual(["fingerprintSha256", "method", "notAfter", "sans", "serial", "subject", "unclaimed", "version"]);
    expect(report.certificates[0].deployments).toEqual({ production: { version: 1, deployedAt: expect.any(String) }, staging: { version: 2, deployedAt: expect.any(String) } });
    expect(report.certificates[0].pending).toEqual({});
  });

  it("shows a standby swap that waits, in JSON and text", async () => {
    const root = temporaryDirectory("cli-standby");
    const store = createFileStore({ root });
    const actor = { principal: "carol" };
    await store.createCertificate({ name: "web", displayName: "web", type: "server", owner: "team-b", shareWith: [], description: "" }, actor);
    const material = inspectUpload(makeTestCertificate(temporaryDirectory("cli-standby-pki"), "web.example.test"));
    if (!material.ok) throw new Error("bad test certificate");
    await store.createVersion("web", "upload", material.value, actor);
    const task = await store.queueTask({ certificate: "web", environment: "production", version: 1, notBefore: "2030-01-01T00:00:00.000Z", environments: [{ name: "production" }] }, actor);
    const statusOf = async (args: string[]) => {
      let output = "";
      await main([...args, "--store", root], new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) }));
      return output;
    };
    expect(JSON.parse(await statusOf(["status", "--json"])).certificates[0].pending).toEqual({ production: { version: 1, notBefore: "2030-01-01T00:00:00.000Z", task: task.id } });
    expect(await statusOf(["status"])).toContain(`production   standby: version 1 not before 2030-01-01T00:00:00.000Z  (task ${task.id})`);
  });
});

describe("certstage history", () => {
  it("lists every change of an environment, rollbacks included", async () => {
    const { code, output } = await run(["history", "--environment", "production"]);
    expect(code).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/production\s+api\s+deploy\s+v2\s+bob\s+ok$/);
    expect(lines[1]).toMatch(/production\s+api\s+rollback\s+v2 -> v1\s+bob\s+ok$/);
  });

  it("gives JSON, filtered by certificate", async () => {
    const { output } = await run(["history", "--certificate", "api", "--json"]);
    const actions = JSON.parse(output).history.map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(["certificate.create", "version.create", "version.create", "deploy", "deploy", "rollback"]);
  });

  it("says a standby undeploy's task undeploys, and from which version, in text and JSON (not a lone v1, which reads as a swap to it)", async () => {
    const root = temporaryDirectory("cli-undeploy-history");
    const store = createFileStore({ root });
    const actor = { principal: "dave" };
    await store.createCertificate({ name: "web", displayName: "web", type: "server", owner: "team-b", shareWith: [], description: "" }, actor);
    const material = inspectUpload(makeTestCertificate(temporaryDirectory("cli-undeploy-history-pki"), "web.example.test"));
    if (!material.ok) throw new Error("bad test certificate");
    await store.createVersion("web", "upload", material.value, actor);
    await store.deploy("web", "production", 1, actor);
    const task = await store.queueTask({ certificate: "web", environment: "production", action: "undeploy", notBefore: "2030-01-01T00:00:00.000Z", environments: [{ name: "production" }] }, actor);
    await store.claimTask(task.id, actor);
    await store.undeploy("web", "production", actor);
    await store.finishTask(task.id, { state: "done", detail: "production no longer serves web" }, actor);
    const historyOf = async (args: string[]) => {
      let output = "";
      await main([...args, "--store", root], new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) }));
      return output;
    };

    const lines = (await historyOf(["history", "--environment", "production"])).trim().split("\n");
    expect(lines.slice(1).map((line) => line.slice(26))).toEqual([
      `production  web             task.queue          v1 -> undeploy dave  ok  undeploy task ${task.id}, not before 2030-01-01T00:00:00.000Z`,
      "production  web             undeploy            v1            dave  ok",
      `production  web             task.run            v1 -> undeploy dave  ok  task ${task.id}: production no longer serves web`,
    ]);
    expect(lines[0]).toMatch(/production\s+web\s+deploy\s+v1\s+dave\s+ok$/);

    const entries = JSON.parse(await historyOf(["history", "--environment", "production", "--json"])).history;
    expect(entries.map((entry: Record<string, unknown>) => [entry.action, entry.taskAction, entry.fromVersion, entry.toVersion])).toEqual([
      ["deploy", undefined, undefined, 1],
      ["task.queue", "undeploy", 1, undefined],
      ["undeploy", undefined, 1, undefined],
      ["task.run", "undeploy", 1, undefined],
    ]);
    // A swap's task entries say what they do too.
    const swap = await store.queueTask({ certificate: "web", environment: "staging", version: 1, environments: [{ name: "staging" }] }, actor);
    expect(JSON.parse(await historyOf(["history", "--environment", "staging", "--json"])).history).toEqual([
      { at: expect.any(String), actor: "dave", action: "task.queue", taskAction: "deploy", certificate: "web", environment: "staging", toVersion: 1, result: "ok", detail: `task ${swap.id}, as soon as a runner picks it up` },
    ]);
    expect(await historyOf(["history", "--environment", "staging"])).toMatch(/staging\s+web\s+task\.queue\s+v1\s+dave\s+ok/);
  });

  it("refuses an unknown command with usage and exit code 2", async () => {
    expect((await run(["frobnicate"])).code).toBe(2);
  });
});

describe("certstage versions remove", () => {
  const actor = { principal: "alice" };
  const urn = (name: string) => `urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::${name}`;

  /** Certificate `svc` as an interrupted run leaves it: v1 from inputs x, then v2 from inputs y, same resource; v3 deployed. */
  async function interruptedStore(): Promise<Store> {
    storeRoot = temporaryDirectory("cli-versions");
    const store = createFileStore({ root: storeRoot });
    const pki = temporaryDirectory("cli-versions-pki");
    await store.createCertificate({ name: "svc", displayName: "svc", type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
    for (const [index, inputs] of ["x", "y", "z"].entries()) {
      const material = inspectUpload(makeTestCertificate(pki, `v${index + 1}.svc.example.test`));
      if (!material.ok) throw new Error("bad test certificate");
      await store.createVersion("svc", "upload", material.value, actor, { urn: urn(inputs === "z" ? "svc-other" : "svc"), inputs });
    }
    await store.deploy("svc", "production", 3, actor);
    return store;
  }

  it("status marks the version nobody owns unclaimed, and versions remove removes it, recorded in history", async () => {
    const store = await interruptedStore();
    const status = await run(["status"]);
    expect(status.output).toMatch(/v1 .*unclaimed: no resource owns it \(certstage versions remove svc 1\)/);
    expect(status.output).not.toMatch(/v2 .*unclaimed/);
    const json = JSON.parse((await run(["status", "--json"])).output);
    expect(json.certificates[0].versions.map((version: { unclaimed: boolean }) => version.unclaimed)).toEqual([true, false, false]);

    const removed = await run(["versions", "remove", "svc", "1", "--principal", "carol", "--teams", "team-a"]);
    expect(removed).toEqual({ code: 0, output: "Removed version 1 of svc.\n" });
    expect((await store.listVersions("svc")).map((version) => version.version)).toEqual([2, 3]);
    expect((await store.readHistory({ certificate: "svc" })).at(-1)).toMatchObject({ action: "version.remove", actor: "carol", fromVersion: 1, result: "ok" });
  });

  it("refuses a version a resource owns, and one an environment serves, changing nothing", async () => {
    const store = await interruptedStore();
    await expect(main(["versions", "remove", "svc", "2", "--store", storeRoot, "--teams", "team-a"])).rejects.toThrow(/\[VERSION_CLAIMED\] resource 'svc': version 2 of certificate 'svc' belongs to a resource \(urn:pulumi:.*::svc\)\. Fix: remove that resource/);
    await expect(main(["versions", "remove", "svc", "3", "--store", storeRoot, "--teams", "team-a"])).rejects.toThrow(/\[STILL_DEPLOYED\].*production \(version 3\)/);
    await expect(main(["versions", "remove", "svc", "9", "--store", storeRoot, "--teams", "team-a"])).rejects.toThrow(/\[VERSION_NOT_FOUND\]/);
    expect((await store.listVersions("svc")).map((version) => version.version)).toEqual([1, 2, 3]);
    expect((await store.readHistory({ certificate: "svc" })).some((entry) => entry.action === "version.remove")).toBe(false);
  });

  it("needs a certificate and a version number (exit 2)", async () => {
    storeRoot = temporaryDirectory("cli-versions-usage");
    for (const args of [["versions"], ["versions", "remove", "svc"], ["versions", "remove", "svc", "one"], ["versions", "drop", "svc", "1"]]) {
      expect((await run(args)).code).toBe(2);
    }
  });
});

describe("the command's start-up", () => {
  it("loads neither the Pulumi SDK nor the resources for commands other than lint", async () => {
    const { execFileSync } = await import("node:child_process");
    const path = await import("node:path");
    const { REPO_ROOT } = await import("../support/certificates");
    // What a `certstage status` pays before it reads a byte: the modules the command's entry loads.
    const loaded = execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(REPO_ROOT, "dist", "provider", "cli", "main.js"))}); console.log(JSON.stringify(Object.keys(require.cache)))`], { encoding: "utf8" });
    const modules: string[] = JSON.parse(loaded);
    expect(modules.filter((file) => file.includes(`${path.sep}@pulumi${path.sep}`) || file.includes(`${path.sep}dist${path.sep}provider${path.sep}resources${path.sep}`))).toEqual([]);
    expect(modules.some((file) => file.endsWith(path.join("cli", "main.js")))).toBe(true);
  });

  it("keeps its compiled code in the user's own 0700 cache, and uses no cache directory that others may write", async () => {
    const { execFileSync } = await import("node:child_process");
    const { chmodSync, mkdirSync, readdirSync, statSync } = await import("node:fs");
    const path = await import("node:path");
    const { REPO_ROOT } = await import("../support/certificates");
    const cli = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
    const { NODE_COMPILE_CACHE: _chosen, NODE_DISABLE_COMPILE_CACHE: _disabled, ...environment } = process.env;
    const help = (cacheHome: string) => execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8", env: { ...environment, XDG_CACHE_HOME: cacheHome } });
    const own = temporaryDirectory("cli-compile-cache");
    expect(help(own)).toContain("Usage: certstage");
    const directory = path.join(own, "certstage", "compile-cache");
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    const supportsCache = Number(process.versions.node.split(".")[0]) >= 22;
    expect(readdirSync(directory).length > 0).toBe(supportsCache);
    // A cache directory others may write is left alone: code read from it would run as this user.
    const shared = temporaryDirectory("cli-compile-cache-shared");
    const sharedDirectory = path.join(shared, "certstage", "compile-cache");
    mkdirSync(sharedDirectory, { recursive: true });
    chmodSync(sharedDirectory, 0o777);
    expect(help(shared)).toContain("Usage: certstage");
    expect(readdirSync(sharedDirectory)).toEqual([]);
  });
});
