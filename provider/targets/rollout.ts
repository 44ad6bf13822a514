/**
 * A rollout: what happens when an environment is told to serve a version, whether `pulumi up`
 * asks (EnvironmentDeployment) or `certstage tasks run` does (a standby task).
 *
 *   1. the promotion rule is checked against history, before anything changes;
 *   2. the environment's target swaps (the store link, then the servers);
 *   3. when the environment verifies, TLS handshakes wait until every endpoint has given the new
 *      leaf to every handshake for the settle period (verify.ts says why one is not enough), and
 *      with `verify.agents`, until every live agent reports it serves the new version
 *      (agent-verification.ts); if either never does, the previous version is put back and the
 *      rollout fails saying what the endpoints and agents served instead.
 */
import { CertstageError } from "../errors";
import { DeploymentFact, promotionProblems } from "../lifecycle/promotion";
import { aLabelOf } from "../pki/dns-names";
import { DEFAULT_VERIFY_SETTLE_MS, DEFAULT_VERIFY_TIMEOUT_MS, EnvironmentDefinition, type VerificationDefinition } from "../settings/environments";
import type { Actor, DeploymentRecord, Store } from "../store";
import { SecretSources, targetFor } from ".";
import { describeAgents, waitForAgents } from "./agent-verification";
import { describeServed, describeSettled, Endpoint, waitUntilServed } from "./verify";

export interface RolloutContext {
  readonly store: Store;
  readonly actor: Actor;
  /** The stack's environments (from `certstage:environments`, or a task's copy of them). */
  readonly environments: readonly EnvironmentDefinition[];
  /** One line per step, for the Pulumi output or the terminal; never key material. */
  readonly progress?: (line: string) => void;
  /** Where an http target finds its token (default: the environment only). */
  readonly secrets?: SecretSources;
}

export interface RolloutRequest {
  readonly certificate: string;
  readonly environment: string;
  readonly version: number;
}

/** An environment's definition; one the stack does not define is the store's own directory. */
export function definitionOf(environments: readonly EnvironmentDefinition[], name: string): EnvironmentDefinition {
  return environments.find((definition) => definition.name === name) ?? { name, target: { type: "directory" } };
}

/**
 * Which versions reached which environment, and whether they were verified there, from history.
 * A verification that passed counts. A swap counts as verified where the environment does not
 * verify, unless a verification of that version there failed (a deployment's own `verify`).
 */
async function deploymentFacts(store: Store, certificate: string, environments: readonly EnvironmentDefinition[]): Promise<DeploymentFact[]> {
  // Only the lines the facts come from: a certificate's history also holds every version, task and release.
  const history = await store.readHistory({ certificate, actions: ["deploy", "rollback", "verify"] });
  const failedVerification = new Set(history.filter((entry) => entry.action === "verify" && entry.result === "failed").map((entry) => `${entry.environment}@${entry.toVersion}`));
  const facts: DeploymentFact[] = [];
  for (const entry of history) {
    if (!entry.environment || entry.toVersion === undefined || entry.result !== "ok") continue;
    if (entry.action === "deploy" || entry.action === "rollback") {
      const unverified = definitionOf(environments, entry.environment).verify !== undefined || failedVerification.has(`${entry.environment}@${entry.toVersion}`);
      facts.push({ environment: entry.environment, version: entry.toVersion, verified: !unverified });
    }
    if (entry.action === "verify") facts.push({ environment: entry.environment, version: entry.toVersion, verified: true });
  }
  return facts;
}

/** PROMOTION_REFUSED problems for a proposed rollout (none for a certificate the store lacks yet). */
export async function promotionCheck(context: Pick<RolloutContext, "store" | "environments">, request: RolloutRequest): Promise<CertstageError[]> {
  const rule = definitionOf(context.environments, request.environment).promotion;
  if (!rule || !(await context.store.getCertificate(request.certificate))) return [];
  const facts = await deploymentFacts(context.store, request.certificate, context.environments);
  return promotionProblems(request.certificate, request.environment, request.version, rule, facts);
}

function parseEndpoint(endpoint: string, serverName: string): Endpoint {
  const separator = endpoint.lastIndexOf(":");
  return { host: endpoint.slice(0, separator).replace(/^\[|\]$/g, ""), port: Number(endpoint.slice(separator + 1)), serverName };
}

