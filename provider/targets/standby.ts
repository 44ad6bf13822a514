/**
 * Standby deployments (the seeds' standby queue): instead of swapping, record a task that
 * `certstage tasks run` performs later through the same rollout; a standby undeploy likewise goes
 * through the environment's target when its task runs. This module decides whether a
 * task is needed and records it; the store keeps the tasks, `cli/tasks.ts` runs them.
 */
import { keepsQueuedUndeploy } from "../lifecycle/queued-undeploy";
import type { EnvironmentDefinition } from "../settings/environments";
import { taskRetentionOf, TASKS_REMOVED_PER_RUN } from "../settings/retention";
import type { Actor, DeploymentTask, Store } from "../store";
import { SecretSources, targetFor } from ".";
import { definitionOf, promotionCheck, RolloutRequest } from "./rollout";

export interface StandbyRequest extends RolloutRequest {
  /** Not before this time (any form Date.parse reads; stored as ISO). */
  readonly notBefore?: string;
}

export interface StandbyContext {
  readonly store: Store;
  readonly actor: Actor;
  /** The stack's environments; the task keeps a copy, since its runner has no stack config. */
  readonly environments: readonly EnvironmentDefinition[];
  /** Where an http target finds its token, to ask what it serves. */
  readonly secrets?: SecretSources;
}

/** Cancels the pending tasks of a certificate in an environment, e.g. when `up` swaps it now. */
export async function cancelPendingTasks(store: Store, certificate: string, environment: string, actor: Actor, why: string): Promise<void> {
  for (const task of await store.listTasks({ certificate, environment, state: "pending" })) {
    await store.finishTask(task.id, { state: "cancelled", detail: why }, actor);
  }
}

/**
 * Removes the finished tasks of (certificate, environment) that the environment's retention lets
 * go (`finishedTasks`, default 30 days and the last 3), at most TASKS_REMOVED_PER_RUN: called
 * after a task finishes and after one is queued, so the work is per pair and bounded. Ages are
 * judged by the wall clock, which stamped finishedAt, not by a pinned CERTSTAGE_NOW: a rehearsal
 * in the future must not remove this month's records. Returns the ids removed; a failure to prune
 * is no failure of the task, and the next run tries again.
 */
export async function pruneFinishedTasksOf(store: Store, environments: readonly EnvironmentDefinition[], certificate: string, environment: string, actor: Actor): Promise<string[]> {
  const retention = taskRetentionOf(definitionOf(environments, environment).finishedTasks);
  return store.pruneFinishedTasks({ retention, now: new Date(), limit: TASKS_REMOVED_PER_RUN, certificate, environment }, actor).catch(() => []);
}

/**
 * The version the servers hold, where the target can ask them; else the store's link. Servers
 * that cannot be asked hold nothing we know of, so a standby swap to them is queued, not skipped.
 */
async function servedVersion(context: StandbyContext, request: RolloutRequest): Promise<number | undefined> {
  const target = targetFor(definitionOf(context.environments, request.environment).target, context.secrets);
  const targetContext = { store: context.store, certificate: request.certificate, environment: request.environment, actor: context.actor };
  if (target.live) return (await target.live(targetContext).catch(() => undefined))?.version;
  return (await context.store.getDeployment(request.certificate, request.environment))?.version;
}

/**
 * Queues the swap, after refusing now what the runner would refuse later (the promotion rule).
 * Returns undefined when the environment already serves the version: nothing is left to do.
 */
export async function queueStandby(context: StandbyContext, request: StandbyRequest): Promise<DeploymentTask | undefined> {
  const { store, actor } = context;
  const problems = await promotionCheck(context, request);
  if (problems.length > 0) throw problems[0];
  const linked = await store.getDeployment(request.certificate, request.environment);
  if (linked?.version === request.version && (await servedVersion(context, request)) === request.version) {
    await cancelPendingTasks(store, request.certificate, request.environment, actor, `version ${request.version} is already served`);
    return undefined;
  }
  const queued = await store.queueTask(
    {
      certificate: request.certificate,
      environment: request.environment,
      version: request.version,
      ...(request.notBefore ? { notBefore: new Date(request.notBefore).toISOString() } : {}),
      environments: context.environments as unknown as Record<string, unknown>[],
    },
    actor,
  );
  await pruneFinishedTasksOf(store, context.environments, request.certificate, request.environment, actor);
  return queued;
}

/**
 * Queues an undeploy (seed 001: "Undeploy the certificate at a later time ... standby queue").
 * Returns undefined when nothing is deployed there: nothing is left to do, and a pending swap is
 * cancelled. A pending undeploy with the same notBefore is kept as it is, so an `up` that changes
 * nothing else (a new version number while undeployed, say) does not queue it again.
 */
export async function queueStandbyUndeploy(context: StandbyContext, request: Omit<StandbyRequest, "version">): Promise<DeploymentTask | undefined> {
  const { store, actor } = context;
  const notBefore = request.notBefore ? new Date(request.notBefore).toISOString() : undefined;
  const pending = await store.listTasks({ certificate: request.certificate, environment: request.environment, state: "pending" });
  const same = pending.find((task) => task.action === "undeploy" && keepsQueuedUndeploy(task.notBefore, notBefore));
  if (same && pending.length === 1) return same;
  if (!(await store.getDeployment(request.certificate, request.environment))) {
    await cancelPendingTasks(store, request.certificate, request.environment, actor, "nothing is deployed to undeploy");
    return undefined;
  }
  const queued = await store.queueTask(
    { certificate: request.certificate, environment: request.environment, action: "undeploy", ...(notBefore ? { notBefore } : {}), environments: context.environments as unknown as Record<string, unknown>[] },
    actor,
  );
  await pruneFinishedTasksOf(store, context.environments, request.certificate, request.environment, actor);
  return queued;
}
