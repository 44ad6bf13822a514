/**
 * The rules of the Store interface that do not depend on where the data lives: which names and
 * task ids are valid, what a swap is called in history, when a task may end, how a queued task is
 * named and described. Every driver applies them from here, so the file store and the postgres
 * store refuse the same things with the same words.
 */
import { hostname } from "node:os";
import { compareText } from "../code-point-order";
import { CertstageError } from "../errors";
import { releasedVersionOf } from "../lifecycle/ownership";
import { finishedTasksToRemove, type RetainedTask } from "../lifecycle/retention";
import { processIsAlive } from "./file-lock";
import { randomHex } from "./lazy-crypto";
import { nameInvalid } from "./store-errors";
import { actionOf, NAME_PATTERN, type DeploymentTask, type TaskChange, type HistoryAction, type HistoryEntry, type HistoryFilter, type TaskPruning, type TaskState, type VersionRecord, type VersionSummary } from "./store";

export function assertName(name: string, kind: "certificate" | "environment"): void {
  if (!NAME_PATTERN.test(name)) throw nameInvalid(kind, name);
}

/** A filter naming what no store can hold is a typo worth saying, not an empty answer. */
export function assertFilterNames(filter: HistoryFilter): void {
  if (filter.certificate !== undefined) assertName(filter.certificate, "certificate");
  if (filter.environment !== undefined) assertName(filter.environment, "environment");
}

/** Whether a history entry passes the filter (certificate, environment and actions), as every driver reads it. */
export function matchesHistoryFilter(entry: HistoryEntry, filter: HistoryFilter): boolean {
  return (
    (filter.certificate === undefined || entry.certificate === filter.certificate) &&
    (filter.environment === undefined || entry.environment === filter.environment) &&
    (filter.actions === undefined || filter.actions.includes(entry.action))
  );
}

/** Task ids become file names in the file store: only the form `newTaskId` makes (time, environment-certificate, version or `undeploy`, random). */
const TASK_ID_FORM = /^\d{8}T\d{6}Z-([a-z0-9._-]{3,129})-(?:v[1-9]\d{0,8}|undeploy)-[0-9a-f]{6}$/;

export function isTaskId(id: string): boolean {
  const names = TASK_ID_FORM.exec(id)?.[1];
  if (names === undefined) return false;
  return [...names.matchAll(/-/g)].some(({ index }) => NAME_PATTERN.test(names.slice(0, index)) && NAME_PATTERN.test(names.slice(index + 1)));
}

export function assertTaskId(id: string): void {
  if (!isTaskId(id)) throw nameInvalid("task", id);
}

/** Sortable by time, readable in `tasks list`, unique by its random tail. */
export function newTaskId(now: string, environment: string, certificate: string, version: number | undefined): string {
  return `${now.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${environment}-${certificate}-${version === undefined ? "undeploy" : `v${version}`}-${randomHex(3)}`;
}

/** A swap to a lower version number than the environment served is a rollback. */
export function swapAction(servedVersion: number | undefined, version: number): HistoryAction {
  return servedVersion !== undefined && version < servedVersion ? "rollback" : "deploy";
}

export function supersededDetail(version: number | undefined): string {
  return version === undefined ? "superseded by a task to undeploy" : `superseded by a task for version ${version}`;
}

export function queuedSummary(id: string, notBefore: string | undefined, change: TaskChange): string {
  return `${actionOf(change) === "undeploy" ? "undeploy " : ""}task ${id}, ${notBefore ? `not before ${notBefore}` : "as soon as a runner picks it up"}`;
}

/** A new task's change as its record holds it: a swap without `action` (as before undeploy tasks), an undeploy without a version. */
export function taskChangeOf(change: TaskChange): TaskChange {
  return actionOf(change) === "undeploy" ? { action: "undeploy" } : { version: change.version! };
}

/**
 * The change a task's history entries record (queued, superseded, run, cancelled): from what the
 * environment served when it was queued to the task's version. An undeploy task has no version, so
 * its entries carry no toVersion; historyTaskAction reads that back.
 */
export function taskHistoryChange(task: Pick<DeploymentTask, "environment" | "fromVersion"> & TaskChange): Pick<HistoryEntry, "environment" | "fromVersion" | "toVersion"> {
  return { environment: task.environment, fromVersion: task.fromVersion, toVersion: task.version };
}

const TASK_HISTORY_ACTIONS: ReadonlySet<HistoryAction> = new Set(["task.queue", "task.run", "task.cancel"]);

/**
 * What the task of a `task.*` history entry does, undefined for any other entry. A swap's
 * entries always name its version as toVersion (every task had one before undeploy tasks
 * existed, and a swap still must), so an entry without one is an undeploy task's: entries written
 * before history said so explicitly read the same way.
 */
