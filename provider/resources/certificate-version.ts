/**
 * `CertificateVersion`: one immutable, numbered version of a certificate. Any change of its
 * inputs is a replacement, which saves the next version number; the replaced version stays in
 * the store (so an environment can be rolled back to it) and deleting it is refused while an
 * environment serves it.
 */
import * as pulumi from "@pulumi/pulumi";
import { CertstageError } from "../errors";
import { CERTIFICATE_VERSION_RULES, decideDiff, known, Planned, unknown } from "../lifecycle/diff";
import { inspectUpload, UploadInput, VersionMaterial } from "../pki/version-material";
import type { VersionRecord } from "../store";
import { stillDeployed } from "../store/store-errors";
import { validateAgainstSchema } from "../validation/schema";
import { Certificate } from "./certificate";
import { sharedDynamicProvider } from "./dynamic-provider";
import { checkResult, isUnknown, planned, ResourceHandler, withoutProvider } from "./handler";

export interface UploadArgs {
  readonly certificatePem: pulumi.Input<string>;
  /** Always stored as a secret, whether or not you pass a secret. */
  readonly privateKeyPem: pulumi.Input<string>;
  /** Intermediates, leaf-most first. */
  readonly chainPem?: pulumi.Input<string>;
}

export interface CertificateVersionArgs {
  /** The certificate (a `Certificate` resource or its name). */
  readonly certificate: Certificate | pulumi.Input<string>;
  /** Method `upload`: a certificate issued elsewhere, with its key and chain. */
  readonly upload: pulumi.Input<UploadArgs>;
}

/** Outputs that carry key material; Pulumi encrypts them in state and hides them in output. */
const SECRET_OUTPUTS = ["privateKeyPem"];

export class CertificateVersion extends pulumi.dynamic.Resource {
  declare readonly certificate: pulumi.Output<string>;
  /** The version number: 1, 2, 3… per certificate. */
  declare readonly version: pulumi.Output<number>;
  declare readonly method: pulumi.Output<string>;
  declare readonly serial: pulumi.Output<string>;
  declare readonly subject: pulumi.Output<string>;
  declare readonly issuer: pulumi.Output<string>;
  declare readonly sans: pulumi.Output<string[]>;
  declare readonly notBefore: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  declare readonly keyAlgorithm: pulumi.Output<string>;
  declare readonly fingerprintSha256: pulumi.Output<string>;
  declare readonly chainFingerprints: pulumi.Output<string[]>;
  declare readonly certificatePem: pulumi.Output<string>;
  declare readonly chainPem: pulumi.Output<string>;
  declare readonly fullchainPem: pulumi.Output<string>;
  /** Secret. */
  declare readonly privateKeyPem: pulumi.Output<string>;

  constructor(resourceName: string, args: CertificateVersionArgs, opts?: pulumi.CustomResourceOptions) {
    const upload = pulumi.output(args.upload);
    super(
      sharedDynamicProvider("CertificateVersion"),
      resourceName,
      {
        certificate: args.certificate instanceof Certificate ? args.certificate.name : args.certificate,
        upload: {
          certificatePem: upload.certificatePem,
          privateKeyPem: pulumi.secret(upload.privateKeyPem),
          chainPem: upload.chainPem,
        },
        version: undefined,
        method: undefined,
        serial: undefined,
        subject: undefined,
        issuer: undefined,
        sans: undefined,
        notBefore: undefined,
        notAfter: undefined,
        keyAlgorithm: undefined,
        fingerprintSha256: undefined,
        chainFingerprints: undefined,
        certificatePem: undefined,
        chainPem: undefined,
        fullchainPem: undefined,
        privateKeyPem: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: SECRET_OUTPUTS }),
      "certstage",
      "CertificateVersion",
    );
  }
}

interface VersionInputs {
  certificate: string;
  upload: UploadInput;
}

/** `<certificate>/<version>`, e.g. `api/2`. */
function versionId(record: Pick<VersionRecord, "certificate" | "version">): string {
  return `${record.certificate}/${record.version}`;
}

