/**
 * The store conformance suite: every driver runs these cases, which prove the design's
 * invariants 1-4 through the Store interface alone. A new driver's test file calls
 * `describeStoreConformance` with a factory and adds only what is specific to it.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { formatHistory } from "../../provider/cli/history";
import { CertstageError } from "../../provider/errors";
import { releasedVersions } from "../../provider/lifecycle/ownership";
import { buildPkcs12 } from "../../provider/pki/pkcs12";
import { inspectUpload, VersionMaterial } from "../../provider/pki/version-material";
import type { Actor, AgentReport, NewCertificate, Store, VersionStatusSummary } from "../../provider/store";
import { makeTestCertificate, temporaryDirectory } from "../support/certificates";
import { readAllStatusListings } from "../support/status-listings";

export interface StoreUnderTest {
  readonly store: Store;
  /** Another handle on the same data, as a second process would open it. */
  reopen(): Store;
  cleanup(): Promise<void>;
}

const actor: Actor = { principal: "conformance@test" };
const certificate = (name: string): NewCertificate => ({ name, displayName: name, type: "server", owner: "team-a", shareWith: [], description: "" });

async function failure(action: Promise<unknown>): Promise<CertstageError> {
  try {
    await action;
  } catch (error) {
    if (error instanceof CertstageError) return error;
    throw error;
  }
  throw new Error("expected the store to refuse");
}

