/**
 * What a preview would do to certificates, joined with what the store holds now: per certificate,
 * the versions it would save (with the number the store would give them) and, per environment,
 * what is served and what is planned. Pure: the preview, the store view and the stack's
 * environment definitions in; plain data out, for risks.ts and render.ts.
 */
import { keepsQueuedUndeploy } from "../lifecycle/queued-undeploy";
import type { ParsedPreview, PreviewStep } from "./preview-json";
import type { CertificateView, StoreView, VersionFacts } from "./store-view";

/** The engine's placeholder for a value a preview cannot know (pinned by handler.ts's UNKNOWN_INPUT). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Ops that save a new version (a replacement saves one too: any input change is a new number). */
const CREATING_OPS = new Set(["create", "replace", "create-replacement"]);
const DELETING_OPS = new Set(["delete", "delete-replaced", "discard"]);

/** A version the preview would save; facts a preview cannot know yet are absent. */
export interface PlannedVersion {
  readonly certificate: string;
  readonly resource: string;
  readonly urn: string;
  readonly kind: "CertificateVersion" | "AcmeRenewal";
  /** The store's next number for it, counting the versions before it in this preview. */
  readonly number: number;
  readonly method: string;
  readonly facts: Partial<VersionFacts>;
  /** AcmeRenewal: why it renews now, as its check said (`renewal due: …`). */
  readonly renewal?: string;
  /** AcmeRenewal: `reuse` keeps the key of the version it renews. */
  readonly keyPolicy?: string;
}

export interface EnvironmentPlan {
  readonly certificate: string;
  readonly environment: string;
  readonly resource?: string;
  readonly op: string;
  /** What the environment serves now (the store's word), if anything. */
  readonly served?: number;
  /** What it serves after `up`: a version number, or undefined when it is undeployed. */
  readonly planned?: number;
  /**
   * `undeployed`: the deployment's `state` input. With mode `now` up undeploys (planned is then
   * undefined); with `standby` it queues an undeploy task and keeps serving (planned = served).
   */
  readonly state: "deployed" | "undeployed";
  readonly mode: "now" | "standby";
  readonly notBefore?: string;
  /** Checked after the swap (endpoints or agents), rolled back when the check fails. */
  readonly verified: boolean;
  /** The environment a version must pass through first (certstage:environments). */
  readonly promotionRequires?: string;
}

export interface CertificatePlan {
  readonly name: string;
  /** create, update, delete… of the Certificate resource itself, when the preview has one. */
  readonly op?: string;
  readonly view?: CertificateView;
  readonly versions: readonly PlannedVersion[];
  readonly environments: readonly EnvironmentPlan[];
  /** Steps of this certificate that change something, for the count. */
  readonly changes: number;
}

export interface PreviewPlan {
  readonly certificates: readonly CertificatePlan[];
  readonly preview: ParsedPreview;
}

interface EnvironmentDefinitionLike {
  readonly name?: unknown;
  readonly promotion?: { readonly requires?: unknown };
  readonly verify?: unknown;
}

/** Builds the plan: certificates in the order the preview first names them. */
export function planFromPreview(preview: ParsedPreview, view: StoreView): PreviewPlan {
  const definitions = environmentDefinitions(preview.config);
  const byName = new Map<string, { op?: string; steps: PreviewStep[] }>();
  for (const step of preview.steps) {
    const name = certificateOf(step);
    if (name === undefined) continue;
    const entry = byName.get(name) ?? { steps: [] };
    if (step.kind === "Certificate") entry.op = step.op;
    entry.steps.push(step);
    byName.set(name, entry);
  }
  const views = new Map(view.certificates.map((certificate) => [certificate.name, certificate]));
  const certificates = [...byName].map(([name, { op, steps }]) => {
    const certificateView = views.get(name);
    const versions = plannedVersions(name, steps, certificateView);
    const environments = environmentPlans(name, steps, certificateView, versions, definitions);
    return { name, op, view: certificateView, versions, environments, changes: steps.filter((step) => step.op !== "same" && step.op !== "read").length };
  });
  return { certificates, preview };
}

/** The certificates a preview names: the ones whose store view the summary reads. */
export function certificateNames(preview: ParsedPreview): Set<string> {
  return new Set(preview.steps.flatMap((step) => certificateOf(step) ?? []));
}

