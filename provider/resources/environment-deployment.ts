/**
 * `EnvironmentDeployment`: which version of a certificate an environment serves. Changing the
 * version is an in-place update that swaps what the environment serves in one atomic step;
 * deleting the resource undeploys. Pointing it at a lower version is a rollback.
 *
 * With `mode: "standby"` the swap is recorded as a task instead (the seeds' standby queue):
 * `certstage tasks run` performs it once `notBefore` has passed, and the resource reports
 * `pending` until `pulumi refresh` sees the task finished.
 *
 * With `state: "undeployed"` the environment stops serving the certificate while the resource
 * stays in the stack: at once, or with `mode: "standby"` through a task, as seed 001's "Undeploy
 * ... at a later time" allows. Deleting the resource afterwards only removes it from the stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { CertstageError, quoted } from "../errors";
import { decideDiff, ENVIRONMENT_DEPLOYMENT_RULES } from "../lifecycle/diff";
import { targetFor } from "../targets";
import { definitionOf, promotionCheck, rollout, RolloutContext, undeployThroughTarget } from "../targets/rollout";
import { cancelPendingTasks, queueStandby, queueStandbyUndeploy } from "../targets/standby";
import type { DeploymentTask, Store } from "../store";
import { readDnsName } from "../pki/dns-names";
import { withoutChain } from "../pki/jwk";
import { agentVerificationProblem, endpointProblem, EnvironmentDefinition, VerificationDefinition, verificationTimingProblem } from "../settings/environments";
import type { ProviderSettings } from "../settings/stack-settings";
import { validateAgainstSchema } from "../validation/schema";
import { Certificate } from "./certificate";
import { CertificateVersion } from "./certificate-version";
import { registration, withoutPromiseStacks } from "./certstage-resource";
import * as kindProvider from "./kind-providers/environment-deployment";
import { resourceUrnInput } from "./resource-urn";
import { asJsonText, parsedJsonText } from "./json-text-output";
import { accessProblem, refusalOf, requireCertificateAccess } from "./certificate-access";
import { checkResult, HandlerContext, isUnknown, planned, ResourceHandler, withoutProvider } from "./handler";

export interface EnvironmentDeploymentArgs {
  /** The version to serve: a `CertificateVersion`, or a version number together with `certificate`. */
  readonly version: CertificateVersion | pulumi.Input<number>;
  /** Required when `version` is a number; taken from the `CertificateVersion` otherwise. */
  readonly certificate?: Certificate | pulumi.Input<string>;
  /** A configured environment: `staging` and `production` unless `certstage:environments` says otherwise. */
  readonly environment: pulumi.Input<string>;
  /**
   * `deployed` (default) serves `version`; `undeployed` stops serving the certificate there while
   * the resource stays in the stack (with `mode: "standby"`, through a task). Setting `deployed`
   * again serves `version` again and cancels a pending undeploy.
   */
  readonly state?: pulumi.Input<"deployed" | "undeployed">;
  /** `now` (default) swaps (or undeploys) during `pulumi up`; `standby` queues it for `certstage tasks run`. */
  readonly mode?: pulumi.Input<"now" | "standby">;
  /** With `standby`: the task does not run before this time (RFC 3339). */
  readonly notBefore?: pulumi.Input<string>;
  /**
   * Where to check that the new version is served after the swap, for this certificate; replaces
   * the environment's `verify` from `certstage:environments` (different certificates of one
   * environment are often served by different endpoints, or under different names).
   */
  readonly verify?: pulumi.Input<{
    endpoints?: pulumi.Input<string>[];
    /** Wait for the environment's live agents (`certstage agent`) to serve the new version. */
    agents?: pulumi.Input<{ minimum?: pulumi.Input<number>; liveWithinMs?: pulumi.Input<number> }>;
    serverName?: pulumi.Input<string>;
    timeoutMs?: pulumi.Input<number>;
    settleMs?: pulumi.Input<number>;
  }>;
}

/** The declared outputs: what the provider reports, the inputs it echoes among them. */
const OUTPUTS = ["certificate", "environment", "deployedVersion", "deployedAt", "status", "task", "jwk"];