export function historyTaskAction(entry: Pick<HistoryEntry, "action" | "toVersion">): "deploy" | "undeploy" | undefined {
  if (!TASK_HISTORY_ACTIONS.has(entry.action)) return undefined;
  return entry.toVersion === undefined ? "undeploy" : "deploy";
}

export function finishedSummary(id: string, detail: string | undefined): string {
  return `task ${id}${detail ? `: ${detail}` : ""}`;
}

export function finishAction(state: "done" | "failed" | "cancelled"): HistoryAction {
  return state === "cancelled" ? "task.cancel" : "task.run";
}

/** Only a pending task can be cancelled, and only a running one can be done or failed. */
export function assertTaskMayFinish(task: DeploymentTask, state: Exclude<TaskState, "pending" | "running">): void {
  const allowed = state === "cancelled" ? task.state === "pending" : task.state === "running";
  if (!allowed) {
    throw new CertstageError("TASK_STATE", `task '${task.id}' is ${task.state} and cannot become ${state}`, { fix: "list tasks with `certstage tasks list` to see what happened to it" });
  }
}

export function taskNotFound(id: string, storeDescription: string): CertstageError {
  return new CertstageError("TASK_NOT_FOUND", `there is no task '${id}' in ${storeDescription}`, { fix: "list tasks with `certstage tasks list`" });
}

export function certificateNotFound(name: string, storeDescription: string): CertstageError {
  return new CertstageError("CERTIFICATE_NOT_FOUND", `certificate '${name}' does not exist in ${storeDescription}`, {
    resource: name,
    fix: "create it with a Certificate resource first (check the certstage:store setting points at the right store)",
  });
}

export function certificateExists(name: string, storeDescription: string): CertstageError {
  return new CertstageError("CERTIFICATE_EXISTS", `certificate '${name}' already exists in ${storeDescription}`, {
    resource: name,
    fix: "choose another name, or manage the existing certificate from the stack that created it",
  });
}

/**
 * A task left running by a runner that died may be claimed again. Only a runner on the same host
 * can tell its process is gone; a task a runner elsewhere left behind is cancelled by hand.
 */
export function runnerDied(task: DeploymentTask): boolean {
  return task.state === "running" && task.runner !== undefined && task.runner.host === hostname() && !processIsAlive(task.runner.pid);
}

/** listAllVersions's order: certificate names by code point (not a database's collation), then version. */
export function byCertificateAndVersion(a: Pick<VersionSummary, "certificate" | "version">, b: Pick<VersionSummary, "certificate" | "version">): number {
  return compareText(a.certificate, b.certificate) || a.version - b.version;
}

/** What listAllVersions gives of a version (the postgres schema derives the same, as versions.summary). */
export function versionSummaryOf(record: VersionRecord): VersionSummary {
  const { jwk: _jwk, chainFingerprints: _chainFingerprints, ...summary } = record;
  return summary;
}

/**
 * Adds what `entry` releases to `released` (lifecycle/ownership.ts's rule): how a driver folds
 * history into its record of releases, so the record answers what reading history answers.
 */
export function recordRelease(released: Map<string, Set<number>>, entry: HistoryEntry): void {
  const version = releasedVersionOf(entry);
  if (version === undefined) return;
  const versions = released.get(entry.certificate);
  if (versions) versions.add(version);
  else released.set(entry.certificate, new Set([version]));
}

/** Tasks oldest first; ids break ties (they begin with the time). */
export function byCreation(a: DeploymentTask, b: DeploymentTask): number {
  return compareText(a.createdAt, b.createdAt) || compareText(a.id, b.id);
}

export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

/**
 * The finished tasks a prune removes, from the tasks it may see: the one retention rule
 * (lifecycle/retention.ts) for every driver. Values no setting can hold are refused, not clamped:
 * a negative keepLast would otherwise remove the newest records.
 */
export function tasksToPrune(tasks: readonly RetainedTask[], pruning: TaskPruning): string[] {
  const { keepDays, keepLast } = pruning.retention;
  for (const [field, value] of [["keepDays", keepDays], ["keepLast", keepLast], ["limit", pruning.limit]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new CertstageError("CONFIG_INVALID", `task retention ${field} must be a whole number of 0 or more, not ${value}`, { field: "finishedTasks", fix: `set finishedTasks.${field === "limit" ? "keepLast" : field} in certstage:environments to a whole number` });
  }
  if (Number.isNaN(pruning.now.getTime())) throw new CertstageError("CONFIG_INVALID", "task retention was asked to judge ages at an invalid time", { fix: "pass a valid time (CERTSTAGE_NOW must be an ISO time)" });
  const inScope = tasks.filter((task) => (pruning.certificate === undefined || task.certificate === pruning.certificate) && (pruning.environment === undefined || task.environment === pruning.environment));
  return finishedTasksToRemove(inScope, pruning.retention, pruning.now, pruning.limit);
}
