/**
 * The floor of `certstage status --json` as a command line on the file store: a process that reads
 * the files status reads with plain synchronous `fs` (certificate.json, each versions directory
 * listed, versions.json, the environment links, releases.json, tasks, agent reports) and prints
 * each certificate's versions and deployments as status prints them, pretty-printed a few
 * certificates at a time. None of the store's checks (no lstat of each path component, no
 * O_NOFOLLOW, no validation of what was parsed) and none of status's rules (unclaimed versions,
 * standby swaps, agents' lag): what any Node command line must pay to show the same data.
 *
 *   node bench/status-floor-cli.cjs <store directory>
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function deploymentsOf(root) {
  const deployments = new Map();
  const environments = path.join(root, "environments");
  for (const environment of fs.readdirSync(environments).sort()) {
    for (const certificate of fs.readdirSync(path.join(environments, environment))) {
      const link = path.join(environments, environment, certificate);
      const changed = fs.lstatSync(link).mtime;
      const version = Number(path.basename(fs.readlinkSync(link)));
      if (!deployments.has(certificate)) deployments.set(certificate, {});
      deployments.get(certificate)[environment] = { version, deployedAt: changed.toISOString() };
    }
  }
  return deployments;
}

function main(root) {
  const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
  const deployments = deploymentsOf(root);
  readJson(path.join(root, "releases.json"));
  for (const directory of ["tasks", "agents"]) {
    for (const entry of fs.readdirSync(path.join(root, directory))) if (entry.endsWith(".json")) readJson(path.join(root, directory, entry));
  }
  const certificatesRoot = path.join(root, "certificates");
  const out = [];
  let batch = [];
  const takeBatch = () => {
    if (batch.length > 0) out.push(JSON.stringify(batch, null, 2).slice(2, -2));
    batch = [];
  };
  for (const name of fs.readdirSync(certificatesRoot).sort()) {
    const certificate = readJson(path.join(certificatesRoot, name, "certificate.json"));
    fs.readdirSync(path.join(certificatesRoot, name, "versions"), { withFileTypes: true });
    const versions = readJson(path.join(certificatesRoot, name, "versions.json")).versions.map((version) => ({
      version: version.version,
      method: version.method,
      serial: version.serial,
      subject: version.subject,
      sans: version.sans,
      notAfter: version.notAfter,
      fingerprintSha256: version.fingerprintSha256,
      unclaimed: false,
    }));
    batch.push({ name, displayName: certificate.displayName, type: certificate.type, owner: certificate.owner, latestVersion: certificate.lastVersion, versions, deployments: deployments.get(name) ?? {}, pending: {}, agents: [] });
    if (batch.length === 16) takeBatch();
  }
  takeBatch();
  process.stdout.write(`{\n  "certificates": [\n${out.join(",\n")}\n  ]\n}\n`);
}

if (require.main === module) main(process.argv[2]);
