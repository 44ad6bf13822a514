/**
 * The file store's record of released versions (releases.json beside history.jsonl): `certstage
 * status` reads it and the history appended after it, and must answer exactly what reading all of
 * history answers, on stores written before the record, on stores a certstage that keeps no
 * record appended to afterwards, and on stores whose history was put back from a backup.
 */
import { appendFileSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildStatusReport, formatStatusReport } from "../../provider/cli/status";
import { releasedVersions } from "../../provider/lifecycle/ownership";
import { inspectUpload, VersionMaterial } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import type { Store } from "../../provider/store";
import { makeTestCertificate, temporaryDirectory } from "../support/certificates";

const actor = { principal: "file-releases@test" };
const urn = (name: string) => `urn:pulumi:s::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::${name}`;

let materials: VersionMaterial[];
beforeAll(() => {
  const pki = temporaryDirectory("file-releases-pki");
  materials = ["one.releases.test", "two.releases.test"].map((name) => {
    const inspection = inspectUpload(makeTestCertificate(pki, name));
    if (!inspection.ok) throw new Error("bad test certificate");
    return inspection.value;
  });
});

/**
 * Two certificates whose resource made four versions each, the newest served: versions 1 and 2
 * of each were released through Pulumi, version 3 was not (so status calls it unclaimed).
 */
async function storeWithReleases(): Promise<{ root: string; store: Store }> {
  const root = temporaryDirectory("file-releases");
  const store = createFileStore({ root });
  for (const name of ["api", "web"]) {
    await store.createCertificate({ name, displayName: name, type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
    for (let version = 1; version <= 4; version += 1) await store.createVersion(name, "upload", materials[version % 2], actor, { urn: urn(name), inputs: `inputs-${version}` });
    await store.deploy(name, "production", 4, actor);
    for (const version of [1, 2]) await release(store, name, version);
  }
  return { root, store };
}

const release = (store: Store, certificate: string, version: number) =>
  store.recordHistory({ actor: actor.principal, action: "version.release", certificate, fromVersion: version, result: "ok", detail: "replaced" });

/** What status shows, as text and as --json, and the releases, from a handle opened afresh. */
async function statusOf(root: string): Promise<{ text: string; json: string; released: unknown }> {
  const store = createFileStore({ root });
  const report = await buildStatusReport(store);
  return { text: formatStatusReport(report, store.description), json: JSON.stringify(report), released: await store.listReleasedVersions() };
}

/** The same, from reading every release line of history: what status did before the record. */
async function releasedByHistory(root: string): Promise<Map<string, Set<number>>> {
  const store = createFileStore({ root });
  const released = new Map<string, Set<number>>();
  for (const name of ["api", "web"]) {
    const versions = releasedVersions(await store.readHistory({ certificate: name, actions: ["version.release"] }));
    if (versions.size > 0) released.set(name, versions);
  }
  return released;
}

const unclaimed = (text: string) => text.split("\n").filter((line) => line.includes("unclaimed")).map((line) => line.trim().split(/\s+/)[0]);

describe("file store: the record of released versions (releases.json)", () => {
  it("is written with every release, and status from it shows what history says", async () => {
    const { root } = await storeWithReleases();
    expect(existsSync(path.join(root, "releases.json"))).toBe(true);
    const status = await statusOf(root);
    expect(status.released).toEqual(await releasedByHistory(root));
    expect(status.released).toEqual(new Map([["api", new Set([1, 2])], ["web", new Set([1, 2])]]));
    // Version 3 of each was superseded and never released: the only unclaimed ones.
    expect(unclaimed(status.text)).toEqual(["v3", "v3"]);
  });

  it("absent (a store written before it): status reads history and shows the same, byte for byte", async () => {
    const { root } = await storeWithReleases();
    const withRecord = await statusOf(root);
    rmSync(path.join(root, "releases.json"));
    expect(await statusOf(root)).toEqual(withRecord);
  });

  it("a release appended after it by a certstage that keeps no record is still seen", async () => {
    const { root } = await storeWithReleases();
    // What an older certstage's release writes: the history line alone.
    appendFileSync(path.join(root, "history.jsonl"), `${JSON.stringify({ at: new Date().toISOString(), actor: actor.principal, action: "version.release", certificate: "api", fromVersion: 3, result: "ok", detail: "replaced" })}\n`);
    const status = await statusOf(root);
    expect(status.released).toEqual(await releasedByHistory(root));
    expect(unclaimed(status.text)).toEqual(["v3"]);
    rmSync(path.join(root, "releases.json"));
    expect(await statusOf(root)).toEqual(status);
  });

  it("is not trusted once history is not the one it was made from (put back from a backup)", async () => {
    const { root, store } = await storeWithReleases();
    const history = path.join(root, "history.jsonl");
    const backup = path.join(root, "..", "history.backup");
    copyFileSync(history, backup);
    await release(store, "web", 3);
    expect(unclaimed((await statusOf(root)).text)).toEqual(["v3"]);
    // The backup lacks the last release; the record still names it.
    copyFileSync(backup, history);
    const status = await statusOf(root);
    expect(status.released).toEqual(await releasedByHistory(root));
    expect(unclaimed(status.text)).toEqual(["v3", "v3"]);
    // Grown past the record's length again, but with other lines: still not the record's history.
    for (let line = 0; line < 3; line += 1) await store.recordHistory({ actor: actor.principal, action: "verify", certificate: "web", environment: "production", toVersion: 4, result: "ok", detail: "a long line that makes this history longer than the one the record was made from" });
    expect((await statusOf(root)).released).toEqual(await releasedByHistory(root));
  });

  it("damaged, is refused by status as STORE_CORRUPT naming the fix, and made again by the next release", async () => {
    const { root, store } = await storeWithReleases();
    const record = path.join(root, "releases.json");
    writeFileSync(record, readFileSync(record, "utf8").replace('"released":{', '"released":{"Not A Name":[1],'));
    await expect(buildStatusReport(createFileStore({ root }))).rejects.toMatchObject({ code: "STORE_CORRUPT", message: expect.stringContaining(`remove ${record}`) });
    await release(store, "web", 3);
    const status = await statusOf(root);
    expect(status.released).toEqual(await releasedByHistory(root));
    expect(unclaimed(status.text)).toEqual(["v3"]);
  });
});
