/**
 * `AcmeRenewal`: obtains certificates from an ACME CA and saves each as the next version of a
 * Certificate. Its `version` output feeds EnvironmentDeployments, so one scheduled `pulumi up`
 * renews and swaps staging and production.
 *
 * Renewal is decided at preview: `check` reads the last issued certificate from the store, asks the
 * CA for its renewal window (ARI, RFC 9773) when it has one, and states the result in `renewal`.
 * A due renewal is a replacement: the preview shows it with the new version and every deployment
 * unknown, and `up` issues the certificate (sending ARI `replaces`), then the deployments swap.
 * The replaced instance's delete never revokes; revoking is opt-in, on an explicit delete only.
 */
import { createHash, KeyObject } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { fetchRenewalInfo, ariCertificateId } from "../acme/ari";
import { resolveDirectoryUrl } from "../acme/directories";
import { IssuedCertificate, issueCertificate, resumeOrder } from "../acme/issue";
import { dns01HookSolver } from "../acme/solvers/dns01-hook";
import { startHttp01Responder } from "../acme/solvers/http01-responder";
import { webrootSolver } from "../acme/solvers/http01-webroot";
import type { ChallengeSolver } from "../acme/solvers/solver";
import { trustAcmeServerRoots } from "../acme/trust";
import { now } from "../clock";
import { CertstageError, quoted } from "../errors";
import { decideDiff, known, sameValue } from "../lifecycle/diff";
import { chooseRenewalTime, decideRenewal, formatDuration, MAX_DURATION_MS, parseDuration, RenewalWindow, windowProblems } from "../lifecycle/renewal";
import { readNameInputs, unicodeForm } from "../pki/dns-names";
import { generatePrivateKey, KeyAlgorithm } from "../pki/key-generation";
import { parsePrivateKeyPem } from "../pki/private-key";
import { assembleMaterial, parseVersionParts } from "../pki/version-material";
import type { AcmeRenewalRecord, ResourceOrigin, VersionRecord } from "../store";
import { validateAgainstSchema } from "../validation/schema";
import { Certificate } from "./certificate";
import { registration, withoutPromiseStacks } from "./certstage-resource";
import * as kindProvider from "./kind-providers/acme-renewal";
import { originOf, resourceUrnInput } from "./resource-urn";
import { releaseVersion, versionToAdopt } from "../store/adoption";
import { adoptedThisRun, isHeld, rememberAdopted } from "./run-memory";
import { accessProblem, requireCertificateAccess } from "./certificate-access";
import { checkResult, HandlerContext, isUnknown, planned, Props, ResourceHandler, withoutProvider } from "./handler";

export type ChallengeArgs = { readonly type: "http-01"; readonly listen?: string; readonly webroot?: string } | { readonly type: "dns-01"; readonly hook: string[] };

export interface AcmeRenewalArgs {
  readonly certificate: Certificate | pulumi.Input<string>;
  readonly domains: pulumi.Input<pulumi.Input<string>[]>;
  /** `letsencrypt`, `letsencrypt-staging`, or the https URL of an ACME directory. */
  readonly directory: pulumi.Input<string>;
  /** Extra root to trust for the directory's HTTPS (a private ACME CA). */
  readonly directoryCaPem?: pulumi.Input<string>;
  readonly contact?: pulumi.Input<string>;
  readonly acceptTermsOfService: pulumi.Input<boolean>;
  /** Stored as a secret. */
  readonly externalAccountBinding?: pulumi.Input<{ kid: pulumi.Input<string>; hmacKey: pulumi.Input<string> }>;
  readonly challenge: pulumi.Input<ChallengeArgs>;
  readonly keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
  /** `always` (default): a new key for every renewal; `reuse`: keep the key. */
  readonly keyPolicy?: pulumi.Input<"always" | "reuse">;
  /** Renew this long before expiry, e.g. `30d`; default a third of the lifetime (half when 10 days or less). */
  readonly renewBefore?: pulumi.Input<string>;
  readonly renewBeforePercent?: pulumi.Input<number>;
  readonly profile?: pulumi.Input<string>;
  readonly preferredChain?: pulumi.Input<string>;
  readonly revokeOnDelete?: pulumi.Input<boolean>;
}

