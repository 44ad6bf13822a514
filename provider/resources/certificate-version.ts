/**
 * `CertificateVersion`: one immutable, numbered version of a certificate, made by one method:
 * `upload` (issued elsewhere), `generate` (new key + CSR + placeholder) or `signed` (the CA's
 * answer to an earlier version's CSR, reusing its key).
 *
 * Any change of what the version is made from is a replacement, which saves the next version
 * number; the replaced version stays in the store (environments can be rolled back to it) and
 * deleting it is refused while an environment serves it. `domains` and `acknowledge` only steer
 * validation and change in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { CertstageError } from "../errors";
import type { WarningCode } from "../validation/profiles";
import { CERTIFICATE_VERSION_RULES, decideDiff, known, unknown } from "../lifecycle/diff";
import type { SubjectInput } from "../pki/certificate-request";
import { readNameInputs, unicodeForm } from "../pki/dns-names";
import type { KeyAlgorithm } from "../pki/key-generation";
import { publicJwkOfPems, type PublicJwk } from "../pki/jwk";
import { buildPkcs12, keystoreProblems, type Pkcs12Profile } from "../pki/pkcs12";
import type { VersionMaterial } from "../pki/version-material";
import type { CertificateType, VersionRecord } from "../store";
import { stillDeployed } from "../store/store-errors";
import { checkAcknowledgements } from "../validation/certificate-policy";
import { validateAgainstSchema } from "../validation/schema";
import { Certificate } from "./certificate";
import { registration, withoutPromiseStacks } from "./certstage-resource";
import * as kindProvider from "./kind-providers/certificate-version";
import { originOf, resourceUrnInput } from "./resource-urn";
import { checkResult, HandlerContext, isUnknown, planned, ResourceHandler, withoutProvider } from "./handler";
import { generateMethod } from "./version-methods/generate";
import { digestOf, MethodContext, VersionInputs, VersionMethodHandler } from "./version-methods/method";
import { signedMethod } from "./version-methods/signed";
import { uploadMethod } from "./version-methods/upload";
import { releaseVersion, versionToAdopt } from "../store/adoption";
import { accessProblem, refusalOf, requireCertificateAccess } from "./certificate-access";
import { adoptedThisRun, isHeld, rememberAdopted } from "./run-memory";

export interface UploadArgs {
  readonly certificatePem: pulumi.Input<string>;
  /** Required for server certificates; always stored as a secret. */
  readonly privateKeyPem?: pulumi.Input<string>;
  /** Intermediates; given in another order they are refused unless CHAIN_ORDER is acknowledged. */
  readonly chainPem?: pulumi.Input<string>;
  /** For an encrypted private key; stored as a secret. */
  readonly passphrase?: pulumi.Input<string>;
}

export interface GenerateArgs {
  readonly keyAlgorithm: pulumi.Input<KeyAlgorithm>;
  readonly subject: pulumi.Input<SubjectInput>;
  /** DNS names and IP addresses the certificate is for. */
  readonly sans: pulumi.Input<pulumi.Input<string>[]>;
}

export interface SignedArgs {
  /** The version whose key the CA certified: a `CertificateVersion` of the same certificate, or its number. */
  readonly keyFromVersion: CertificateVersion | pulumi.Input<number>;
  readonly certificatePem: pulumi.Input<string>;
  readonly chainPem?: pulumi.Input<string>;
}

/** The version also as a PKCS#12 keystore (keystore.p12), for Java, Windows and appliances. */
export interface KeystoreArgs {
  /** At least 8 printable ASCII characters; give it as a Pulumi secret. It is kept as one in state. */
  readonly password: pulumi.Input<string>;
  /** "modern" (default): AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC. "legacy": 3DES, SHA-1 MAC, for Java 8 and older Windows. */
  readonly profile?: pulumi.Input<Pkcs12Profile>;
  /** The entry's alias (Java's keytool shows it); default: the certificate's name. */
  readonly friendlyName?: pulumi.Input<string>;
}

