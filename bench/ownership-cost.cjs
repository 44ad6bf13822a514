/**
 * What ownership costs as a store grows: the lookups that let a create adopt what an interrupted
 * run left, and that let a refresh name versions no resource owns.
 *
 * Stores of 10, 100 and 300 certificates, each with three versions made by one resource (the two
 * older ones released through Pulumi, as replacements leave them), so history holds about six
 * lines per certificate and grows with the store. For one certificate of each store:
 *
 * - "refresh read": the Certificate resource's provider `read` (what `pulumi refresh` runs per
 *   certificate: the record, its deployments, and the unclaimed-version check, which reads
 *   history because the certificate has superseded versions);
 * - "adoption lookup": what a CertificateVersion or AcmeRenewal create adds before it writes: the
 *   search for a version of its resource made from its inputs (here none matches, so it reads
 *   the versions and history and finds nothing);
 * - floor: the store reads every read or create does anyway (`getCertificate` + `listVersions` +
 *   `listDeployments`), measured in the same run.
 *
 * The difference between a row and its floor is what ownership adds; read how it grows with the
 * store: history is one file, so the check that needs it costs in proportion to all changes ever
 * made, not to this certificate's.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const MAKE_CERTIFICATES = path.join(REPOSITORY, "scripts", "make-test-certificates.sh");
const SIZES = [10, 100, 300];
const RUNS = { warmup: 5, iterations: 40 };
const URN = (name) => `urn:pulumi:bench::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::${name}`;

function material(pki, name) {
  const { inspectUpload } = require(path.join(DIST, "pki", "version-material.js"));
  const directory = execFileSync("bash", [MAKE_CERTIFICATES, pki, name, "90"], { encoding: "utf8" }).trim();
  const read = (file) => fs.readFileSync(path.join(directory, file), "utf8");
  const inspected = inspectUpload({ certificatePem: read("cert.pem"), privateKeyPem: read("key.pem"), chainPem: read("chain.pem") });
  if (!inspected.ok) throw new Error("bench certificate did not inspect");
  return inspected.value;
}

async function buildStore(root, size, versions) {
  const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
  const store = createFileStore({ root });
  const actor = { principal: "bench" };
  for (let index = 0; index < size; index += 1) {
    const name = `svc-${String(index).padStart(4, "0")}`;
    await store.createCertificate({ name, displayName: name, type: "server", owner: "bench", shareWith: [], description: "" }, actor);
    for (const [number, made] of versions.entries()) {
      await store.createVersion(name, "upload", made, actor, { urn: URN(name), inputs: `inputs-${number}` });
      if (number < versions.length - 1) await store.recordHistory({ actor: "bench", action: "version.release", certificate: name, fromVersion: number + 1, result: "ok" });
    }
    await store.deploy(name, "production", versions.length, actor);
  }
  return store;
}

async function ownershipCost() {
  const { configure, providerFor } = require(path.join(DIST, "resources", "runtime.js"));
  const { forgetRun } = require(path.join(DIST, "resources", "run-memory.js"));
  const certificates = providerFor("Certificate");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-ownership-"));
  const rows = [];
  try {
    const pki = path.join(work, "pki");
    const versions = ["v1", "v2", "v3"].map((label) => material(pki, `${label}.svc.example.test`));
    const { versionToAdopt } = require(path.join(DIST, "store", "adoption.js"));
    for (const size of SIZES) {
      const root = path.join(work, `store-${size}`);
      const store = await buildStore(root, size, versions);
      const history = (await store.readHistory()).length;
      configure({ get: (setting) => ({ "certstage:store": root, "certstage:principal": "bench" })[setting], require: () => undefined });
      const name = `svc-${String(Math.floor(size / 2)).padStart(4, "0")}`;
      const storeId = (await store.identity()).id;

      const floor = lib.summarize(await lib.timeInProcess(async () => {
        await store.getCertificate(name);
        await store.listVersions(name);
        await store.listDeployments(name);
      }, RUNS));
      const refresh = lib.summarize(await lib.timeInProcess(() => certificates.read(name, { name, storeId }), RUNS));
      forgetRun();
      const lookup = lib.summarize(await lib.timeInProcess(async () => {
        const found = await versionToAdopt(store, name, { urn: URN(name), inputs: "matches-nothing" }, () => false);
        if (found !== undefined) throw new Error("nothing should be adoptable");
      }, RUNS));
      rows.push([String(size), String(history), "floor: getCertificate + listVersions + listDeployments", ...lib.timingCells(floor)]);
      rows.push([String(size), String(history), "Certificate read (refresh), unclaimed check included", ...lib.timingCells(refresh)]);
      rows.push([String(size), String(history), "create's adoption lookup (versions + history, no match)", ...lib.timingCells(lookup)]);
      await store.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return {
    title: "Ownership checks as the store grows",
    description: [
      "Per certificate, in stores of 10, 100 and 300 certificates with three versions each (two released by replacements), one store-wide history.",
      "`Certificate read` is what `pulumi refresh` runs per certificate, including the check for versions no resource owns, which reads history because the certificate has superseded versions;",
      "The adoption lookup is what a CertificateVersion or AcmeRenewal create adds before it writes, when its resource has versions but none from its inputs.",
      "The floor is the store reads any read or create makes anyway. Growth of a row beyond its floor with the store's size is ownership's cost: history is one file read whole.",
    ].join(" "),
    tables: [{ headers: ["certificates", "history lines", "operation", ...lib.TIMING_HEADERS], rows }],
  };
}

module.exports = ownershipCost;
