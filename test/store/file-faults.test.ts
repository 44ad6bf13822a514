/**
 * The file store when its filesystem refuses a write, with real faults, not mocks: a 160 KB tmpfs
 * that fills up (ENOSPC), a remount read-only (EROFS), a process that may not write the store
 * (EACCES: a store of another user, written by root without the capabilities that ignore file
 * permissions), and the store directory removed under
 * an open Store. Each refusal is STORE_WRITE_FAILED naming the store and the fix; each leaves the
 * store exactly as it was (no partial version, no version history does not record, the previous
 * deployment serving, history parseable); and once the fault is gone the next write works, with
 * version numbers carrying on.
 *
 * The sweeps give a write exactly 0, 1, 2, ... free pages, so the disk fills at every write of an
 * operation in turn (the lock, each version file, certificate.json, the history line) and each
 * undo path runs. These tests need root (mount, setpriv); they fail, never skip, without it.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CertstageError } from "../../provider/errors";
import type { VersionMaterial } from "../../provider/pki/version-material";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestMaterials, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { expectCleanRefusal } from "../support/refusals";

const actor = { principal: "faults@test" };
let materials: VersionMaterial[];
/** Every test works under here; the name says what left it, should a run be killed. */
let scratch: string;
let pki: string;
const mounted: string[] = [];

beforeAll(() => {
  scratch = temporaryDirectory("store-fault");
  chmodSync(scratch, 0o755);
  pki = temporaryDirectory("store-fault-pki");
  materials = makeTestMaterials(pki, ["api.example.test", "api.example.test", "api.example.test"]);
});

afterEach(() => {
  while (mounted.length > 0) unmount(mounted.pop()!);
});

afterAll(() => {
  while (mounted.length > 0) unmount(mounted.pop()!);
  rmSync(scratch, { recursive: true, force: true });
  rmSync(pki, { recursive: true, force: true });
});

function mountTmpfs(name: string, size: string): string {
  const directory = path.join(scratch, name);
  mkdirSync(directory);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", directory]);
  mounted.push(directory);
  return directory;
}

function unmount(directory: string): void {
  try {
    execFileSync("umount", [directory], { stdio: "pipe" });
  } catch {
    execFileSync("umount", ["-l", directory], { stdio: "pipe" }); // busy: detach now, free when released
  }
}

function remount(directory: string, options: string): void {
  execFileSync("mount", ["-o", `remount,${options}`, directory]);
}

/** Resizes the tmpfs so exactly `pages` pages are free: the next write that needs more fails. */
function leaveFreePages(directory: string, pages: number): void {
  const { blocks, bfree, bsize } = statfsSync(directory);
  remount(directory, `size=${(blocks - bfree + pages) * bsize}`);
  expect(statfsSync(directory).bfree).toBe(pages);
}

/**
 * Appends history lines (on a roomy disk) until the next line of an operation must start a new
 * page: then the history append, the last write of every change, is one the disk can refuse.
 */
async function fillHistoryPage(store: Store, root: string): Promise<void> {
  const history = path.join(root, "history.jsonl");
  while (4096 - (statSync(history).size % 4096) > 60) {
    await store.recordHistory({ actor: actor.principal, action: "certificate.update", certificate: "api", result: "ok", detail: "padding" });
  }
}

async function newStore(root: string): Promise<Store> {
  const store = createFileStore({ root });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
  return store;
}

async function refusal(call: () => Promise<unknown>): Promise<CertstageError> {
  try {
    await call();
  } catch (error) {
    expectCleanRefusal(error, materials.map((material) => material.privateKeyPem!));
    return error;
  }
  throw new Error("expected the store to refuse the write");
}

/** Everything on disk under `root`: kinds, modes, contents, link targets and times. */
function snapshot(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (directory: string) => {
    for (const name of readdirSync(directory).sort()) {
      const file = path.join(directory, name);
      const stats = lstatSync(file);
      const key = path.relative(root, file);
      if (stats.isSymbolicLink()) entries[key] = `link ${readlinkSync(file)} ${stats.mtimeMs}`;
      else if (stats.isDirectory()) {
        entries[key] = `dir ${(stats.mode & 0o777).toString(8)}`;
        walk(file);
      } else entries[key] = `file ${(stats.mode & 0o777).toString(8)} ${readFileSync(file, "utf8")}`;
    }
  };
  walk(root);
  return entries;
}

/** What no complete operation leaves: staging or moved-aside directories, temporary or kept files, the lock. */
function expectNothingPartial(root: string): void {
  const leftovers = Object.keys(snapshot(root)).filter((entry) => /(^|\/)(\.staging-|\.deleted-|versions\.deleted\.|\.lock)|\.tmp(\.kept)?$/.test(entry));
  expect(leftovers).toEqual([]);
}