export interface CertificateVersionArgs {
  /** The certificate (a `Certificate` resource or its name). */
  readonly certificate: Certificate | pulumi.Input<string>;
  /** Exactly one of `upload`, `generate`, `signed`. */
  readonly upload?: pulumi.Input<UploadArgs>;
  readonly generate?: pulumi.Input<GenerateArgs>;
  readonly signed?: pulumi.Input<SignedArgs>;
  /** Names the certificate must cover; checked at preview. */
  readonly domains?: pulumi.Input<pulumi.Input<string>[]>;
  /** Warning codes accepted for this version (errors cannot be acknowledged). */
  readonly acknowledge?: pulumi.Input<pulumi.Input<WarningCode>[]>;
  /** Also save the version as a PKCS#12 keystore: the `pkcs12` output, and keystore.p12 in the store. */
  readonly keystore?: pulumi.Input<KeystoreArgs>;
  /**
   * Keep the private key in state too, as the secret `privateKeyPem` output, for a program that
   * hands it to another resource (a cloud load balancer, a secret manager). Default false: the
   * store holds the key and every target and agent reads it from there, so state holds none, not
   * even encrypted. A plain boolean, because it decides whether the output exists at all. A
   * change is an in-place update: the key is added to state or taken out of it.
   */
  readonly exportPrivateKey?: boolean;
}

/** Outputs that carry key material or its password; Pulumi encrypts them in state and hides them in output. */
const SECRET_OUTPUTS = ["privateKeyPem", "pkcs12", "keystore"];

const OUTPUT_NAMES = [
  "certificate", "version", "method", "serial", "subject", "issuer", "sans", "notBefore", "notAfter", "keyAlgorithm", "fingerprintSha256",
  "publicKeySha256", "chainFingerprints", "certificatePem", "chainPem", "csrPem", "contentDigest", "sansUnicode", "notes", "pkcs12",
] as const;

export class CertificateVersion extends pulumi.dynamic.Resource {
  declare readonly certificate: pulumi.Output<string>;
  /** The version number: 1, 2, 3… per certificate. */
  declare readonly version: pulumi.Output<number>;
  declare readonly method: pulumi.Output<"upload" | "generate" | "signed">;
  declare readonly serial: pulumi.Output<string>;
  declare readonly subject: pulumi.Output<string>;
  declare readonly issuer: pulumi.Output<string>;
  /** DNS names (internationalized ones as A-labels, as the certificate holds them) and IP addresses. */
  declare readonly sans: pulumi.Output<string[]>;
  /** The same names for people: internationalized ones in their Unicode form. */
  declare readonly sansUnicode: pulumi.Output<string[]>;
  /** What a reviewer should know about how the inputs were read (e.g. a certificate input that held its chain). */
  declare readonly notes: pulumi.Output<string[]>;
  declare readonly notBefore: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  declare readonly keyAlgorithm: pulumi.Output<string>;
  declare readonly fingerprintSha256: pulumi.Output<string>;
  /**
   * SHA-256 of the public key (DER SubjectPublicKeyInfo, lower-case hex): equal for every version
   * on one key, so a reviewer sees a reused key without any key material. Known at preview for
   * `upload` and `signed`; a `generate` version's key is made at `up`.
   */
  declare readonly publicKeySha256: pulumi.Output<string>;
  declare readonly chainFingerprints: pulumi.Output<string[]>;
  declare readonly certificatePem: pulumi.Output<string>;
  declare readonly chainPem: pulumi.Output<string>;
  /**
   * `certificatePem` followed by `chainPem`. Made here in the program from those two rather than
   * kept in state: it would repeat the certificate there, paid again at every checkpoint.
   */
  readonly fullchainPem: pulumi.Output<string>;
  /**
   * Secret; empty for a CA certificate saved without its key. Only with `exportPrivateKey: true`:
   * without it, reading this property throws PRIVATE_KEY_NOT_EXPORTED, naming the resource and the fix.
   */
  declare readonly privateKeyPem: pulumi.Output<string>;
  /** The CSR to send to a CA (`generate` versions; empty otherwise). */
  declare readonly csrPem: pulumi.Output<string>;
  /**
   * The public key as a JWK (RFC 7517): `kid` is its RFC 7638 thumbprint, `x5c` the chain. Made
   * here in the program from `certificatePem` and `chainPem`, like `fullchainPem`: in state its
   * `x5c` would repeat them. Equal to the store's `jwk.json`.
   */
  readonly jwk: pulumi.Output<PublicJwk>;
  /** Secret: keystore.p12 as base64, when `keystore` is set; undefined otherwise. */
  declare readonly pkcs12: pulumi.Output<string | undefined>;

