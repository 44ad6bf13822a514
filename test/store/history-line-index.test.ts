/**
 * One certificate's history from the file store is read through an index of where its lines are
 * (provider/store/history-line-index.ts). What it returns must be what a scan of the whole of
 * history.jsonl returns (streamHistory with the same filter), whatever happened to the file
 * since the index was made: lines appended by another process, a change undone, history restored
 * from a backup, damaged or torn lines.
 */
import { appendFileSync, copyFileSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { createFileStore } from "../../provider/store/drivers/file";
import type { HistoryEntry, HistoryFilter, NewCertificate, Store } from "../../provider/store";
import { temporaryDirectory } from "../support/certificates";

const actor = { principal: "history-index@test" };
const certificate = (name: string): NewCertificate => ({ name, displayName: name, type: "server", owner: "team-a", shareWith: [], description: "" });

/** The same filter through a scan of the whole file. */
async function scanned(store: Store, filter: HistoryFilter): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  for await (const batch of store.streamHistory(filter)) entries.push(...batch);
  return entries;
}

async function verify(store: Store, name: string, environment: string, toVersion: number, result: "ok" | "failed" = "ok") {
  await store.recordHistory({ actor: actor.principal, action: "verify", certificate: name, environment, toVersion, result });
}

/** Each filter read through the index, held to the scan's answer. */
async function expectSameAsScan(store: Store): Promise<void> {
  for (const filter of [{ certificate: "api" }, { certificate: "web" }, { certificate: "api", actions: ["verify"] as const }, { certificate: "web", environment: "staging" }, { certificate: "gone" }]) {
    expect(await store.readHistory(filter)).toEqual(await scanned(store, filter));
  }
}

describe("one certificate's history through the file store's line index", () => {
  it("reads what a scan of the whole file reads as lines are appended, by this store and another", async () => {
    const root = path.join(temporaryDirectory("history-index"), "store");
    const store = createFileStore({ root });
    const other = createFileStore({ root });
    await store.createCertificate(certificate("api"), actor);
    await store.createCertificate(certificate("web"), actor);
    await verify(store, "api", "staging", 1);
    await expectSameAsScan(store);
    expect((await store.readHistory({ certificate: "api", actions: ["verify"] })).map((entry) => entry.toVersion)).toEqual([1]);
    // Another process (its own index) appends; this one's index reads on from where it stopped.
    await verify(other, "api", "production", 1);
    await verify(other, "web", "staging", 4, "failed");
    await verify(store, "api", "staging", 2);
    await expectSameAsScan(store);
    await expectSameAsScan(other);
    expect((await store.readHistory({ certificate: "api", actions: ["verify"] })).map((entry) => `${entry.environment}@${entry.toVersion}`)).toEqual(["staging@1", "production@1", "staging@2"]);
  });

  it("indexes history again from its start when it was cut back or restored from a backup", async () => {
    const root = path.join(temporaryDirectory("history-index"), "store");
    const store = createFileStore({ root });
    const history = path.join(root, "history.jsonl");
    await store.createCertificate(certificate("api"), actor);
    await store.createCertificate(certificate("web"), actor);
    await verify(store, "api", "staging", 1);
    copyFileSync(history, `${history}.backup`);
    await verify(store, "api", "staging", 2);
    await verify(store, "web", "staging", 3);
    await expectSameAsScan(store);
    expect(await store.readHistory({ certificate: "api", actions: ["verify"] })).toHaveLength(2);

    // Restored from the backup, then written on: shorter than the index, then as long again.
    copyFileSync(`${history}.backup`, history);
    await expectSameAsScan(store);
    expect((await store.readHistory({ certificate: "api", actions: ["verify"] })).map((entry) => entry.toVersion)).toEqual([1]);
    await verify(store, "api", "production", 7);
    await verify(store, "web", "production", 8);
    await expectSameAsScan(store);
    expect((await store.readHistory({ certificate: "api", actions: ["verify"] })).map((entry) => entry.toVersion)).toEqual([1, 7]);

    // Cut back by one line and a different line of the same length written in its place.
    const lines = readFileSync(history, "utf8").split("\n");
    const last = lines.at(-2)!;
    truncateSync(history, Buffer.byteLength(lines.slice(0, -2).join("\n")) + 1);
    appendFileSync(history, `${last.replace('"toVersion":8', '"toVersion":9')}\n`);
    await expectSameAsScan(store);
    expect((await store.readHistory({ certificate: "web", actions: ["verify"] })).map((entry) => entry.toVersion)).toEqual([9]);
  });

  it("judges damaged and torn lines as a scan does", async () => {
    const root = path.join(temporaryDirectory("history-index"), "store");
    const store = createFileStore({ root });
    const history = path.join(root, "history.jsonl");
    await store.createCertificate(certificate("api"), actor);
    await verify(store, "api", "staging", 1);
    await expectSameAsScan(store);
    // Not JSON (skipped by both), then a line of api whose result is not one history has.
    appendFileSync(history, 'this is not {"json"}\n');
    await verify(store, "api", "staging", 2);
    await expectSameAsScan(store);
    const damaged = `${JSON.stringify({ at: "2026-12-01T00:00:00.000Z", actor: "x", action: "verify", certificate: "api", environment: "staging", toVersion: 3, result: "maybe" })}\n`;
    appendFileSync(history, damaged);
    const lineNumber = readFileSync(history, "utf8").split("\n").length - 1;
    await expect(scanned(store, { certificate: "api" })).rejects.toThrow(`history.jsonl line ${lineNumber}`);
    await expect(store.readHistory({ certificate: "api" })).rejects.toThrow(`history.jsonl line ${lineNumber}`);
    // Another certificate's read never reaches that line: it names api.
    await store.createCertificate(certificate("web"), actor);
    expect(await store.readHistory({ certificate: "web" })).toEqual(await scanned(store, { certificate: "web" }));

    // A torn last line (no newline): left out by both while it is torn.
    writeFileSync(history, readFileSync(history, "utf8").replace(damaged, ""));
    appendFileSync(history, '{"at":"2026-12-01T00:00:00.000Z","actor":"x","action":"ver');
    await expectSameAsScan(store);
    expect((await store.readHistory({ certificate: "api", actions: ["verify"] })).map((entry) => entry.toVersion)).toEqual([1, 2]);
  });
});
