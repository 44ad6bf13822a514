/**
 * `EnvironmentDeployment`: which version of a certificate an environment serves. Changing the
 * version is an in-place update that swaps what the environment serves in one atomic step;
 * deleting the resource undeploys. Pointing it at a lower version is a rollback.
 */
import * as pulumi from "@pulumi/pulumi";
import { CertstageError } from "../errors";
import { decideDiff, ENVIRONMENT_DEPLOYMENT_RULES } from "../lifecycle/diff";
import { DeploymentFact, promotionProblems } from "../lifecycle/promotion";
import { targetFor, TargetContext } from "../targets";
import { describeServed, waitUntilServed } from "../targets/verify";
import type { DeploymentRecord, Store } from "../store";
import type { EnvironmentDefinition, ProviderSettings } from "./provider-settings";
import { validateAgainstSchema } from "../validation/schema";
import { Certificate } from "./certificate";
import { CertificateVersion } from "./certificate-version";
import { sharedDynamicProvider } from "./dynamic-provider";
import { checkResult, HandlerContext, isUnknown, planned, ResourceHandler, withoutProvider } from "./handler";

export interface EnvironmentDeploymentArgs {
  /** The version to serve: a `CertificateVersion`, or a version number together with `certificate`. */
  readonly version: CertificateVersion | pulumi.Input<number>;
  /** Required when `version` is a number; taken from the `CertificateVersion` otherwise. */
  readonly certificate?: Certificate | pulumi.Input<string>;
  /** A configured environment: `staging` and `production` unless `certstage:environments` says otherwise. */
  readonly environment: pulumi.Input<string>;
}

export class EnvironmentDeployment extends pulumi.dynamic.Resource {
  declare readonly certificate: pulumi.Output<string>;
  declare readonly environment: pulumi.Output<string>;
  declare readonly deployedVersion: pulumi.Output<number>;
  declare readonly deployedAt: pulumi.Output<string>;
  /** `deployed`. */
  declare readonly status: pulumi.Output<string>;
  /** The public key of the version served, as a JWK: it changes in the same run as the swap. */
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
    super(
      sharedDynamicProvider("EnvironmentDeployment"),
      resourceName,
      {
        certificate,
        environment: args.environment,
        version: fromVersion ? fromVersion.version : args.version,
        deployedVersion: undefined,
        deployedAt: undefined,
        status: undefined,
        jwk: undefined,
      },
      opts,
      "certstage",
      "EnvironmentDeployment",
    );
  }
}

interface DeploymentInputs {
  certificate: string;
  environment: string;
  version: number;
}

async function outputsOf(inputs: DeploymentInputs, record: DeploymentRecord, store: Store) {
  return {
    certificate: record.certificate,
    environment: record.environment,
    version: inputs.version,
    deployedVersion: record.version,
    deployedAt: record.deployedAt,
    status: "deployed",
    jwk: (await store.getVersion(record.certificate, record.version))?.jwk ?? {},
  };
}

function parseDeploymentId(id: string): { certificate: string; environment: string } {
  const slash = id.indexOf("/");
  return { environment: id.slice(0, slash), certificate: id.slice(slash + 1) };
}