  constructor(resourceName: string, args: CertificateVersionArgs, opts?: pulumi.CustomResourceOptions) {
    const restoreStackLimit = withoutPromiseStacks();
    try {
      super(
        ...registration(
          "CertificateVersion",
          kindProvider,
          resourceName,
          {
            resourceUrn: resourceUrnInput("CertificateVersion", resourceName, opts),
            certificate: args.certificate instanceof Certificate ? args.certificate.name : args.certificate,
            certificateType: args.certificate instanceof Certificate ? args.certificate.typeInput : undefined,
            certificateProfile: args.certificate instanceof Certificate ? args.certificate.profileInput : undefined,
            upload: args.upload === undefined ? undefined : wholeSecret(args.upload),
            generate: args.generate,
            signed: args.signed === undefined ? undefined : resolveKeyFromVersion(args.signed),
            domains: args.domains,
            acknowledge: args.acknowledge,
            keystore: args.keystore === undefined ? undefined : wholeSecret(args.keystore),
            // Sent only when true, so a state written before this input existed reads the same.
            exportPrivateKey: args.exportPrivateKey === true ? true : undefined,
          },
          args.exportPrivateKey === true ? [...OUTPUT_NAMES, "privateKeyPem"] : OUTPUT_NAMES,
          pulumi.mergeOptions(opts, { additionalSecretOutputs: SECRET_OUTPUTS }),
        ),
      );
    } finally {
      restoreStackLimit();
    }
    if (args.exportPrivateKey !== true) refuseUnexportedKey(this, resourceName);
    this.fullchainPem = pulumi.all([this.certificatePem, this.chainPem]).apply(([certificatePem, chainPem]) => certificatePem + chainPem);
    // Every stored version has a certificate; only a test's mocked engine may answer without one,
    // and then the JWK is missing as any output the mock left out would be.
    this.jwk = pulumi
      .all([this.certificatePem, this.chainPem])
      .apply(([certificatePem, chainPem]) => (certificatePem ? publicJwkOfPems(certificatePem, chainPem ?? "") : (undefined as unknown as PublicJwk)));
  }
}

/**
 * Without `exportPrivateKey` the version has no `privateKeyPem` output. Reading it throws, so a
 * program that hands the key to another resource learns why and what to set, instead of passing
 * undefined along. Not enumerable: spreading or printing the resource does not trip it.
 */
function refuseUnexportedKey(version: CertificateVersion, resourceName: string): void {
  Object.defineProperty(version, "privateKeyPem", {
    enumerable: false,
    get() {
      throw new CertstageError("PRIVATE_KEY_NOT_EXPORTED", "the private key is kept in the store only, so this version has no privateKeyPem output", {
        resource: resourceName,
        field: "privateKeyPem",
        fix: "set exportPrivateKey: true on this CertificateVersion to keep the key in state as a secret, or let a target or `certstage agent` install it from the store",
      });
    },
  });
}

/**
 * An input that is one secret as a whole: `upload` holds the key and passphrase, `keystore` its
 * password, and Pulumi's Node SDK tracks secrecy per top-level input anyway. Fields left
 * undefined are dropped rather than sent as null.
 */
