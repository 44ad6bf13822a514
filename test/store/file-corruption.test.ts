/**
 * The file store reading back its own files after something else changed them: a crash, a disk,
 * a hand edit. A real store (two certificates, versions, deployments, history, a standby task, an
 * ACME account and renewal) is copied, one of its files is damaged, and the store is reopened;
 * every read, `certstage status`, history and tasks as the CLI prints them, and three writes
 * (deploy, createVersion, claimTask) then answer, or refuse with a CertstageError that quotes no
 * key. A file replaced by a FIFO must not block a read: the call returns, refused.
 *
 * Property                                                                          runs
 *   a record file cut, bit-flipped, spliced or replaced in its text                    100
 *   a record file with one member replaced by a value of another type, or removed      100
 *   a history.jsonl line damaged in its text or its JSON                                60
 *   a record file or a deployment link replaced by a FIFO, a directory, a link,         80
 *     or a link pointing anywhere
 * (Each run copies a store and makes three durable writes, so these counts are lower than the
 * unit tier's.)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatHistory } from "../../provider/cli/history";
import { buildStatusReport, formatStatusReport } from "../../provider/cli/status";
import { formatTasks } from "../../provider/cli/tasks";
import type { VersionMaterial } from "../../provider/pki/version-material";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestMaterials, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { damaged, damagedText, jsonDamage, textDamage } from "../support/json-mutations";
import { settledOutcome } from "../support/refusals";

const actor = { principal: "corruption@test" };
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const DIRECTORY_URL = "https://acme.example.test/directory";
let materials: VersionMaterial[];
let template: string;
let scratch: string;
let taskId: string;
/** Files of the store certstage writes and reads back, relative to its root. */
let recordFiles: string[];