/** The version an environment serves (or would serve): its facts from the store or from the plan. */
export function factsOfVersion(plan: CertificatePlan, version: number | undefined): { facts: Partial<VersionFacts>; planned?: PlannedVersion } | undefined {
  if (version === undefined) return undefined;
  const planned = plan.versions.find((candidate) => candidate.number === version);
  if (planned) return { facts: planned.facts, planned };
  const saved = plan.view?.versions.find((candidate) => candidate.version === version);
  return saved ? { facts: saved } : undefined;
}

/** Whether `up` keeps the undeploy already queued in this environment as it is (lifecycle/queued-undeploy.ts). */
export function queuedUndeployKept(plan: CertificatePlan, environment: EnvironmentPlan): boolean {
  if (environment.state !== "undeployed" || environment.mode !== "standby") return false;
  const queued = plan.view?.pendingUndeploys.find((task) => task.environment === environment.environment);
  return queued !== undefined && keepsQueuedUndeploy(queued.notBefore, environment.notBefore);
}

function certificateOf(step: PreviewStep): string | undefined {
  if (step.kind === undefined || step.kind === "Manifest") return undefined;
  const inputs = step.new?.inputs ?? step.old?.inputs ?? {};
  const name = step.kind === "Certificate" ? inputs.name : inputs.certificate;
  if (typeof name === "string" && name !== UNKNOWN) return name;
  const old = step.kind === "Certificate" ? step.old?.inputs.name : step.old?.inputs.certificate;
  return typeof old === "string" && old !== UNKNOWN ? old : undefined;
}

function plannedVersions(certificate: string, steps: readonly PreviewStep[], view: CertificateView | undefined): PlannedVersion[] {
  const creating = steps.filter((step) => (step.kind === "CertificateVersion" || step.kind === "AcmeRenewal") && CREATING_OPS.has(step.op) && step.new !== undefined);
  // One resource replaced shows as replace, or as create-replacement plus delete-replaced: count it once.
  const seen = new Set<string>();
  const versions: PlannedVersion[] = [];
  for (const step of creating) {
    if (seen.has(step.urn)) continue;
    seen.add(step.urn);
    const inputs = step.new!.inputs;
    const kind = step.kind as "CertificateVersion" | "AcmeRenewal";
    versions.push({
      certificate,
      resource: step.name,
      urn: step.urn,
      kind,
      number: (view?.lastVersion ?? 0) + versions.length + 1,
      method: kind === "AcmeRenewal" ? "acme" : (known(inputs.method) ?? methodOfInputs(inputs)),
      facts: kind === "AcmeRenewal" ? acmeFacts(inputs) : versionFacts(inputs),
      ...(kind === "AcmeRenewal" && typeof inputs.renewal === "string" ? { renewal: inputs.renewal } : {}),
      ...(kind === "AcmeRenewal" && typeof inputs.keyPolicy === "string" ? { keyPolicy: inputs.keyPolicy } : {}),
    });
  }
  return versions;
}

function environmentPlans(
  certificate: string,
  steps: readonly PreviewStep[],
  view: CertificateView | undefined,
  versions: readonly PlannedVersion[],
  definitions: ReadonlyMap<string, EnvironmentDefinitionLike>,
): EnvironmentPlan[] {
  const plans = new Map<string, EnvironmentPlan>();
  for (const step of steps.filter((candidate) => candidate.kind === "EnvironmentDeployment")) {
    const inputs = step.new?.inputs ?? step.old!.inputs;
    const environment = known(inputs.environment) ?? known(step.old?.inputs.environment);
    if (environment === undefined) continue;
    const served = view?.deployments[environment] ?? versionNumberOf(step.old?.outputs.deployedVersion);
    const deleting = DELETING_OPS.has(step.op) && !plans.has(environment);
    const definition = definitions.get(environment);
    const mode = inputs.mode === "standby" ? "standby" : "now";
    const undeployed = inputs.state === "undeployed";
    const plan: EnvironmentPlan = {
      certificate,
      environment,
      resource: step.name,
      op: step.op,
      served,
      // An undeployed deployment up leaves alone (op same) serves what it serves; its version input names what `deployed` would serve.
      planned: deleting || (undeployed && step.op !== "same" && mode === "now") ? undefined : undeployed ? served : (plannedNumber(step, versions) ?? served),
      state: undeployed ? "undeployed" : "deployed",
      mode,
      ...(known(inputs.notBefore) ? { notBefore: known(inputs.notBefore) } : {}),
      verified: (inputs.verify !== undefined && inputs.verify !== null) || definition?.verify !== undefined,
      ...(typeof definition?.promotion?.requires === "string" ? { promotionRequires: definition.promotion.requires } : {}),
    };
    // A replaced deployment shows twice (create-replacement, delete-replaced): the creating step wins.
    if (!plans.has(environment) || !DELETING_OPS.has(step.op)) plans.set(environment, plan);
  }
  // Environments the preview leaves alone still serve: a risk there (an expiry) is the reviewer's too.
  for (const [environment, version] of Object.entries(view?.deployments ?? {})) {
    if (!plans.has(environment)) plans.set(environment, { certificate, environment, op: "same", served: version, planned: version, state: "deployed", mode: "now", verified: false });
  }
  return [...plans.values()];
}

