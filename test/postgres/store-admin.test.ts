/**
 * `certstage store migrate|copy|rekey` through the real command line, as a team would run them:
 * the database's owner migrates, an admin copies a file store over, and the copy keeps version
 * numbers (gaps included), deployments, history with its actors, tasks and ACME records.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPkcs12 } from "../../provider/pki/pkcs12";
import type { Actor } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestMaterials, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { startStoreCluster, type StoreCluster } from "./support";
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from "../../provider/store/postgres/migrations";

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");

let world: StoreCluster;
beforeAll(async () => {
  world = await startStoreCluster();
});
afterAll(async () => {
  await world?.stop();
});

async function certstage(args: string[], environment: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...environment } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("certstage store migrate", () => {
  it("creates the schema once, as the database's owner, and says there is nothing to do the second time", async () => {
    const database = `migrate_${randomBytes(3).toString("hex")}`;
    await world.cluster.createDatabase(database, { owner: world.owner.user });
    const url = world.url(database, world.owner);
    const first = await certstage(["store", "migrate", "--store", url, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ from: 0, to: LATEST_SCHEMA_VERSION, applied: MIGRATIONS.map(({ version }) => ({ version })) });
    const second = await certstage(["store", "migrate", "--store", url]);
    expect(second.stdout).toContain("nothing to do");
    expect(`${first.stdout}${second.stdout}${second.stderr}`).not.toContain(world.owner.password);
  });

  it("refuses a runner that may not create the schema, naming the command to run", async () => {
    const database = `norights_${randomBytes(3).toString("hex")}`;
    await world.cluster.createDatabase(database, { owner: world.owner.user });
    await world.cluster.sql(`REVOKE CREATE ON DATABASE ${database} FROM PUBLIC`);
    const outcome = await certstage(["store", "migrate", "--store", world.url(database, world.login("edge-ci"))]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/\[STORE_NOT_MIGRATED\].*certstage store migrate/);
  });
});

describe("certstage store copy", () => {
  const actor: Actor = { principal: "edge-ci" };

  it("moves a file store over whole: numbers with their gaps, files and keys, deployments, history, tasks, ACME records", async () => {
    const materials = makeTestMaterials(temporaryDirectory("copy-pki"), ["one.copy.test", "two.copy.test", "three.copy.test"]);
    const root = temporaryDirectory("copy-source");
    const source = createFileStore({ root });
    await source.createCertificate({ name: "api", displayName: "API", type: "server", owner: "team-edge", shareWith: ["team-web"], description: "edge API" }, actor);
    for (const material of materials) await source.createVersion("api", "upload", material, actor);
    await source.deleteVersion("api", 2, actor);
    await source.deploy("api", "staging", 3, actor);
    await source.deploy("api", "production", 1, actor);
    await source.queueTask({ certificate: "api", environment: "production", version: 3, notBefore: "2030-01-01T00:00:00.000Z", environments: [{ name: "production", target: { type: "directory" } }] }, actor);
    await source.putAcmeAccount({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[0].privateKeyPem!, accountUrl: "https://ca.test/acct/1" });
    await source.putAcmeRenewal({ certificate: "api", version: 3, directoryUrl: "https://ca.test/dir", notBefore: "2026-11-01T00:00:00.000Z", notAfter: "2027-01-30T00:00:00.000Z", issuedAt: "2026-11-01T00:00:00.000Z" });
    await source.createCertificate({ name: "old", displayName: "old", type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
    await source.createVersion("old", "upload", materials[0], actor);
    await source.createVersion("old", "upload", materials[1], actor);
    await source.deleteCertificate("old", actor);
    const history = await source.readHistory();

    const database = await world.newStoreDatabase();
    const copier = world.login("copier");
    const environment = { CERTSTAGE_STORE_KEY: world.keyText };
    const copied = await certstage(["store", "copy", "--from", root, "--to", world.url(database, copier), "--json"], environment);
    expect(copied.code, copied.stderr).toBe(0);
    expect(JSON.parse(copied.stdout)).toMatchObject({ certificates: 1, versions: 2, deployments: 2, tasks: 1, deletedCertificates: 1, historyEntries: history.length });

    const target = world.open(database, world.login("edge-ci"));
    try {
      expect(await target.getCertificate("api")).toMatchObject({ displayName: "API", owner: "team-edge", shareWith: ["team-web"], lastVersion: 3 });
      expect((await target.listVersions("api")).map((version) => version.version)).toEqual([1, 3]);
      for (const version of [1, 3]) expect(await target.readVersionFiles("api", version)).toEqual(await source.readVersionFiles("api", version));
      expect((await target.listDeployments("api")).map(({ environment: where, version }) => ({ where, version }))).toEqual([
        { where: "production", version: 1 },
        { where: "staging", version: 3 },
      ]);
      const copiedHistory = await target.readHistory();
      expect(copiedHistory.map(({ at, actor: who, action, certificate, toVersion }) => ({ at, who, action, certificate, toVersion }))).toEqual(
        history.map(({ at, actor: who, action, certificate, toVersion }) => ({ at, who, action, certificate, toVersion })),
      );
      expect(await target.listTasks()).toEqual(await source.listTasks());
      expect(await target.getAcmeAccount("https://ca.test/dir")).toEqual(await source.getAcmeAccount("https://ca.test/dir"));
      expect(await target.getAcmeRenewal("api")).toEqual(await source.getAcmeRenewal("api"));
      // Numbering goes on where the file store left off, for a certificate made again too.
      expect((await target.createVersion("api", "upload", materials[1], actor)).version).toBe(4);
      await target.createCertificate({ name: "old", displayName: "old", type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
      expect((await target.createVersion("old", "upload", materials[2], actor)).version).toBe(3);
    } finally {
      await target.close();
    }

    const again = await certstage(["store", "copy", "--from", root, "--to", world.url(database, copier)], environment);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[CERTIFICATE_EXISTS\]/);
    expect(`${copied.stdout}${again.stderr}`).not.toContain("PRIVATE KEY");
  });
});

describe("certstage store rekey", () => {
  it("re-wraps every key, and every keystore, under the ring's first key; the old key can then be dropped", async () => {
    const materials = makeTestMaterials(temporaryDirectory("rekey-pki"), ["one.rekey.test"]);
    const database = await world.newStoreDatabase();
    const store = world.open(database, world.login("edge-ci"));
    await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "team-edge", shareWith: [], description: "" }, { principal: "edge-ci" });
    const pkcs12 = buildPkcs12({ ...materials[0], privateKeyPem: materials[0].privateKeyPem! }, { password: "rekey-keystore", friendlyName: "api" }).toString("base64");
    await store.createVersion("api", "upload", { ...materials[0], pkcs12 }, { principal: "edge-ci" });
    await store.close();
    const next = randomBytes(32).toString("base64");
    const url = world.url(database, world.login("edge-ci"));
    const rekeyed = await certstage(["store", "rekey", "--store", url, "--json"], { CERTSTAGE_STORE_KEY: `${next},${world.keyText}` });
    expect(rekeyed.code, rekeyed.stderr).toBe(0);
    expect(JSON.parse(rekeyed.stdout)).toEqual({ rewrapped: 2, total: 2 });
    const status = await certstage(["status", "--store", url, "--json"], { CERTSTAGE_STORE_KEY: next });
    expect(status.code, status.stderr).toBe(0);
    const oldOnly = world.open(database, world.login("edge-ci"));
    try {
      await expect(oldOnly.readVersionFiles("api", 1)).rejects.toThrow(/STORE_KEY_UNKNOWN/);
    } finally {
      await oldOnly.close();
    }
  });
});