function parseVersionId(id: string): { certificate: string; version: number } {
  const slash = id.lastIndexOf("/");
  return { certificate: id.slice(0, slash), version: Number(id.slice(slash + 1)) };
}

function outputsOf(record: VersionRecord, material: Pick<VersionMaterial, "certificatePem" | "chainPem" | "fullchainPem" | "privateKeyPem">) {
  return {
    certificate: record.certificate,
    version: record.version,
    method: record.method,
    serial: record.serial,
    subject: record.subject,
    issuer: record.issuer,
    sans: record.sans,
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    keyAlgorithm: record.keyAlgorithm,
    fingerprintSha256: record.fingerprintSha256,
    chainFingerprints: record.chainFingerprints,
    certificatePem: material.certificatePem,
    chainPem: material.chainPem,
    fullchainPem: material.fullchainPem,
    privateKeyPem: material.privateKeyPem,
  };
}

/** Validates an upload whose values are all known; unknown values are judged at `up`. */
function inspectKnownUpload(upload: UploadInput): CertstageError[] {
  if (isUnknown(upload)) return [];
  const inspection = inspectUpload(upload);
  return inspection.ok ? [] : inspection.problems;
}

function materialOrThrow(upload: UploadInput): VersionMaterial {
  const inspection = inspectUpload(upload);
  if (!inspection.ok) {
    // `check` already reported these at preview; they can only reach here if inputs changed since.
    throw inspection.problems[0];
  }
  return inspection.value;
}

export const certificateVersionHandler: ResourceHandler = {
  async check(_olds, news) {
    const inputs = withoutProvider(news);
    const problems = validateAgainstSchema("certificate-version", inputs, isUnknown);
    if (problems.length === 0) problems.push(...inspectKnownUpload((inputs as VersionInputs).upload));
    return checkResult(news, problems);
  },

  async diff(_id, olds, news) {
    const inputs = news as VersionInputs;
    let fingerprint: Planned<string> = unknown;
    let chain: Planned<string[]> = unknown;
    if (!isUnknown(inputs.upload)) {
      const inspection = inspectUpload(inputs.upload);
      if (inspection.ok) {
        fingerprint = known(inspection.value.facts.fingerprintSha256);
        chain = known(inspection.value.chainFingerprints);
      }
    }
    const decision = decideDiff(CERTIFICATE_VERSION_RULES, olds, {
      certificate: planned(inputs.certificate),
      method: known("upload"),
      fingerprintSha256: fingerprint,
      chainFingerprints: chain,
    });
    // Name input properties, not derived ones, so the preview points at what the user changed.
    const replaces = [...new Set(decision.replaces.map((field) => (field === "fingerprintSha256" || field === "chainFingerprints" ? "upload" : field)))];
    return { changes: decision.changed, replaces };
  },

  async create(inputs, { store, actor }) {
    const { certificate, upload } = inputs as VersionInputs;
    const material = materialOrThrow(upload);
    const record = await store.createVersion(certificate, "upload", material, actor);
    return { id: versionId(record), outs: outputsOf(record, material) };
  },

  async read(id, props, { store }) {
    const { certificate, version } = parseVersionId(id);
    const record = (await store.getCertificate(certificate)) ? await store.getVersion(certificate, version) : undefined;
    if (!record) return {};
    return { id, props: { ...props, ...outputsOf(record, await store.readVersionFiles(certificate, version)) } };
  },

  async update() {
    // Unreachable: every change of a version's inputs is a replacement (see diff).
    throw new Error("certstage: a CertificateVersion is immutable and is never updated in place");
  },

  async delete(id, _props, { store }) {
    const { certificate, version } = parseVersionId(id);
    if (!(await store.getCertificate(certificate))) return;
    const serving = (await store.listDeployments(certificate)).filter((deployment) => deployment.version === version);
    if (serving.length > 0) throw stillDeployed(certificate, version, serving);
    // The version's files stay in the store: versions are history, and rollbacks point at them.
  },
};
