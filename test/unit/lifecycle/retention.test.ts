/**
 * The retention rule (lifecycle/retention.ts): what the directory target and the agent may remove
 * of published versions, and what the store drivers may remove of finished tasks.
 *
 * Property                                                                          runs
 *   versions: never the served or a needed one; exactly K others kept, the highest     300
 *   versions: at most `limit` removed, lowest first, and only versions on disk         200
 *   tasks: never a pending or running one, never one of the last K of its pair,        300
 *          never one younger than keepDays; every other finished one, oldest first
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { finishedTasksToRemove, RetainedTask, versionsToRemove } from "../../../provider/lifecycle/retention";

const versionSet = fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 40 });

describe("published versions", () => {
  it("never selects the served or a needed version, and keeps exactly K others: the most recent", () => {
    fc.assert(
      fc.property(versionSet, fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }), fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 5 }), fc.integer({ min: 0, max: 10 }), (onDisk, served, needed, keepOthers) => {
        const removed = versionsToRemove(onDisk, { served, needed, keepOthers });
        const protectedVersions = new Set([...needed, ...(served === undefined ? [] : [served])]);
        expect(removed.filter((version) => protectedVersions.has(version))).toEqual([]);
        const others = onDisk.filter((version) => !protectedVersions.has(version));
        const keptOthers = others.filter((version) => !removed.includes(version));
        expect(keptOthers.length).toBe(Math.min(keepOthers, others.length));
        // Every kept other is newer than every removed one: a rollback by hand reaches the most recent.
        if (removed.length > 0 && keptOthers.length > 0) expect(Math.min(...keptOthers)).toBeGreaterThan(Math.max(...removed));
      }),
      { numRuns: 300 },
    );
  });

  it("removes at most `limit`, lowest first, and only versions that are on disk", () => {
    fc.assert(
      fc.property(versionSet, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 8 }), (onDisk, keepOthers, limit) => {
        const all = versionsToRemove(onDisk, { needed: [], keepOthers });
        const bounded = versionsToRemove(onDisk, { needed: [], keepOthers }, limit);
        expect(bounded).toEqual(all.slice(0, limit));
        expect([...all].sort((a, b) => a - b)).toEqual(all);
        expect(all.every((version) => onDisk.includes(version))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    { case: "10 swaps in order, K = 3", onDisk: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], served: 10, needed: [], keep: 3, removed: [1, 2, 3, 4, 5, 6] },
    { case: "rolled back to 4, K = 3", onDisk: [1, 2, 3, 4, 5, 6, 7, 8], served: 4, needed: [8], keep: 3, removed: [1, 2, 3] },
    { case: "a pending task's old version stays", onDisk: [1, 2, 3, 4, 5, 6], served: 6, needed: [5, 1], keep: 1, removed: [2, 3] },
    { case: "K = 0 keeps only what is needed", onDisk: [1, 2, 3], served: 3, needed: [], keep: 0, removed: [1, 2] },
    { case: "nothing served (undeployed), K = 2", onDisk: [1, 2, 3, 4], served: undefined, needed: [], keep: 2, removed: [1, 2] },
  ])("$case", ({ onDisk, served, needed, keep, removed }) => {
    expect(versionsToRemove(onDisk, { served, needed, keepOthers: keep })).toEqual(removed);
  });
});

const DAY = 86_400_000;
const NOW = new Date("2030-06-01T00:00:00.000Z");

const task = fc.record({
  certificate: fc.constantFrom("api", "www"),
  environment: fc.constantFrom("staging", "production"),
  state: fc.constantFrom("pending", "running", "done", "failed", "cancelled"),
  ageDays: fc.integer({ min: 0, max: 90 }),
});

function tasksFrom(drawn: { certificate: string; environment: string; state: string; ageDays: number }[]): RetainedTask[] {
  return drawn.map((entry, index) => {
    const finishedAt = new Date(NOW.getTime() - entry.ageDays * DAY - index * 1000).toISOString();
    return { id: `task-${String(index).padStart(3, "0")}`, certificate: entry.certificate, environment: entry.environment, state: entry.state, createdAt: finishedAt, ...(entry.state === "pending" || entry.state === "running" ? {} : { finishedAt }) };
  });
}

describe("finished tasks", () => {
  it("removes every finished task past keepDays beyond the last keepLast of its pair, oldest first, and nothing else", () => {
    fc.assert(
      fc.property(fc.array(task, { maxLength: 40 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 5 }), (drawn, keepDays, keepLast) => {
        const tasks = tasksFrom(drawn);
        const removed = finishedTasksToRemove(tasks, { keepDays, keepLast }, NOW, Number.POSITIVE_INFINITY);
        const byId = new Map(tasks.map((entry) => [entry.id, entry]));
        const expected: string[] = [];
        for (const entry of tasks) {
          if (entry.finishedAt === undefined) continue;
          const newerOfPair = tasks.filter((other) => other.finishedAt !== undefined && other.certificate === entry.certificate && other.environment === entry.environment && Date.parse(other.finishedAt) > Date.parse(entry.finishedAt!));
          if (newerOfPair.length >= keepLast && Date.parse(entry.finishedAt) < NOW.getTime() - keepDays * DAY) expected.push(entry.id);
        }
        expect([...removed].sort()).toEqual([...expected].sort());
        for (const id of removed) expect(["done", "failed", "cancelled"]).toContain(byId.get(id)!.state);
        const times = removed.map((id) => Date.parse(byId.get(id)!.finishedAt!));
        expect([...times].sort((a, b) => a - b)).toEqual(times);
      }),
      { numRuns: 300 },
    );
  });

  it("stops at the limit, and keeps a task whose finishedAt it cannot read", () => {
    const tasks = tasksFrom(Array.from({ length: 10 }, () => ({ certificate: "api", environment: "production", state: "done", ageDays: 40 })));
    expect(finishedTasksToRemove(tasks, { keepDays: 30, keepLast: 3 }, NOW, 4)).toEqual(["task-009", "task-008", "task-007", "task-006"]);
    expect(finishedTasksToRemove([{ ...tasks[9], finishedAt: "not a time" }], { keepDays: 0, keepLast: 0 }, NOW, 10)).toEqual([]);
  });
});