const OUTPUTS = ["version", "notBefore", "notAfter", "serial", "fingerprintSha256", "ariCertificateId", "renewal", "renewalDueAt", "accountUrl", "domainsUnicode"] as const;

export class AcmeRenewal extends pulumi.dynamic.Resource {
  declare readonly certificate: pulumi.Output<string>;
  /** The version issued last: feed it to EnvironmentDeployments. */
  declare readonly version: pulumi.Output<number>;
  declare readonly notBefore: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  declare readonly serial: pulumi.Output<string>;
  declare readonly fingerprintSha256: pulumi.Output<string>;
  /** When the next renewal is due. */
  declare readonly renewalDueAt: pulumi.Output<string>;
  /** `due at <time>`, or in a preview, `renewal due: …` with the reason. */
  declare readonly renewal: pulumi.Output<string>;
  /** The domains as people write them (internationalized names in Unicode); the CA gets A-labels. */
  declare readonly domainsUnicode: pulumi.Output<string[]>;

  constructor(resourceName: string, args: AcmeRenewalArgs, opts?: pulumi.CustomResourceOptions) {
    const restoreStackLimit = withoutPromiseStacks();
    try {
      super(
        ...registration(
          "AcmeRenewal",
          kindProvider,
          resourceName,
          {
            ...args,
            resourceUrn: resourceUrnInput("AcmeRenewal", resourceName, opts),
            certificate: args.certificate instanceof Certificate ? args.certificate.name : args.certificate,
            externalAccountBinding: args.externalAccountBinding === undefined ? undefined : pulumi.secret(args.externalAccountBinding),
          },
          ["certificate", ...OUTPUTS],
          opts,
        ),
      );
    } finally {
      restoreStackLimit();
    }
  }
}

interface RenewalInputs {
  certificate: string;
  domains: string[];
  directory: string;
  directoryCaPem?: string;
  contact?: string;
  acceptTermsOfService: boolean;
  externalAccountBinding?: { kid: string; hmacKey: string };
  challenge: ChallengeArgs;
  keyAlgorithm?: KeyAlgorithm;
  keyPolicy?: "always" | "reuse";
  renewBefore?: string;
  renewBeforePercent?: number;
  profile?: string;
  preferredChain?: string;
  revokeOnDelete?: boolean;
  renewal?: string;
  /** The domains in Unicode form, for people; `domains` holds the A-labels the CA gets. */
  domainsUnicode?: string[];
}

/** Inputs whose change means a different certificate: issue a new one now. */
const REISSUE_RULES = [
  { field: "certificate", onChange: "replace" },
  { field: "domains", onChange: "replace" },
  { field: "directory", onChange: "replace" },
  { field: "keyAlgorithm", onChange: "replace" },
  { field: "profile", onChange: "replace" },
] as const;

/** Inputs that only change how the next issuance happens. */
const SETTINGS = ["directoryCaPem", "contact", "acceptTermsOfService", "challenge", "keyPolicy", "renewBefore", "renewBeforePercent", "preferredChain", "revokeOnDelete", "externalAccountBinding"] as const;

/** When the window puts the renewal of `version` (no ARI: the CA's suggestion changes; metrics read this). */
function windowDueAt(inputs: RenewalInputs, version: { notBefore: string; notAfter: string }): string {
  return decideRenewal({ notBefore: version.notBefore, notAfter: version.notAfter, window: windowOf(inputs), now: now() }).dueAt;
}

function windowOf(inputs: RenewalInputs): RenewalWindow {
  return {
    renewBeforeMs: inputs.renewBefore === undefined ? undefined : parseDuration(inputs.renewBefore),
    renewBeforePercent: inputs.renewBeforePercent,
  };
}

