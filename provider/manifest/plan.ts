/**
 * Which resources a manifest stands for, with which arguments: the same ones a TypeScript program
 * would declare by hand. Pure: the files the manifest names are read by the caller and handed in,
 * so the Manifest component and `certstage lint` plan alike.
 *
 * Resource names are derived from the manifest's names, so they stay the same while the manifest
 * changes around them (and a preview shows only what was edited):
 *
 *   Certificate            <certificate>                  e.g. api
 *   CertificateVersion     <certificate>/<version>        e.g. api/v2
 *   AcmeRenewal            <certificate>/<version>        e.g. api/letsencrypt
 *   EnvironmentDeployment  <certificate>/<environment>    e.g. api/production
 *
 * `/` cannot appear in a certificate name, so two names never collide.
 */
import type { FieldPath } from "./positions";
import type { ManifestAcme, ManifestCertificate, ManifestFile, ManifestVerify, ManifestVersion } from "./types";

/** A value that is another planned resource's output (its version number), known after it is made. */
export interface ResourceReference {
  readonly resource: string;
}

interface Planned<Kind extends string, Args> {
  readonly kind: Kind;
  /** The Pulumi resource name. */
  readonly name: string;
  /** Where in the manifest it is declared. */
  readonly source: FieldPath;
  readonly args: Args;
}

export interface CertificatePlanArgs {
  readonly name: string;
  readonly displayName?: string;
  readonly type?: "server" | "ca";
  readonly owner?: string;
  readonly shareWith?: string[];
  readonly description?: string;
  readonly profile?: "public" | "private";
}

export interface VersionPlanArgs {
  /** The Certificate's resource name. */
  readonly certificate: string;
  readonly upload?: { certificatePem: string; privateKeyPem?: string; chainPem?: string };
  readonly generate?: { keyAlgorithm: string; subject: Record<string, string>; sans: string[] };
  readonly signed?: { keyFromVersion: number | ResourceReference; certificatePem: string; chainPem?: string };
  readonly domains?: string[];
  readonly acknowledge?: string[];
  /** The password's source, as the manifest names it; the Manifest component reads it. */
  readonly keystore?: { passwordFrom: string; profile?: string; friendlyName?: string };
}

export type RenewalPlanArgs = { readonly certificate: string; readonly directoryCaPem?: string } & Omit<ManifestAcme, "directoryCaFile">;

export interface DeploymentPlanArgs {
  readonly certificate: string;
  readonly environment: string;
  readonly version: number | ResourceReference;
  readonly state?: "deployed" | "undeployed";
  readonly mode?: "now" | "standby";
  readonly notBefore?: string;
  readonly verify?: ManifestVerify;
}

export type PlannedResource =
  | Planned<"Certificate", CertificatePlanArgs>
  | Planned<"CertificateVersion", VersionPlanArgs>
  | Planned<"AcmeRenewal", RenewalPlanArgs>
  | Planned<"EnvironmentDeployment", DeploymentPlanArgs>;

/** A file the manifest names, as written (relative to the manifest), and where. */
export interface ReferencedFile {
  readonly file: string;
  readonly source: FieldPath;
}

export function referencedFiles(manifest: ManifestFile): ReferencedFile[] {
  const files: ReferencedFile[] = [];
  for (const [name, certificate] of Object.entries(manifest.certificates)) {
    for (const [label, version] of Object.entries(certificate.versions ?? {})) {
      const at = (method: string, field: string, file: string | undefined) => file !== undefined && files.push({ file, source: ["certificates", name, "versions", label, method, field] });
      at("upload", "certificateFile", version.upload?.certificateFile);
      at("upload", "privateKeyFile", version.upload?.privateKeyFile);
      at("upload", "chainFile", version.upload?.chainFile);
      at("signed", "certificateFile", version.signed?.certificateFile);
      at("signed", "chainFile", version.signed?.chainFile);
      at("acme", "directoryCaFile", version.acme?.directoryCaFile);
    }
  }
  return files;
}

