/**
 * certstage: TLS certificates as code for Pulumi.
 *
 *   const api = new Certificate("api", { name: "api" });
 *   const v = new CertificateVersion("api-v", { certificate: api, upload: { certificatePem, privateKeyPem, chainPem } });
 *   new EnvironmentDeployment("api-production", { version: v, environment: "production" });
 */
export { Certificate, CertificateArgs } from "./resources/certificate";
export { CertificateVersion, CertificateVersionArgs, UploadArgs } from "./resources/certificate-version";
export { EnvironmentDeployment, EnvironmentDeploymentArgs } from "./resources/environment-deployment";
export { CertstageError, ERROR_CODES, ErrorCode } from "./errors";
export type { CertificateType } from "./store/store";
export { projectDirectory } from "./resources/project-directory";
