/**
 * Checking a 3-certificate chain: root CA -> intermediate -> leaf (EC P-256, SAN api.example.test).
 *
 * certstage side: the `upload` method's `examine` from the compiled build (what `check`, and so
 * `pulumi preview`, runs on an upload: parse every PEM, prove the key matches, order and verify
 * the chain, apply every certificate policy), called in this process with the chain given as
 * intermediate then root and CHAIN_INCLUDES_ROOT acknowledged. Peer: `openssl verify -CAfile root.pem -untrusted
 * intermediate.pem leaf.pem`, one process per check, so it includes process start; the bare start
 * cost (`openssl version`) is reported as its own row so readers can subtract it.
 *
 * The two overlap but are not identical: both build the path and verify every signature; certstage
 * also parses the key, proves it matches the leaf and applies its policies (dates, names, key
 * strength, lifetime), while openssl also checks purposes and constraints. A reference row times the bare
 * node:crypto signature checks of the same chain so the in-process cost of that part is visible.
 * The material is made with openssl in a temporary directory at bench time and deleted afterwards.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { X509Certificate } = require("node:crypto");
const { performance } = require("node:perf_hooks");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const VERSION_MATERIAL_JS = path.join(REPOSITORY, "dist", "provider", "resources", "version-methods", "upload.js");
const MAKE_CERTIFICATES = path.join(REPOSITORY, "scripts", "make-test-certificates.sh");
const DNS_NAME = "api.example.test";

const NODE_RUNS = { warmup: 50, iterations: 500 };
const OPENSSL_RUNS = { warmup: 3, iterations: 50 };
const DIST_WAIT_MS = 3 * 60 * 1000;

/** Root, intermediate and leaf made by the project's own throwaway-certificate script. */
function makeChainMaterial(directory) {
  const leafDirectory = execFileSync("bash", [MAKE_CERTIFICATES, directory, DNS_NAME, "90"], { encoding: "utf8" }).trim();
  const files = {
    root: path.join(directory, "ca", "root.pem"),
    intermediate: path.join(directory, "ca", "intermediate.pem"),
    leaf: path.join(leafDirectory, "cert.pem"),
    key: path.join(leafDirectory, "key.pem"),
  };
  const read = (file) => fs.readFileSync(file, "utf8");
  return { files, root: read(files.root), intermediate: read(files.intermediate), leaf: read(files.leaf), key: read(files.key) };
}

/**
 * Loads the compiled module, waiting while dist/ is missing or half-written: another process may
 * be compiling at the same time. Returns the load time of the successful attempt.
 */
async function loadInspectUpload() {
  const deadline = Date.now() + DIST_WAIT_MS;
  for (;;) {
    try {
      const start = performance.now();
      const { uploadMethod } = require(VERSION_MATERIAL_JS);
      const loadMs = performance.now() - start;
      if (typeof uploadMethod?.examine !== "function") throw new Error("uploadMethod.examine is not exported");
      // The upload method reads nothing from the store; check() supplies the certificate's type.
      const inspectUpload = (upload) =>
        uploadMethod.examine({ inputs: { certificate: "api", upload, acknowledge: ["CHAIN_INCLUDES_ROOT"] }, store: undefined, certificateType: "server", now: new Date() });
      return { inspectUpload, loadMs };
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`cannot load ${VERSION_MATERIAL_JS}: ${error.message}; run \`npm run build\``);
      console.error(`waiting for ${path.relative(REPOSITORY, VERSION_MATERIAL_JS)} (${error.message.split("\n")[0]})`);
      for (const cached of Object.keys(require.cache)) if (cached.startsWith(path.join(REPOSITORY, "dist"))) delete require.cache[cached];
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
  }
}

/** `ok`, or the problem codes, so the table says what the timed call actually concluded. */
function describeOutcome(examination) {
  return examination.problems.length === 0 ? "ok" : `not ok: ${examination.problems.map((problem) => problem.code).join(", ")}`;
}