export class EnvironmentDeployment extends pulumi.dynamic.Resource {
  declare readonly certificate: pulumi.Output<string>;
  declare readonly environment: pulumi.Output<string>;
  declare readonly deployedVersion: pulumi.Output<number>;
  declare readonly deployedAt: pulumi.Output<string>;
  /** `deployed`, `pending` (a standby task waits), or `undeployed` (a standby task for a new deployment failed). */
  declare readonly status: pulumi.Output<string>;
  /** The last standby task: its id, state (`pending`, `running`, `done`, `failed`, `cancelled`) and what happened. */
  declare readonly task: pulumi.Output<{ id: string; state: string; notBefore?: string; detail?: string } | undefined>;
  /**
   * The public key of the version served, as a JWK without `x5c` (the version's `jwk` has the
   * chain): it changes in the same run as the swap. State keeps it as JSON text (json-text-output.ts).
   */
  declare readonly jwk: pulumi.Output<Record<string, unknown>>;

  constructor(resourceName: string, args: EnvironmentDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
    const fromVersion = args.version instanceof CertificateVersion ? args.version : undefined;
    const certificate = args.certificate instanceof Certificate ? args.certificate.name : (args.certificate ?? fromVersion?.certificate);
    if (certificate === undefined) {
      throw new CertstageError("INPUT_SCHEMA", "is required when 'version' is a number", {
        resource: resourceName,
        field: "certificate",
        fix: "pass the Certificate (or its name), or pass a CertificateVersion as 'version'",
      });
    }
    const restoreStackLimit = withoutPromiseStacks();
    try {
      super(
        ...registration(
          "EnvironmentDeployment",
          kindProvider,
          resourceName,
          {
            certificate,
            resourceUrn: resourceUrnInput("EnvironmentDeployment", resourceName, opts),
            environment: args.environment,
            version: fromVersion ? fromVersion.version : args.version,
            state: args.state,
            mode: args.mode,
            notBefore: args.notBefore,
            verify: args.verify,
          },
          OUTPUTS,
          opts,
        ),
      );
    } finally {
      restoreStackLimit();
    }
    this.jwk = parsedJsonText(this, "jwk");
  }
}

interface DeploymentInputs {
  certificate: string;
  environment: string;
  version: number;
  state?: "deployed" | "undeployed";
  mode?: "now" | "standby";
  notBefore?: string;
  verify?: VerificationDefinition;
}

/** Outputs from what the store says now: the live deployment and the last standby task. */
async function outputsOf(inputs: DeploymentInputs, store: Store, task: DeploymentTask | undefined) {
  const live = await store.getDeployment(inputs.certificate, inputs.environment);
  const waiting = task !== undefined && (task.state === "pending" || task.state === "running");
  return {
    certificate: inputs.certificate,
    environment: inputs.environment,
    version: inputs.version,
    ...(inputs.state !== undefined ? { state: inputs.state } : {}),
    ...(inputs.mode !== undefined ? { mode: inputs.mode } : {}),
    ...(inputs.notBefore !== undefined ? { notBefore: inputs.notBefore } : {}),
    ...(inputs.verify !== undefined ? { verify: inputs.verify } : {}),
    deployedVersion: live?.version ?? 0,
    deployedAt: live?.deployedAt ?? "",
    status: waiting ? "pending" : live ? "deployed" : "undeployed",
    ...(task ? { task: { id: task.id, state: task.state, ...(task.notBefore ? { notBefore: task.notBefore } : {}), ...(task.detail ? { detail: task.detail } : {}) } } : {}),
    jwk: asJsonText(await servedJwk(inputs, live, store)),
  };
}

async function servedJwk(inputs: DeploymentInputs, live: { version: number } | undefined, store: Store) {
  const record = live ? await store.getVersion(inputs.certificate, live.version) : undefined;
  return record ? withoutChain(record.jwk) : {};
}

function parseDeploymentId(id: string): { certificate: string; environment: string } {
  const slash = id.indexOf("/");
  return { environment: id.slice(0, slash), certificate: id.slice(slash + 1) };
}

