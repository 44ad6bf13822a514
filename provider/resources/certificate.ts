/**
 * `Certificate`: a named container of versions. Its `name` is its identity in the store (and in
 * the paths servers read), so changing it replaces the certificate; the display name, owner,
 * sharing and description change in place. Deleting it is refused while any version is deployed.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CertstageError } from "../errors";
import type { CertificateAction } from "../lifecycle/authorization";
import { CERTIFICATE_RULES, decideDiff, known, sameValue } from "../lifecycle/diff";
import { withoutChain, type PublicKeyJwk } from "../pki/jwk";
import type { CertificateRecord, CertificateType, Store } from "../store";
import type { ValidationProfile } from "../validation/profiles";
import { validateAgainstSchema } from "../validation/schema";
import { registration, withoutPromiseStacks } from "./certstage-resource";
import * as kindProvider from "./kind-providers/certificate";
import { originOf, resourceUrnInput } from "./resource-urn";
import { asJsonText, parsedJsonText } from "./json-text-output";
import { unclaimedVersionsOf } from "../store/adoption";
import { accessProblem, refusalOf } from "./certificate-access";
import { checkResult, HandlerContext, isUnknown, planned, Props, ResourceHandler, withoutProvider } from "./handler";
import { adoptedThisRun, rememberAdopted } from "./run-memory";

export interface CertificateArgs {
  /** Stable identifier used in store paths, e.g. `api`; changing it replaces the certificate. */
  readonly name: pulumi.Input<string>;
  /** Human label, renameable in place; defaults to `name`. */
  readonly displayName?: pulumi.Input<string>;
  /** `server` (default) or `ca`. */
  readonly type?: pulumi.Input<CertificateType>;
  /** Principal who owns the certificate; defaults to the acting principal at creation. */
  readonly owner?: pulumi.Input<string>;
  /** Principals who may read and reference its versions. */
  readonly shareWith?: pulumi.Input<pulumi.Input<string>[]>;
  readonly description?: pulumi.Input<string>;
  /**
   * The rules its versions are held to: `public` (the Web PKI's, for publicly trusted
   * certificates) or `private` (an internal CA's); default: the stack's `certstage:profile`.
   */
  readonly profile?: pulumi.Input<ValidationProfile>;
}

/** The declared outputs: what the provider reports, the inputs it echoes among them. */
const OUTPUTS = ["name", "certificateId", "displayName", "type", "owner", "shareWith", "description", "latestVersion", "jwks", "unclaimedVersions"];

export class Certificate extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  /** Same as `name`: the identifier other resources and servers refer to. */
  declare readonly certificateId: pulumi.Output<string>;
  declare readonly displayName: pulumi.Output<string>;
  declare readonly type: pulumi.Output<CertificateType>;
  declare readonly owner: pulumi.Output<string>;
  declare readonly shareWith: pulumi.Output<string[]>;
  declare readonly description: pulumi.Output<string>;
  /** Highest version number issued, as of this resource's last create, update or refresh. */
  declare readonly latestVersion: pulumi.Output<number>;
  /**
   * Per environment, a JWKS (RFC 7517 §5) of the version it serves, as of this resource's last
   * create, update or refresh; its keys carry no `x5c` (each version's `jwk` has the chain). Services that must follow every swap read the store's
   * `environments/<env>/<name>/jwk.json` instead, or an EnvironmentDeployment's `jwk`. State keeps
   * it as JSON text (json-text-output.ts).
   */
  declare readonly jwks: pulumi.Output<Record<string, { keys: Record<string, unknown>[] }>>;
  /**
   * Versions no resource owns, as of this resource's last create, update or refresh: left by an
   * interrupted run; `certstage versions remove` removes them once nothing serves them.
   */
  declare readonly unclaimedVersions: pulumi.Output<number[]>;
  /** The declared type, known at preview (outputs are not): versions are checked against it. */
  readonly typeInput: pulumi.Input<CertificateType>;
  /** The declared profile, known at preview; undefined: the stack's. */
  readonly profileInput: pulumi.Input<ValidationProfile> | undefined;

  constructor(resourceName: string, args: CertificateArgs, opts?: pulumi.CustomResourceOptions) {
    const restoreStackLimit = withoutPromiseStacks();
    try {
      super(
        ...registration(
          "Certificate",
          kindProvider,
          resourceName,
          {
            resourceUrn: resourceUrnInput("Certificate", resourceName, opts),
            name: args.name,
            displayName: args.displayName,
            type: args.type,
            owner: args.owner,
            shareWith: args.shareWith,
            description: args.description,
            profile: args.profile,
          },
          OUTPUTS,
          opts,
        ),
      );
    } finally {
      restoreStackLimit();
    }
    this.jwks = parsedJsonText(this, "jwks");
    this.typeInput = args.type ?? "server";
    this.profileInput = args.profile;
  }
}