export function versionResourceName(certificate: string, version: string): string {
  return `${certificate}/${version}`;
}

export function deploymentResourceName(certificate: string, environment: string): string {
  return `${certificate}/${environment}`;
}

/**
 * The resources, in an order where each comes after what it refers to. `contents` holds every
 * file of referencedFiles(manifest), by the path as written.
 */
export function planManifest(manifest: ManifestFile, contents: ReadonlyMap<string, string>): PlannedResource[] {
  const read = (file: string | undefined) => (file === undefined ? undefined : contents.get(file));
  const plan: PlannedResource[] = [];
  for (const [name, certificate] of Object.entries(manifest.certificates)) {
    const { versions: _versions, deployments: _deployments, ...fields } = certificate;
    plan.push({ kind: "Certificate", name, source: ["certificates", name], args: withoutUndefined({ name, ...fields, shareWith: fields.shareWith && [...fields.shareWith] }) });
    for (const label of versionsInOrder(certificate)) plan.push(versionPlan(name, label, certificate.versions![label], read));
    for (const [environment, deployment] of Object.entries(certificate.deployments ?? {})) {
      const version = typeof deployment.version === "number" ? deployment.version : { resource: versionResourceName(name, deployment.version) };
      plan.push({
        kind: "EnvironmentDeployment",
        name: deploymentResourceName(name, environment),
        source: ["certificates", name, "deployments", environment],
        args: withoutUndefined({ certificate: name, environment, version, state: deployment.state, mode: deployment.mode, notBefore: deployment.notBefore, verify: deployment.verify && structuredClone(deployment.verify) }),
      });
    }
  }
  return plan;
}

function versionPlan(certificate: string, label: string, version: ManifestVersion, read: (file: string | undefined) => string | undefined): PlannedResource {
  const name = versionResourceName(certificate, label);
  const source = ["certificates", certificate, "versions", label];
  if (version.acme) {
    const { directoryCaFile, ...acme } = version.acme;
    return { kind: "AcmeRenewal", name, source, args: withoutUndefined({ certificate, ...structuredClone(acme), directoryCaPem: read(directoryCaFile) }) };
  }
  const { upload, generate, signed } = version;
  const keyFrom = signed?.keyFromVersion;
  return {
    kind: "CertificateVersion",
    name,
    source,
    args: withoutUndefined({
      certificate,
      upload: upload && withoutUndefined({ certificatePem: read(upload.certificateFile) ?? "", privateKeyPem: read(upload.privateKeyFile), chainPem: read(upload.chainFile) }),
      generate: generate && { keyAlgorithm: generate.keyAlgorithm, subject: { ...generate.subject }, sans: [...generate.sans] },
      signed: signed && withoutUndefined({ keyFromVersion: typeof keyFrom === "number" ? keyFrom : { resource: versionResourceName(certificate, keyFrom!) }, certificatePem: read(signed.certificateFile) ?? "", chainPem: read(signed.chainFile) }),
      domains: version.domains && [...version.domains],
      acknowledge: version.acknowledge && [...version.acknowledge],
      keystore: version.keystore && { ...version.keystore },
    }),
  };
}

/** Declaration order, but a signed version after the version its key comes from. */
function versionsInOrder(certificate: ManifestCertificate): string[] {
  const versions = certificate.versions ?? {};
  const ordered: string[] = [];
  const visiting = new Set<string>(); // references.ts refuses cycles; this only guards the walk
  const visit = (label: string) => {
    if (ordered.includes(label) || visiting.has(label) || versions[label] === undefined) return;
    visiting.add(label);
    const keyFrom = versions[label].signed?.keyFromVersion;
    if (typeof keyFrom === "string") visit(keyFrom);
    ordered.push(label);
  };
  for (const label of Object.keys(versions)) visit(label);
  return ordered;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