async function problemsWithTarget(inputs: DeploymentInputs, { store, settings }: HandlerContext): Promise<CertstageError[]> {
  const problems: CertstageError[] = [];
  if (!isUnknown(inputs.environment) && !settings.environments.includes(inputs.environment)) {
    problems.push(
      new CertstageError("ENVIRONMENT_UNKNOWN", `'${inputs.environment}' is not an environment of this stack`, {
        field: "environment",
        fix: `use one of ${settings.environments.join(", ")}, or add it to the certstage:environments stack setting`,
      }),
    );
  }
  // A literal version (a rollback, say) can be checked now; one computed by this run cannot.
  if (!isUnknown(inputs.certificate) && !isUnknown(inputs.version) && !isUnknown(inputs.environment)) {
    problems.push(...(await promotionCheck(inputs, store, settings)));
  }
  // A literal version (a rollback, say) of an existing certificate can be checked now; a version
  // computed by this run, or one of a certificate this run creates, cannot.
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

function definitionOf(settings: ProviderSettings, environment: string): EnvironmentDefinition {
  return settings.environmentDefinitions.find((definition) => definition.name === environment) ?? { name: environment, target: { type: "directory" } };
}

/** Which versions reached which environment, and whether they were verified there, from history. */
async function deploymentFacts(store: Store, certificate: string, settings: ProviderSettings): Promise<DeploymentFact[]> {
  const facts: DeploymentFact[] = [];
  for (const entry of await store.readHistory({ certificate })) {
    if (!entry.environment || entry.toVersion === undefined) continue;
    if ((entry.action === "deploy" || entry.action === "rollback") && entry.result === "ok") {
      facts.push({ environment: entry.environment, version: entry.toVersion, verified: !definitionOf(settings, entry.environment).verify });
    }
    if (entry.action === "verify" && entry.result === "ok") facts.push({ environment: entry.environment, version: entry.toVersion, verified: true });
  }
  return facts;
}

async function promotionCheck(inputs: DeploymentInputs, store: Store, settings: ProviderSettings) {
  const rule = definitionOf(settings, inputs.environment).promotion;
  if (!rule || !(await store.getCertificate(inputs.certificate))) return [];
  return promotionProblems(inputs.certificate, inputs.environment, inputs.version, rule, await deploymentFacts(store, inputs.certificate, settings));
}

/**
 * Swaps through the environment's target, then verifies when the environment says how. A failed
 * verification swaps back to what was served before and fails with what the endpoints served.
 */
async function swap(inputs: DeploymentInputs, { store, settings, actor }: HandlerContext): Promise<DeploymentRecord> {
  const problems = await promotionCheck(inputs, store, settings);
  if (problems.length > 0) throw problems[0];
  const definition = definitionOf(settings, inputs.environment);
  const target = targetFor(definition.target);
  const context: TargetContext = { store, certificate: inputs.certificate, environment: inputs.environment, actor };
  const previous = await store.getDeployment(inputs.certificate, inputs.environment);
  const record = await target.deploy(context, inputs.version);
  if (!definition.verify || previous?.version === inputs.version) return record;

  const version = await store.getVersion(inputs.certificate, inputs.version);
  const serverName = definition.verify.serverName ?? version?.sans[0] ?? inputs.certificate;
  const endpoints = definition.verify.endpoints.map((endpoint) => {
    const separator = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, separator).replace(/^\[|\]$/g, ""), port: Number(endpoint.slice(separator + 1)), serverName };
  });
  const result = await waitUntilServed(endpoints, version?.fingerprintSha256 ?? "", { timeoutMs: definition.verify.timeoutMs ?? 30_000 });
  const seen = describeServed(result.served);
  await store.recordHistory({ actor: actor.principal, action: "verify", certificate: inputs.certificate, environment: inputs.environment, toVersion: inputs.version, result: result.ok ? "ok" : "failed", detail: seen });
  if (result.ok) return record;
  if (previous) await target.deploy(context, previous.version);
  else await target.undeploy(context);
  throw new CertstageError("VERIFICATION_FAILED", `${inputs.environment} did not serve version ${inputs.version} within ${definition.verify.timeoutMs ?? 30_000} ms (${seen}); ${previous ? `version ${previous.version} was put back` : "it was undeployed again"}`, {
    resource: inputs.certificate,
    fix: "check that the endpoints read this environment's files (or its HAProxy certificate) and that the reload reaches them, then run again",
  });
}

export const environmentDeploymentHandler: ResourceHandler = {
  async check(_olds, news, context) {
    const inputs = withoutProvider(news) as DeploymentInputs;
    const problems = validateAgainstSchema("environment-deployment", inputs, isUnknown);
    if (problems.length === 0) problems.push(...(await problemsWithTarget(inputs, context)));
    return checkResult(news, problems);
  },

  async diff(_id, olds, news) {
    const inputs = news as DeploymentInputs;
    const decision = decideDiff(ENVIRONMENT_DEPLOYMENT_RULES, olds, {
      certificate: planned(inputs.certificate),
      environment: planned(inputs.environment),
      version: planned(inputs.version),
    });
    return { changes: decision.changed, replaces: decision.replaces };
  },

  async create(inputs, context) {
    const { certificate, environment } = inputs as DeploymentInputs;
    const record = await swap(inputs as DeploymentInputs, context);
    return { id: `${environment}/${certificate}`, outs: await outputsOf(inputs as DeploymentInputs, record, context.store) };
  },

  async read(id, props, { store }) {
    const { certificate, environment } = parseDeploymentId(id);
    const record = (await store.getCertificate(certificate)) ? await store.getDeployment(certificate, environment) : undefined;
    if (!record) return {}; // Undeployed outside Pulumi: refresh drops it, the next `up` deploys again.
    // The live version goes into `version` too, so the next preview shows a swap back to the program's version.
    return { id, props: { ...props, ...(await outputsOf(props as DeploymentInputs, record, store)), version: record.version } };
  },

  async update(_id, _olds, news, context) {
    const record = await swap(news as DeploymentInputs, context);
    return { outs: await outputsOf(news as DeploymentInputs, record, context.store) };
  },

  async delete(id, _props, { store, settings, actor }) {
    const { certificate, environment } = parseDeploymentId(id);
    if (!(await store.getCertificate(certificate))) return;
    await targetFor(definitionOf(settings, environment).target).undeploy({ store, certificate, environment, actor });
  },
};