interface CertificateInputs {
  name: string;
  displayName?: string;
  type?: CertificateType;
  owner?: string;
  shareWith?: string[];
  description?: string;
  profile?: ValidationProfile;
}

/** Inputs with their defaults applied; `owner` stays undefined when not set (keep the current one). */
function desiredState(inputs: CertificateInputs) {
  return {
    name: inputs.name,
    displayName: inputs.displayName ?? inputs.name,
    type: inputs.type ?? "server",
    owner: inputs.owner,
    shareWith: inputs.shareWith ?? [],
    description: inputs.description ?? "",
    profile: inputs.profile,
  };
}

async function jwksOf(name: string, store: Store) {
  const jwks: Record<string, { keys: PublicKeyJwk[] }> = {};
  for (const deployment of await store.listDeployments(name)) {
    const version = await store.getVersion(name, deployment.version);
    if (version) jwks[deployment.environment] = { keys: [withoutChain(version.jwk)] };
  }
  return jwks;
}

async function outputsOf(record: CertificateRecord, store: Store) {
  return {
    unclaimedVersions: (await unclaimedVersionsOf(store, record.name)).map((version) => version.version),
    jwks: asJsonText(await jwksOf(record.name, store)),
    name: record.name,
    certificateId: record.name,
    displayName: record.displayName,
    type: record.type,
    owner: record.owner,
    shareWith: record.shareWith,
    description: record.description,
    ...(record.profile !== undefined ? { profile: record.profile } : {}),
    latestVersion: record.lastVersion,
  };
}

/** Which of the rules an in-place change needs: a new owner is a transfer; anything else an update. */
function changeActions(changedFields: readonly string[]): CertificateAction[] {
  return [
    ...(changedFields.includes("owner") ? (["certificate.transfer"] as const) : []),
    ...(changedFields.some((field) => field !== "owner") ? (["certificate.update"] as const) : []),
  ];
}

/** What writing `desired` over `record` needs: at least an update, since the store records one even when nothing differs. */
function writeActions(record: CertificateRecord, desired: ReturnType<typeof desiredState>): CertificateAction[] {
  const actions = changeActions(fieldsChanging(record, desired));
  return actions.length > 0 ? actions : ["certificate.update"];
}

/** The fields of `desired` that would change `record`; an owner left unset keeps the current one. */
function fieldsChanging(record: CertificateRecord, desired: ReturnType<typeof desiredState>): string[] {
  const changes: Record<string, unknown> = { displayName: desired.displayName, shareWith: desired.shareWith, description: desired.description, profile: desired.profile ?? "" };
  if (desired.owner !== undefined) changes.owner = desired.owner;
  const current: Record<string, unknown> = { ...record, profile: record.profile ?? "" };
  return Object.keys(changes).filter((field) => isUnknown(changes[field]) || !sameValue(current[field], changes[field]));
}

/**
 * May the principal do what a create of these inputs does? Make a certificate it owns (one of
 * its roles must be the owner), or, adopting the one an interrupted run of this resource made,
 * change that one as an update would.
 */
async function createProblem(inputs: Props, context: HandlerContext): Promise<CertstageError | undefined> {
  const desired = desiredState(withoutProvider(inputs) as CertificateInputs);
  if (isUnknown(desired.name)) return undefined;
  const existing = await context.store.getCertificate(desired.name);
  if (existing) {
    const origin = originOf(inputs, { name: desired.name });
    if (origin === undefined || existing.origin?.urn !== origin.urn) return undefined; // CERTIFICATE_EXISTS says it at create
    return refusalOf(context, existing, writeActions(existing, desired));
  }
  if (isUnknown(desired.owner) || isUnknown(desired.shareWith)) return undefined;
  const owner = desired.owner ?? (await context.principal()).name; // as create defaults it
  return refusalOf(context, { name: desired.name, owner, shareWith: desired.shareWith }, ["certificate.create"]);
}