function wildcardProblems(domains: readonly string[]): CertstageError[] {
  const wildcards = domains.filter((domain) => domain.startsWith("*."));
  if (wildcards.length === 0) return [];
  return [
    new CertstageError("CHALLENGE_UNSUITABLE", `${wildcards.join(", ")} ${wildcards.length === 1 ? "is a wildcard" : "are wildcards"}, which CAs validate only over dns-01 (RFC 8555 §7.1.3), not http-01`, {
      field: "challenge",
      fix: "use challenge { type: \"dns-01\", hook: [...] }, or list the host names instead of the wildcard",
    }),
  ];
}

function challengeProblems(challenge: ChallengeArgs): CertstageError[] {
  if (challenge.type === "dns-01") return [];
  const ways = [challenge.listen, challenge.webroot].filter((way) => way !== undefined).length;
  if (ways === 1) return [];
  return [new CertstageError("INPUT_SCHEMA", "http-01 needs exactly one of `listen` and `webroot`", { field: "challenge", fix: "set `listen: \"0.0.0.0:80\"` for the built-in responder, or `webroot` for a web server's document root" })];
}

async function directoryDocument(directoryUrl: string): Promise<{ renewalInfo?: string }> {
  const acme = require("acme-client") as typeof import("acme-client");
  return (await acme.axios.get(directoryUrl)).data as { renewalInfo?: string };
}

/**
 * A time inside the CA's window, fixed by the certificate: spread across a fleet like a random
 * draw (RFC 9773 §4.2), yet the same on every preview and every machine without storing anything.
 */
function ariTimeFor(certificateId: string, window: { start: string; end: string }): string {
  const draw = createHash("sha256").update(certificateId).digest().readUInt32BE(0) / 2 ** 32;
  return chooseRenewalTime(window, draw);
}

interface RenewalStatus {
  readonly due: boolean;
  readonly renewal: string;
  readonly dueAt: string;
}

/** Where the certificate last issued stands, asking the CA's ARI when it has one. */
async function renewalStatus(record: AcmeRenewalRecord, inputs: RenewalInputs, directoryUrl: string): Promise<RenewalStatus> {
  let ariRenewalTime: string | undefined;
  try {
    const info = await fetchRenewalInfo((await directoryDocument(directoryUrl)).renewalInfo, record.ariCertificateId);
    if (info && record.ariCertificateId) ariRenewalTime = ariTimeFor(record.ariCertificateId, info.suggestedWindow);
  } catch {
    // The CA is unreachable or its ARI is broken: the window the user set still decides.
  }
  const decision = decideRenewal({ notBefore: record.notBefore, notAfter: record.notAfter, window: windowOf(inputs), ariRenewalTime, now: now() });
  return { due: decision.due, renewal: decision.due ? decision.reason : `due at ${decision.dueAt}`, dueAt: decision.dueAt };
}

async function solverFor(challenge: ChallengeArgs): Promise<ChallengeSolver> {
  if (challenge.type === "dns-01") return dns01HookSolver({ command: challenge.hook });
  if (challenge.webroot !== undefined) return webrootSolver(challenge.webroot);
  return startHttp01Responder(challenge.listen as string);
}

async function accountKeyFor(directoryUrl: string, { store, settings }: HandlerContext): Promise<{ pem: string; url?: string }> {
  if (settings.acmeAccountKeyPem) return { pem: settings.acmeAccountKeyPem, url: (await store.getAcmeAccount(directoryUrl))?.accountUrl };
  const existing = await store.getAcmeAccount(directoryUrl);
  if (existing) return { pem: existing.accountKeyPem, url: existing.accountUrl };
  const pem = (await generatePrivateKey("ECDSA-P256")).export({ type: "pkcs8", format: "pem" }).toString();
  // Renewals created at once race here: the store keeps the first account, and all use it.
  const account = await store.ensureAcmeAccount({ directoryUrl, accountKeyPem: pem });
  return { pem: account.accountKeyPem, url: account.accountUrl };
}

