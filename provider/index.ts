/**
 * certstage: TLS certificates as code for Pulumi.
 *
 *   const api = new Certificate("api", { name: "api" });
 *   const v = new CertificateVersion("api-v", { certificate: api, upload: { certificatePem, privateKeyPem, chainPem } });
 *   new EnvironmentDeployment("api-production", { version: v, environment: "production" });
 *
 * or, from a certificates.yaml (provider/manifest/):
 *
 *   new Manifest("certificates", { file: "certificates.yaml" });
 */
export { Certificate, CertificateArgs } from "./resources/certificate";
export { CertificateVersion, CertificateVersionArgs, GenerateArgs, SignedArgs, UploadArgs } from "./resources/certificate-version";
export { EnvironmentDeployment, EnvironmentDeploymentArgs } from "./resources/environment-deployment";
export { AcmeRenewal, AcmeRenewalArgs, ChallengeArgs } from "./resources/acme-renewal";
export { Manifest, ManifestArgs } from "./resources/manifest";
export type * from "./manifest/types";
export { CertstageError, ERROR_CODES, ErrorCode } from "./errors";
export { POLICY_SEVERITIES, ValidationProfile, WARNING_CODES, WarningCode } from "./validation/profiles";
export { KEY_ALGORITHMS, KeyAlgorithm } from "./pki/key-generation";
export type { SubjectInput } from "./pki/certificate-request";
export type { PublicJwk } from "./pki/jwk";
export type { CertificateType } from "./store/store";
export { projectDirectory } from "./settings/project-directory";
