/**
 * `Manifest`: every certificate, version and deployment of a `certificates.yaml`, as resources.
 *
 *   new Manifest("certificates", { file: "certificates.yaml" });
 *
 * The component only reads the file and turns the plan (manifest/plan.ts, pure) into the same
 * resources a TypeScript program would declare, with names taken from the manifest (api,
 * api/v2, api/production), so editing the manifest previews as the same change would in code.
 * A manifest with problems fails the program with all of them at file:line:column, before any
 * resource is registered; `certstage lint` reports the same and the preview's checks besides.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CertstageError } from "../errors";
import { formatDiagnostics, inSourceOrder } from "../manifest/diagnostics";
import { loadManifest } from "../manifest/load";
import type { PlannedResource, ResourceReference } from "../manifest/plan";
import type { KeyAlgorithm } from "../pki/key-generation";
import type { Pkcs12Profile } from "../pki/pkcs12";
import { readSecretSource, secretSourceOf } from "../settings/secret-source";
import type { SubjectInput } from "../pki/certificate-request";
import { projectDirectory } from "../settings/project-directory";
import type { WarningCode } from "../validation/profiles";
import { AcmeRenewal } from "./acme-renewal";
import { Certificate } from "./certificate";
import { CertificateVersion } from "./certificate-version";
import { EnvironmentDeployment, type EnvironmentDeploymentArgs } from "./environment-deployment";

export interface ManifestArgs {
  /** The manifest, relative to the Pulumi project directory (or absolute). */
  readonly file: string;
}

export class Manifest extends pulumi.ComponentResource {
  /** By certificate name. */
  readonly certificates: Readonly<Record<string, Certificate>> = {};
  /** By resource name (`api/v2`): CertificateVersions, and AcmeRenewals for acme versions. */
  readonly versions: Readonly<Record<string, CertificateVersion | AcmeRenewal>> = {};
  /** By resource name (`api/production`). */
  readonly deployments: Readonly<Record<string, EnvironmentDeployment>> = {};

  constructor(name: string, args: ManifestArgs, opts?: pulumi.ComponentResourceOptions) {
    super("certstage:index:Manifest", name, {}, opts);
    const loaded = loadManifest(path.resolve(projectDirectory(), args.file), args.file);
    if (!loaded.plan) {
      const count = loaded.diagnostics.length;
      throw new CertstageError("MANIFEST_INVALID", `${args.file} has ${count} problem${count === 1 ? "" : "s"}:\n${formatDiagnostics(inSourceOrder(loaded.diagnostics), "text")}`, {
        resource: name,
        fix: "correct them (certstage lint shows the same, with the preview's checks), then run again",
      });
    }
    const passwords = keystorePasswords(loaded.plan, name);
    for (const planned of loaded.plan) this.declare(planned, passwords);
    this.registerOutputs({});
  }

  private declare(planned: PlannedResource, passwords: ReadonlyMap<string, pulumi.Output<string>>): void {
    const options = { parent: this };
    const certificate = (resourceName: string) => this.certificates[resourceName];
    const version = (value: number | ResourceReference) => {
      if (typeof value === "number") return value;
      const made = this.versions[value.resource];
      return made instanceof AcmeRenewal ? made.version : made;
    };
    const versions = this.versions as Record<string, CertificateVersion | AcmeRenewal>;
    switch (planned.kind) {
      case "Certificate":
        (this.certificates as Record<string, Certificate>)[planned.name] = new Certificate(planned.name, planned.args, options);
        return;
      case "CertificateVersion": {
        const { certificate: certificateName, upload, generate, signed, domains, acknowledge, keystore } = planned.args;
        versions[planned.name] = new CertificateVersion(
          planned.name,
          {
            certificate: certificate(certificateName),
            upload: upload && { ...upload, privateKeyPem: upload.privateKeyPem === undefined ? undefined : pulumi.secret(upload.privateKeyPem) },
            generate: generate && { keyAlgorithm: generate.keyAlgorithm as KeyAlgorithm, subject: generate.subject as unknown as SubjectInput, sans: generate.sans },
            signed: signed && { ...signed, keyFromVersion: version(signed.keyFromVersion) as CertificateVersion | number },
            domains,
            acknowledge: acknowledge as WarningCode[] | undefined,
            keystore: keystore && { password: passwords.get(planned.name)!, profile: keystore.profile as Pkcs12Profile | undefined, friendlyName: keystore.friendlyName },
          },
          options,
        );
        return;
      }
      case "AcmeRenewal":
        versions[planned.name] = new AcmeRenewal(planned.name, { ...planned.args, certificate: certificate(planned.args.certificate) } as ConstructorParameters<typeof AcmeRenewal>[1], options);
        return;
      case "EnvironmentDeployment": {
        const { certificate: certificateName, version: served, ...rest } = planned.args;
        (this.deployments as Record<string, EnvironmentDeployment>)[planned.name] = new EnvironmentDeployment(planned.name, { ...rest, verify: rest.verify as EnvironmentDeploymentArgs["verify"], certificate: certificate(certificateName), version: version(served) }, options);
        return;
      }
    }
  }
}

/**
 * The keystore passwords the plan names (settings/secret-source.ts), by version resource, as
 * Pulumi secrets: a stack config secret of the program's stack, or an environment variable of
 * `pulumi up`. Read before any resource is declared, so a source that is not set fails the
 * program having registered none of the manifest's resources, with every such source at once.
 */
function keystorePasswords(plan: readonly PlannedResource[], manifest: string): Map<string, pulumi.Output<string>> {
  const passwords = new Map<string, pulumi.Output<string>>();
  const missing: Array<{ resource: string; source: string; fix: string }> = [];
  for (const planned of plan) {
    if (planned.kind !== "CertificateVersion" || planned.args.keystore === undefined) continue;
    const source = planned.args.keystore.passwordFrom;
    const named = secretSourceOf(source);
    const value = named.kind === "config" ? new pulumi.Config("certstage").getSecret(named.key) : readSecretSource(source, { env: process.env });
    if (value !== undefined) passwords.set(planned.name, pulumi.secret(value));
    else missing.push({ resource: planned.name, source, fix: named.kind === "config" ? `pulumi config set --secret ${source} <password> on this stack` : `export ${named.name} where pulumi up runs (a CI secret), or name a stack config secret: certstage:<key>` });
  }
  if (missing.length === 1) {
    const [{ resource, source, fix }] = missing;
    throw new CertstageError("MANIFEST_SECRET_MISSING", `the keystore password's source ${source} is not set`, { resource, field: "keystore.passwordFrom", fix });
  }
  if (missing.length > 1) {
    throw new CertstageError("MANIFEST_SECRET_MISSING", `the keystore passwords' sources are not set: ${missing.map(({ resource, source }) => `${source} (${resource})`).join(", ")}`, {
      resource: manifest,
      field: "keystore.passwordFrom",
      fix: [...new Set(missing.map(({ fix }) => fix))].join("; "),
    });
  }
  return passwords;
}