function wholeSecret<T extends object>(input: pulumi.Input<T>) {
  return pulumi.secret(pulumi.output(input).apply((unwrapped) => withoutUndefined(unwrapped as T)));
}

/** `keyFromVersion` may be a CertificateVersion: use its number, keeping the dependency on it. */
function resolveKeyFromVersion(signed: pulumi.Input<SignedArgs>): pulumi.Input<object> {
  if (pulumi.Output.isInstance(signed) || signed instanceof Promise) return signed as pulumi.Input<object>;
  const plain = signed as SignedArgs;
  return withoutUndefined({ ...plain, keyFromVersion: plain.keyFromVersion instanceof CertificateVersion ? plain.keyFromVersion.version : plain.keyFromVersion });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** What is wrong with the `keystore` input, once it is known; a CA certificate saved without its key has none to put in one. */
function keystoreInputProblems(inputs: VersionInputs, certificateType: CertificateType | undefined): CertstageError[] {
  const keystore = inputs.keystore as unknown;
  if (keystore === undefined || isUnknown(keystore) || Object.values(keystore as object).some(isUnknown)) return [];
  const problems = keystoreProblems(keystore, inputs.certificate);
  if (certificateType === "ca" && inputs.upload !== undefined && !isUnknown(inputs.upload) && inputs.upload.privateKeyPem === undefined) problems.push(keystoreKeyMissing(inputs.certificate));
  return problems;
}

function keystoreKeyMissing(certificate: string): CertstageError {
  return new CertstageError("KEYSTORE_KEY_MISSING", "a keystore needs the version's private key, and this version has none", {
    resource: certificate,
    field: "keystore",
    fix: "give upload.privateKeyPem too, or remove keystore",
  });
}

/** The material with keystore.p12 added when the inputs ask for it. */
function withKeystore(material: VersionMaterial, inputs: VersionInputs): VersionMaterial {
  if (inputs.keystore === undefined) return material;
  const problems = keystoreProblems(inputs.keystore, inputs.certificate);
  if (problems.length > 0) throw problems[0];
  if (material.privateKeyPem === undefined) throw keystoreKeyMissing(inputs.certificate);
  const pkcs12 = buildPkcs12({ certificatePem: material.certificatePem, chainPem: material.chainPem, privateKeyPem: material.privateKeyPem }, { ...inputs.keystore, friendlyName: inputs.keystore.friendlyName ?? inputs.certificate });
  return { ...material, pkcs12: pkcs12.toString("base64") };
}

const METHODS: Record<"upload" | "generate" | "signed", VersionMethodHandler> = { upload: uploadMethod, generate: generateMethod, signed: signedMethod };

function chosenMethod(inputs: VersionInputs): VersionMethodHandler | CertstageError {
  const given = (["upload", "generate", "signed"] as const).filter((name) => inputs[name] !== undefined);
  if (given.length === 1) return METHODS[given[0]];
  return new CertstageError("INPUT_SCHEMA", given.length === 0 ? "no method given" : `${given.join(" and ")} given together`, {
    field: "upload|generate|signed",
    fix: "set exactly one of `upload`, `generate` or `signed`",
  });
}

/** What the store says about the certificate: its type, its profile and the names production serves. */
async function methodContext(inputs: VersionInputs, { store, settings }: HandlerContext): Promise<MethodContext> {
  const certificate = isUnknown(inputs.certificate) ? undefined : await store.getCertificate(inputs.certificate);
  const declared = inputs.certificateType !== undefined && !isUnknown(inputs.certificateType) ? inputs.certificateType : undefined;
  const certificateType: CertificateType | undefined = declared ?? certificate?.type ?? (isUnknown(inputs.certificate) ? undefined : "server");
  const production = certificate ? await store.getDeployment(certificate.name, "production") : undefined;
  const productionVersion = production ? await store.getVersion(production.certificate, production.version) : undefined;
  const declaredProfile = inputs.certificateProfile !== undefined && !isUnknown(inputs.certificateProfile) ? inputs.certificateProfile : undefined;
  const profile = declaredProfile ?? certificate?.profile ?? settings.profile;
  return { inputs, store, certificateType, profile, productionSans: productionVersion?.sans, now: new Date() };
}

/** `<certificate>/<version>`, e.g. `api/2`. */
function versionId(record: Pick<VersionRecord, "certificate" | "version">): string {
  return `${record.certificate}/${record.version}`;
}

function parseVersionId(id: string): { certificate: string; version: number } {
  const slash = id.lastIndexOf("/");
  return { certificate: id.slice(0, slash), version: Number(id.slice(slash + 1)) };
}

function outputsOf(inputs: VersionInputs, record: VersionRecord, material: Pick<VersionMaterial, "certificatePem" | "chainPem" | "privateKeyPem" | "csrPem" | "pkcs12">, contentDigest: string) {
  return {
    certificate: record.certificate,
    version: record.version,
    method: record.method,
    serial: record.serial,
    subject: record.subject,
    issuer: record.issuer,
    sans: record.sans,
    sansUnicode: record.sans.map(unicodeForm),
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    keyAlgorithm: record.keyAlgorithm,
    fingerprintSha256: record.fingerprintSha256,
    publicKeySha256: record.publicKeySha256,
    chainFingerprints: record.chainFingerprints,
    certificatePem: material.certificatePem,
    chainPem: material.chainPem,
    ...exportedKey(inputs, material),
    csrPem: material.csrPem ?? "",
    // Only with a keystore: an empty secret would still be a ciphertext in every version's state.
    ...(material.pkcs12 ? { pkcs12: material.pkcs12 } : {}),
    contentDigest,
    ...(inputs.keystore !== undefined ? { keystore: inputs.keystore } : {}),
    domains: inputs.domains ?? [],
    acknowledge: inputs.acknowledge ?? [],
  };
}

/** The key in state, and the input that asked for it, only when `exportPrivateKey` is set. */
function exportedKey(inputs: Pick<VersionInputs, "exportPrivateKey">, material: Pick<VersionMaterial, "privateKeyPem">) {
  return inputs.exportPrivateKey === true ? { exportPrivateKey: true, privateKeyPem: material.privateKeyPem ?? "" } : {};
}

/** Whether a version's state holds its key: asked for, or written before `exportPrivateKey` existed (then every version held it). */
function keyInState(outputs: Record<string, unknown>): boolean {
  return outputs.exportPrivateKey === true || outputs.privateKeyPem !== undefined;
}

/** The inputs as `check` returned them: the method it chose and, when the content is known, its digest. */
type CheckedVersionInputs = VersionInputs & { method?: string; contentDigest?: string; notes?: string[] };

/** What a change from `previous` (a version's outputs, or the inputs it was checked with) to `inputs` does to the version. */
function versionChange(previous: Record<string, unknown>, inputs: CheckedVersionInputs) {
  // Versions saved before contentDigest existed were uploads: derive theirs the same way.
  const digested = previous.contentDigest ? previous : { ...previous, contentDigest: digestOf({ method: "upload", leaf: previous.fingerprintSha256, chain: previous.chainFingerprints }) };
  return decideDiff(CERTIFICATE_VERSION_RULES, { ...digested, keystore: previous.keystore ?? null, exportPrivateKey: keyInState(previous) }, {
    certificate: planned(inputs.certificate),
    method: planned(inputs.method),
    // `check` adds the digest whenever the content is known, so a missing one is not known yet.
    contentDigest: inputs.contentDigest === undefined ? unknown : known(inputs.contentDigest),
    keystore: planned(inputs.keystore ?? null),
    domains: planned(inputs.domains ?? []),
    acknowledge: planned(inputs.acknowledge ?? []),
    exportPrivateKey: planned(inputs.exportPrivateKey === true),
  });
}

/**
 * The number of the version a change in place keeps, for `check` to return beside the inputs. A
 * dynamic provider cannot preview an update, so in a preview the engine takes an update's checked
 * inputs for its outputs: without the number there, every deployment of the version, and a
 * `signed` version made from its key, would preview as changing when only `domains`,
 * `acknowledge` or `exportPrivateKey` did. Inputs checked before the number was carried do not
 * hold it: then the store names it, as the newest version this resource made from this content.
 */
async function numberKeptInPlace(olds: Record<string, unknown>, inputs: CheckedVersionInputs, context: HandlerContext): Promise<number | undefined> {
  if (olds.certificate === undefined || olds.certificate !== inputs.certificate || versionChange(olds, inputs).replaces.length > 0) return undefined;
  if (typeof olds.version === "number") return olds.version;
  const origin = typeof olds.contentDigest === "string" ? originOf(olds, { certificate: inputs.certificate, contentDigest: olds.contentDigest }) : undefined;
  if (origin === undefined || !(await context.store.getCertificate(inputs.certificate))) return undefined;
  const made = (await context.store.listVersions(inputs.certificate)).filter((version) => version.origin?.urn === origin.urn && version.origin.inputs === origin.inputs);
  return made.length === 0 ? undefined : Math.max(...made.map((version) => version.version));
}

export const certificateVersionHandler: ResourceHandler = {
  async check(olds, news, context) {
    const inputs = withoutProvider(news) as VersionInputs;
    const problems = validateAgainstSchema("certificate-version", inputs, isUnknown);
    if (problems.length > 0) return checkResult(news, problems);
    // A new resource saves a version of the certificate; one the state holds changes through diff.
    if (olds.certificate === undefined) {
      const refusal = await accessProblem(context, inputs.certificate, "version.create");
      if (refusal) problems.push(refusal);
    }
    const method = chosenMethod(inputs);
    if (method instanceof CertstageError) return checkResult(news, [method]);
    if (Array.isArray(inputs.domains) && !isUnknown(inputs.domains) && inputs.domains.every((domain) => !isUnknown(domain))) problems.push(...readNameInputs(inputs.domains, "domains").problems);
    const methodInputs = await methodContext(inputs, context);
    problems.push(...keystoreInputProblems(inputs, methodInputs.certificateType));
    problems.push(...checkAcknowledgements(isUnknown(inputs.acknowledge) ? [] : (inputs.acknowledge ?? []), methodInputs.profile));
    const examination = await method.examine(methodInputs);
    problems.push(...examination.problems);
    // The facts of the version to be, beside the inputs: Pulumi diffs old outputs against these,
    // so `preview --diff` shows the new subject, names, issuer, serial, expiry and fingerprint.
    // Only known values: `check` also runs at `up`, where the engine refuses unknown ones.
    const preview = Object.fromEntries(Object.entries(examination.preview).flatMap(([field, value]) => (value?.known ? [[field, value.value]] : [])));
    const digest = examination.contentDigest.known ? { contentDigest: examination.contentDigest.value } : {};
    const defaults = { domains: inputs.domains ?? [], acknowledge: inputs.acknowledge ?? [] };
    // Notes show in `preview --diff` as an input, and in the preview's output as a line.
    const notes = examination.notes ?? [];
    for (const note of notes) console.error(`certstage: certificate '${inputs.certificate}': ${note}`);
    const checked: CheckedVersionInputs = { ...(news as VersionInputs), ...defaults, method: method.method, ...preview, ...digest, notes };
    const kept = problems.length === 0 ? await numberKeptInPlace(olds, checked, context) : undefined;
    return checkResult(kept === undefined ? checked : { ...checked, version: kept }, problems);
  },

  async diff(id, olds, news, context) {
    const inputs = news as CheckedVersionInputs;
    const decision = versionChange(olds, inputs);
    // Name the method input that changed, not the derived digest.
    const replaces = [...new Set(decision.replaces.map((field) => (field === "contentDigest" ? (inputs.method ?? "upload") : field)))];
    // A replacement saves a new version, and its delete releases this one.
    if (replaces.length > 0) {
      const refusal = (await accessProblem(context, inputs.certificate, "version.create")) ?? (await accessProblem(context, parseVersionId(id).certificate, "version.delete"));
      if (refusal) throw refusal;
    }
    return { changes: decision.changed, replaces };
  },

  async create(news, context) {
    const inputs = news as VersionInputs;
    const method = chosenMethod(inputs);
    if (method instanceof CertstageError) throw method;
    await requireCertificateAccess(context, inputs.certificate, "version.create");
    const methodInputs = await methodContext(inputs, context);
    const examination = await method.examine(methodInputs);
    const contentDigest = examination.contentDigest.known ? examination.contentDigest.value : "";
    const origin = contentDigest === "" ? undefined : originOf(news, { certificate: inputs.certificate, contentDigest });
    // An earlier create of this resource from these inputs that its run never saw finish: adopt it.
    const adopted = await versionToAdopt(context.store, inputs.certificate, origin, (version) => isHeld(versionId({ certificate: inputs.certificate, version })));
    if (adopted) {
      rememberAdopted(versionId(adopted));
      console.error(`certstage: certificate '${inputs.certificate}': adopted version ${adopted.version}, which an interrupted run made from these inputs`);
      const files = await context.store.readVersionFiles(adopted.certificate, adopted.version);
      return { id: versionId(adopted), outs: { ...outputsOf(inputs, adopted, files, contentDigest), notes: examination.notes ?? [] } };
    }
    const material = withKeystore(await method.materialize(methodInputs), inputs);
    const record = await context.store.createVersion(inputs.certificate, method.method, material, context.actor, origin);
    return { id: versionId(record), outs: { ...outputsOf(inputs, record, material, contentDigest), notes: examination.notes ?? [] } };
  },

  async read(id, props, context) {
    const { store } = context;
    const { certificate, version } = parseVersionId(id);
    const owner = await store.getCertificate(certificate);
    const record = owner ? await store.getVersion(certificate, version) : undefined;
    if (!owner || !record) return {};
    // The version's material, key included, goes into the reading stack's state.
    const refusal = await refusalOf(context, owner, ["reference"]);
    if (refusal) throw refusal;
    const files = await store.readVersionFiles(certificate, version);
    return { id, props: { ...props, ...outputsOf(props as VersionInputs, record, files, props.contentDigest ?? "") } };
  },

  async update(id, olds, news, context) {
    // Only `domains`, `acknowledge` and `exportPrivateKey` change in place (see diff); the version
    // itself is untouched. A key asked for comes from the store; one no longer asked for (or kept
    // by a state written before `exportPrivateKey`) leaves state.
    const { privateKeyPem: _key, exportPrivateKey: _asked, ...kept } = olds;
    const outs = { ...kept, domains: news.domains ?? [], acknowledge: news.acknowledge ?? [] };
    if (news.exportPrivateKey !== true) return { outs };
    const { certificate, version } = parseVersionId(id);
    const owner = await context.store.getCertificate(certificate);
    const refusal = owner && (await refusalOf(context, owner, ["reference"]));
    if (refusal) throw refusal;
    return { outs: { ...outs, ...exportedKey(news, await context.store.readVersionFiles(certificate, version)) } };
  },

  async delete(id, _props, context) {
    const { store, actor } = context;
    // A targeted replace whose create adopted this very version: it lives on under the new resource.
    if (adoptedThisRun(id)) return;
    const { certificate, version } = parseVersionId(id);
    const owner = await store.getCertificate(certificate);
    if (!owner) return;
    const refusal = await refusalOf(context, owner, ["version.delete"]);
    if (refusal) throw refusal;
    const serving = (await store.listDeployments(certificate)).filter((deployment) => deployment.version === version);
    if (serving.length > 0) throw stillDeployed(certificate, version, serving);
    // The version's files stay in the store: versions are history, and rollbacks point at them.
    await releaseVersion(store, certificate, version, actor, "its CertificateVersion was deleted or replaced");
  },
};