/** A version's VersionStatusSummary fields alone: what every driver's readStatusListings must give at least. */
function statusFieldsOf(version: VersionStatusSummary): VersionStatusSummary {
  const { certificate, version: number, method, serial, subject, sans, notAfter, fingerprintSha256, origin } = version;
  const fields = { certificate, version: number, method, serial, subject, sans, notAfter, fingerprintSha256 };
  return origin === undefined ? fields : { ...fields, origin: { urn: origin.urn } };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** What a driver offers beyond the required methods; the suite proves each claim, and its absence. */
export interface DriverCapabilities {
  /** The driver implements the optional `watchDeployments` (a change feed agents follow). */
  readonly watchesDeployments?: boolean;
}

export function describeStoreConformance(driver: string, open: () => Promise<StoreUnderTest>, capabilities: DriverCapabilities = {}): void {
  describe(`store conformance: ${driver}`, () => {
    const materials: VersionMaterial[] = [];
    let subject: StoreUnderTest;
    let store: Store;

    beforeAll(() => {
      const pki = temporaryDirectory("conformance-pki");
      for (let index = 0; index < 3; index += 1) {
        const leaf = makeTestCertificate(pki, `v${index + 1}.api.example.test`);
        const inspection = inspectUpload(leaf);
        if (!inspection.ok) throw new Error("test certificate did not inspect");
        materials.push(inspection.value);
      }
    });
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await store.close();
      await subject.cleanup();
    });

    /** Certificate `api` with `count` versions (1..count). */
    async function apiWithVersions(count: number): Promise<void> {
      await store.createCertificate(certificate("api"), actor);
      for (let index = 0; index < count; index += 1) await store.createVersion("api", "upload", materials[index], actor);
    }

    describe("certificates", () => {
      it("creates, reads, lists and updates a certificate; the name never changes", async () => {
        await store.createCertificate(certificate("api"), actor);
        await store.createCertificate(certificate("web"), actor);
        const renamed = await store.updateCertificate("api", { displayName: "API gateway", shareWith: ["team-b"] }, actor);
        expect(renamed).toMatchObject({ name: "api", displayName: "API gateway", shareWith: ["team-b"], owner: "team-a", lastVersion: 0 });
        expect(await store.getCertificate("api")).toEqual(renamed);
        expect((await store.listCertificates()).map((record) => record.name)).toEqual(["api", "web"]);
        expect(await store.getCertificate("missing")).toBeUndefined();
      });

      it("refuses a second certificate of the same name", async () => {
        await store.createCertificate(certificate("api"), actor);
        expect((await failure(store.createCertificate(certificate("api"), actor))).code).toBe("CERTIFICATE_EXISTS");
      });

      it("refuses names that cannot be path segments", async () => {
        for (const name of ["..", "a/b", "API", "", "-x", "x".repeat(65)]) {
          expect((await failure(store.createCertificate(certificate(name), actor))).code).toBe("NAME_INVALID");
        }
      });
    });

    describe("invariant 1: a saved version's bytes never change", () => {
      it("returns exactly the bytes saved, before and after later versions and deployments", async () => {
        await store.createCertificate(certificate("api"), actor);
        const first = await store.createVersion("api", "upload", materials[0], actor);
        const saved = await store.readVersionFiles("api", first.version);
        expect(saved).toEqual({
          certificatePem: materials[0].certificatePem,
          chainPem: materials[0].chainPem,
          fullchainPem: materials[0].fullchainPem,
          privateKeyPem: materials[0].privateKeyPem,
        });
        const digest = sha256(JSON.stringify(saved));
        await store.createVersion("api", "upload", materials[1], actor);
        await store.deploy("api", "staging", 2, actor);
        await store.deploy("api", "staging", 1, actor);
        expect(sha256(JSON.stringify(await store.readVersionFiles("api", 1)))).toBe(digest);
        expect(await store.getVersion("api", 1)).toEqual(first);
      });

      it("keeps a version's keystore (keystore.p12) with its files, byte for byte, and none for a version saved without one", async () => {
        await store.createCertificate(certificate("api"), actor);
        const pkcs12 = buildPkcs12({ ...materials[0], privateKeyPem: materials[0].privateKeyPem! }, { password: "conformance-keystore", friendlyName: "api" }).toString("base64");
        const withKeystore = await store.createVersion("api", "upload", { ...materials[0], pkcs12 }, actor);
        const without = await store.createVersion("api", "upload", materials[1], actor);
        expect((await store.readVersionFiles("api", withKeystore.version)).pkcs12).toBe(pkcs12);
        expect(await subject.reopen().readVersionFiles("api", withKeystore.version)).toMatchObject({ pkcs12, privateKeyPem: materials[0].privateKeyPem });
        expect(await store.readVersionFiles("api", without.version)).not.toHaveProperty("pkcs12");
      });

      it("records the certificate's facts with the version", async () => {
        await store.createCertificate(certificate("api"), actor);
        const record = await store.createVersion("api", "upload", materials[0], actor);
        expect(record).toMatchObject({
          certificate: "api",
          version: 1,
          method: "upload",
          fingerprintSha256: materials[0].facts.fingerprintSha256,
          notAfter: materials[0].facts.notAfter,
          sans: ["v1.api.example.test"],
          createdBy: actor.principal,
        });
      });

      it("refuses a version for a certificate that does not exist", async () => {
        expect((await failure(store.createVersion("ghost", "upload", materials[0], actor))).code).toBe("CERTIFICATE_NOT_FOUND");
      });
    });

    describe("invariant 2: one deployed version per (certificate, environment), swapped atomically", () => {
      it("deploying replaces what the environment served, leaving other environments alone", async () => {
        await apiWithVersions(2);
        await store.deploy("api", "staging", 1, actor);
        await store.deploy("api", "production", 1, actor);
        await store.deploy("api", "staging", 2, actor);
        expect((await store.listDeployments("api")).map(({ environment, version }) => ({ environment, version }))).toEqual([
          { environment: "production", version: 1 },
          { environment: "staging", version: 2 },
        ]);
        expect((await store.getDeployment("api", "staging"))?.version).toBe(2);
      });

      it("concurrent swaps end with exactly one deployed version and one history line each", async () => {
        await apiWithVersions(2);
        const other = subject.reopen();
        const swaps = Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? store : other).deploy("api", "production", (index % 2) + 1, actor));
        await Promise.all(swaps);
        await other.close();
        const deployments = await store.listDeployments("api");
        expect(deployments).toHaveLength(1);
        expect([1, 2]).toContain(deployments[0].version);
        const history = (await store.readHistory({ certificate: "api", environment: "production" })).filter((entry) => entry.action !== "undeploy");
        // Redeploying the version already served is a no-op; every real swap is recorded once.
        for (const [index, entry] of history.entries()) {
          if (index > 0) expect(entry.fromVersion).toBe(history[index - 1].toVersion);
        }
        expect(history.at(-1)?.toVersion).toBe(deployments[0].version);
      });

      it("refuses to deploy a version that does not exist and changes nothing", async () => {
        await apiWithVersions(1);
        await store.deploy("api", "production", 1, actor);
        expect((await failure(store.deploy("api", "production", 7, actor))).code).toBe("VERSION_NOT_FOUND");
        expect((await store.getDeployment("api", "production"))?.version).toBe(1);
      });

      it("undeploying removes the deployment, and undeploying again is a no-op", async () => {
        await apiWithVersions(1);
        await store.deploy("api", "staging", 1, actor);
        await store.undeploy("api", "staging", actor);
        await store.undeploy("api", "staging", actor);
        expect(await store.getDeployment("api", "staging")).toBeUndefined();
        expect((await store.readHistory({ certificate: "api" })).filter((entry) => entry.action === "undeploy")).toHaveLength(1);
      });
    });

    describe("invariant 3: nothing deployed can be deleted", () => {
      it("refuses to delete a deployed certificate, naming every environment to undeploy first", async () => {
        await apiWithVersions(2);
        await store.deploy("api", "staging", 2, actor);
        await store.deploy("api", "production", 1, actor);
        const error = await failure(store.deleteCertificate("api", actor));
        expect(error.code).toBe("STILL_DEPLOYED");
        expect(error.message).toContain("production (version 1), staging (version 2)");
        expect(error.message).toContain("undeploy it from production, staging first");
        expect(await store.getCertificate("api")).toBeDefined();
        expect(await store.readVersionFiles("api", 1)).toBeDefined();
      });

      it("refuses to delete a deployed version but deletes one that is not deployed", async () => {
        await apiWithVersions(2);
        await store.deploy("api", "production", 2, actor);
        expect((await failure(store.deleteVersion("api", 2, actor))).code).toBe("STILL_DEPLOYED");
        await store.deleteVersion("api", 1, actor);
        expect(await store.getVersion("api", 1)).toBeUndefined();
        expect((await store.listVersions("api")).map((record) => record.version)).toEqual([2]);
        expect(await store.environmentsServing("api", 2)).toEqual(["production"]);
      });

      it("deletes the certificate and its versions once undeployed", async () => {
        await apiWithVersions(1);
        await store.deploy("api", "production", 1, actor);
        await store.undeploy("api", "production", actor);
        await store.deleteCertificate("api", actor);
        expect(await store.getCertificate("api")).toBeUndefined();
        expect(await store.listCertificates()).toEqual([]);
        expect(await store.listVersions("api")).toEqual([]);
      });
    });

    describe("every version at once (listAllVersions)", () => {
      it("summarizes what listVersions lists for each certificate, by name in code-point order then version, without deleted ones", async () => {
        for (const name of ["web", "api.internal", "api", "api-edge", "gone"]) await store.createCertificate(certificate(name), actor);
        for (const [name, count] of [["web", 2], ["api.internal", 1], ["api", 3], ["gone", 1]] as const) {
          for (let index = 0; index < count; index += 1) await store.createVersion(name, "upload", materials[index], actor);
        }
        await store.deleteVersion("api", 2, actor);
        await store.deleteCertificate("gone", actor);

        const all = await store.listAllVersions();
        expect(all.map((summary) => `${summary.certificate} v${summary.version}`)).toEqual(["api v1", "api v3", "api.internal v1", "web v1", "web v2"]);
        // Each is its record without the JWK and the chain fingerprints, and nothing else.
        const perCertificate = [];
        for (const name of ["api", "api-edge", "api.internal", "web"]) {
          for (const { jwk: _jwk, chainFingerprints: _chainFingerprints, ...summary } of await store.listVersions(name)) perCertificate.push(summary);
        }
        expect(all).toEqual(perCertificate);
        expect(all.every((summary) => !("jwk" in summary) && !("chainFingerprints" in summary))).toBe(true);
        const other = subject.reopen();
        try {
          expect(await other.listAllVersions()).toEqual(all);
        } finally {
          await other.close();
        }
      });

      it("is empty for an empty store", async () => {
        expect(await store.listAllVersions()).toEqual([]);
      });
    });

    describe("invariant 4: version numbers strictly increase and are never reused", () => {
      it("numbers 1, 2, 3 and skips numbers of deleted versions", async () => {
        await store.createCertificate(certificate("api"), actor);
        const numbers = [];
        for (const material of materials) numbers.push((await store.createVersion("api", "upload", material, actor)).version);
        expect(numbers).toEqual([1, 2, 3]);
        await store.deleteVersion("api", 3, actor);
        expect((await store.createVersion("api", "upload", materials[0], actor)).version).toBe(4);
        expect((await store.getCertificate("api"))?.lastVersion).toBe(4);
      });

      it("continues numbering when a deleted certificate is created again", async () => {
        await apiWithVersions(2);
        await store.deleteCertificate("api", actor);
        await store.createCertificate(certificate("api"), actor);
        expect((await store.createVersion("api", "upload", materials[2], actor)).version).toBe(3);
      });

      it("gives concurrent writers distinct, consecutive numbers", async () => {
        await store.createCertificate(certificate("api"), actor);
        const other = subject.reopen();
        const created = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 ? store : other).createVersion("api", "upload", materials[index % 3], actor)));
        await other.close();
        expect(created.map((record) => record.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });
    });

    describe("ACME accounts and renewal records", () => {
      it("keeps one account per directory and one renewal record per certificate", async () => {
        expect(await store.getAcmeAccount("https://ca.test/dir")).toBeUndefined();
        await store.putAcmeAccount({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[0].privateKeyPem! });
        await store.putAcmeAccount({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[0].privateKeyPem!, accountUrl: "https://ca.test/acct/1" });
        expect(await store.getAcmeAccount("https://ca.test/dir")).toEqual({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[0].privateKeyPem, accountUrl: "https://ca.test/acct/1" });
        expect(await store.getAcmeAccount("https://other.test/dir")).toBeUndefined();

        const record = { certificate: "api", version: 3, directoryUrl: "https://ca.test/dir", notBefore: "2026-11-01T00:00:00.000Z", notAfter: "2027-01-30T00:00:00.000Z", issuedAt: "2026-11-01T00:00:00.000Z", renewalDueAt: "2027-01-01T00:00:00.000Z" };
        await store.putAcmeRenewal(record);
        await store.putAcmeRenewal({ ...record, version: 4 });
        expect(await store.getAcmeRenewal("api")).toEqual({ ...record, version: 4 });
        await store.deleteAcmeRenewal("api");
        expect(await store.getAcmeRenewal("api")).toBeUndefined();
      });

      it("of accounts ensured at once, every caller gets the one the store kept", async () => {
        const candidates = [0, 1, 2].map((index) => ({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[index].privateKeyPem! }));
        const kept = await Promise.all(candidates.map((candidate) => store.ensureAcmeAccount(candidate)));
        expect(new Set(kept.map((account) => account.accountKeyPem)).size).toBe(1);
        expect((await store.getAcmeAccount("https://ca.test/dir"))?.accountKeyPem).toBe(kept[0].accountKeyPem);
      });

      it("keeps an order in flight, its key readable by the owner only, until it is deleted", async () => {
        const order = { certificate: "api", directoryUrl: "https://ca.test/dir", orderUrl: "https://ca.test/order/7", accountUrl: "https://ca.test/acct/1", origin: { urn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage:AcmeRenewal::api", inputs: sha256("x") }, certificateKeyPem: materials[1].privateKeyPem!, createdAt: "2026-12-01T00:00:00.000Z" };
        expect(await store.getAcmeOrder("api")).toBeUndefined();
        await store.putAcmeOrder(order);
        expect(await store.getAcmeOrder("api")).toEqual(order);
        await store.deleteAcmeOrder("api");
        expect(await store.getAcmeOrder("api")).toBeUndefined();
        await store.deleteAcmeOrder("api"); // deleting what is not there is no error
      });
    });

    describe("standby tasks", () => {
      const environments = [{ name: "staging", target: { type: "directory" } }, { name: "production", target: { type: "directory" }, promotion: { requires: "staging" } }];

      it("queues a task without swapping, and a later task for the same environment supersedes it", async () => {
        await apiWithVersions(3);
        await store.deploy("api", "production", 1, actor);
        const first = await store.queueTask({ certificate: "api", environment: "production", version: 2, environments }, actor);
        expect(first).toMatchObject({ certificate: "api", environment: "production", version: 2, fromVersion: 1, state: "pending", createdBy: actor.principal });
        expect((await store.getDeployment("api", "production"))?.version).toBe(1);

        const second = await store.queueTask({ certificate: "api", environment: "production", version: 3, notBefore: "2030-01-01T00:00:00.000Z", environments }, actor);
        expect(second.id).not.toBe(first.id);
        expect((await store.getTask(first.id))?.state).toBe("cancelled");
        expect(await subject.reopen().listTasks({ state: "pending" })).toEqual([second]);
        expect(second.environments).toEqual(environments);
        const history = await store.readHistory({ environment: "production" });
        expect(history.map((entry) => entry.action)).toEqual(["deploy", "task.queue", "task.cancel", "task.queue"]);
      });

      it("queues an undeploy task with no version; one pending task per pair holds across swaps and undeploys", async () => {
        await apiWithVersions(2);
        await store.deploy("api", "production", 1, actor);
        const undeploy = await store.queueTask({ certificate: "api", environment: "production", action: "undeploy", notBefore: "2030-01-01T00:00:00.000Z", environments }, actor);
        expect(undeploy).toMatchObject({ certificate: "api", environment: "production", action: "undeploy", fromVersion: 1, notBefore: "2030-01-01T00:00:00.000Z", state: "pending" });
        expect(undeploy.version).toBeUndefined();
        expect(undeploy.id).toMatch(/-production-api-undeploy-[0-9a-f]{6}$/);
        expect(await subject.reopen().getTask(undeploy.id)).toEqual(undeploy);
        expect((await store.getDeployment("api", "production"))?.version).toBe(1);

        // A swap queued after it supersedes it, and an undeploy queued after a swap supersedes the swap.
        const swap = await store.queueTask({ certificate: "api", environment: "production", version: 2, environments }, actor);
        expect(await store.getTask(undeploy.id)).toMatchObject({ state: "cancelled", detail: "superseded by a task for version 2" });
        const again = await store.queueTask({ certificate: "api", environment: "production", action: "undeploy", environments }, actor);
        expect(await store.getTask(swap.id)).toMatchObject({ state: "cancelled", detail: "superseded by a task to undeploy" });
        expect(await subject.reopen().listTasks({ state: "pending" })).toEqual([again]);

        const claimed = await store.claimTask(again.id, actor);
        expect(claimed).toMatchObject({ action: "undeploy", state: "running" });
        await store.undeploy("api", "production", actor);
        expect(await store.finishTask(again.id, { state: "done", detail: "production no longer serves api" }, actor)).toMatchObject({ action: "undeploy", state: "done" });
        const history = (await store.readHistory({ environment: "production" })).map(({ action, fromVersion, toVersion, detail }) => ({ action, fromVersion, toVersion, detail }));
        expect(history.slice(1)).toEqual([
          { action: "task.queue", fromVersion: 1, toVersion: undefined, detail: `undeploy task ${undeploy.id}, not before 2030-01-01T00:00:00.000Z` },
          { action: "task.cancel", fromVersion: 1, toVersion: undefined, detail: `task ${undeploy.id} superseded` },
          { action: "task.queue", fromVersion: 1, toVersion: 2, detail: `task ${swap.id}, as soon as a runner picks it up` },
          { action: "task.cancel", fromVersion: 1, toVersion: 2, detail: `task ${swap.id} superseded` },
          { action: "task.queue", fromVersion: 1, toVersion: undefined, detail: `undeploy task ${again.id}, as soon as a runner picks it up` },
          { action: "undeploy", fromVersion: 1, toVersion: undefined, detail: undefined },
          { action: "task.run", fromVersion: 1, toVersion: undefined, detail: `task ${again.id}: production no longer serves api` },
        ]);
        // What `certstage history` makes of this driver's records: the undeploy task's lines undeploy, the swap's swap.
        const lines = formatHistory(await subject.reopen().readHistory({ environment: "production" })).trim().split("\n");
        expect(lines.slice(1).map((line) => /(task\.\w+|undeploy)\s+(\S+(?: -> \S+)?)\s+conformance@test/.exec(line)?.slice(1).join(" "))).toEqual([
          "task.queue v1 -> undeploy",
          "task.cancel v1 -> undeploy",
          "task.queue v1 -> v2",
          "task.cancel v1 -> v2",
          "task.queue v1 -> undeploy",
          "undeploy v1",
          "task.run v1 -> undeploy",
        ]);
      });

      it("refuses a task for a version that does not exist and records nothing", async () => {
        await apiWithVersions(1);
        const error = await failure(store.queueTask({ certificate: "api", environment: "production", version: 9, environments }, actor));
        expect(error.code).toBe("VERSION_NOT_FOUND");
        expect(await store.listTasks()).toEqual([]);
      });

      it("lets exactly one of two concurrent runners claim a task, and history records how it ended", async () => {
        await apiWithVersions(2);
        const task = await store.queueTask({ certificate: "api", environment: "staging", version: 2, environments }, actor);
        const claims = await Promise.all([store.claimTask(task.id, actor), subject.reopen().claimTask(task.id, actor)]);
        expect(claims.filter((claim) => claim !== undefined)).toHaveLength(1);
        expect(await store.claimTask(task.id, actor)).toBeUndefined();

        const failed = await store.finishTask(task.id, { state: "failed", detail: "served v1 instead" }, actor);
        expect(failed).toMatchObject({ state: "failed", detail: "served v1 instead", finishedBy: actor.principal });
        expect((await failure(store.finishTask(task.id, { state: "done" }, actor))).code).toBe("TASK_STATE");
        const last = (await store.readHistory({ environment: "staging" })).at(-1);
        expect(last).toMatchObject({ action: "task.run", toVersion: 2, result: "failed" });
        expect(last?.detail).toContain("served v1 instead");
      });

      it("cancels a pending task but not a finished one; unknown ids are refused with TASK_NOT_FOUND", async () => {
        await apiWithVersions(2);
        const task = await store.queueTask({ certificate: "api", environment: "staging", version: 2, environments }, actor);
        expect((await store.finishTask(task.id, { state: "cancelled", detail: "not needed" }, actor)).state).toBe("cancelled");
        expect(await store.claimTask(task.id, actor)).toBeUndefined();
        expect((await failure(store.finishTask(task.id, { state: "cancelled" }, actor))).code).toBe("TASK_STATE");
        expect((await failure(store.finishTask("20300101T000000Z-staging-api-v2-000000", { state: "done" }, actor))).code).toBe("TASK_NOT_FOUND");
        expect((await failure(store.getTask("../../certificates/api/certificate"))).code).toBe("NAME_INVALID");
      });

      describe("retention of finished tasks (pruneFinishedTasks)", () => {
        const DAY = 86_400_000;
        const retention = { keepDays: 30, keepLast: 1 };
        const later = (days: number) => new Date(Date.now() + days * DAY);

        /** production: cancelled, done, failed, then one pending; staging: one cancelled, one running. */
        async function finishedAndUnfinished() {
          await apiWithVersions(3);
          const run = async (environment: string, version: number, state: "done" | "failed") => {
            const task = await store.queueTask({ certificate: "api", environment, version, environments }, actor);
            await store.claimTask(task.id, actor);
            return store.finishTask(task.id, { state }, actor);
          };
          const cancelled = await store.queueTask({ certificate: "api", environment: "production", version: 2, environments }, actor);
          const production = [await store.finishTask(cancelled.id, { state: "cancelled" }, actor), await run("production", 3, "done"), await run("production", 2, "failed")];
          const pending = await store.queueTask({ certificate: "api", environment: "production", version: 3, environments }, actor);
          const stagingCancelled = await store.queueTask({ certificate: "api", environment: "staging", version: 2, environments }, actor);
          const staging = [await store.finishTask(stagingCancelled.id, { state: "cancelled" }, actor)];
          const running = await store.queueTask({ certificate: "api", environment: "staging", version: 3, environments }, actor);
          await store.claimTask(running.id, actor);
          return { production, staging, pending, running };
        }
        const newest = (tasks: readonly { finishedAt?: string }[]) => Math.max(...tasks.map((task) => Date.parse(task.finishedAt!)));

        it("removes finished tasks past keepDays beyond the last of each pair, never a pending or running one; history keeps every outcome", async () => {
          const { production, staging, pending, running } = await finishedAndUnfinished();
          const historyBefore = await store.readHistory();
          expect(await store.pruneFinishedTasks({ retention, now: new Date(), limit: 100 }, actor)).toEqual([]);

          const removed = await store.pruneFinishedTasks({ retention, now: later(31), limit: 100 }, actor);
          // Of each pair, the task that finished last stays (finishing times may tie to the millisecond: one of the newest).
          expect(removed).toHaveLength(production.length - 1);
          const kept = production.filter((task) => !removed.includes(task.id));
          expect(kept).toHaveLength(1);
          expect(Date.parse(kept[0].finishedAt!)).toBe(newest(production));
          const left = await subject.reopen().listTasks();
          expect(left.map((task) => task.id).sort()).toEqual([kept[0].id, pending.id, staging[0].id, running.id].sort());
          expect(left.find((task) => task.id === running.id)?.state).toBe("running");
          for (const id of removed) expect(await store.getTask(id)).toBeUndefined();
          const history = await store.readHistory();
          expect(history).toEqual(historyBefore);
          for (const task of production) expect(history.some((entry) => entry.detail?.includes(task.id))).toBe(true);

          // Nothing finished is left to let go but what the rule keeps; pending and running ones never are.
          expect(await store.pruneFinishedTasks({ retention: { keepDays: 0, keepLast: 0 }, now: later(3650), limit: 100 }, actor)).toEqual(expect.arrayContaining([kept[0].id, staging[0].id]));
          expect((await store.listTasks()).map((task) => task.id).sort()).toEqual([pending.id, running.id].sort());
        });

        it("works oldest first within its limit, and only on the pair it is given", async () => {
          const { production, staging } = await finishedAndUnfinished();
          const scoped = await store.pruneFinishedTasks({ retention: { keepDays: 0, keepLast: 0 }, now: later(1), limit: 1, certificate: "api", environment: "staging" }, actor);
          expect(scoped).toEqual([staging[0].id]);
          const first = await store.pruneFinishedTasks({ retention: { keepDays: 0, keepLast: 0 }, now: later(1), limit: 1 }, actor);
          expect(first).toHaveLength(1);
          expect(Date.parse(production.find((task) => task.id === first[0])!.finishedAt!)).toBe(Math.min(...production.map((task) => Date.parse(task.finishedAt!))));
          expect(await store.pruneFinishedTasks({ retention: { keepDays: 0, keepLast: 0 }, now: later(1), limit: 10, environment: "production" }, actor)).toHaveLength(2);
          expect(await store.listTasks({ state: "cancelled" })).toEqual([]);
        });

        it("refuses a rule no setting can hold, and removes nothing", async () => {
          await finishedAndUnfinished();
          const before = await store.listTasks();
          expect((await failure(store.pruneFinishedTasks({ retention: { keepDays: 30, keepLast: -1 }, now: later(31), limit: 100 }, actor))).code).toBe("CONFIG_INVALID");
          expect((await failure(store.pruneFinishedTasks({ retention: { keepDays: Number.NaN, keepLast: 1 }, now: later(31), limit: 100 }, actor))).code).toBe("CONFIG_INVALID");
          expect(await store.listTasks()).toEqual(before);
        });
      });
    });

    describe("notifications (certstage notify)", () => {
      const key = "expiry:api:production:v1:7d";
      const at = "2030-01-10T04:17:00.000Z";
      const later = (ms: number) => new Date(Date.parse(at) + ms).toISOString();

      it("claims a notice once among concurrent runs, marks it sent, and never lets it be claimed again", async () => {
        await apiWithVersions(1);
        const other = subject.reopen();
        try {
          const claims = await Promise.all([store.claimNotification({ key, certificate: "api", environment: "production", at }, actor), other.claimNotification({ key, certificate: "api", environment: "production", at }, actor)]);
          const won = claims.filter((claim) => claim !== undefined);
          expect(won).toHaveLength(1);
          expect(won[0]).toMatchObject({ key, certificate: "api", environment: "production", state: "claimed", attempts: 0, claimedAt: at });
          const sent = await store.markNotificationSent(won[0]!, later(1000));
          expect(sent).toMatchObject({ state: "sent", attempts: 1, sentAt: later(1000) });
          expect(await other.listNotifications()).toEqual([sent]);
          expect(await store.claimNotification({ key, certificate: "api", environment: "production", at: later(86_400_000) }, actor)).toBeUndefined();
        } finally {
          await other.close();
        }
      });

      it("a released claim is retried by the next run; a live claim is not taken, a stale one is, and the stale holder can no longer end it", async () => {
        await apiWithVersions(1);
        const first = (await store.claimNotification({ key, certificate: "api", at }, actor))!;
        expect(await store.claimNotification({ key, certificate: "api", at: later(60_000) }, actor)).toBeUndefined();
        const released = await store.releaseNotification(first, "posting to the webhook at https://hooks.example.test failed after 3 attempts: it answered HTTP 500");
        expect(released).toMatchObject({ state: "failed", attempts: 1, lastError: expect.stringContaining("HTTP 500") });
        const second = (await store.claimNotification({ key, certificate: "api", at: later(61_000) }, actor))!;
        expect(second).toMatchObject({ state: "claimed", attempts: 1 });
        // Its run dies; five minutes on, another run takes the notice over.
        const third = (await store.claimNotification({ key, certificate: "api", at: later(61_000 + 5 * 60_000) }, actor))!;
        expect(third.claimId).not.toBe(second.claimId);
        expect((await failure(store.markNotificationSent(second, later(400_000)))).code).toBe("NOTIFICATION_CLAIM_LOST");
        expect((await store.markNotificationSent(third, later(400_000))).state).toBe("sent");
      });

      it("lists by key, filtered by certificate; refuses a key or name no notice can have, writing nothing", async () => {
        await apiWithVersions(1);
        await store.createCertificate(certificate("web"), actor);
        await store.claimNotification({ key: "failure:web:-:task.run:2030-01-01T00:00:00.000Z", certificate: "web", at }, actor);
        await store.claimNotification({ key, certificate: "api", environment: "production", at }, actor);
        expect((await store.listNotifications()).map((record) => record.key)).toEqual([key, "failure:web:-:task.run:2030-01-01T00:00:00.000Z"]);
        expect((await store.listNotifications({ certificate: "web" })).map((record) => record.certificate)).toEqual(["web"]);
        expect((await failure(store.claimNotification({ key: "anything", certificate: "api", at }, actor))).code).toBe("INPUT_SCHEMA");
        expect((await failure(store.claimNotification({ key, certificate: "../api", at }, actor))).code).toBe("NAME_INVALID");
        expect((await failure(store.listNotifications({ certificate: "API" }))).code).toBe("NAME_INVALID");
        expect(await store.listNotifications()).toHaveLength(2);
      });
    });

    describe("identity and origins", () => {
      it("has no identity before its first write, then one that every handle and every later write keeps", async () => {
        expect(await store.identity()).toBeUndefined();
        await store.createCertificate(certificate("api"), actor);
        const identity = await store.identity();
        expect(identity?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        await store.createVersion("api", "upload", materials[0], actor);
        const other = subject.reopen();
        try {
          expect(await other.identity()).toEqual(identity);
        } finally {
          await other.close();
        }
      });

      it("keeps the origin a create records on the certificate and on the version, and not on versions made without one", async () => {
        const origin = { urn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::api-v1", inputs: sha256("inputs") };
        await store.createCertificate({ ...certificate("api"), origin: { urn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage:Certificate::api", inputs: sha256("api") } }, actor);
        expect((await store.getCertificate("api"))?.origin?.urn).toContain("Certificate::api");
        await store.createVersion("api", "upload", materials[0], actor, origin);
        await store.createVersion("api", "upload", materials[1], actor);
        const [first, second] = await store.listVersions("api");
        expect(first.origin).toEqual(origin);
        expect(second.origin).toBeUndefined();
      });

      it("records a removal by hand as version.remove, still refusing a deployed version", async () => {
        await apiWithVersions(2);
        await store.deploy("api", "production", 2, actor);
        expect((await failure(store.deleteVersion("api", 2, actor, "version.remove"))).code).toBe("STILL_DEPLOYED");
        await store.deleteVersion("api", 1, actor, "version.remove");
        const removal = (await store.readHistory({ certificate: "api" })).filter((entry) => entry.action === "version.remove");
        expect(removal).toMatchObject([{ fromVersion: 1, actor: actor.principal, result: "ok" }]);
        expect((await store.listVersions("api")).map((version) => version.version)).toEqual([2]);
      });
    });

    describe("history", () => {
      it("appends who did what, from which version to which, including rollbacks", async () => {
        await apiWithVersions(2);
        await store.deploy("api", "production", 2, actor);
        await store.deploy("api", "production", 1, actor);
        await store.undeploy("api", "production", actor);
        const history = await store.readHistory({ certificate: "api" });
        expect(history.map(({ action, environment, fromVersion, toVersion }) => ({ action, environment, fromVersion, toVersion }))).toEqual([
          { action: "certificate.create", environment: undefined, fromVersion: undefined, toVersion: undefined },
          { action: "version.create", environment: undefined, fromVersion: undefined, toVersion: 1 },
          { action: "version.create", environment: undefined, fromVersion: undefined, toVersion: 2 },
          { action: "deploy", environment: "production", fromVersion: undefined, toVersion: 2 },
          { action: "rollback", environment: "production", fromVersion: 2, toVersion: 1 },
          { action: "undeploy", environment: "production", fromVersion: 1, toVersion: undefined },
        ]);
        expect(history.every((entry) => entry.actor === actor.principal && entry.result === "ok" && !Number.isNaN(Date.parse(entry.at)))).toBe(true);
        expect(JSON.stringify(history)).not.toContain("PRIVATE KEY");
      });
    });

    describe("what status reads (listReleasedVersions, readStatusListings)", () => {
      /** Released versions as reading history's release lines gives them (lifecycle/ownership.ts). */
      async function releasedFromHistory(from: Store): Promise<Map<string, Set<number>>> {
        const released = new Map<string, Set<number>>();
        for (const name of (await from.readHistory()).map((entry) => entry.certificate)) {
          const versions = releasedVersions(await from.readHistory({ certificate: name, actions: ["version.release"] }));
          if (versions.size > 0) released.set(name, versions);
        }
        return released;
      }

      it("lists the versions history records as released: successful release lines only, a release written twice once", async () => {
        expect(await store.listReleasedVersions()).toEqual(new Map());
        await apiWithVersions(3);
        await store.createCertificate(certificate("web"), actor);
        await store.createVersion("web", "upload", materials[0], actor);
        await store.recordHistory({ actor: actor.principal, action: "version.release", certificate: "api", fromVersion: 1, result: "ok", detail: "replaced" });
        await store.recordHistory({ actor: actor.principal, action: "version.release", certificate: "api", fromVersion: 2, result: "failed", detail: "interrupted" });
        await store.recordHistory({ actor: actor.principal, action: "verify", certificate: "api", environment: "production", toVersion: 3, result: "ok" });
        await store.recordHistory({ actor: actor.principal, action: "version.release", certificate: "web", fromVersion: 1, result: "ok", detail: "deleted" });
        await store.recordHistory({ actor: actor.principal, action: "version.release", certificate: "web", fromVersion: 1, result: "ok", detail: "deleted, retried" });
        const released = await store.listReleasedVersions();
        expect(released).toEqual(new Map([["api", new Set([1])], ["web", new Set([1])]]));
        expect(released).toEqual(await releasedFromHistory(store));
        const other = subject.reopen();
        try {
          expect(await other.listReleasedVersions()).toEqual(released);
        } finally {
          await other.close();
        }
      });

      it("reads at once what the listing methods read one by one", async () => {
        expect(await readAllStatusListings(store)).toEqual({ certificates: [], agentReports: [], deployments: [], tasks: [], versionGroups: [], released: new Map() });
        await apiWithVersions(3);
        await store.updateCertificate("api", { displayName: "API", shareWith: ["team-b"], profile: "private" }, actor);
        await store.createCertificate({ ...certificate("web"), origin: { urn: "urn:pulumi:s::p::certstage:Certificate::web", inputs: "digest" } }, actor);
        await store.createVersion("web", "upload", materials[0], actor, { urn: "urn:pulumi:s::p::certstage:CertificateVersion::web", inputs: "one" });
        await store.createCertificate(certificate("gone"), actor);
        await store.createVersion("gone", "upload", materials[1], actor);
        await store.deleteCertificate("gone", actor);
        await store.deploy("api", "production", 3, actor);
        await store.deploy("api", "staging", 2, actor);
        await store.deploy("web", "production", 1, actor);
        await store.queueTask({ certificate: "api", environment: "canary", version: 3, environments: [] }, actor);
        await store.queueTask({ certificate: "web", environment: "staging", action: "undeploy", environments: [] }, actor);
        await store.putAgentReport({ agentId: "edge-1", host: "edge-1.example.test", environment: "production", certificate: "api", version: 3, servedFingerprintSha256: FINGERPRINT_A, lastSeen: new Date().toISOString() });
        await store.recordHistory({ actor: actor.principal, action: "version.release", certificate: "api", fromVersion: 1, result: "ok", detail: "replaced" });

        const { versionGroups, ...listings } = await readAllStatusListings(store);
        expect(listings).toEqual({
          certificates: await store.listCertificates(),
          agentReports: await store.listAgentReports(),
          deployments: await store.listDeployments(),
          tasks: await store.listTasks(),
          released: await store.listReleasedVersions(),
        });
        // One certificate's versions a group, in version order, the certificates in code-point order.
        expect(versionGroups.map((group) => group.map(({ certificate: name, version }) => `${name}/${version}`))).toEqual([["api/1", "api/2", "api/3"], ["web/1"]]);
        // Each version as status reads it: at least VersionStatusSummary's fields, and never the JWK
        // or the chain's fingerprints (a summary's bulk).
        const statusVersions = versionGroups.flat();
        expect(statusVersions.map(statusFieldsOf)).toEqual((await store.listAllVersions()).map(statusFieldsOf));
        for (const version of statusVersions) {
          expect(version).not.toHaveProperty("jwk");
          expect(version).not.toHaveProperty("chainFingerprints");
        }
        expect(listings.certificates.map((record) => record.name)).toEqual(["api", "web"]);
        expect(listings.released).toEqual(new Map([["api", new Set([1])]]));
      });

      it("reads the versions as the reader iterates them; a reader that stops early or fails ends the read, and the store reads on", async () => {
        // Code-point order, which a database collation that skips punctuation would not give.
        for (const name of ["ab", "a-b", "a0"]) {
          await store.createCertificate(certificate(name), actor);
          await store.createVersion(name, "upload", materials[0], actor);
          await store.createVersion(name, "upload", materials[1], actor);
        }
        expect((await readAllStatusListings(store)).versionGroups.map((group) => group.map(({ certificate: name, version }) => `${name}/${version}`))).toEqual([
          ["a-b/1", "a-b/2"],
          ["a0/1", "a0/2"],
          ["ab/1", "ab/2"],
        ]);
        // More reads than a connection pool holds: each one that stops after the first group ends.
        for (let round = 0; round < 12; round += 1) {
          const first = await store.readStatusListings(async ({ versionsByCertificate }) => {
            for await (const group of versionsByCertificate) return group.map(({ version }) => version);
            return [];
          });
          expect(first).toEqual([1, 2]);
        }
        await expect(store.readStatusListings(async () => Promise.reject(new Error("the reader failed")))).rejects.toThrow("the reader failed");
        expect((await readAllStatusListings(store)).versionGroups).toHaveLength(3);
        expect(await store.listAllVersions()).toHaveLength(6);
      });
    });

    describeAgentReportConformance(() => ({ subject, store }), capabilities);
  });
}

// ---- agent reports and deployment watches (`certstage agent`) ----------------------------------

const FINGERPRINT_A = Array.from({ length: 32 }, (_, index) => (index * 7).toString(16).padStart(2, "0").slice(-2).toUpperCase()).join(":");

function describeAgentReportConformance(current: () => { subject: StoreUnderTest; store: Store }, capabilities: DriverCapabilities): void {
  describe("agent reports", () => {
    const report = (agentId: string, certificate: string, changes: Partial<AgentReport> = {}): AgentReport => ({
      agentId,
      host: `${agentId}.edge.test`,
      environment: "production",
      certificate,
      version: 1,
      servedFingerprintSha256: FINGERPRINT_A,
      lastSeen: "2026-12-01T10:00:00.000Z",
      ...changes,
    });

    it("keeps one report per agent and certificate: a later report replaces the earlier one", async () => {
      const { store } = current();
      expect(await store.listAgentReports()).toEqual([]);
      await store.putAgentReport(report("edge-2", "api"));
      await store.putAgentReport(report("edge-1", "web"));
      await store.putAgentReport(report("edge-1", "api"));
      await store.putAgentReport(report("edge-1", "api", { version: 2, lastSeen: "2026-12-01T10:01:00.000Z", lastError: "reload failed: nginx exited with 1" }));
      expect(await store.listAgentReports()).toEqual([
        report("edge-1", "api", { version: 2, lastSeen: "2026-12-01T10:01:00.000Z", lastError: "reload failed: nginx exited with 1" }),
        report("edge-1", "web"),
        report("edge-2", "api"),
      ]);
      // A report without the optional members comes back without them, not with `undefined` ones.
      const bare: AgentReport = { agentId: "edge-1", host: "edge-1.edge.test", environment: "production", certificate: "api", lastSeen: "2026-12-01T10:02:00.000Z" };
      await store.putAgentReport(bare);
      const [first] = await store.listAgentReports({ certificate: "api" });
      expect(first).toEqual(bare);
      expect(Object.keys(first).sort()).toEqual(["agentId", "certificate", "environment", "host", "lastSeen"]);
    });

    it("filters by environment and certificate, and another handle sees the same reports", async () => {
      const { store, subject } = current();
      await store.putAgentReport(report("edge-1", "api"));
      await store.putAgentReport(report("edge-1", "api", { environment: "staging" }));
      await store.putAgentReport(report("edge-1", "web", { environment: "staging" }));
      expect((await store.listAgentReports({ environment: "staging" })).map((found) => found.certificate)).toEqual(["api", "web"]);
      expect((await store.listAgentReports({ environment: "staging", certificate: "api" })).map((found) => found.environment)).toEqual(["staging"]);
      expect(await store.listAgentReports({ certificate: "db" })).toEqual([]);
      const other = subject.reopen();
      try {
        expect(await other.listAgentReports()).toEqual(await store.listAgentReports());
      } finally {
        await other.close();
      }
    });

    it("keeps every report of concurrent writers (one agent's certificates, from two handles)", async () => {
      const { store, subject } = current();
      const other = subject.reopen();
      try {
        const certificates = Array.from({ length: 8 }, (_, index) => `cert-${index}`);
        await Promise.all(certificates.map((certificate, index) => (index % 2 ? store : other).putAgentReport(report("edge-1", certificate))));
        expect((await store.listAgentReports()).map((found) => found.certificate)).toEqual(certificates);
      } finally {
        await other.close();
      }
    });

    it("refuses agent ids and names that cannot be store keys, and malformed members", async () => {
      const { store } = current();
      for (const agentId of ["..", "Edge-1", "a/b", "", "x".repeat(65)]) expect((await failure(store.putAgentReport(report(agentId, "api")))).code).toBe("NAME_INVALID");
      expect((await failure(store.putAgentReport(report("edge-1", "../api")))).code).toBe("NAME_INVALID");
      expect((await failure(store.putAgentReport(report("edge-1", "api", { environment: "Prod" })))).code).toBe("NAME_INVALID");
      expect((await failure(store.putAgentReport(report("edge-1", "api", { version: 0 })))).code).toBe("INPUT_SCHEMA");
      expect((await failure(store.putAgentReport(report("edge-1", "api", { lastSeen: "yesterday" })))).code).toBe("INPUT_SCHEMA");
      expect((await failure(store.putAgentReport(report("edge-1", "api", { servedFingerprintSha256: "abc" })))).code).toBe("INPUT_SCHEMA");
      expect((await failure(store.listAgentReports({ environment: "../x" }))).code).toBe("NAME_INVALID");
      expect(await store.listAgentReports()).toEqual([]);
    });

    if (capabilities.watchesDeployments) {
      it("watchDeployments calls onResync once connected and onChange after a deploy and an undeploy in its environment", async () => {
        const { store } = current();
        await store.createCertificate(certificate("api"), actor);
        const material = inspectUpload(makeTestCertificate(temporaryDirectory("conformance-watch"), "watch.api.example.test"));
        if (!material.ok) throw new Error("test certificate did not inspect");
        await store.createVersion("api", "upload", material.value, actor);
        const events: string[] = [];
        const waiters: Array<() => void> = [];
        const seen = (event: string) => {
          events.push(event);
          for (const wake of waiters.splice(0)) wake();
        };
        const until = async (condition: () => boolean) => {
          while (!condition()) await new Promise<void>((resolve) => waiters.push(resolve));
        };
        const watch = await store.watchDeployments!("production", { onChange: () => seen("change"), onResync: () => seen("resync"), onError: (error) => seen(`error ${error.message}`) });
        try {
          await until(() => events.includes("resync"));
          const changesBefore = events.filter((event) => event === "change").length;
          await store.deploy("api", "production", 1, actor);
          await until(() => events.filter((event) => event === "change").length > changesBefore);
          const afterDeploy = events.filter((event) => event === "change").length;
          await store.undeploy("api", "production", actor);
          await until(() => events.filter((event) => event === "change").length > afterDeploy);
        } finally {
          await watch.close();
        }
        expect(events.filter((event) => event.startsWith("error"))).toEqual([]);
      });
    } else {
      it("offers no watchDeployments (agents poll this driver)", () => {
        expect(current().store.watchDeployments).toBeUndefined();
      });
    }
  });
}
