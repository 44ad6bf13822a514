/**
 * The certstage command against a temporary store: status (the contract's JSON shape) and history.
 */
import { Writable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { inspectUpload } from "../../provider/pki/version-material";
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
    expect(Object.keys(report.certificates[0].versions[0]).sort()).toEqual(["fingerprintSha256", "method", "notAfter", "sans", "serial", "subject", "version"]);
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

  it("refuses an unknown command with usage and exit code 2", async () => {
    expect((await run(["frobnicate"])).code).toBe(2);
  });
});
