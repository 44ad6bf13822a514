/**
 * The quickstart program (the repository's root Pulumi.yaml runs it): one certificate uploaded
 * from files, deployed to staging and production.
 *
 * Stack settings (all optional):
 *   certificateDir      directory with cert.pem, key.pem and chain.pem (default .quickstart/certificates/api)
 *   environments        JSON list of environments to deploy to (default ["staging","production"])
 *   pinnedVersions      JSON map environment -> version number; an environment not pinned serves
 *                       the newest version. Pinning production to an older number is a rollback.
 *   manageCertificate   false when another stack owns the certificate and this one only deploys
 *                       pinned versions of it (default true)
 *   keystorePassword    a secret (pulumi config set --secret): also save each version as a PKCS#12
 *                       keystore under this password (keystore.p12; the `pkcs12` output)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Certificate, CertificateVersion, EnvironmentDeployment, projectDirectory } from "../../provider";

const config = new pulumi.Config();
// Relative paths mean "from the project directory" (Pulumi runs the program from dist/).
const certificateDir = path.resolve(projectDirectory(), config.get("certificateDir") ?? path.join(".quickstart", "certificates", "api"));
const environments = config.getObject<string[]>("environments") ?? ["staging", "production"];
const pinnedVersions = config.getObject<Record<string, number>>("pinnedVersions") ?? {};
const manageCertificate = config.getBoolean("manageCertificate") ?? true;
const keystorePassword = config.getSecret("keystorePassword");

const readPem = (file: string) => fs.readFileSync(path.join(certificateDir, file), "utf8");

let api: Certificate | undefined;
let latest: CertificateVersion | undefined;
if (manageCertificate) {
  api = new Certificate("api", {
    name: "api",
    displayName: "API gateway",
    description: "TLS certificate of api.example.test",
  });
  latest = new CertificateVersion("api", {
    certificate: api,
    upload: {
      certificatePem: readPem("cert.pem"),
      privateKeyPem: pulumi.secret(readPem("key.pem")),
      chainPem: readPem("chain.pem"),
    },
    ...(keystorePassword ? { keystore: { password: keystorePassword } } : {}),
  });
}

export const deployments: Record<string, pulumi.Output<number>> = {};
for (const environment of environments) {
  const pinned = pinnedVersions[environment];
  if (pinned === undefined && latest === undefined) {
    throw new Error(`environment '${environment}' needs a pinned version when manageCertificate is false (set pinnedVersions)`);
  }
  const deployment = new EnvironmentDeployment(`api-${environment}`, {
    certificate: api ?? "api",
    version: pinned ?? latest!,
    environment,
  });
  deployments[environment] = deployment.deployedVersion;
}

export const latestVersion = latest?.version;
export const fingerprintSha256 = latest?.fingerprintSha256;
export const notAfter = latest?.notAfter;