/** The versions on disk are exactly those history records and certificate.json counts; keys are 0600. */
async function expectVersionsRecorded(store: Store, root: string, versions: number[]): Promise<void> {
  const directory = path.join(root, "certificates", "api", "versions");
  expect(readdirSync(directory).map(Number).sort((a, b) => a - b)).toEqual(versions);
  const raw = readFileSync(path.join(root, "history.jsonl"), "utf8");
  expect(raw.endsWith("\n")).toBe(true);
  for (const line of raw.trimEnd().split("\n")) JSON.parse(line);
  const history = await store.readHistory({ certificate: "api" });
  expect(history.filter((entry) => entry.action === "version.create").map((entry) => entry.toVersion)).toEqual(versions);
  expect(JSON.parse(readFileSync(path.join(root, "certificates", "api", "certificate.json"), "utf8")).lastVersion).toBe(versions.at(-1) ?? 0);
  for (const version of versions) expect(statSync(path.join(directory, String(version), "privkey.pem")).mode & 0o777).toBe(0o600);
  expectNothingPartial(root);
}

function writtenFile(error: CertstageError, root: string): string {
  return /\(writing ([^)]+)\)/.exec(error.problem)?.[1]?.replace(`${root}/`, "") ?? "(none named)";
}

describe("a full disk (ENOSPC)", () => {
  it("refuses a version with the store's path and the fix, leaves nothing partial, and carries on once there is space", async () => {
    const mount = mountTmpfs("full", "160k");
    const root = path.join(mount, "store");
    const store = await newStore(root);
    const created: number[] = [];
    let failure: CertstageError | undefined;
    for (let attempt = 0; attempt < 40 && failure === undefined; attempt += 1) {
      failure = await store.createVersion("api", "upload", materials[attempt % materials.length], actor).then(
        (record) => {
          created.push(record.version);
          return undefined;
        },
        async (error: unknown) => {
          expectCleanRefusal(error);
          return error;
        },
      );
    }
    expect(created.length).toBeGreaterThan(0);
    expect(failure?.code).toBe("STORE_WRITE_FAILED");
    expect(failure!.message).toContain(`[STORE_WRITE_FAILED] the disk holding the store ${root} is full`);
    expect(failure!.message).toContain("Fix: free space on that filesystem (or give the store a larger volume) and run `pulumi up` again; nothing was changed");
    expect((failure!.cause as NodeJS.ErrnoException).code).toBe("ENOSPC");
    await expectVersionsRecorded(store, root, created);

    remount(mount, "size=1m");
    const next = await store.createVersion("api", "upload", materials[0], actor);
    expect(next.version).toBe(created.at(-1)! + 1);
    await expectVersionsRecorded(store, root, [...created, next.version]);
  });

  it("undoes a version at whichever write the disk fills: the lock, a version file, certificate.json or the history line", async () => {
    const mount = mountTmpfs("sweep-version", "1m");
    const root = path.join(mount, "store");
    const store = await newStore(root);
    const created = [(await store.createVersion("api", "upload", materials[0], actor)).version];
    const failedAt = new Set<string>();
    for (let pages = 0; pages < 16; pages += 1) {
      remount(mount, "size=1m");
      await fillHistoryPage(store, root);
      leaveFreePages(mount, pages);
      try {
        created.push((await store.createVersion("api", "upload", materials[pages % materials.length], actor)).version);
        break;
      } catch (error) {
        expectCleanRefusal(error);
        expect(error.message).toContain(`the disk holding the store ${root} is full`);
        failedAt.add(writtenFile(error, root));
      }
      await expectVersionsRecorded(store, root, created);
    }
    expect(created).toEqual([1, 2]);
    expect([...failedAt]).toEqual(
      expect.arrayContaining([
        ".lock/owner.json",
        "certificates/api/versions/2/cert.pem",
        "certificates/api/versions/2/privkey.pem",
        "certificates/api/versions/2/version.json",
        "certificates/api/certificate.json",
        "history.jsonl",
      ]),
    );
  });

  it("keeps the previous deployment serving when a deploy or undeploy cannot be recorded", async () => {
    const mount = mountTmpfs("sweep-deploy", "1m");
    const root = path.join(mount, "store");
    const store = await newStore(root);
    await store.createVersion("api", "upload", materials[0], actor);
    await store.createVersion("api", "upload", materials[1], actor);
    await store.deploy("api", "production", 1, actor);
    const served = path.join(root, "environments", "production", "api", "cert.pem");
    const before = { deployment: await store.getDeployment("api", "production"), certificate: readFileSync(served, "utf8") };
    const failedAt = new Set<string>();
    let deployed = false;
    for (let pages = 0; pages < 4 && !deployed; pages += 1) {
      remount(mount, "size=1m");
      await fillHistoryPage(store, root);
      const history = readFileSync(path.join(root, "history.jsonl"), "utf8");
      leaveFreePages(mount, pages);
      try {
        await store.deploy("api", "production", 2, actor);
        deployed = true;
      } catch (error) {
        expectCleanRefusal(error);
        expect(error.message).toContain(`the disk holding the store ${root} is full`);
        failedAt.add(writtenFile(error, root));
        expect(await store.getDeployment("api", "production")).toEqual(before.deployment);
        expect(readFileSync(served, "utf8")).toBe(before.certificate);
        expect(readFileSync(path.join(root, "history.jsonl"), "utf8")).toBe(history);
        expectNothingPartial(root);
      }
    }
    expect(deployed).toBe(true);
    expect(failedAt).toContain("history.jsonl");

    const serving = await store.getDeployment("api", "production");
    let undeployed = false;
    for (let pages = 0; pages < 4 && !undeployed; pages += 1) {
      remount(mount, "size=1m");
      await fillHistoryPage(store, root);
      leaveFreePages(mount, pages);
      try {
        await store.undeploy("api", "production", actor);
        undeployed = true;
      } catch (error) {
        expectCleanRefusal(error);
        expect(await store.getDeployment("api", "production")).toEqual(serving);
        expectNothingPartial(root);
      }
    }
    expect(undeployed).toBe(true);
    expect(await store.getDeployment("api", "production")).toBeUndefined();
  });
});

