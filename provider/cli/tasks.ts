/**
 * `certstage tasks list|run|cancel`: the standby queue. `pulumi up` with `mode: "standby"` records
 * a swap (or, with `state: "undeployed"`, an undeploy) as a task; a scheduled job (or an operator
 * in a change window) runs the due ones here, through the same path as `pulumi up`: a swap's
 * promotion rule, target, verification and rollback, an undeploy's target.
 */
import { CertstageError, isCertstageError, quoted } from "../errors";
import { accessRefusal } from "../lifecycle/authorization";
import { EnvironmentDefinition, environmentDefinitionsFrom } from "../settings/environments";
import type { Actor, DeploymentTask, Store } from "../store";
import { rollout, undeployThroughTarget } from "../targets/rollout";
import { pruneFinishedTasksOf } from "../targets/standby";

export function formatTasks(tasks: readonly DeploymentTask[]): string {
  if (tasks.length === 0) return "No tasks.\n";
  const lines = tasks.map((task) => {
    const change = `${task.fromVersion !== undefined ? `v${task.fromVersion}` : "none"} -> ${task.action === "undeploy" ? "undeploy" : `v${task.version}`}`;
    const when = task.notBefore ? `not before ${task.notBefore}` : "when run";
    const outcome = task.detail ? `  ${task.detail}` : "";
    return `${task.id}  ${task.state.padEnd(10)}${task.environment.padEnd(12)}${task.certificate.padEnd(16)}${`${change} `.padEnd(12)}${when.padEnd(36)}${task.createdBy}${outcome}`;
  });
  return `${lines.join("\n")}\n`;
}

export interface TaskRunOutcome {
  readonly task: DeploymentTask;
  readonly ok: boolean;
}

/** A due task the runner may not perform: it stays pending for a runner of the certificate's owner. */
export interface SkippedTask {
  readonly task: DeploymentTask;
  /** The NOT_OWNER message. */
  readonly reason: string;
}

export interface TaskRun {
  readonly ran: TaskRunOutcome[];
  readonly skipped: SkippedTask[];
}

/** A pending task whose time has come (or a running one whose runner died, which claim decides). */
export function isDue(task: DeploymentTask, now: Date): boolean {
  if (task.state !== "pending" && task.state !== "running") return false;
  return task.notBefore === undefined || Date.parse(task.notBefore) <= now.getTime();
}

/**
 * The refusal of a deploy of `certificate` by `actor`, if any. Performing or cancelling a standby
 * task is a deploy: the runner must be the certificate's owner, as the one who queued it was.
 */
export async function deployRefusal(store: Store, actor: Actor, certificate: string): Promise<CertstageError | undefined> {
  const record = await store.getCertificate(certificate);
  return record ? accessRefusal(await store.principal(actor), "deploy", record, certificate) : undefined;
}

/**
 * Runs due tasks oldest first, one at a time, so a staging task queued before its production
 * task satisfies the promotion rule. A task another runner claimed is skipped, and so is one of a
 * certificate the runner may not deploy (a scheduled job of one team, on a store many teams
 * share): it stays pending for its owner's runner. Named with `only`, such a task is refused.
 */
export async function runDueTasks(
  store: Store,
  actor: Actor,
  now: Date,
  options: { readonly only?: string; readonly progress?: (line: string) => void } = {},
): Promise<TaskRun> {
  const outcomes: TaskRunOutcome[] = [];
  const skipped: SkippedTask[] = [];
  const named = options.only === undefined ? undefined : await store.getTask(options.only);
  if (options.only !== undefined && !named) {
    throw new CertstageError("TASK_NOT_FOUND", `there is no task ${quoted(options.only)} in ${store.description}`, { fix: "list tasks with `certstage tasks list`" });
  }
  if (named) {
    const refusal = await deployRefusal(store, actor, named.certificate);
    if (refusal) throw refusal;
  }
  const candidates = (await store.listTasks()).filter((task) => (options.only === undefined || task.id === options.only) && isDue(task, now));
  for (const candidate of candidates) {
    const refusal = await deployRefusal(store, actor, candidate.certificate);
    if (refusal) {
      options.progress?.(`task ${candidate.id}: skipped, left pending: ${refusal.message}`);
      skipped.push({ task: candidate, reason: refusal.message });
      continue;
    }
    const task = await store.claimTask(candidate.id, actor);
    if (!task) continue;
    options.progress?.(`task ${task.id}: ${task.environment}/${task.certificate} -> ${task.action === "undeploy" ? "undeploy" : `v${task.version}`}`);
    let environments: EnvironmentDefinition[] = [];
    try {
      environments = environmentDefinitionsFrom(task.environments);
      const context = { store, actor, environments, progress: options.progress };
      if (task.action === "undeploy") {
        await undeployThroughTarget(context, task);
        outcomes.push({ task: await store.finishTask(task.id, { state: "done", detail: `${task.environment} no longer serves ${task.certificate}` }, actor), ok: true });
      } else {
        await rollout(context, task);
        outcomes.push({ task: await store.finishTask(task.id, { state: "done", detail: `${task.environment} serves version ${task.version}` }, actor), ok: true });
      }
    } catch (error) {
      const detail = isCertstageError(error) ? error.message : `unexpected error: ${(error as Error).message}`;
      outcomes.push({ task: await store.finishTask(task.id, { state: "failed", detail }, actor), ok: false });
    }
    // Retention of the pair's finished tasks (settings/retention.ts); history keeps their outcomes.
    const pruned = await pruneFinishedTasksOf(store, environments, task.certificate, task.environment, actor);
    if (pruned.length > 0) options.progress?.(`${task.environment}/${task.certificate}: removed ${pruned.length} finished task(s) past retention (history keeps their outcome)`);
  }
  return { ran: outcomes, skipped };
}