/** The stack's environments, with this resource's `verify` in place of its environment's. */
function environmentsFor(inputs: Pick<DeploymentInputs, "environment" | "verify">, settings: ProviderSettings): EnvironmentDefinition[] {
  const environments = settings.environmentDefinitions;
  if (inputs.verify === undefined || isUnknown(inputs.verify)) return environments;
  const own = { ...definitionOf(environments, inputs.environment), verify: inputs.verify };
  return [...environments.filter((definition) => definition.name !== inputs.environment), own];
}

function rolloutContext(inputs: Pick<DeploymentInputs, "environment" | "verify">, { store, settings, actor }: HandlerContext): RolloutContext {
  // Progress goes to stderr, which the engine passes through to the `pulumi up` output.
  return { store, actor, environments: environmentsFor(inputs, settings), progress: (line) => console.error(`certstage: ${line}`), secrets: secretSourcesOf(settings) };
}

/** An http target's token: a `certstage:` stack config secret, or an environment variable. */
function secretSourcesOf(settings: ProviderSettings) {
  return { config: settings.stackConfig, env: process.env };
}

async function problemsWithDeployment(inputs: DeploymentInputs, context: HandlerContext): Promise<CertstageError[]> {
  const { store, settings } = context;
  const problems: CertstageError[] = [];
  if (!isUnknown(inputs.environment) && !settings.environments.includes(inputs.environment)) {
    problems.push(
      new CertstageError("ENVIRONMENT_UNKNOWN", `'${inputs.environment}' is not an environment of this stack`, {
        field: "environment",
        fix: `use one of ${settings.environments.join(", ")}, or add it to the certstage:environments stack setting`,
      }),
    );
  }
  if (inputs.notBefore !== undefined && !isUnknown(inputs.notBefore)) {
    if (inputs.mode !== "standby") {
      problems.push(new CertstageError("INPUT_SCHEMA", "only applies to standby deployments", { field: "notBefore", fix: "add mode: \"standby\", or remove notBefore to swap during `pulumi up`" }));
    } else if (Number.isNaN(Date.parse(inputs.notBefore))) {
      problems.push(new CertstageError("INPUT_SCHEMA", `'${inputs.notBefore}' is not a time`, { field: "notBefore", fix: "write an RFC 3339 time, e.g. 2026-12-01T02:00:00Z" }));
    }
  }
  if (inputs.verify !== undefined && !isUnknown(inputs.verify) && !isUnknown(inputs.verify.timeoutMs) && !isUnknown(inputs.verify.settleMs)) {
    const timing = verificationTimingProblem(inputs.verify);
    if (timing) problems.push(new CertstageError("INPUT_SCHEMA", timing, { field: "verify.settleMs", fix: "make verify.settleMs shorter than verify.timeoutMs (defaults: 1000 and 30000)" }));
  }
  if (inputs.verify !== undefined && !isUnknown(inputs.verify) && inputs.verify.endpoints === undefined && inputs.verify.agents === undefined) {
    problems.push(new CertstageError("INPUT_SCHEMA", "verify names nothing to verify with", { field: "verify", fix: `give verify.endpoints (["127.0.0.1:8443"]), verify.agents ({} waits for the environment's live agents), or both` }));
  }
  const agentsProblem = inputs.verify !== undefined && !isUnknown(inputs.verify) && !isUnknown(inputs.verify.agents) ? agentVerificationProblem(inputs.verify.agents) : undefined;
  if (agentsProblem) problems.push(new CertstageError("INPUT_SCHEMA", agentsProblem, { field: "verify.agents", fix: "write e.g. {} or {\"minimum\": 3, \"liveWithinMs\": 180000}" }));
  if (inputs.verify?.serverName !== undefined && !isUnknown(inputs.verify) && !isUnknown(inputs.verify.serverName)) {
    const serverName = readDnsName(inputs.verify.serverName);
    if (!serverName.ok) problems.push(new CertstageError("DNS_NAME_INVALID", `${quoted(inputs.verify.serverName)}: ${serverName.problem}`, { field: "verify.serverName", fix: "name the host clients ask for (SNI), e.g. api.example.com; internationalized names in either form" }));
  }
  // The schema checks the form of an endpoint; a port nothing can connect to gets past a pattern.
  for (const [index, endpoint] of (Array.isArray(inputs.verify?.endpoints) && !isUnknown(inputs.verify) ? inputs.verify.endpoints : []).entries()) {
    const problem = endpointProblem(endpoint);
    if (problem !== undefined && problem !== "form") problems.push(new CertstageError("INPUT_SCHEMA", problem, { field: `verify.endpoints.${index}`, fix: "write host:port with a port from 1 to 65535, e.g. 127.0.0.1:8443" }));
  }
  // A literal version (a rollback, say) can be checked now; one computed by this run cannot. An
  // undeploy installs no version: the promotion rule has nothing to say about it.
  if (inputs.state !== "undeployed" && !isUnknown(inputs.certificate) && !isUnknown(inputs.version) && !isUnknown(inputs.environment)) {
    problems.push(...(await promotionCheck(rolloutContext(inputs, context), inputs)));
  }
  // A literal version of an existing certificate can be checked now; a version computed by this
  // run, or one of a certificate this run creates, cannot.
  if (!isUnknown(inputs.certificate) && !isUnknown(inputs.version) && (await store.getCertificate(inputs.certificate))) {
    if (!(await store.getVersion(inputs.certificate, inputs.version))) {
      const versions = (await store.listVersions(inputs.certificate)).map((record) => record.version);
      problems.push(
        new CertstageError("VERSION_NOT_FOUND", `certificate '${inputs.certificate}' has no version ${inputs.version}`, {
          field: "version",
          fix: versions.length > 0 ? `deploy one of its versions: ${versions.join(", ")}` : "create a CertificateVersion first",
        }),
      );
    }
  }
  return problems;
}