/** The signature checks openssl verify performs, done with node:crypto from PEM text. */
function verifySignaturesWithNodeCrypto(material) {
  const leaf = new X509Certificate(material.leaf);
  const intermediate = new X509Certificate(material.intermediate);
  const root = new X509Certificate(material.root);
  const valid =
    leaf.checkIssued(intermediate) &&
    leaf.verify(intermediate.publicKey) &&
    intermediate.checkIssued(root) &&
    intermediate.verify(root.publicKey) &&
    root.verify(root.publicKey);
  if (!valid) throw new Error("node:crypto found the benchmark chain invalid");
}

async function checkChain() {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-"));
  try {
    const material = makeChainMaterial(directory);
    const { inspectUpload, loadMs } = await loadInspectUpload();
    const input = { certificatePem: material.leaf, privateKeyPem: material.key, chainPem: material.intermediate + material.root };
    const inspect = () => inspectUpload(input);
    const timeAsync = async (action) => {
      const start = performance.now();
      const result = await action();
      return { result, ms: performance.now() - start };
    };
    const rows = [];

    rows.push(["certstage", "require(version-methods/upload.js)", ...lib.timingCells(lib.summarize([loadMs])), "n/a", "n/a", "module load, once"]);

    const first = await timeAsync(inspect);
    rows.push(["certstage", "check an upload, first call", ...lib.timingCells(lib.summarize([first.ms])), "n/a", "n/a", describeOutcome(first.result)]);

    const before = lib.memorySnapshot();
    const warmSamples = await lib.timeInProcess(inspect, NODE_RUNS);
    const memory = lib.memoryDelta(before, lib.memorySnapshot());
    const warmOutcome = describeOutcome(await inspect());
    rows.push(["certstage", `check an upload, warm (${NODE_RUNS.warmup} warm-up)`, ...lib.timingCells(lib.summarize(warmSamples)), memory.rss, memory.heapUsed, warmOutcome]);

    const referenceBefore = lib.memorySnapshot();
    const referenceSamples = await lib.timeInProcess(() => verifySignaturesWithNodeCrypto(material), NODE_RUNS);
    const referenceMemory = lib.memoryDelta(referenceBefore, lib.memorySnapshot());
    rows.push(["reference", "node:crypto parse + verify 3 signatures", ...lib.timingCells(lib.summarize(referenceSamples)), referenceMemory.rss, referenceMemory.heapUsed, "not certstage; the signature work openssl verify does"]);

    const { files } = material;
    const verifyArgs = ["verify", "-CAfile", files.root, "-untrusted", files.intermediate, files.leaf];
    const expectOk = (stdout) => {
      if (!stdout.trim().endsWith(": OK")) throw new Error(`openssl verify did not say OK: ${stdout.trim()}`);
    };
    const peerSamples = lib.timeChildProcesses("openssl", verifyArgs, { ...OPENSSL_RUNS, check: expectOk });
    rows.push(["openssl", "openssl verify -CAfile -untrusted", ...lib.timingCells(lib.summarize(peerSamples)), "n/a", "n/a", "OK; includes process start"]);

    const start = lib.measureOpensslProcessStart();
    rows.push(["openssl", "openssl version (bare process start)", ...lib.timingCells(start), "n/a", "n/a", "subtract from the verify row"]);

    return {
      title: "Checking a 3-certificate chain",
      description: [
        `Leaf (EC P-256, SAN ${DNS_NAME}) signed by an intermediate signed by a root, all made with openssl at bench time.`,
        "certstage: the `upload` method's `examine` (what `check` runs at `pulumi preview`) from `dist/`, with the leaf, its key, and the chain",
        "as intermediate then root (CHAIN_INCLUDES_ROOT acknowledged), in this process; the notes give what it concluded (`ok` or its codes).",
        "openssl: `openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem`, one process per check, so it includes process start.",
        "Both build the path and verify every signature; certstage also parses the key, matches it to the leaf and applies its policies.",
        "The reference row is the bare node:crypto signature checks of the same chain. Memory is this process's growth across the",
        "timed loop after a full GC.",
      ].join(" "),
      tables: [{ headers: ["side", "what", ...lib.TIMING_HEADERS, "RSS Δ MiB", "heap Δ MiB", "notes"], rows }],
    };
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

module.exports = checkChain;
