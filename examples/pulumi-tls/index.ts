/**
 * Keys and certificates made with `@pulumi/tls` plug into certstage's `upload`: a team that already
 * runs its private CA with `tls.SelfSignedCert` and `tls.LocallySignedCert` keeps doing so, and
 * certstage adds what those resources lack: numbered immutable versions, one version per
 * environment swapped atomically, promotion from staging to production, history and expiry alerts.
 *
 *   1. A root CA (`tls.PrivateKey`, `tls.SelfSignedCert`), kept offline in real life, and an
 *      intermediate CA it signs (`tls.CertRequest`, `tls.LocallySignedCert` with `isCaCertificate`).
 *   2. The server's key and a CSR for its names (`tls.PrivateKey`, `tls.CertRequest`).
 *   3. The intermediate signs it (`tls.LocallySignedCert`).
 *   4. certstage keeps the result as a version (`upload`, the intermediate as `chainPem`) and
 *      serves it in staging, then production. The root stays out of the chain: clients trust it
 *      already, and certstage refuses a chain that ends with it (CHAIN_INCLUDES_ROOT).
 *
 * The server's key is a secret in `@pulumi/tls`'s state and stays one: `upload` is sent to the
 * provider as one secret input, and the version itself keeps no `privateKeyPem` output (the store
 * holds the key; set `exportPrivateKey: true` to have one). A new
 * `LocallySignedCert` (it is replaced before it expires, see `earlyRenewalHours`) gives new PEMs,
 * so `up` makes the next version and swaps the environments to it.
 *
 * Stack settings: none.
 */
import * as tls from "@pulumi/tls";
import { Certificate, CertificateVersion, EnvironmentDeployment } from "../../provider";

const names = ["internal-api.example.test"];

const rootKey = new tls.PrivateKey("root-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const root = new tls.SelfSignedCert("root", {
  privateKeyPem: rootKey.privateKeyPem,
  subject: { commonName: "Example internal root CA", organization: "Example Ltd" },
  isCaCertificate: true,
  validityPeriodHours: 10 * 365 * 24,
  allowedUses: ["cert_signing", "crl_signing"],
});

const intermediateKey = new tls.PrivateKey("intermediate-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const intermediate = new tls.LocallySignedCert("intermediate", {
  certRequestPem: new tls.CertRequest("intermediate-csr", {
    privateKeyPem: intermediateKey.privateKeyPem,
    subject: { commonName: "Example internal issuing CA", organization: "Example Ltd" },
  }).certRequestPem,
  caPrivateKeyPem: rootKey.privateKeyPem,
  caCertPem: root.certPem,
  isCaCertificate: true,
  validityPeriodHours: 3 * 365 * 24,
  allowedUses: ["cert_signing", "crl_signing"],
});

const serverKey = new tls.PrivateKey("internal-api-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const request = new tls.CertRequest("internal-api-csr", {
  privateKeyPem: serverKey.privateKeyPem,
  subject: { commonName: names[0] },
  dnsNames: names,
});
const signed = new tls.LocallySignedCert("internal-api-cert", {
  certRequestPem: request.certRequestPem,
  caPrivateKeyPem: intermediateKey.privateKeyPem,
  caCertPem: intermediate.certPem,
  validityPeriodHours: 90 * 24,
  earlyRenewalHours: 30 * 24,
  allowedUses: ["digital_signature", "server_auth"],
});

const api = new Certificate("internal-api", { name: "internal-api", displayName: "Internal API" });
const version = new CertificateVersion("internal-api", {
  certificate: api,
  upload: { certificatePem: signed.certPem, privateKeyPem: serverKey.privateKeyPem, chainPem: intermediate.certPem },
  domains: names,
});
const staging = new EnvironmentDeployment("internal-api-staging", { version, environment: "staging" });
const production = new EnvironmentDeployment("internal-api-production", { version, environment: "production" }, { dependsOn: [staging] });

export const versionNumber = version.version;
export const productionServes = production.deployedVersion;
export const fingerprint = version.fingerprintSha256;
export const rootCertificatePem = root.certPem;
export const intermediateCertificatePem = intermediate.certPem;