/** What create and update do: swap or undeploy now, or queue a standby task. */
async function apply(inputs: DeploymentInputs, context: HandlerContext): Promise<DeploymentTask | undefined> {
  const { store, actor } = context;
  if (inputs.state === "undeployed") {
    await requireCertificateAccess(context, inputs.certificate, "undeploy");
    if (inputs.mode === "standby") return queueStandbyUndeploy(rolloutContext(inputs, context), inputs);
    await cancelPendingTasks(store, inputs.certificate, inputs.environment, actor, "superseded by undeploying now");
    await undeployThroughTarget(rolloutContext(inputs, context), inputs);
    return undefined;
  }
  // A standby task is a deploy decided now: only the owner queues one.
  await requireCertificateAccess(context, inputs.certificate, "deploy");
  if (inputs.mode === "standby") return queueStandby(rolloutContext(inputs, context), inputs);
  await cancelPendingTasks(store, inputs.certificate, inputs.environment, actor, `superseded by deploying version ${inputs.version} now`);
  await rollout(rolloutContext(inputs, context), inputs);
  return undefined;
}

export const environmentDeploymentHandler: ResourceHandler = {
  async check(olds, news, context) {
    const inputs = withoutProvider(news) as DeploymentInputs;
    const problems = validateAgainstSchema("environment-deployment", inputs, isUnknown);
    if (problems.length > 0) return checkResult(news, problems);
    // A new resource deploys; one the state holds changes through diff.
    const refusal = olds.certificate === undefined ? await accessProblem(context, inputs.certificate, "deploy") : undefined;
    if (refusal) problems.push(refusal);
    problems.push(...(await problemsWithDeployment(inputs, context)));
    return checkResult(news, problems);
  },

  async diff(id, olds, news, context) {
    const inputs = news as DeploymentInputs;
    const decision = decideDiff(ENVIRONMENT_DEPLOYMENT_RULES, olds, {
      certificate: planned(inputs.certificate),
      environment: planned(inputs.environment),
      version: planned(inputs.version),
      state: planned(inputs.state),
      mode: planned(inputs.mode),
      notBefore: planned(inputs.notBefore),
      verify: planned(inputs.verify),
    });
    // Every change deploys again (a swap, a standby task, a new verification); a replacement undeploys this one first.
    if (decision.changed) {
      const replaced = decision.replaces.length > 0 ? await accessProblem(context, parseDeploymentId(id).certificate, "undeploy") : undefined;
      const refusal = replaced ?? (await accessProblem(context, inputs.certificate, "deploy"));
      if (refusal) throw refusal;
    }
    return { changes: decision.changed, replaces: decision.replaces };
  },

  async create(inputs, context) {
    const { certificate, environment } = inputs as DeploymentInputs;
    const task = await apply(inputs as DeploymentInputs, context);
    return { id: `${environment}/${certificate}`, outs: await outputsOf(inputs as DeploymentInputs, context.store, task) };
  },

  async read(id, props, context) {
    const { store, settings, actor } = context;
    const { certificate, environment } = parseDeploymentId(id);
    const record = await store.getCertificate(certificate);
    if (!record) return {};
    const refusal = await refusalOf(context, record, ["read"]);
    if (refusal) throw refusal;
    const lastTask = props.task?.id ? await store.getTask(props.task.id) : undefined;
    const waiting = lastTask !== undefined && (lastTask.state === "pending" || lastTask.state === "running");
    const live = await store.getDeployment(certificate, environment);
    const undeployed = props.state === "undeployed";
    // Undeployed as the program says: the resource stays, reporting `undeployed`.
    if (undeployed && !live && !waiting) return { id, props: { ...props, ...(await outputsOf({ ...(props as DeploymentInputs), certificate, environment }, store, lastTask)) } };
    if (!live && !waiting) return {}; // Undeployed outside Pulumi: refresh drops it, the next `up` deploys again.
    // The live version goes into `version` too, so the next preview shows a swap back to the
    // program's version (drift), unless a standby task is still to make the program's version live.
    let version = waiting ? (lastTask.version ?? props.version) : live!.version;
    const outputs = await outputsOf({ ...(props as DeploymentInputs), certificate, environment, version }, store, lastTask);
    // Served although the program says undeployed (its undeploy task failed, or a deploy by hand):
    // `state` shows the drift, so the next `up` undeploys again.
    if (undeployed && live && !waiting) return { id, props: { ...props, ...outputs, state: "deployed" } };
    // Where the servers can be asked (HAProxy), they are the truth: a hand-made swap, or a swap
    // cut short by a crash, shows as drift, and the next `up` puts the program's version back.
    const target = targetFor(definitionOf(settings.environmentDefinitions, environment).target, secretSourcesOf(settings));
    if (live && !waiting && target.live) {
      // A server that cannot be asked does not fail the refresh: the store's word stands, and we say so.
      const seen = await target.live({ store, certificate, environment, actor }).catch((error: Error) => {
        console.error(`certstage: ${environment}/${certificate}: could not ask the servers what they serve (${error.message}); reporting the store's version ${live.version}`);
        return undefined;
      });
      if (seen && seen.version !== live.version) {
        console.error(`certstage: ${environment}/${certificate}: the store says version ${live.version}, but ${seen.description}`);
        version = seen.version ?? 0;
        return { id, props: { ...props, ...outputs, version, deployedVersion: version } };
      }
    }
    return { id, props: { ...props, ...outputs } };
  },

  async update(_id, _olds, news, context) {
    const task = await apply(news as DeploymentInputs, context);
    return { outs: await outputsOf(news as DeploymentInputs, context.store, task) };
  },

  async delete(id, props, context) {
    const { store, actor } = context;
    const { certificate, environment } = parseDeploymentId(id);
    const record = await store.getCertificate(certificate);
    if (!record) return;
    const refusal = await refusalOf(context, record, ["undeploy"]);
    if (refusal) throw refusal;
    const pending = await store.listTasks({ certificate, environment, state: "pending" });
    // Already undeployed as the program said: the stack forgets the resource, the target is not asked again.
    if (props.state === "undeployed" && pending.length === 0 && !(await store.getDeployment(certificate, environment))) return;
    // A pending undeploy is not left to run later: deleting means gone now, as for any deployment.
    await cancelPendingTasks(store, certificate, environment, actor, "its EnvironmentDeployment was deleted");
    await undeployThroughTarget(rolloutContext({ environment }, context), { certificate, environment });
  },
};