/** What decides which certificate the CA issues: a change of any of these is a new order. */
function reissueInputs(inputs: RenewalInputs) {
  return { certificate: inputs.certificate, domains: inputs.domains, directory: resolveDirectoryUrl(inputs.directory), keyAlgorithm: inputs.keyAlgorithm ?? "ECDSA-P256", profile: inputs.profile ?? "" };
}

function renewalId(certificate: string, version: number): string {
  return `${certificate}/acme/${version}`;
}

/** What a create returns for the issuance saved as `version`, with where its renewal stands. */
async function issuedResult(inputs: RenewalInputs, version: VersionRecord, record: AcmeRenewalRecord, accountUrl: string) {
  const status = await renewalStatus(record, inputs, record.directoryUrl);
  return {
    id: renewalId(inputs.certificate, version.version),
    outs: {
      ...configurationOf(inputs),
      version: version.version,
      notBefore: version.notBefore,
      notAfter: version.notAfter,
      serial: version.serial,
      fingerprintSha256: version.fingerprintSha256,
      ariCertificateId: record.ariCertificateId ?? "",
      renewal: status.renewal,
      renewalDueAt: status.dueAt,
      accountUrl,
    },
  };
}

/** The outputs of an issuance an interrupted run saved but never reported, rebuilt from the store. */
async function adoptIssued(inputs: RenewalInputs, version: VersionRecord, context: HandlerContext) {
  const { store } = context;
  const directoryUrl = resolveDirectoryUrl(inputs.directory);
  trustAcmeServerRoots(inputs.directoryCaPem);
  let record = await store.getAcmeRenewal(inputs.certificate);
  if (!record || record.version !== version.version) {
    // Killed between saving the version and its renewal record: write the record now.
    const files = await store.readVersionFiles(inputs.certificate, version.version);
    record = { certificate: inputs.certificate, version: version.version, directoryUrl, notBefore: version.notBefore, notAfter: version.notAfter, ariCertificateId: ariCertificateId(files.certificatePem), issuedAt: version.createdAt, renewalDueAt: windowDueAt(inputs, version) };
    await store.putAcmeRenewal(record);
  }
  rememberAdopted(renewalId(inputs.certificate, version.version));
  console.error(`certstage: certificate '${inputs.certificate}': adopted version ${version.version}, which an interrupted run had the CA issue for these inputs; no new order`);
  return issuedResult(inputs, version, record, (await store.getAcmeAccount(directoryUrl))?.accountUrl ?? "");
}

/**
 * A failed order goes into the history, so `certstage notify` announces it and `certstage
 * history` shows it: a renewal that fails every night is otherwise only seen when the served
 * certificate enters an expiry band. The message is the CA's problem or ours, never key material.
 * If the store cannot take the line either, the order's own error is what the user needs.
 */
async function recordFailedOrder(inputs: RenewalInputs, { store, actor }: HandlerContext, error: unknown): Promise<void> {
  const message = (error as Error).message ?? String(error);
  const detail = `${inputs.domains.join(", ")}: ${message.split("\n")[0].slice(0, 500)}`;
  await store.recordHistory({ actor: actor.principal, action: "acme.order", certificate: inputs.certificate, result: "failed", detail }).catch(() => undefined);
}