beforeAll(async () => {
  materials = makeTestMaterials(temporaryDirectory("corruption-pki"), ["api.example.test", "api.example.test", "web.example.test", "api.example.test"]);
  template = temporaryDirectory("corruption-template");
  scratch = temporaryDirectory("corruption-runs");
  const store = createFileStore({ root: template });
  for (const name of ["api", "web"]) await store.createCertificate({ name, displayName: name, type: "server", owner: "o", shareWith: [], description: "" }, actor);
  await store.createVersion("api", "upload", materials[0], actor);
  await store.createVersion("api", "upload", materials[1], actor);
  await store.createVersion("web", "upload", materials[2], actor);
  await store.deploy("api", "staging", 2, actor);
  await store.deploy("api", "production", 1, actor);
  await store.deploy("web", "staging", 1, actor);
  taskId = (await store.queueTask({ certificate: "api", environment: "production", version: 2, environments: [{ name: "production" }] }, actor)).id;
  await store.putAcmeAccount({ directoryUrl: DIRECTORY_URL, accountKeyPem: materials[3].privateKeyPem!, accountUrl: "https://acme.example.test/account/1" });
  await store.putAcmeRenewal({ certificate: "api", version: 2, directoryUrl: DIRECTORY_URL, notBefore: materials[1].facts.notBefore, notAfter: materials[1].facts.notAfter, issuedAt: new Date().toISOString() });
  const accounts = path.join("acme", "accounts");
  const account = execFileSync("ls", [path.join(template, accounts)], { encoding: "utf8" }).split("\n").find((entry) => entry.endsWith(".json"))!;
  recordFiles = [
    "certificates/api/certificate.json",
    "certificates/web/certificate.json",
    "certificates/api/versions/1/version.json",
    "certificates/api/versions/2/version.json",
    "certificates/api/versions/2/cert.pem",
    "certificates/api/versions.json",
    `tasks/${taskId}.json`,
    "acme/renewals/api.json",
    path.join(accounts, account),
    "history.jsonl",
  ];
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const keys = () => materials.map((material) => material.privateKeyPem!);

/** A fresh copy of the template store (links copied as links), damaged by `change`. */
function damagedStore(change: (root: string) => void): { root: string; store: Store } {
  const root = path.join(scratch, `run-${Math.random().toString(16).slice(2)}`);
  cpSync(template, root, { recursive: true, verbatimSymlinks: true });
  change(root);
  return { root, store: createFileStore({ root, lockTimeoutMs: 5_000 }) };
}

/** Everything a user can ask of the store, each answered or refused cleanly. */
async function expectEveryCallAnswersOrRefuses(store: Store): Promise<void> {
  const calls: Array<() => Promise<unknown>> = [
    () => store.getCertificate("api"),
    () => store.listCertificates(),
    () => store.getVersion("api", 1),
    () => store.listVersions("api"),
    () => store.readVersionFiles("api", 2),
    () => store.getDeployment("api", "staging"),
    () => store.listDeployments(),
    () => store.environmentsServing("api", 2),
    () => store.readHistory({ environment: "staging" }).then(formatHistory),
    () => store.listTasks().then(formatTasks),
    () => store.getTask(taskId),
    () => store.getAcmeRenewal("api"),
    () => store.getAcmeAccount(DIRECTORY_URL),
    () => buildStatusReport(store).then((report) => formatStatusReport(report, store.description)),
    () => store.deploy("api", "staging", 1, actor),
    () => store.createVersion("api", "upload", materials[3], actor),
    () => store.claimTask(taskId, actor),
  ];
  for (const call of calls) await settledOutcome(call, keys());
}

const someRecord = fc.nat().map((index) => recordFiles[index % recordFiles.length]);

describe("a damaged file store", () => {
  it("a record file cut, bit-flipped, spliced or replaced in its text: every call answers or refuses", async () => {
    await fc.assert(
      fc.asyncProperty(someRecord, textDamage, async (file, damage) => {
        const { root, store } = damagedStore((at) => writeFileSync(path.join(at, file), damagedText(readFileSync(path.join(at, file), "utf8"), damage)));
        await expectEveryCallAnswersOrRefuses(store);
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 100 },
    );
  });

  it("a record file with one member replaced by a value of another type, or removed: every call answers or refuses", async () => {
    const jsonRecord = someRecord.filter((file) => file.endsWith(".json"));
    await fc.assert(
      fc.asyncProperty(jsonRecord, jsonDamage, async (file, damage) => {
        const { root, store } = damagedStore((at) => {
          const full = path.join(at, file);
          writeFileSync(full, JSON.stringify(damaged(JSON.parse(readFileSync(full, "utf8")), damage)) ?? "");
        });
        await expectEveryCallAnswersOrRefuses(store);
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 100 },
    );
  });

  it("a history.jsonl line damaged in its text or its JSON: history is read (a torn line skipped) or refused", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.oneof(textDamage.map((text) => ({ text })), jsonDamage.map((json) => ({ json }))), async (pick, damage) => {
        const { root, store } = damagedStore((at) => {
          const file = path.join(at, "history.jsonl");
          const lines = readFileSync(file, "utf8").trimEnd().split("\n");
          const index = pick % lines.length;
          lines[index] = "text" in damage ? damagedText(lines[index], damage.text).toString("utf8").replace(/\n/g, "") : (JSON.stringify(damaged(JSON.parse(lines[index]), damage.json)) ?? "");
          writeFileSync(file, `${lines.join("\n")}\n`);
        });
        const history = await settledOutcome(() => store.readHistory().then((entries) => (formatHistory(entries), entries)), keys());
        if (history.accepted) expect(history.accepted.length).toBeGreaterThanOrEqual(8);
        await expectEveryCallAnswersOrRefuses(store);
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });

  it("a record file or a deployment link replaced by a FIFO, a directory or a link anywhere: every call answers or refuses", async () => {
    const places = fc.oneof(someRecord, fc.constantFrom("environments/staging/api", "environments/production/api"));
    const replacement = fc.oneof(
      fc.constantFrom({ kind: "fifo" as const }, { kind: "directory" as const }, { kind: "file" as const }),
      fc.record({ kind: fc.constant("link" as const), target: fc.oneof(fc.constantFrom("/etc", "/etc/passwd", "../../certificates/web/versions/1", "../../certificates/api/versions/9", "../../../outside/versions/1", "../../certificates/api/versions/1/", ".", "", "../../certificates/api/versions/01"), fc.string({ maxLength: 30 })) }),
    );
    await fc.assert(
      fc.asyncProperty(places, replacement, async (file, change) => {
        const { root, store } = damagedStore((at) => {
          const full = path.join(at, file);
          unlinkSync(full);
          if (change.kind === "fifo") execFileSync("mkfifo", [full]);
          else if (change.kind === "directory") mkdirSync(full);
          else if (change.kind === "file") writeFileSync(full, "{}");
          else if (change.target !== "" && !change.target.includes("\u0000")) symlinkSync(change.target, full);
        });
        await expectEveryCallAnswersOrRefuses(store);
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 80 },
    );
  });
});

describe("certstage status over a store damaged where the versions are read", () => {
  it("ends with the error naming the file and exit status 1, and never prints a whole document", () => {
    // Status writes a certificate at a time, reading each one's versions.json as it comes to it:
    // the damage is found after api's status was made.
    const { root } = damagedStore((at) => writeFileSync(path.join(at, "certificates", "web", "versions.json"), "{ damaged"));
    for (const json of [true, false]) {
      const run = spawnSync(process.execPath, [CLI, "status", ...(json ? ["--json"] : []), "--store", root], { encoding: "utf8" });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("STORE_CORRUPT");
      expect(run.stderr).toContain(path.join(root, "certificates", "web", "versions.json"));
      if (json) expect(() => JSON.parse(run.stdout)).toThrow();
      else expect(run.stdout).not.toMatch(/^web /m);
    }
    rmSync(root, { recursive: true, force: true });
  });
});
