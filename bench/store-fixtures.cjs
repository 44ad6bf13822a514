/**
 * Stores of a given size for the store benchmarks, made the way a team's store grows: through the
 * public Store API of the file driver (from dist/), and then, for the postgres driver, copied in
 * with `certstage store copy`'s path (provider/store/copy.ts: everything read, then written in one
 * transaction), which is the documented way to move a file store into PostgreSQL.
 *
 * Shape: `certificates` certificates owned by one team, `versions` versions each, all made by one
 * resource (one URN, inputs changing per version) as rotations through Pulumi make them. Every
 * version but the newest two was released by Pulumi (a `version.release` line in history, as a
 * replacement leaves it); the newest serves production and the one before staging. So status has
 * what it shows in real stores: deployments, a history to read for the unclaimed-version check
 * (nothing is unclaimed), a pending standby swap on every 50th certificate and an agent report on
 * every 10th.
 *
 * Writing the versions is the slow part (each is a locked, fsynced directory); a store is made once
 * per size and benchmark run, in a temporary directory the caller removes.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const MAKE_CERTIFICATES = path.join(REPOSITORY, "scripts", "make-test-certificates.sh");
const OWNER = "team-bench";
const ACTOR = { principal: "bench", teams: [OWNER] };

const certificateName = (index) => `svc-${String(index).padStart(4, "0")}`;
const urnOf = (name) => `urn:pulumi:bench::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::${name}`;

/** A few leaf certificates (with key and chain) made by OpenSSL in `pki`, inspected as an upload is. */
function makeMaterials(pki, count) {
  const { inspectUpload } = require(path.join(DIST, "pki", "version-material.js"));
  const materials = [];
  for (let index = 0; index < count; index += 1) {
    const directory = execFileSync("bash", [MAKE_CERTIFICATES, pki, `leaf${index}.example.test`, "90"], { encoding: "utf8" }).trim();
    const read = (file) => fs.readFileSync(path.join(directory, file), "utf8");
    const inspected = inspectUpload({ certificatePem: read("cert.pem"), privateKeyPem: read("key.pem"), chainPem: read("chain.pem") });
    if (!inspected.ok) throw new Error("bench certificate did not inspect");
    materials.push(inspected.value);
  }
  return materials;
}

/**
 * A file store at `root` with `certificates` × `versions` versions, made through the Store API.
 * Returns how long it took and what it holds.
 */
async function buildFileStore(root, { certificates, versions, materials }) {
  const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
  const store = createFileStore({ root });
  const started = Date.now();
  for (let index = 0; index < certificates; index += 1) {
    const name = certificateName(index);
    await store.createCertificate({ name, displayName: name, type: "server", owner: OWNER, shareWith: [], description: "" }, ACTOR);
    for (let number = 1; number <= versions; number += 1) {
      await store.createVersion(name, "upload", materials[(index + number) % materials.length], ACTOR, { urn: urnOf(name), inputs: `inputs-${number}` });
      if (number <= versions - 2) await store.recordHistory({ actor: ACTOR.principal, action: "version.release", certificate: name, fromVersion: number, result: "ok", detail: "replaced" });
    }
    await store.deploy(name, "production", versions, ACTOR);
    if (versions > 1) await store.deploy(name, "staging", versions - 1, ACTOR);
    if (index % 50 === 0) await store.queueTask({ certificate: name, environment: "canary", version: versions, notBefore: "2099-01-01T00:00:00.000Z", environments: [] }, ACTOR);
    if (index % 10 === 0) {
      await store.putAgentReport({ agentId: "edge-1", host: "edge-1.example.test", environment: "production", certificate: name, version: versions, lastSeen: new Date().toISOString() });
    }
  }
  await store.close();
  return { seconds: (Date.now() - started) / 1000, certificates, versions: certificates * versions };
}

/** Copies the file store at `root` into `target` (a PostgresStore whose role may copy: certstage_admin). */
async function copyIntoPostgres(root, target) {
  const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
  const { copyStore } = require(path.join(DIST, "store", "copy.js"));
  const started = Date.now();
  const source = createFileStore({ root });
  const summary = await copyStore(source, target);
  await source.close();
  return { seconds: (Date.now() - started) / 1000, ...summary };
}

module.exports = { OWNER, ACTOR, certificateName, urnOf, makeMaterials, buildFileStore, copyIntoPostgres };