describe("a read-only filesystem (EROFS)", () => {
  it("refuses every write, changes nothing, and still answers reads", async () => {
    const mount = mountTmpfs("read-only", "1m");
    const root = path.join(mount, "store");
    const store = await newStore(root);
    await store.createVersion("api", "upload", materials[0], actor);
    await store.deploy("api", "production", 1, actor);
    const before = snapshot(root);
    remount(mount, "ro");

    for (const write of [() => store.createVersion("api", "upload", materials[1], actor), () => store.deploy("api", "staging", 1, actor), () => store.undeploy("api", "production", actor)]) {
      const error = await refusal(write);
      expect(error.code).toBe("STORE_WRITE_FAILED");
      expect(error.message).toContain(`[STORE_WRITE_FAILED] the store ${root} is on a read-only filesystem (writing ${root}/.lock)`);
      expect(error.message).toContain("Fix: remount that filesystem read-write (or point certstage:store at a writable directory) and run `pulumi up` again; nothing was changed");
    }
    expect(snapshot(root)).toEqual(before);
    expect((await store.getDeployment("api", "production"))?.version).toBe(1);
    expect((await store.readVersionFiles("api", 1)).certificatePem).toBe(materials[0].certificatePem);
    expect((await store.readHistory()).map((entry) => entry.action)).toEqual(["certificate.create", "version.create", "deploy"]);

    remount(mount, "rw");
    expect((await store.createVersion("api", "upload", materials[1], actor)).version).toBe(2);
  });
});

describe("a user who may not write the store (EACCES)", () => {
  it("says who may not write what, and changes nothing", async () => {
    const root = path.join(scratch, "not-mine");
    const store = await newStore(root);
    await store.createVersion("api", "upload", materials[0], actor);
    await store.createVersion("api", "upload", materials[1], actor);
    await store.deploy("api", "production", 1, actor);
    const material = path.join(scratch, "material.json");
    writeFileSync(material, JSON.stringify(materials[2]), { mode: 0o644 });

    // The store belongs to another user (nobody); the worker runs as root without the
    // capabilities that let root write what is not its own (CAP_DAC_OVERRIDE and friends), so
    // the kernel refuses its writes as it would refuse any other user's. (Running the worker as
    // nobody instead needs the checkout to be readable by nobody, which a CI clone under a 0700
    // temporary directory is not.)
    execFileSync("chown", ["-R", "65534:65534", root]);
    const before = snapshot(root);
    const output = execFileSync("setpriv", ["--bounding-set=-dac_override,-dac_read_search,-fowner", process.execPath, path.join(__dirname, "fault-worker.cjs"), path.join(REPO_ROOT, "dist"), root, material], { encoding: "utf8" });
    const { created, deployed } = JSON.parse(output) as Record<string, { code?: string; message?: string; name?: string }>;
    for (const outcome of [created, deployed]) {
      expect(outcome.name).toBe("CertstageError");
      expect(outcome.code).toBe("STORE_WRITE_FAILED");
      expect(outcome.message).toMatch(new RegExp(`^\\[STORE_WRITE_FAILED\\] user root \\(uid 0\\) may not write ${root}/\\.lock in the store ${root}\\. Fix: run \`pulumi up\` as the user that owns the store, or give root write access to all of it \\(for example \`chown -R root ${root}\`\\); nothing was changed$`));
      expect(outcome.message).not.toContain("PRIVATE KEY");
    }
    expect(snapshot(root)).toEqual(before);
  });
});

describe("a store directory that vanished", () => {
  it("is refused, and not made again as an empty store", async () => {
    const root = path.join(scratch, "vanishing");
    const store = await newStore(root);
    await store.createVersion("api", "upload", materials[0], actor);
    rmSync(root, { recursive: true, force: true });

    for (const write of [() => store.createVersion("api", "upload", materials[1], actor), () => store.deploy("api", "production", 1, actor), () => store.createCertificate({ name: "web", displayName: "web", type: "server", owner: "o", shareWith: [], description: "" }, actor)]) {
      const error = await refusal(write);
      expect(error.message).toBe(
        `[STORE_WRITE_FAILED] the store directory ${root} vanished while certstage was using it. Fix: restore it (remount its volume, or restore it from a backup), or point certstage:store at where the store is now, then run \`pulumi up\` again; certstage does not create it again, because an empty new store would forget every certificate and deployment`,
      );
      expect(existsSync(root)).toBe(false);
    }
  });
});
