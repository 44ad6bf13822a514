/**
 * Retention's defaults and the settings that change them, read by the directory target, the task
 * runner (`certstage tasks run`), `pulumi up` (a standby deployment) and the agent; the rule itself
 * is lifecycle/retention.ts's.
 *
 * In `certstage:environments`, per environment:
 *   "finishedTasks": {"keepDays": 30, "keepLast": 3}   finished standby tasks of each certificate
 *   "target": {"type": "directory", "path": "…", "keepVersions": 3}   published versions besides the served one
 */
import type { TaskRetention } from "../lifecycle/retention";

/** Finished tasks stay 30 days: a month of change windows to look back on in `certstage tasks list`. */
export const DEFAULT_FINISHED_TASK_DAYS = 30;
/** The last 3 finished tasks of each certificate and environment stay whatever their age. */
export const DEFAULT_FINISHED_TASKS_KEPT = 3;
/** Besides the served version (and what a pending task needs), 3 published versions stay for a rollback by hand. */
export const DEFAULT_PUBLISHED_VERSIONS_KEPT = 3;

/** Removals per run: a backlog (a retention lowered, a store that never pruned) goes over several runs. */
export const TASKS_REMOVED_PER_RUN = 200;
export const VERSIONS_REMOVED_PER_RUN = 20;

export const DEFAULT_TASK_RETENTION: TaskRetention = { keepDays: DEFAULT_FINISHED_TASK_DAYS, keepLast: DEFAULT_FINISHED_TASKS_KEPT };

/** The bounds of each setting, so the parser and its messages say the same. */
export const RETENTION_BOUNDS = {
  keepDays: { minimum: 0, maximum: 3650 },
  keepLast: { minimum: 0, maximum: 1000 },
  keepVersions: { minimum: 0, maximum: 100 },
} as const;

const FINISHED_TASK_MEMBERS = ["keepDays", "keepLast"];

function wholeNumberProblem(field: string, value: unknown, bounds: { minimum: number; maximum: number }): string | undefined {
  if (value === undefined) return undefined;
  return Number.isInteger(value) && (value as number) >= bounds.minimum && (value as number) <= bounds.maximum ? undefined : `${field} must be a whole number from ${bounds.minimum} to ${bounds.maximum}, not ${JSON.stringify(value)}`;
}

/** What is wrong with a directory target's `keepVersions`, or undefined (also when it is absent). */
export function keepVersionsProblem(value: unknown): string | undefined {
  return wholeNumberProblem("target.keepVersions", value, RETENTION_BOUNDS.keepVersions);
}

/** What is wrong with an environment's `finishedTasks`, or undefined (also when it is absent). */
export function finishedTasksProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const example = `e.g. {"keepDays": ${DEFAULT_FINISHED_TASK_DAYS}, "keepLast": ${DEFAULT_FINISHED_TASKS_KEPT}}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `finishedTasks must be an object, ${example}`;
  const extra = Object.keys(value).find((key) => !FINISHED_TASK_MEMBERS.includes(key));
  if (extra !== undefined) return `'${extra}' is not a setting of finishedTasks (${FINISHED_TASK_MEMBERS.join(", ")}), ${example}`;
  const { keepDays, keepLast } = value as Record<string, unknown>;
  return wholeNumberProblem("finishedTasks.keepDays", keepDays, RETENTION_BOUNDS.keepDays) ?? wholeNumberProblem("finishedTasks.keepLast", keepLast, RETENTION_BOUNDS.keepLast);
}

/** An environment's task retention, with the defaults for what it leaves out. */
export function taskRetentionOf(finishedTasks: Partial<TaskRetention> | undefined): TaskRetention {
  return { keepDays: finishedTasks?.keepDays ?? DEFAULT_FINISHED_TASK_DAYS, keepLast: finishedTasks?.keepLast ?? DEFAULT_FINISHED_TASKS_KEPT };
}