/** Issues a certificate and saves it as the certificate's next version. */
async function issueAndSave(inputs: RenewalInputs, context: HandlerContext, origin?: ResourceOrigin) {
  const { store } = context;
  const directoryUrl = resolveDirectoryUrl(inputs.directory);
  trustAcmeServerRoots(inputs.directoryCaPem);
  const previous = await store.getAcmeRenewal(inputs.certificate);
  const account = await accountKeyFor(directoryUrl, context);

  const reusable = inputs.keyPolicy === "reuse" && previous ? (await store.readVersionFiles(inputs.certificate, previous.version)).privateKeyPem : undefined;
  const certificateKey = reusable ? parsePrivateKeyPem(reusable, "keyPolicy") : await generatePrivateKey(inputs.keyAlgorithm ?? "ECDSA-P256");
  const hasAri = Boolean((await directoryDocument(directoryUrl)).renewalInfo);
  const solver = await solverFor(inputs.challenge);
  let issued;
  try {
    issued = await issueCertificate({
      directoryUrl,
      accountKeyPem: account.pem,
      accountUrl: account.url,
      contact: inputs.contact ? [`mailto:${inputs.contact}`] : undefined,
      termsOfServiceAgreed: inputs.acceptTermsOfService,
      externalAccountBinding: inputs.externalAccountBinding,
      domains: inputs.domains,
      certificateKey,
      solver,
      preferredChain: inputs.preferredChain,
      profile: inputs.profile,
      replaces: hasAri && previous?.directoryUrl === directoryUrl ? previous.ariCertificateId : undefined,
      beforeFinalize: ({ orderUrl, accountUrl }) =>
        store.putAcmeOrder({
          certificate: inputs.certificate,
          directoryUrl,
          orderUrl,
          accountUrl,
          ...(origin ? { origin } : {}),
          certificateKeyPem: certificateKey.export({ type: "pkcs8", format: "pem" }).toString(),
          createdAt: new Date().toISOString(),
        }),
    });
  } finally {
    await solver.close();
  }
  if (account.url !== issued.accountUrl) await store.putAcmeAccount({ directoryUrl, accountKeyPem: account.pem, accountUrl: issued.accountUrl });
  return saveIssued(inputs, context, origin, issued, certificateKey);
}

/** Saves what the CA issued as the certificate's next version, and ends its order in flight. */
async function saveIssued(inputs: RenewalInputs, context: HandlerContext, origin: ResourceOrigin | undefined, issued: IssuedCertificate, certificateKey: KeyObject) {
  const { store, actor } = context;
  const directoryUrl = resolveDirectoryUrl(inputs.directory);
  const parts = parseVersionParts({ certificatePem: issued.certificatePem, chainPem: issued.chainPem }, { certificate: "acme certificate", privateKey: "acme key", chain: "acme chain" });
  if (!parts.ok) throw parts.problems[0];
  const material = assembleMaterial({ ...parts.value, key: certificateKey });
  const version = await store.createVersion(inputs.certificate, "acme", material, actor, origin);
  const record: AcmeRenewalRecord = {
    certificate: inputs.certificate,
    version: version.version,
    directoryUrl,
    notBefore: version.notBefore,
    notAfter: version.notAfter,
    ariCertificateId: ariCertificateId(issued.certificatePem),
    issuedAt: version.createdAt,
    renewalDueAt: windowDueAt(inputs, version),
  };
  await store.putAcmeRenewal(record);
  await store.deleteAcmeOrder(inputs.certificate);
  return issuedResult(inputs, version, record, issued.accountUrl);
}

/**
 * An order of this resource, for these inputs, that a killed run had the CA finalize: download
 * what the CA issued and save it, instead of ordering again. Undefined: no such order, or the CA
 * never got its CSR; then the stale record goes and a new order is placed.
 */
async function resumeOrderInFlight(inputs: RenewalInputs, context: HandlerContext, origin: ResourceOrigin | undefined) {
  const { store } = context;
  const order = await store.getAcmeOrder(inputs.certificate);
  if (!order) return undefined;
  const directoryUrl = resolveDirectoryUrl(inputs.directory);
  const same = origin !== undefined && order.origin?.urn === origin.urn && order.origin.inputs === origin.inputs && order.directoryUrl === directoryUrl;
  const account = same ? await store.getAcmeAccount(directoryUrl) : undefined;
  trustAcmeServerRoots(inputs.directoryCaPem);
  const issued = account ? await resumeOrder({ directoryUrl, accountKeyPem: account.accountKeyPem, accountUrl: order.accountUrl, orderUrl: order.orderUrl, preferredChain: inputs.preferredChain }) : undefined;
  if (!issued) {
    await store.deleteAcmeOrder(inputs.certificate);
    return undefined;
  }
  console.error(`certstage: certificate '${inputs.certificate}': the CA had issued the order a killed run finalized (${order.orderUrl}); saved it instead of ordering again`);
  return saveIssued(inputs, context, origin, issued, parsePrivateKeyPem(order.certificateKeyPem, "acme order key"));
}

