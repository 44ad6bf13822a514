import { execFile, spawn } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, promises as fs, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { inspectUpload, VersionMaterial } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import type { Store } from "../../provider/store";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { expectEnvironmentsWhole } from "../support/store-on-disk";
import { describeStoreConformance } from "./conformance";

const run = promisify(execFile);
const actor = { principal: "file-driver@test" };
/** How long the crash test waits for a worker's writes before calling it hung (not a speed figure). */
const WORKER_SILENCE_MS = 60_000;

describeStoreConformance("file", async () => {
  const root = temporaryDirectory("store");
  return {
    store: createFileStore({ root }),
    reopen: () => createFileStore({ root }),
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
});

describe("file driver specifics", () => {
  it("takes the principal and its teams from the stack's word, advisory, without reading or writing the directory", async () => {
    const root = path.join(temporaryDirectory("file-principal"), "store");
    const store = createFileStore({ root });
    expect(await store.principal({ principal: "alice" })).toEqual({ name: "alice", roles: ["alice"], enforcedBy: "advisory" });
    expect(await store.principal({ principal: "alice", teams: ["team-edge", "alice", "team-web"] })).toEqual({ name: "alice", roles: ["alice", "team-edge", "team-web"], enforcedBy: "advisory" });
    expect(existsSync(root)).toBe(false);
  });

  const materials: VersionMaterial[] = [];
  let materialsFile: string;

  beforeAll(() => {
    const pki = temporaryDirectory("file-pki");
    for (const name of ["one.example.test", "two.example.test", "three.example.test"]) {
      const inspection = inspectUpload(makeTestCertificate(pki, name));
      if (!inspection.ok) throw new Error("bad test certificate");
      materials.push(inspection.value);
    }
    materialsFile = path.join(pki, "materials.json");
    writeFileSync(materialsFile, JSON.stringify(materials), { mode: 0o600 });
  });

  async function storeWithTwoVersions(): Promise<{ root: string; store: Store }> {
    const root = temporaryDirectory("file");
    const store = createFileStore({ root });
    await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
    await store.createVersion("api", "upload", materials[0], actor);
    await store.createVersion("api", "upload", materials[1], actor);
    return { root, store };
  }

  it("lays files out as servers expect: relative links, 0600 keys, fullchain = cert + chain", async () => {
    const { root, store } = await storeWithTwoVersions();
    await store.deploy("api", "production", 2, actor);
    const link = path.join(root, "environments", "production", "api");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(path.join("..", "..", "certificates", "api", "versions", "2"));
    const version = path.join(root, "certificates", "api", "versions", "2");
    expect(readdirSync(version).sort()).toEqual(["cert.pem", "chain.pem", "fullchain.pem", "jwk.json", "privkey.pem", "version.json"]);
    expect(JSON.parse(readFileSync(path.join(link, "jwk.json"), "utf8")).kid).toBe((await store.getVersion("api", 2))?.jwk.kid);
    expect(lstatSync(path.join(version, "privkey.pem")).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(link, "fullchain.pem"), "utf8")).toBe(readFileSync(path.join(version, "cert.pem"), "utf8") + readFileSync(path.join(version, "chain.pem"), "utf8"));
    expect(JSON.parse(readFileSync(path.join(root, "certificates", "api", "certificate.json"), "utf8")).lastVersion).toBe(2);
    expect(readFileSync(path.join(root, "history.jsonl"), "utf8").trim().split("\n")).toHaveLength(4);
    expect(existsSync(path.join(root, "tasks"))).toBe(true);
    // Moving the whole store keeps every deployment valid, because links are relative.
    const moved = `${root}-moved`;
    await fs.rename(root, moved);
    expect(Object.keys(expectEnvironmentsWhole(moved))).toHaveLength(1);
  });

  it("keeps ACME account keys readable by the owner only", async () => {
    const { root, store } = await storeWithTwoVersions();
    await store.putAcmeAccount({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[0].privateKeyPem! });
    const accounts = path.join(root, "acme", "accounts");
    const keyFile = readdirSync(accounts).find((entry) => entry.endsWith(".key.pem"))!;
    expect(lstatSync(path.join(accounts, keyFile)).mode & 0o777).toBe(0o600);
  });

  it("keeps the key of an ACME order in flight readable by the owner only, and out of its JSON", async () => {
    const { root, store } = await storeWithTwoVersions();
    await store.putAcmeOrder({ certificate: "api", directoryUrl: "https://ca.test/dir", orderUrl: "https://ca.test/order/1", accountUrl: "https://ca.test/acct/1", certificateKeyPem: materials[0].privateKeyPem!, createdAt: "2026-12-01T00:00:00.000Z" });
    const orders = path.join(root, "acme", "orders");
    expect(lstatSync(path.join(orders, "api.key.pem")).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(orders, "api.json"), "utf8")).not.toContain("PRIVATE KEY");
  });

  it("never hands out a number whose directory exists, even if certificate.json is rolled back", async () => {
    const { root, store } = await storeWithTwoVersions();
    const recordFile = path.join(root, "certificates", "api", "certificate.json");
    const record = JSON.parse(readFileSync(recordFile, "utf8"));
    writeFileSync(recordFile, JSON.stringify({ ...record, lastVersion: 1 }));
    const before = readFileSync(path.join(root, "certificates", "api", "versions", "2", "cert.pem"), "utf8");
    expect((await store.createVersion("api", "upload", materials[2], actor)).version).toBe(3);
    expect(readFileSync(path.join(root, "certificates", "api", "versions", "2", "cert.pem"), "utf8")).toBe(before);
  });

  it("a reader that resolves the link once always sees a whole version during swaps", async () => {
    const { root, store } = await storeWithTwoVersions();
    await store.deploy("api", "production", 1, actor);
    const link = path.join(root, "environments", "production", "api");
    let reads = 0;
    let mismatches = 0;
    let swapping = true;
    const reader = (async () => {
      while (swapping) {
        const version = realpathSync(link);
        const certificate = new X509Certificate(readFileSync(path.join(version, "cert.pem")));
        if (!certificate.checkPrivateKey(createPrivateKey(readFileSync(path.join(version, "privkey.pem"))))) mismatches += 1;
        reads += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let swap = 0; swap < 40; swap += 1) await store.deploy("api", "production", (swap % 2) + 1, actor);
    swapping = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(mismatches).toBe(0);
  });

  it("two processes racing to create versions and deploy leave a consistent store", async () => {
    const { root } = await storeWithTwoVersions();
    const worker = path.join(__dirname, "race-worker.cjs");
    const dist = path.join(REPO_ROOT, "dist");
    const results = await Promise.all(
      [0, 1].map(async () => JSON.parse((await run(process.execPath, [worker, dist, root, materialsFile, "30", "5"])).stdout) as { created: number[]; swaps: number }),
    );
    const created = results.flatMap((result) => result.created).sort((a, b) => a - b);
    expect(created).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const store = createFileStore({ root });
    expect((await store.listVersions("api")).map((record) => record.version)).toEqual([1, 2, ...created]);
    expect(Object.keys(expectEnvironmentsWhole(root))).toHaveLength(1);
    const swaps = (await store.readHistory({ environment: "production" })).filter((entry) => entry.action === "deploy" || entry.action === "rollback");
    for (const [index, entry] of swaps.entries()) if (index > 0) expect(entry.fromVersion).toBe(swaps[index - 1].toVersion);
    expect(existsSync(path.join(root, ".lock"))).toBe(false);
  });

  it("a process killed with SIGKILL mid-write leaves nothing partial and does not wedge the lock", async () => {
    const { root } = await storeWithTwoVersions();
    const worker = path.join(__dirname, "race-worker.cjs");
    const total = 500;
    // Killed right after it reports the n-th completed write: the next one is under way.
    for (const killAfter of [1, 25, 120]) {
      const versionsBefore = (await createFileStore({ root }).listVersions("api")).length;
      const child = spawn(process.execPath, [worker, path.join(REPO_ROOT, "dist"), root, materialsFile, "400", "100", "progress"], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      const reported = await new Promise<string[]>((resolve, reject) => {
        let buffered = "";
        const steps: string[] = [];
        child.stdout.on("data", (chunk) => {
          buffered += chunk;
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          steps.push(...lines.filter((line) => line.startsWith("step ")));
          if (steps.length >= killAfter && child.exitCode === null && child.signalCode === null) {
            child.kill("SIGKILL");
            resolve(steps);
          }
        });
        child.on("exit", (code, signal) => reject(new Error(`the worker ended by itself (${code ?? signal}) after ${steps.length} writes, before the kill: ${stderr}`)));
        // A worker that hangs without writing fails here, not at the test's timeout.
        setTimeout(() => {
          if (steps.length < killAfter) {
            child.kill("SIGKILL");
            reject(new Error(`the worker reported ${steps.length} of ${killAfter} writes in ${WORKER_SILENCE_MS} ms`));
          }
        }, WORKER_SILENCE_MS).unref();
      });
      await exited;
      // It was alive and writing: it died of the kill, with writes done and more to do.
      expect(child.signalCode).toBe("SIGKILL");
      expect(reported.length).toBeGreaterThanOrEqual(killAfter);
      expect(reported.length).toBeLessThan(total);
      // What it reported done is in the store: its versions, and (when it swapped) its swaps.
      const store = createFileStore({ root });
      const reportedVersions = reported.filter((line) => / version \d+$/.test(line)).length;
      expect((await store.listVersions("api")).length).toBeGreaterThanOrEqual(versionsBefore + reportedVersions);
      const itsSwaps = (await store.readHistory({})).filter((entry) => entry.actor === `worker-${child.pid}`);
      if (reported.some((line) => / deploy \d$/.test(line))) expect(itsSwaps.length).toBeGreaterThan(0);
      expectEnvironmentsWhole(root);
    }
    const store = createFileStore({ root, lockTimeoutMs: 5_000 });
    const versions = (await store.listVersions("api")).map((record) => record.version);
    const next = await store.createVersion("api", "upload", materials[0], actor);
    expect(next.version).toBe(Math.max(...versions) + 1);
    await store.deploy("api", "production", next.version, actor);
    expect(Object.keys(expectEnvironmentsWhole(root))).toHaveLength(1);
    expect(readdirSync(path.join(root, "certificates", "api", "versions")).filter((entry) => entry.startsWith("."))).toEqual([]);
  });

  it("reads a task file written before undeploy tasks as a swap, and refuses one whose action and version disagree", async () => {
    const { root, store } = await storeWithTwoVersions();
    // The form of a task file before undeploy tasks existed: no action.
    const id = "20261201T020000Z-staging-api-v2-0a0b0c";
    const old = { id, certificate: "api", environment: "staging", version: 2, createdAt: "2026-12-01T02:00:00.000Z", createdBy: "ci", state: "pending", environments: [{ name: "staging" }] };
    writeFileSync(path.join(root, "tasks", `${id}.json`), JSON.stringify(old));
    expect(await store.getTask(id)).toEqual(old);
    expect(await store.listTasks({ state: "pending" })).toEqual([old]);

    const undeploy = await store.queueTask({ certificate: "api", environment: "production", action: "undeploy", environments: [{ name: "production" }] }, actor);
    const file = path.join(root, "tasks", `${undeploy.id}.json`);
    expect(JSON.parse(readFileSync(file, "utf8"))).not.toHaveProperty("version");
    writeFileSync(file, JSON.stringify({ ...undeploy, version: 2 }));
    await expect(store.getTask(undeploy.id)).rejects.toThrow(/^\[STORE_CORRUPT\] .*tasks\/.*-undeploy-[0-9a-f]{6}\.json is an undeploy task with a 'version'/);
    writeFileSync(file, JSON.stringify({ ...old, id: undeploy.id, version: undefined }));
    await expect(store.getTask(undeploy.id)).rejects.toThrow(/has no 'version'/);
  });

  it("a standby task left running by a runner that died can be claimed again; a live runner's cannot", async () => {
    const { root, store } = await storeWithTwoVersions();
    const task = await store.queueTask({ certificate: "api", environment: "staging", version: 2, environments: [{ name: "staging" }] }, actor);
    const file = path.join(root, "tasks", `${task.id}.json`);
    const dead = spawn("true");
    await new Promise((resolve) => dead.on("exit", resolve));
    writeFileSync(file, JSON.stringify({ ...task, state: "running", runner: { principal: "gone", host: os.hostname(), pid: dead.pid } }));
    expect(await store.claimTask(task.id, actor)).toMatchObject({ state: "running", runner: { principal: actor.principal, pid: process.pid } });

    const live = spawn("sleep", ["30"]);
    writeFileSync(file, JSON.stringify({ ...task, state: "running", runner: { principal: "busy", host: os.hostname(), pid: live.pid } }));
    expect(await store.claimTask(task.id, actor)).toBeUndefined();
    live.kill("SIGKILL");
  });

  it("breaks a lock whose holder died and names a live holder when it times out", async () => {
    const { root } = await storeWithTwoVersions();
    const lock = path.join(root, ".lock");
    const dead = spawn("true");
    await new Promise((resolve) => dead.on("exit", resolve));
    mkdirSync(lock);
    writeFileSync(path.join(lock, "owner.json"), JSON.stringify({ pid: dead.pid, hostname: os.hostname(), acquiredAt: new Date().toISOString(), token: "dead" }));
    const store = createFileStore({ root, lockTimeoutMs: 2_000 });
    await store.deploy("api", "staging", 1, actor);
    expect(existsSync(lock)).toBe(false);

    const holder = spawn("sleep", ["30"]);
    mkdirSync(lock);
    writeFileSync(path.join(lock, "owner.json"), JSON.stringify({ pid: holder.pid, hostname: os.hostname(), acquiredAt: new Date().toISOString(), token: "live" }));
    const impatient = createFileStore({ root, lockTimeoutMs: 300 });
    await expect(impatient.deploy("api", "staging", 2, actor)).rejects.toThrow(new RegExp(`\\[STORE_LOCKED\\].*held by process ${holder.pid}`));
    expect((await impatient.getDeployment("api", "staging"))?.version).toBe(1);
    holder.kill("SIGKILL");
  });
});
