/**
 * Staging on nginx, production on HAProxy: every new version reaches staging first, is verified
 * there by TLS handshakes, and only then goes to production, either in the same `up` or as a
 * standby task that a scheduled job runs in the change window.
 *
 * Stack configuration (the servers' side is in the README's "Environments" section):
 *
 *   pulumi config set certstage:environments '[
 *     {"name": "staging",
 *      "target": {"type": "directory", "reload": ["nginx", "-s", "reload"]},
 *      "verify": {"endpoints": ["127.0.0.1:443"], "serverName": "api.example.com"}},
 *     {"name": "production",
 *      "target": {"type": "haproxy", "socket": "/run/haproxy/admin.sock", "certificatePath": "/etc/haproxy/certs/api.pem"},
 *      "verify": {"endpoints": ["10.0.0.5:443", "10.0.0.6:443"], "serverName": "api.example.com"},
 *      "promotion": {"requires": "staging"}}
 *   ]'
 *   pulumi config set certificates '{"v1": "certs/api-1", "v2": "certs/api-2"}'   # cert.pem, chain.pem, key.pem each
 *   pulumi config set staging v2
 *   pulumi config set production v1
 *   pulumi config set productionWindow 2026-12-01T02:00:00Z   # optional: swap production in this window
 *
 * With `productionWindow` set, `up` only queues production's swap; `certstage tasks run` (cron, a
 * CI schedule) performs it once the time has come, verifies it, and swaps back if it fails.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Certificate, CertificateVersion, EnvironmentDeployment, projectDirectory } from "../../provider";

const config = new pulumi.Config();
const api = new Certificate("api", { name: "api", displayName: "API gateway" });

// One CertificateVersion per set of files; removing one from config keeps its version in the store.
// Version numbers follow creation: versions created in the same `up` are numbered in whatever order
// they finish, so add new files one `up` at a time when the numbers should follow the names.
const versions: Record<string, CertificateVersion> = {};
for (const [name, directory] of Object.entries(config.requireObject<Record<string, string>>("certificates"))) {
  const read = (file: string) => fs.readFileSync(path.resolve(projectDirectory(), directory, file), "utf8");
  versions[name] = new CertificateVersion(`api-${name}`, {
    certificate: api,
    upload: { certificatePem: read("cert.pem"), chainPem: read("chain.pem"), privateKeyPem: pulumi.secret(read("key.pem")) },
  });
}

const staging = new EnvironmentDeployment("api-staging", { version: versions[config.require("staging")], environment: "staging" });

const window = config.get("productionWindow");
const production = new EnvironmentDeployment(
  "api-production",
  {
    version: versions[config.require("production")],
    environment: "production",
    ...(window ? { mode: "standby" as const, notBefore: window } : {}),
  },
  // Promotion needs staging verified first: in one `up`, production waits for staging's swap.
  { dependsOn: [staging] },
);

export const stagingVersion = staging.deployedVersion;
export const productionVersion = production.deployedVersion;
/** `pending` while a standby swap waits for `certstage tasks run`; `deployed` after a refresh once it ran. */
export const productionStatus = production.status;
