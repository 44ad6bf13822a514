/**
 * The plan: which resources a manifest stands for, named from the manifest so they stay put as it
 * changes. Table cases for the names, references and file contents; a property over generated
 * manifests that every name is unique and everything a resource refers to is planned before it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planManifest, referencedFiles, type PlannedResource } from "../../../provider/manifest/plan";
import type { ManifestFile, ManifestVersion } from "../../../provider/manifest/types";

const generate = (host: string): ManifestVersion => ({ generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: host }, sans: [host] } });

describe("planManifest", () => {
  const manifest: ManifestFile = {
    certificates: {
      api: {
        displayName: "API",
        profile: "private",
        versions: {
          signed: { signed: { keyFromVersion: "request", certificateFile: "certs/signed.pem" } },
          request: { ...generate("api.example.test"), keystore: { passwordFrom: "certstage:apiKeystorePassword", profile: "legacy" } },
          uploaded: { upload: { certificateFile: "certs/api.pem", privateKeyFile: "certs/api.key" } },
          le: { acme: { domains: ["api.example.test"], directory: "letsencrypt", acceptTermsOfService: true, challenge: { type: "http-01", listen: "127.0.0.1:80" } } },
        },
        deployments: { staging: { version: "le" }, production: { version: 3, state: "undeployed", mode: "standby" } },
      },
    },
  };
  const contents = new Map([
    ["certs/signed.pem", "SIGNED"],
    ["certs/api.pem", "CERT"],
    ["certs/api.key", "KEY"],
  ]);

  it("names each resource after the manifest: certificate, certificate/version, certificate/environment", () => {
    expect(planManifest(manifest, contents).map((resource) => `${resource.kind} ${resource.name}`)).toEqual([
      "Certificate api",
      "CertificateVersion api/request",
      "CertificateVersion api/signed",
      "CertificateVersion api/uploaded",
      "AcmeRenewal api/le",
      "EnvironmentDeployment api/staging",
      "EnvironmentDeployment api/production",
    ]);
  });

  it("fills in file contents, and refers to other resources by name", () => {
    const plan = planManifest(manifest, contents);
    const byName = (name: string) => plan.find((resource) => resource.name === name)!;
    expect(byName("api").args).toEqual({ name: "api", displayName: "API", profile: "private" });
    expect(byName("api/uploaded").args).toEqual({ certificate: "api", upload: { certificatePem: "CERT", privateKeyPem: "KEY" } });
    expect(byName("api/signed").args).toEqual({ certificate: "api", signed: { keyFromVersion: { resource: "api/request" }, certificatePem: "SIGNED" } });
    // The keystore's password stays a name in the plan; the Manifest component reads it.
    expect(byName("api/request").args).toMatchObject({ keystore: { passwordFrom: "certstage:apiKeystorePassword", profile: "legacy" } });
    expect(byName("api/staging").args).toEqual({ certificate: "api", environment: "staging", version: { resource: "api/le" } });
    expect(byName("api/production").args).toEqual({ certificate: "api", environment: "production", version: 3, state: "undeployed", mode: "standby" });
  });

  it("lists the files to read, with where each is named", () => {
    expect(referencedFiles(manifest)).toEqual([
      { file: "certs/signed.pem", source: ["certificates", "api", "versions", "signed", "signed", "certificateFile"] },
      { file: "certs/api.pem", source: ["certificates", "api", "versions", "uploaded", "upload", "certificateFile"] },
      { file: "certs/api.key", source: ["certificates", "api", "versions", "uploaded", "upload", "privateKeyFile"] },
    ]);
  });
});

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/);

/** Manifests whose references all resolve (what parse.ts lets through), with signed chains in any order. */
const manifests = fc
  .dictionary(label, fc.tuple(fc.uniqueArray(label, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), fc.uniqueArray(label, { maxLength: 3 })), { minKeys: 1, maxKeys: 4 })
  .map((certificates): ManifestFile => ({
    certificates: Object.fromEntries(
      Object.entries(certificates).map(([name, [labels, keySources, environments]]) => {
        const versions: Record<string, ManifestVersion> = {};
        // Version i may take its key from an earlier one: no cycles, declared in shuffled order.
        labels.forEach((versionLabel, index) => {
          const source = index > 0 && keySources[index] !== undefined ? labels[keySources[index] % index] : undefined;
          versions[versionLabel] = source ? { signed: { keyFromVersion: source, certificateFile: `${versionLabel}.pem` } } : generate(`${versionLabel}.example.test`);
        });
        const shuffled = Object.fromEntries(Object.entries(versions).reverse());
        return [name, { versions: shuffled, deployments: Object.fromEntries(environments.map((environment, index) => [environment, { version: labels[index % labels.length] }])) }];
      }),
    ),
  }));

function referencesOf(resource: PlannedResource): string[] {
  const references = [JSON.stringify(resource.args)].flatMap((text) => [...text.matchAll(/"resource":"([^"]+)"/g)].map((match) => match[1]));
  return resource.kind === "Certificate" ? references : [resource.args.certificate, ...references];
}

describe("planManifest over generated manifests", () => {
  it("gives every resource of a type a unique name, and plans what each refers to before it", () => {
    fc.assert(
      fc.property(manifests, (manifest) => {
        const files = new Map(referencedFiles(manifest).map((reference) => [reference.file, "PEM"]));
        const plan = planManifest(manifest, files);
        const keys = plan.map((resource) => `${resource.kind} ${resource.name}`);
        expect(new Set(keys).size).toBe(keys.length);
        plan.forEach((resource, index) => {
          const earlier = new Set(plan.slice(0, index).map((planned) => planned.name));
          for (const reference of referencesOf(resource)) expect(earlier.has(reference), `${resource.name} -> ${reference}`).toBe(true);
        });
        const versions = Object.values(manifest.certificates).reduce((count, certificate) => count + Object.keys(certificate.versions ?? {}).length, 0);
        expect(plan.filter((resource) => resource.kind === "CertificateVersion")).toHaveLength(versions);
      }),
      { numRuns: 200 },
    );
  });
});