/** The version a deployment step sets: its number, or the planned version its input comes from. */
function plannedNumber(step: PreviewStep, versions: readonly PlannedVersion[]): number | undefined {
  const value = step.new?.inputs.version;
  if (typeof value === "number") return value;
  const from = step.new?.propertyDependencies.version ?? [];
  return versions.find((version) => from.includes(version.urn))?.number;
}

function versionFacts(inputs: Readonly<Record<string, unknown>>): Partial<VersionFacts> {
  const facts: Record<string, unknown> = {};
  for (const field of ["subject", "issuer", "notBefore", "notAfter", "keyAlgorithm", "fingerprintSha256", "publicKeySha256"] as const) {
    const value = known(inputs[field]);
    if (value !== undefined) facts[field] = value;
  }
  const sans = knownList(inputs.sans);
  if (sans) facts.sans = sans;
  // A generate version's names and key type are its inputs, even where check could not say more.
  const generate = inputs.generate;
  if (generate !== null && typeof generate === "object" && !Array.isArray(generate)) {
    const given = generate as Record<string, unknown>;
    if (facts.sans === undefined && knownList(given.sans)) facts.sans = knownList(given.sans);
    if (facts.keyAlgorithm === undefined && known(given.keyAlgorithm)) facts.keyAlgorithm = describeAlgorithmInput(known(given.keyAlgorithm)!);
  }
  return facts as Partial<VersionFacts>;
}

function acmeFacts(inputs: Readonly<Record<string, unknown>>): Partial<VersionFacts> {
  const facts: Record<string, unknown> = {};
  const domains = knownList(inputs.domains);
  if (domains) facts.sans = domains;
  const algorithm = known(inputs.keyAlgorithm) ?? "ECDSA-P256";
  facts.keyAlgorithm = describeAlgorithmInput(algorithm);
  return facts as Partial<VersionFacts>;
}

/** `ECDSA-P256` -> `ECDSA P-256`, `RSA-2048` -> `RSA 2048`, as certificate facts read. */
function describeAlgorithmInput(algorithm: string): string {
  const ecdsa = /^ECDSA-P(\d+)$/.exec(algorithm);
  if (ecdsa) return `ECDSA P-${ecdsa[1]}`;
  const rsa = /^RSA-(\d+)$/.exec(algorithm);
  return rsa ? `RSA ${rsa[1]}` : algorithm;
}

function methodOfInputs(inputs: Readonly<Record<string, unknown>>): string {
  return (["upload", "generate", "signed"] as const).find((method) => inputs[method] !== undefined && inputs[method] !== null) ?? "unknown";
}

function environmentDefinitions(config: Readonly<Record<string, unknown>>): Map<string, EnvironmentDefinitionLike> {
  const text = config["certstage:environments"];
  let parsed: unknown = text;
  if (typeof text === "string") {
    try {
      parsed = JSON.parse(text);
    } catch {
      return new Map();
    }
  }
  if (!Array.isArray(parsed)) return new Map();
  return new Map(parsed.flatMap((entry) => (typeof entry === "string" ? [[entry, {}]] : entry !== null && typeof entry === "object" && typeof entry.name === "string" ? [[entry.name, entry]] : [])));
}

function known(value: unknown): string | undefined {
  return typeof value === "string" && value !== UNKNOWN && value !== "[secret]" ? value : undefined;
}

function knownList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string" && entry !== UNKNOWN) ? (value as string[]) : undefined;
}

/** A version number; an undeployed deployment's deployedVersion output is 0, which is none. */
function versionNumberOf(value: unknown): number | undefined {
  return typeof value === "number" && value > 0 ? value : undefined;
}
