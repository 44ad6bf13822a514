/**
 * Retention: which finished standby tasks and which published version directories may go. Pure
 * decisions, like cert-manager's revision manager ("keep N, prune the rest"); the store drivers
 * and the directory target do the removing, and both store drivers apply this one rule.
 *
 * Design:
 * - What anything still needs is never selected: a pending or running task, the version a link
 *   serves, a version a pending task will install, the version a swap would be put back to.
 * - Beyond that, a bounded number is kept on purpose, so an operator can still look back (the
 *   last finished tasks of each certificate and environment) and roll back by hand (the most
 *   recent published versions), whatever their age.
 * - History is not retention's: it is append-only, and keeps every task's outcome after its
 *   record is gone.
 * - Each call selects at most `limit`, oldest first, so one run's work is bounded however much
 *   piled up (a retention lowered by hand, a store that never pruned); the next run goes on.
 */

import { compareText } from "../code-point-order";

/** How long finished tasks (done, failed, cancelled) stay, per certificate and environment. */
export interface TaskRetention {
  /** A finished task older than this many days (by finishedAt) may go… */
  readonly keepDays: number;
  /** …unless it is one of the last `keepLast` finished tasks of its certificate and environment. */
  readonly keepLast: number;
}

/** What the task rule reads of a task. */
export interface RetainedTask {
  readonly id: string;
  readonly certificate: string;
  readonly environment: string;
  readonly state: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
}

const FINISHED = new Set(["done", "failed", "cancelled"]);
const DAY_MS = 86_400_000;

/**
 * The ids of finished tasks the rule lets go, oldest first, at most `limit`. A task without a
 * readable finishedAt is kept: retention never guesses an age.
 */
export function finishedTasksToRemove(tasks: readonly RetainedTask[], retention: TaskRetention, now: Date, limit: number): string[] {
  const cutoff = now.getTime() - retention.keepDays * DAY_MS;
  const byPair = new Map<string, { task: RetainedTask; finished: number }[]>();
  for (const task of tasks) {
    const finished = task.finishedAt === undefined ? Number.NaN : Date.parse(task.finishedAt);
    if (!FINISHED.has(task.state) || Number.isNaN(finished)) continue;
    const pair = `${task.certificate}\u0000${task.environment}`;
    byPair.set(pair, [...(byPair.get(pair) ?? []), { task, finished }]);
  }
  const removable: { task: RetainedTask; finished: number }[] = [];
  for (const finishedTasks of byPair.values()) {
    // Newest first; ids break ties (they begin with the time they were queued).
    finishedTasks.sort((a, b) => b.finished - a.finished || compareText(b.task.createdAt, a.task.createdAt) || compareText(b.task.id, a.task.id));
    removable.push(...finishedTasks.slice(retention.keepLast).filter(({ finished }) => finished < cutoff));
  }
  removable.sort((a, b) => a.finished - b.finished || compareText(a.task.id, b.task.id));
  return removable.slice(0, Math.max(0, limit)).map(({ task }) => task.id);
}

/** What the version rule keeps of one certificate's published versions. */
export interface VersionRetention {
  /** The version the link serves, if any. */
  readonly served?: number;
  /** Versions something still needs: a pending task's, the one a failed swap is put back to. */
  readonly needed: Iterable<number>;
  /** How many of the others to keep, the highest numbers (the most recent versions) first. */
  readonly keepOthers: number;
}

/**
 * The versions on disk that may go, lowest first, at most `limit`. Kept: the served version,
 * every needed one, and the `keepOthers` highest of the rest.
 */
export function versionsToRemove(onDisk: readonly number[], retention: VersionRetention, limit: number = Number.POSITIVE_INFINITY): number[] {
  const needed = new Set(retention.needed);
  if (retention.served !== undefined) needed.add(retention.served);
  const others = [...new Set(onDisk)].filter((version) => !needed.has(version)).sort((a, b) => b - a);
  return others
    .slice(Math.max(0, retention.keepOthers))
    .sort((a, b) => a - b)
    .slice(0, Math.max(0, limit));
}
