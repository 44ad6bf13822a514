/**
 * What editors show for each field of `certificates.yaml`: a title, a description and an example,
 * and the meaning of each allowed value. The constraints themselves come from the resources'
 * schemas (schema.ts); only the words live here, keyed `<definition>.<field>`.
 */
export interface FieldDoc {
  readonly title: string;
  readonly description: string;
  readonly example: unknown;
  /** For an enumeration: what each value means. */
  readonly values?: Readonly<Record<string, string>>;
}

const KEY_ALGORITHM_VALUES = {
  "RSA-2048": "RSA with a 2048-bit modulus: the most widely supported key",
  "RSA-3072": "RSA with a 3072-bit modulus",
  "RSA-4096": "RSA with a 4096-bit modulus: slower handshakes",
  "ECDSA-P256": "ECDSA on NIST P-256: small and fast, supported by every current client",
  "ECDSA-P384": "ECDSA on NIST P-384",
};

const NAME_RULE = "1-64 lower-case ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit";

export const FIELD_DOCS: Readonly<Record<string, FieldDoc>> = {
  manifest: { title: "certstage manifest", description: "The certificates of a Pulumi stack, their versions and what each environment serves. The Manifest component and `certstage lint` read it.", example: { certificates: {} } },
  "manifest.$schema": { title: "JSON Schema", description: "The schema editors validate this file against; certstage ignores it.", example: "https://certstage.dev/schema/manifest.schema.json" },
  "manifest.certificates": { title: "Certificates", description: `Certificates by name. The name (${NAME_RULE}) is the certificate's identity in the store and in the paths servers read; renaming one replaces it.`, example: { api: { displayName: "API gateway" } } },

  certificate: { title: "Certificate", description: "A named container of immutable, numbered versions.", example: { displayName: "API gateway", versions: {}, deployments: {} } },
  "certificate.displayName": { title: "Display name", description: "Human label; renaming changes only this. Default: the certificate's name.", example: "API gateway" },
  "certificate.type": { title: "Type", description: "What the certificate is for. Default: server.", example: "server", values: { server: "a TLS server certificate, with its private key", ca: "a trust anchor (CA certificate) that clients install; no key needed" } },
  "certificate.owner": { title: "Owner", description: "The principal (a person or a team) who may create versions and deploy them. Default: who runs the first `pulumi up`.", example: "team-edge" },
  "certificate.shareWith": { title: "Shared with", description: "Principals who may read the certificate's versions and refer to them from their own stacks.", example: ["team-web"] },
  "certificate.description": { title: "Description", description: "Free text for people: what the certificate protects.", example: "TLS certificate of api.example.com" },
  "certificate.profile": { title: "Validation profile", description: "The rules its versions are held to at preview. Default: the stack's certstage:profile setting.", example: "public", values: { public: "the Web PKI's rules (CA/Browser Forum Baseline Requirements), for publicly trusted certificates", private: "an internal CA's rules: only what every TLS client enforces" } },
  "certificate.versions": { title: "Versions", description: `Versions by a name you choose (${NAME_RULE}); deployments refer to them by it. The store numbers them 1, 2, 3… in the order they are made. Removing one deletes it, which is refused while an environment serves it.`, example: { v1: { generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.com" }, sans: ["api.example.com"] } } } },
  "certificate.deployments": { title: "Deployments", description: "Per environment (as configured by certstage:environments, default staging and production), the version it serves.", example: { staging: { version: "v2" }, production: { version: "v1" } } },

  version: { title: "Version", description: "One immutable version, made by exactly one of upload, generate, signed or acme. Changing what it is made from makes a new version.", example: { upload: { certificateFile: "certs/api.pem", privateKeyFile: "certs/api.key" } } },
  "version.domains": { title: "Domains", description: "Names the certificate must cover; checked at preview (not for acme, which names its own domains).", example: ["api.example.com"] },
  "version.acknowledge": { title: "Acknowledged warnings", description: "Warning codes accepted for this version, as preview printed them; errors cannot be acknowledged.", example: ["CHAIN_ORDER"] },

  keystore: { title: "Keystore", description: "Also save the version as a PKCS#12 keystore (keystore.p12 beside its PEMs, published where they are deployed), for Java, Windows and appliances. Not for acme versions. Another password or profile makes a new version.", example: { passwordFrom: "certstage:apiKeystorePassword", profile: "legacy" } },
  "keystore.passwordFrom": { title: "Password from", description: "Where the keystore's password is, never the password itself: certstage:<key>, a stack config secret (pulumi config set --secret certstage:<key> …), or env:<NAME>, an environment variable of `pulumi up`. At least 8 printable ASCII characters.", example: "certstage:apiKeystorePassword" },
  "keystore.profile": { title: "Profile", description: "The keystore's algorithms. Default: modern.", example: "legacy", values: { modern: "AES-256-CBC under PBKDF2-HMAC-SHA256, SHA-256 MAC: OpenSSL 3, Java 12+, Windows 10 1709+", legacy: "3DES, SHA-1 MAC: Java 8, older Windows and appliances" } },
  "keystore.friendlyName": { title: "Friendly name", description: "The entry's alias (Java's keytool shows it). Default: the certificate's name.", example: "api" },

  upload: { title: "Upload", description: "A certificate issued elsewhere, read from files next to the manifest.", example: { certificateFile: "certs/api.pem", privateKeyFile: "certs/api.key", chainFile: "certs/chain.pem" } },
  "upload.certificateFile": { title: "Certificate file", description: "PEM file of the certificate, relative to the manifest.", example: "certs/api.pem" },
  "upload.privateKeyFile": { title: "Private key file", description: "PEM file of its private key, relative to the manifest; required for server certificates, stored as a secret. Keep it out of the repository (write it in CI).", example: "certs/api.key" },
  "upload.chainFile": { title: "Chain file", description: "PEM file of the intermediate certificates, leaf-most first, relative to the manifest.", example: "certs/chain.pem" },

  generate: { title: "Generate", description: "A new private key, a CSR to send to a CA and a self-signed placeholder certificate; no key file ever leaves the store.", example: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.com" }, sans: ["api.example.com"] } },
  "generate.keyAlgorithm": { title: "Key algorithm", description: "The algorithm of the new key.", example: "ECDSA-P256", values: KEY_ALGORITHM_VALUES },
  "generate.sans": { title: "Subject alternative names", description: "DNS names and IP addresses the certificate is for (clients check these, not the common name).", example: ["api.example.com", "www.example.com"] },
  subject: { title: "Subject", description: "The distinguished name of the certificate and its CSR.", example: { commonName: "api.example.com", organization: "Example Ltd", country: "DE" } },
  "subject.commonName": { title: "Common name", description: "CN, usually the first DNS name.", example: "api.example.com" },
  "subject.organization": { title: "Organization", description: "O: the organization's legal name.", example: "Example Ltd" },
  "subject.organizationalUnit": { title: "Organizational unit", description: "OU.", example: "Platform" },
  "subject.locality": { title: "Locality", description: "L: city.", example: "Berlin" },
  "subject.state": { title: "State", description: "ST: state or province.", example: "Berlin" },
  "subject.country": { title: "Country", description: "C: a two-letter ISO 3166 country code in capitals.", example: "DE" },

  signed: { title: "Signed", description: "The CA's certificate for the key of an earlier version (its CSR), reusing that key.", example: { keyFromVersion: "v1", certificateFile: "certs/api-signed.pem", chainFile: "certs/chain.pem" } },
  "signed.keyFromVersion": { title: "Key from version", description: "The version whose key the CA certified: its name in this manifest, or its number in the store.", example: "v1" },
  "signed.certificateFile": { title: "Certificate file", description: "PEM file of the certificate the CA returned, relative to the manifest.", example: "certs/api-signed.pem" },
  "signed.chainFile": { title: "Chain file", description: "PEM file of the intermediates the CA returned, relative to the manifest.", example: "certs/chain.pem" },

  acme: { title: "ACME", description: "Certificates from an ACME CA (RFC 8555), renewed by `pulumi up` when due; each issuance is a new version.", example: { domains: ["api.example.com"], directory: "letsencrypt", acceptTermsOfService: true, challenge: { type: "http-01", webroot: "/var/www/acme" } } },
  "acme.domains": { title: "Domains", description: "Names to order the certificate for.", example: ["api.example.com"] },
  "acme.directory": { title: "Directory", description: "letsencrypt, letsencrypt-staging, or the https URL of an ACME directory.", example: "letsencrypt" },
  "acme.directoryCaFile": { title: "Directory CA file", description: "PEM file of an extra root to trust for the directory's HTTPS (a private ACME CA), relative to the manifest.", example: "certs/acme-root.pem" },
  "acme.contact": { title: "Contact", description: "Contact e-mail address of the ACME account.", example: "ops@example.com" },
  "acme.acceptTermsOfService": { title: "Accept terms of service", description: "You agree to the CA's terms of service; must be true.", example: true },
  "acme.keyAlgorithm": { title: "Key algorithm", description: "The algorithm of each new key. Default: ECDSA-P256.", example: "ECDSA-P256", values: KEY_ALGORITHM_VALUES },
  "acme.keyPolicy": { title: "Key policy", description: "Whether a renewal gets a new key.", example: "always", values: { always: "a new key for every renewal (the default)", reuse: "keep the key across renewals" } },
  "acme.renewBefore": { title: "Renew before", description: "Renew this long before expiry. Default: a third of the lifetime (half when it is 10 days or less).", example: "30d" },
  "acme.renewBeforePercent": { title: "Renew before (percent)", description: "Renew when this share of the lifetime is left.", example: 33 },
  "acme.profile": { title: "ACME profile", description: "The CA's certificate profile, when it offers profiles.", example: "shortlived" },
  "acme.preferredChain": { title: "Preferred chain", description: "Issuer common name of the chain to prefer, when the CA offers several.", example: "ISRG Root X1" },
  "acme.revokeOnDelete": { title: "Revoke on delete", description: "Revoke the last certificate when this version is removed from the manifest and nothing serves it.", example: false },
  challenge: { title: "Challenge", description: "How the CA validates control of the names.", example: { type: "dns-01", hook: ["./dns-hook.sh"] } },
  "challenge.type": { title: "Challenge type", description: "The ACME challenge to answer.", example: "http-01", values: { "http-01": "serve a token over HTTP on port 80 (listen or webroot)", "dns-01": "publish a TXT record with a hook command (needed for wildcards)" } },
  "challenge.listen": { title: "Listen", description: "http-01: host:port of the built-in responder.", example: "0.0.0.0:80" },
  "challenge.webroot": { title: "Web root", description: "http-01: document root of a web server that serves /.well-known/acme-challenge/.", example: "/var/www/acme" },
  "challenge.hook": { title: "Hook", description: "dns-01: command run as <hook...> present|cleanup <record name> <value>.", example: ["./dns-hook.sh"] },

  deployment: { title: "Deployment", description: "Which version an environment serves. Changing the version swaps it atomically.", example: { version: "v2", mode: "standby", notBefore: "2026-12-01T02:00:00Z" } },
  "deployment.version": { title: "Version", description: "The version to serve: its name in this manifest, or its number in the store (a rollback to a version made elsewhere).", example: "v2" },
  "deployment.state": { title: "State", description: "Whether the environment serves the certificate. undeployed keeps the deployment in the stack; with mode standby, a task undeploys it. Default: deployed.", example: "undeployed", values: { deployed: "serve version", undeployed: "stop serving the certificate in this environment" } },
  "deployment.mode": { title: "Mode", description: "When the swap (or undeploy) happens. Default: now.", example: "now", values: { now: "swap or undeploy during `pulumi up`", standby: "record it as a task that `certstage tasks run` performs" } },
  "deployment.notBefore": { title: "Not before", description: "With mode standby, the task does not run before this RFC 3339 time.", example: "2026-12-01T02:00:00Z" },
  verify: { title: "Verify", description: "What must show the new version after the swap: TLS endpoints, the environment's live agents, or both. Failing, the previous version is put back.", example: { endpoints: ["127.0.0.1:8443"] } },
  "verify.endpoints": { title: "Endpoints", description: "host:port endpoints that terminate TLS for this certificate.", example: ["127.0.0.1:8443"] },
  "verify.serverName": { title: "Server name", description: "SNI name to ask for. Default: the certificate's first SAN.", example: "api.example.com" },
  "verify.timeoutMs": { title: "Timeout (ms)", description: "The whole verification, the settle period included. Default: 30000.", example: 30000 },
  "verify.settleMs": { title: "Settle (ms)", description: "How long consecutive handshakes must all get the new certificate. Default: 1000.", example: 1000 },
  agents: { title: "Agents", description: "Wait for the environment's live agents (certstage agent) to report and serve the new version.", example: { minimum: 2 } },
  "agents.minimum": { title: "Minimum agents", description: "How many live agents must report. Default: 1.", example: 2 },
  "agents.liveWithinMs": { title: "Live within (ms)", description: "An agent silent for longer is not live and is not waited for. Default: 180000.", example: 180000 },
};