export async function rollout(context: RolloutContext, request: RolloutRequest): Promise<DeploymentRecord> {
  const { store, actor } = context;
  const { certificate, environment, version } = request;
  const say = (line: string) => context.progress?.(`${environment}/${certificate}: ${line}`);
  const problems = await promotionCheck(context, request);
  if (problems.length > 0) throw problems[0];

  const definition = definitionOf(context.environments, environment);
  const target = targetFor(definition.target, context.secrets);
  const targetContext = { store, certificate, environment, actor };
  const previous = await store.getDeployment(certificate, environment);
  const started = Date.now();
  const record = await target.deploy(targetContext, version);
  // The same version again: the store already names it, but the servers may not hold it (drift,
  // or a swap cut short); the target pushes it again and verification runs all the same.
  const again = previous?.version === version;
  say(`${again ? `v${version} again` : `${previous ? `v${previous.version}` : "nothing"} -> v${version}`} through the ${definition.target.type} target (${Date.now() - started} ms)`);
  if (!definition.verify) return record;

  const versionRecord = await store.getVersion(certificate, version);
  const expected = versionRecord?.fingerprintSha256 ?? "";
  const timeoutMs = definition.verify.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const checks: { ok: boolean; seen: string; verified: string; failure: string }[] = [];
  if (definition.verify.endpoints) checks.push(await verifyEndpoints(definition.verify, versionRecord?.sans[0] ?? certificate, expected, say, { certificate, version }));
  if (definition.verify.agents && checks.every((check) => check.ok)) {
    say(`waiting up to ${timeoutMs} ms for ${environment}'s live agents to serve v${version}`);
    const result = await waitForAgents(store, { certificate, environment, version, fingerprintSha256: expected }, definition.verify.agents, timeoutMs);
    const seen = `agents: ${describeAgents(result)}`;
    checks.push({ ok: result.ok, seen, verified: `at ${Object.keys(result.agents).length} live agent(s): ${describeAgents(result)}`, failure: `did not serve version ${version} at every live agent within ${timeoutMs} ms (${seen})` });
  }
  const ok = checks.every((check) => check.ok);
  const seen = checks.map((check) => check.seen).join("; ");
  await store.recordHistory({ actor: actor.principal, action: "verify", certificate, environment, toVersion: version, result: ok ? "ok" : "failed", detail: seen });
  if (ok) {
    say(`verified v${version} ${checks.map((check) => check.verified).join(", and ")}; ${Date.now() - started} ms since the swap began`);
    return record;
  }
  // Put back what was served before; when that was this very version, there is nothing to put back.
  const outcome = again ? `the store still names version ${version}` : previous ? `version ${previous.version} was put back` : "it was undeployed again";
  if (previous && !again) await target.deploy(targetContext, previous.version);
  else if (!previous) await target.undeploy(targetContext);
  say(`verification failed (${seen}); ${outcome}`);
  throw new CertstageError("VERIFICATION_FAILED", `${environment} ${checks.find((check) => !check.ok)!.failure}; ${outcome}`, {
    resource: certificate,
    fix: "check that the endpoints read this environment's files (or its HAProxy certificate), that the reload reaches every server process, that the environment's agents run and can reach the store, and that verify.timeoutMs leaves room for verify.settleMs, then run again",
  });
}

/**
 * Stops serving a certificate in an environment through its target: what deleting an
 * EnvironmentDeployment does during `pulumi up`, and what a standby undeploy task does when it
 * runs. Nothing served is nothing to do (the target's undeploy records no history then).
 */
export async function undeployThroughTarget(context: RolloutContext, request: Omit<RolloutRequest, "version">): Promise<void> {
  const { certificate, environment } = request;
  const definition = definitionOf(context.environments, environment);
  const previous = await context.store.getDeployment(certificate, environment);
  const started = Date.now();
  await targetFor(definition.target, context.secrets).undeploy({ store: context.store, certificate, environment, actor: context.actor });
  context.progress?.(`${environment}/${certificate}: ${previous ? `v${previous.version}` : "nothing"} -> undeployed through the ${definition.target.type} target (${Date.now() - started} ms)`);
}

/** TLS handshakes at the endpoints until every one has served the new leaf for the settle period. */
async function verifyEndpoints(verify: VerificationDefinition, firstName: string, expected: string, say: (line: string) => void, request: { certificate: string; version: number }): Promise<{ ok: boolean; seen: string; verified: string; failure: string }> {
  // SNI carries A-labels (RFC 6066 §3): an internationalized serverName is converted here.
  const serverName = aLabelOf(verify.serverName ?? firstName);
  const endpoints = (verify.endpoints ?? []).map((endpoint) => parseEndpoint(endpoint, serverName));
  const timeoutMs = verify.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const settleMs = verify.settleMs ?? DEFAULT_VERIFY_SETTLE_MS;
  say(`verifying v${request.version} (${expected.slice(0, 23)}…) at ${(verify.endpoints ?? []).join(", ")} as ${serverName}: every handshake for ${settleMs} ms, up to ${timeoutMs} ms`);
  const result = await waitUntilServed(endpoints, expected, {
    timeoutMs,
    settleMs,
    onProgress: (round, partial) => {
      if (!partial.ok && (round === 1 || round % 10 === 0)) say(`round ${round}: ${describeServed(partial)}`);
    },
  });
  const seen = result.ok ? describeSettled(result) : describeServed(result);
  return { ok: result.ok, seen, verified: `at ${endpoints.length} endpoint(s): ${seen}`, failure: `did not serve version ${request.version} to every handshake for ${settleMs} ms within ${timeoutMs} ms (${seen})` };
}
