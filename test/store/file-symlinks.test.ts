/**
 * Links planted in a file store are refused, never followed. Each case plants one where the store
 * keeps a directory or a file (or, for an environment link, one that resolves outside the
 * version it must name), pointing at a directory outside the store that holds a sentinel and a
 * fake version, or at another certificate's version. Reading, listing, deploying, status and
 * history then refuse with STORE_CORRUPT naming the path and what was found there; the sentinel
 * appears in no answer; and the link's target is proven untouched: nothing in it was read (access
 * times) or written (contents, modes, modification times).
 */
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { buildStatusReport } from "../../provider/cli/status";
import type { VersionMaterial } from "../../provider/pki/version-material";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestMaterials, temporaryDirectory } from "../support/certificates";
import { settledOutcome } from "../support/refusals";
import { watchUntouched } from "../support/untouched";

const actor = { principal: "symlinks@test" };
const SENTINEL = "SENTINEL-outside-the-store";
let materials: VersionMaterial[];

let root: string;
let outside: string;
let store: Store;
let taskId: string;

beforeAll(() => {
  materials = makeTestMaterials(temporaryDirectory("symlinks-pki"), ["api.example.test", "api.example.test", "other.example.test"]);
});

beforeEach(async () => {
  const parent = temporaryDirectory("symlinks");
  root = path.join(parent, "store");
  outside = path.join(parent, "outside");
  store = createFileStore({ root, lockTimeoutMs: 5_000 });
  for (const name of ["api", "other"]) await store.createCertificate({ name, displayName: name, type: "server", owner: "o", shareWith: [], description: "" }, actor);
  await store.createVersion("api", "upload", materials[0], actor);
  await store.createVersion("api", "upload", materials[1], actor);
  await store.createVersion("other", "upload", materials[2], actor);
  await store.deploy("api", "staging", 1, actor);
  taskId = (await store.queueTask({ certificate: "api", environment: "production", version: 2, environments: [{ name: "production" }] }, actor)).id;

  // Outside: what a planted link would have certstage read, all of it marked with the sentinel.
  mkdirSync(path.join(outside, "versions"), { recursive: true });
  cpSync(path.join(root, "certificates", "other", "versions", "1"), path.join(outside, "versions", "1"), { recursive: true });
  const fakeVersion = path.join(outside, "versions", "1", "version.json");
  writeFileSync(fakeVersion, readFileSync(fakeVersion, "utf8").replace(/"subject": "[^"]*"/, `"subject": "CN=${SENTINEL}"`).replace(/"certificate": "other"/, '"certificate": "api"'));
  writeFileSync(path.join(outside, "certificate.json"), readFileSync(path.join(root, "certificates", "api", "certificate.json"), "utf8").replace(/"displayName": "api"/, `"displayName": "${SENTINEL}"`));
  writeFileSync(path.join(outside, "task.json"), readFileSync(path.join(root, "tasks", `${taskId}.json`), "utf8").replace(/"createdBy": "[^"]*"/, `"createdBy": "${SENTINEL}"`));
  writeFileSync(path.join(outside, "history.jsonl"), `${JSON.stringify({ at: new Date().toISOString(), actor: SENTINEL, action: "deploy", certificate: "api", environment: "staging", toVersion: 1, result: "ok" })}\n`);
  writeFileSync(path.join(outside, "sentinel.txt"), SENTINEL);
  symlinkSync(path.join(root, "certificates", "api", "versions", "1"), path.join(outside, "api"));
});

/** Replaces `place` (relative to the store) with a link to `target`. */
function plant(place: string, target: string): string {
  const full = path.join(root, place);
  rmSync(full, { recursive: true, force: true });
  symlinkSync(target, full);
  return full;
}

type Call = readonly [string, () => Promise<unknown>];

const status = (): Call => ["status", () => buildStatusReport(store)];
const cli = (...args: string[]): Call => [`certstage ${args.join(" ")}`, () => main([...args, "--store", root], new Writable({ write: (_chunk, _encoding, done) => done() }))];

/** Each call refuses with STORE_CORRUPT naming `where`; no answer holds the sentinel; `watched` is untouched. */
async function expectRefusedWithoutFollowing(where: string, calls: readonly Call[], watched: string[] = [outside]): Promise<void> {
  const untouched = watchUntouched(...watched);
  for (const [name, call] of calls) {
    const outcome = await settledOutcome(call, materials.map((material) => material.privateKeyPem!));
    expect(JSON.stringify(outcome.accepted ?? null), name).not.toContain(SENTINEL);
    expect(outcome.refused?.code, `${name}: ${JSON.stringify(outcome.accepted)?.slice(0, 200)}`).toBe("STORE_CORRUPT");
    expect(outcome.refused!.message, name).toContain(where);
    expect(outcome.refused!.message, name).not.toContain(SENTINEL);
    expect(outcome.refused!.message, name).toMatch(/Fix: /);
  }
  untouched();
}

describe("a file store with a planted link", () => {
  it("(the proof that nothing was followed sees a read, and a write)", () => {
    const afterRead = watchUntouched(outside);
    readFileSync(path.join(outside, "versions", "1", "cert.pem"));
    expect(afterRead).toThrow(/read under/);
    const afterWrite = watchUntouched(outside);
    writeFileSync(path.join(outside, "sentinel.txt"), "changed");
    expect(afterWrite).toThrow(/changed under/);
  });

  it.each([
    ["a directory outside the store", () => path.join(outside, "versions", "1")],
    ["another certificate's version", () => path.join("..", "..", "other", "versions", "1")],
  ])("refuses a version directory that is a link to %s", async (_case, target) => {
    const link = plant(path.join("certificates", "api", "versions", "2"), target());
    await expectRefusedWithoutFollowing(
      `${link} is a symbolic link to '${target()}'`,
      [
        ["getVersion", () => store.getVersion("api", 2)],
        ["listVersions", () => store.listVersions("api")],
        ["readVersionFiles", () => store.readVersionFiles("api", 2)],
        ["deploy", () => store.deploy("api", "production", 2, actor)],
        ["deleteVersion", () => store.deleteVersion("api", 2, actor)],
        status(),
      ],
      [outside, path.join(root, "certificates", "other", "versions", "1")],
    );
  });

  it("refuses a certificate directory that is a link, for reads and for writes", async () => {
    const link = plant(path.join("certificates", "api"), outside);
    await expectRefusedWithoutFollowing(`${link} is a symbolic link to '${outside}'`, [
      ["getCertificate", () => store.getCertificate("api")],
      ["listCertificates", () => store.listCertificates()],
      ["listVersions", () => store.listVersions("api")],
      ["readVersionFiles", () => store.readVersionFiles("api", 1)],
      ["getDeployment", () => store.getDeployment("api", "staging")],
      ["deploy", () => store.deploy("api", "production", 1, actor)],
      ["updateCertificate", () => store.updateCertificate("api", { displayName: "renamed" }, actor)],
      ["createVersion", () => store.createVersion("api", "upload", materials[1], actor)],
      ["deleteCertificate", () => store.deleteCertificate("api", actor)],
      status(),
      cli("status"),
    ]);
  });

  it.each([
    ["an absolute path outside the store", () => path.join(outside, "versions", "1")],
    ["a relative path that climbs out of the store", () => path.join("..", "..", "..", "outside", "versions", "1")],
    ["another certificate's version", () => path.join("..", "..", "certificates", "other", "versions", "1")],
    ["a path through the right version into another certificate's", () => path.join("..", "..", "certificates", "api", "versions", "1", "..", "..", "..", "other", "versions", "1")],
    ["a directory outside the store that links back to the right version", () => path.join(outside, "api")],
  ])("refuses an environment link whose target is %s", async (_case, target) => {
    const link = plant(path.join("environments", "staging", "api"), target());
    await expectRefusedWithoutFollowing(
      `${link} points at '${target()}', which is not a version of 'api'`,
      [
        ["getDeployment", () => store.getDeployment("api", "staging")],
        ["listDeployments", () => store.listDeployments()],
        ["environmentsServing", () => store.environmentsServing("api")],
        ["deploy (swap)", () => store.deploy("api", "staging", 2, actor)],
        ["undeploy", () => store.undeploy("api", "staging", actor)],
        ["deleteVersion", () => store.deleteVersion("api", 2, actor)],
        status(),
      ],
      [outside, path.join(root, "certificates", "other", "versions", "1")],
    );
  });

  it("reads the legitimate relative environment link", async () => {
    plant(path.join("environments", "staging", "api"), path.join("..", "..", "certificates", "api", "versions", "2"));
    expect((await store.getDeployment("api", "staging"))?.version).toBe(2);
  });

  it("refuses a task file that is a link, and writes nothing through it", async () => {
    const link = plant(path.join("tasks", `${taskId}.json`), path.join(outside, "task.json"));
    await expectRefusedWithoutFollowing(`${link} is a symbolic link to '${path.join(outside, "task.json")}'`, [
      ["getTask", () => store.getTask(taskId)],
      ["listTasks", () => store.listTasks()],
      ["claimTask", () => store.claimTask(taskId, actor)],
      ["finishTask", () => store.finishTask(taskId, { state: "cancelled" }, actor)],
      ["queueTask", () => store.queueTask({ certificate: "api", environment: "production", version: 1, environments: [{ name: "production" }] }, actor)],
      status(),
      cli("tasks", "list"),
    ]);
  });

  it("refuses an environment directory that is a link, and writes nothing through it", async () => {
    const environment = path.join(root, "environments", "staging");
    renameSync(path.join(environment, "api"), path.join(outside, "staging-api"));
    const link = plant(path.join("environments", "staging"), outside);
    await expectRefusedWithoutFollowing(`${link} is a symbolic link to '${outside}'`, [
      ["getDeployment", () => store.getDeployment("api", "staging")],
      ["listDeployments", () => store.listDeployments()],
      ["deploy (swap)", () => store.deploy("api", "staging", 2, actor)],
      ["deploy (new link)", () => store.deploy("other", "staging", 1, actor)],
      ["undeploy", () => store.undeploy("api", "staging", actor)],
      status(),
    ]);
  });

  it("refuses a history that is a link, before any change is made", async () => {
    const link = plant("history.jsonl", path.join(outside, "history.jsonl"));
    const before = await store.getDeployment("api", "staging");
    await expectRefusedWithoutFollowing(`${link} is a symbolic link to '${path.join(outside, "history.jsonl")}'`, [
      ["readHistory", () => store.readHistory()],
      ["deploy", () => store.deploy("api", "staging", 2, actor)],
      ["recordHistory", () => store.recordHistory({ actor: "a", action: "verify", certificate: "api", result: "ok" })],
      cli("history"),
    ]);
    expect(await store.getDeployment("api", "staging")).toEqual(before);
  });
});