export const certificateHandler: ResourceHandler = {
  async check(olds, news, context) {
    const inputs = withoutProvider(news);
    const problems = validateAgainstSchema("certificate", inputs, isUnknown);
    // A resource the state holds changes through diff, which judges the change; a new one is created.
    const refusal = problems.length === 0 && olds.name !== inputs.name ? await createProblem(news, context) : undefined;
    return checkResult(news, refusal ? [...problems, refusal] : problems);
  },

  async diff(id, olds, news, context) {
    const desired = desiredState(news as CertificateInputs);
    // An unset profile means the stack's: setting or removing one is a change either way.
    const decision = decideDiff(CERTIFICATE_RULES, { ...olds, profile: olds.profile ?? "" }, {
      name: planned(desired.name),
      type: planned(desired.type),
      displayName: planned(desired.displayName),
      owner: planned(desired.owner),
      shareWith: planned(desired.shareWith),
      description: planned(desired.description),
      profile: isUnknown(desired.profile) ? planned(desired.profile) : known(desired.profile ?? ""),
    });
    // A replacement deletes this certificate (its successor's create was judged by check).
    const actions: CertificateAction[] = decision.replaces.length > 0 ? ["certificate.delete"] : changeActions(decision.changedFields);
    const refusal = actions.length > 0 ? await accessProblem(context, id, ...actions) : undefined;
    if (refusal) throw refusal;
    return { changes: decision.changed, replaces: decision.replaces };
  },

  async create(inputs, context) {
    const { store, actor } = context;
    const refusal = await createProblem(inputs, context);
    if (refusal) throw refusal;
    const desired = desiredState(inputs as CertificateInputs);
    const origin = originOf(inputs, { name: desired.name });
    // Made by this very resource in a run that never saw the create finish (or whose state was
    // lost): adopt it, with the program's settings, instead of failing with CERTIFICATE_EXISTS.
    const existing = origin ? await store.getCertificate(desired.name) : undefined;
    if (existing && existing.origin?.urn === origin?.urn) {
      const { name: _name, type: _type, owner, ...changes } = desired;
      const record = await store.updateCertificate(desired.name, { ...changes, ...(owner !== undefined ? { owner } : {}) }, actor);
      rememberAdopted(record.name);
      console.error(`certstage: certificate '${record.name}': adopted it from ${store.description}, where an earlier run of this resource created it`);
      return { id: record.name, outs: await outputsOf(record, store) };
    }
    // The acting principal owns what it makes: on a database store, the role it connects as.
    const record = await store.createCertificate({ ...desired, owner: desired.owner ?? (await context.principal()).name, ...(origin ? { origin } : {}) }, actor);
    return { id: record.name, outs: await outputsOf(record, store) };
  },

  async read(id, props, context) {
    const { store } = context;
    const record = await store.getCertificate(id);
    if (!record) return {}; // Gone from the store: refresh drops it from state.
    // Refused, not dropped: a principal set wrong must not empty the stack's state.
    const refusal = await refusalOf(context, record, ["read"]);
    if (refusal) throw refusal;
    // What no resource owns shows in the refresh, with the command that removes it.
    const outputs = await outputsOf(record, store);
    for (const version of outputs.unclaimedVersions) console.error(`certstage: certificate '${id}': version ${version} is owned by no resource (an interrupted run left it); remove it with \`certstage versions remove ${id} ${version}\``);
    return { id, props: { ...props, ...outputs } };
  },

  async update(id, _olds, news, context) {
    const { store, actor } = context;
    const desired = desiredState(news as CertificateInputs);
    const current = await store.getCertificate(id);
    const refusal = current ? await refusalOf(context, current, writeActions(current, desired)) : undefined;
    if (refusal) throw refusal;
    const record = await store.updateCertificate(
      id,
      { displayName: desired.displayName, owner: desired.owner, shareWith: desired.shareWith, description: desired.description, profile: desired.profile },
      actor,
    );
    return { outs: await outputsOf(record, store) };
  },

  async delete(id, _props, context) {
    const { store, actor } = context;
    if (adoptedThisRun(id)) return; // A replacement in this run adopted it: it lives on.
    const record = await store.getCertificate(id);
    if (!record) return; // Already gone: deleting is idempotent.
    const refusal = await refusalOf(context, record, ["certificate.delete"]);
    if (refusal) throw refusal;
    await store.deleteCertificate(id, actor);
  },
};
