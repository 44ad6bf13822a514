/**
 * The CSR flow and the re-key pattern, as a team runs them against a commercial or internal CA.
 *
 *   1. `generate` makes a key and a CSR (stack output `csrPem`) with a self-signed placeholder.
 *   2. Send the CSR to the CA. Put its answer in `signed/cert.pem` and `signed/chain.pem` and set
 *      `pulumi config set signedFromVersion <the generate version number>`.
 *   3. `up`: a `signed` version reuses the generated key (it never leaves the store) and is deployed.
 *   Re-key (key compromised, new algorithm): set `rekey: true`. A new `generate` version with a
 *   new key and CSR appears while staging and production keep serving the signed version. When
 *   the CA answers, put the new certificate in `signed/` and point `signedFromVersion` at the
 *   re-key version: `up` deploys it. The old key is then no longer served anywhere.
 *
 * Stack settings: signedFromVersion (number), rekey (boolean), keyAlgorithm (default ECDSA-P256).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Certificate, CertificateVersion, EnvironmentDeployment, KeyAlgorithm, projectDirectory } from "../../provider";

const config = new pulumi.Config();
const names = ["api.example.test", "www.example.test"];
const keyAlgorithm = (config.get("keyAlgorithm") ?? "ECDSA-P256") as KeyAlgorithm;

const api = new Certificate("api", { name: "api", displayName: "API gateway" });

const request = new CertificateVersion("api-request", {
  certificate: api,
  generate: { keyAlgorithm, subject: { commonName: names[0], organization: "Example Ltd" }, sans: names },
  domains: names,
});
export const csrPem = request.csrPem;
export const requestVersion = request.version;

// A re-key is just another `generate`: its own key and CSR, served by nothing until signed.
if (config.getBoolean("rekey")) {
  const rekey = new CertificateVersion("api-rekey", {
    certificate: api,
    generate: { keyAlgorithm: "ECDSA-P384", subject: { commonName: names[0], organization: "Example Ltd" }, sans: names },
    domains: names,
  });
  exports.rekeyCsrPem = rekey.csrPem;
  exports.rekeyVersion = rekey.version;
}

const signedFromVersion = config.getNumber("signedFromVersion");
if (signedFromVersion !== undefined) {
  const answer = (file: string) => fs.readFileSync(path.join(projectDirectory(), "signed", file), "utf8");
  const signed = new CertificateVersion("api-signed", {
    certificate: api,
    signed: { keyFromVersion: signedFromVersion, certificatePem: answer("cert.pem"), chainPem: answer("chain.pem") },
    domains: names,
  });
  for (const environment of ["staging", "production"]) {
    new EnvironmentDeployment(`api-${environment}`, { version: signed, environment });
  }
  exports.servedVersion = signed.version;
  exports.servedKeyId = signed.jwk.apply((jwk) => jwk.kid);
}