/** The inputs as outputs, so the next diff compares like with like (secrets stay secret by name). */
function configurationOf(inputs: RenewalInputs) {
  const { renewal: _renewal, ...configuration } = inputs;
  return { ...configuration, directory: resolveDirectoryUrl(inputs.directory) };
}

export const acmeRenewalHandler: ResourceHandler = {
  async check(olds, news, context) {
    const inputs = withoutProvider(news) as RenewalInputs;
    const problems = validateAgainstSchema("acme-renewal", inputs, isUnknown);
    if (problems.length > 0) return checkResult(news, problems);
    // A new resource issues a version of the certificate; one the state holds renews through diff.
    if (olds.certificate === undefined) {
      const refusal = await accessProblem(context, inputs.certificate, "version.create");
      if (refusal) problems.push(refusal);
    }
    if (!isUnknown(inputs.acceptTermsOfService) && inputs.acceptTermsOfService !== true) {
      problems.push(new CertstageError("INPUT_SCHEMA", "the CA's terms of service must be accepted", { field: "acceptTermsOfService", fix: "read the CA's terms and set acceptTermsOfService: true" }));
    }
    if (!isUnknown(inputs.challenge)) problems.push(...challengeProblems(inputs.challenge));
    // Names go to the CA as A-labels; a wildcard can only be validated over dns-01 (RFC 8555 §7.1.3).
    let domains = inputs.domains;
    if (!isUnknown(inputs.domains) && Array.isArray(inputs.domains) && inputs.domains.every((domain) => !isUnknown(domain))) {
      const read = readNameInputs(inputs.domains, "domains");
      problems.push(...read.problems);
      domains = read.names;
      if (!isUnknown(inputs.challenge) && inputs.challenge.type === "http-01") problems.push(...wildcardProblems(read.names));
    }
    if (inputs.renewBefore !== undefined && !isUnknown(inputs.renewBefore) && parseDuration(inputs.renewBefore) === undefined) {
      problems.push(new CertstageError("RENEWAL_WINDOW_INVALID", `${quoted(inputs.renewBefore)} is not a duration of at most ${formatDuration(MAX_DURATION_MS)}`, { field: "renewBefore", fix: "use a duration such as 30d, 720h or 1h30m" }));
    }
    let directoryUrl: string | undefined;
    try {
      directoryUrl = isUnknown(inputs.directory) ? undefined : resolveDirectoryUrl(inputs.directory);
    } catch (error) {
      problems.push(error as CertstageError);
    }
    const record = isUnknown(inputs.certificate) ? undefined : await context.store.getAcmeRenewal(inputs.certificate);
    const lifetime = record ? Date.parse(record.notAfter) - Date.parse(record.notBefore) : undefined;
    if (!isUnknown(inputs.renewBefore) && !isUnknown(inputs.renewBeforePercent)) problems.push(...windowProblems(windowOf(inputs), lifetime));
    const normalized = { ...news, domains, ...(isUnknown(domains) ? {} : { domainsUnicode: domains.map((domain) => unicodeForm(domain)) }) };
    if (problems.length > 0 || !record || !directoryUrl || record.directoryUrl !== directoryUrl) return checkResult(normalized, problems);
    trustAcmeServerRoots(inputs.directoryCaPem);
    const status = await renewalStatus(record, inputs, directoryUrl);
    return checkResult({ ...normalized, renewal: status.renewal }, problems);
  },

  async diff(_id, olds, news, context) {
    const inputs = news as RenewalInputs;
    const reissue = decideDiff(REISSUE_RULES, olds, {
      certificate: planned(inputs.certificate),
      domains: planned(inputs.domains),
      directory: isUnknown(inputs.directory) ? planned(inputs.directory) : known(resolveDirectoryUrl(inputs.directory)),
      keyAlgorithm: planned(inputs.keyAlgorithm),
      profile: planned(inputs.profile),
    });
    const renewalDue = typeof inputs.renewal === "string" && inputs.renewal.startsWith("renewal due");
    const replaces = [...reissue.replaces, ...(renewalDue ? ["renewal"] : [])];
    // A renewal or reissue saves a new version, and the replaced instance's delete releases the old one.
    if (replaces.length > 0) {
      const refusal = (await accessProblem(context, inputs.certificate, "version.create")) ?? (await accessProblem(context, olds.certificate, "version.delete"));
      if (refusal) throw refusal;
    }
    const settingsChanged = SETTINGS.some((field) => !sameValue(olds[field], (inputs as unknown as Props)[field]));
    const statusChanged = inputs.renewal !== undefined && inputs.renewal !== olds.renewal;
    return { changes: replaces.length > 0 || settingsChanged || statusChanged, replaces };
  },

  async create(inputs, context) {
    const renewal = inputs as RenewalInputs;
    // Before anything reaches the CA: an order placed for someone else's certificate counts against its rate limits.
    await requireCertificateAccess(context, renewal.certificate, "version.create");
    const origin = originOf(inputs, reissueInputs(renewal));
    // An issuance of this resource, from these inputs, whose run was killed before Pulumi saved
    // it: adopt that certificate instead of ordering another one (CA rate limits count both).
    const adopted = await versionToAdopt(context.store, renewal.certificate, origin, (version) => isHeld(renewalId(renewal.certificate, version)));
    if (adopted && adopted.method === "acme") {
      await context.store.deleteAcmeOrder(renewal.certificate); // saved already: the order is done
      return adoptIssued(renewal, adopted, context);
    }
    try {
      return (await resumeOrderInFlight(renewal, context, origin)) ?? (await issueAndSave(renewal, context, origin));
    } catch (error) {
      await recordFailedOrder(renewal, context, error);
      throw error;
    }
  },

  async read(id, props, context) {
    const { store } = context;
    const refusal = await accessProblem(context, props.certificate, "read");
    if (refusal) throw refusal;
    const record = await store.getAcmeRenewal(props.certificate);
    if (!record || record.version !== props.version) return { id, props };
    return { id, props: { ...props, notBefore: record.notBefore, notAfter: record.notAfter } };
  },

  async update(_id, olds, news, { store }) {
    // Not due, and nothing that names a different certificate changed: keep it, refresh the status.
    const inputs = news as RenewalInputs;
    const record = await store.getAcmeRenewal(inputs.certificate);
    const status = record ? await renewalStatus(record, inputs, resolveDirectoryUrl(inputs.directory)) : undefined;
    return { outs: { ...olds, ...configurationOf(inputs), ...(status ? { renewal: status.renewal, renewalDueAt: status.dueAt } : {}) } };
  },

  async delete(id, props, context) {
    const { store, actor } = context;
    // A targeted replace whose create adopted this very issuance: it lives on under the new resource.
    if (adoptedThisRun(id)) return;
    await requireCertificateAccess(context, props.certificate, "version.delete");
    if (await store.getCertificate(props.certificate)) await releaseVersion(store, props.certificate, props.version, actor, "its AcmeRenewal was renewed, replaced or deleted");
    const record = await store.getAcmeRenewal(props.certificate);
    // A later issuance exists: this is the replaced instance of a renewal. Never revoke then.
    if (!record || record.version !== props.version) return;
    if (props.revokeOnDelete && (await store.getCertificate(props.certificate))) {
      const serving = await store.environmentsServing(props.certificate, props.version);
      if (serving.length === 0) {
        const files = await store.readVersionFiles(props.certificate, props.version);
        const account = await accountKeyFor(record.directoryUrl, context);
        trustAcmeServerRoots(props.directoryCaPem);
        const acme = require("acme-client") as typeof import("acme-client");
        const client = new acme.Client({ directoryUrl: record.directoryUrl, accountKey: account.pem, accountUrl: account.url });
        await client.revokeCertificate(files.certificatePem, { reason: 4 }); // superseded (RFC 5280 §5.3.1)
      }
    }
    await store.deleteAcmeRenewal(props.certificate);
  },
};
