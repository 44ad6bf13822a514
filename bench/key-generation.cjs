/**
 * Key generation per algorithm: RSA-2048/3072/4096 and ECDSA P-256/P-384.
 *
 * certstage side: `generatePrivateKey` (the `generate` method's key maker, Node's crypto) from
 * the compiled build in this process, then the key exported to unencrypted PKCS#8 PEM, the form
 * certstage stores. Peer: `openssl genpkey` writing
 * the same PKCS#8 PEM to stdout, one process per key. Both ends finish with the same artefact (a
 * PEM private key in memory), and both use OpenSSL 3.0 underneath, so the difference is the
 * binding and the process model. Every openssl figure includes starting a process; the bare start
 * cost (`openssl version`) is reported as its own row so readers can subtract it.
 *
 * RSA generation searches for random primes, so its time varies a lot from key to key: read the
 * median and the spread, not a single run. Iteration counts keep the whole run within budget.
 */
"use strict";

const path = require("node:path");
const lib = require("./lib.cjs");

const { generatePrivateKey } = require(path.join(__dirname, "..", "dist", "provider", "pki", "key-generation.js"));

/** `label` is certstage's keyAlgorithm input. */
const ALGORITHMS = [
  { label: "RSA-2048", openssl: ["RSA", "rsa_keygen_bits:2048"], node: [2, 30], peer: [1, 30] },
  { label: "RSA-3072", openssl: ["RSA", "rsa_keygen_bits:3072"], node: [1, 12], peer: [1, 12] },
  { label: "RSA-4096", openssl: ["RSA", "rsa_keygen_bits:4096"], node: [1, 8], peer: [1, 8] },
  { label: "ECDSA-P256", openssl: ["EC", "ec_paramgen_curve:P-256"], node: [20, 200], peer: [3, 30] },
  { label: "ECDSA-P384", openssl: ["EC", "ec_paramgen_curve:P-384"], node: [20, 200], peer: [3, 30] },
];

const PKCS8_HEADER = "-----BEGIN PRIVATE KEY-----";

function expectPkcs8Pem(pem) {
  if (!pem.startsWith(PKCS8_HEADER)) throw new Error(`expected a PKCS#8 PEM key, got ${JSON.stringify(pem.slice(0, 40))}`);
}

/** What certstage does to make a key: generate, then keep the private half as PKCS#8 PEM. */
async function generatePkcs8Pem(algorithm) {
  const privateKey = await generatePrivateKey(algorithm.label);
  const pem = privateKey.export({ type: "pkcs8", format: "pem" });
  expectPkcs8Pem(pem);
  return pem;
}

async function measureNode(algorithm) {
  const [warmup, iterations] = algorithm.node;
  const before = lib.memorySnapshot();
  const samples = await lib.timeInProcess(() => generatePkcs8Pem(algorithm), { warmup, iterations });
  const memory = lib.memoryDelta(before, lib.memorySnapshot());
  return { stats: lib.summarize(samples), memory };
}

function measureOpenssl(algorithm) {
  const [warmup, iterations] = algorithm.peer;
  const [name, option] = algorithm.openssl;
  const args = ["genpkey", "-algorithm", name, "-pkeyopt", option];
  return { stats: lib.summarize(lib.timeChildProcesses("openssl", args, { warmup, iterations, check: expectPkcs8Pem })) };
}

const HEADERS = ["algorithm", "implementation", ...lib.TIMING_HEADERS, "RSS Δ MiB", "heap Δ MiB", "notes"];

async function keyGeneration() {
  const rows = [];
  for (const algorithm of ALGORITHMS) {
    const node = await measureNode(algorithm);
    rows.push([algorithm.label, "certstage generatePrivateKey → PKCS#8 PEM", ...lib.timingCells(node.stats), node.memory.rss, node.memory.heapUsed, "in-process, async"]);
    const peer = measureOpenssl(algorithm);
    rows.push([algorithm.label, "openssl genpkey → stdout", ...lib.timingCells(peer.stats), "n/a", "n/a", "includes process start"]);
  }
  const start = lib.measureOpensslProcessStart();
  rows.push(["(none)", "openssl version (bare process start)", ...lib.timingCells(start), "n/a", "n/a", "subtract from openssl rows"]);

  return {
    title: "Key generation",
    description: [
      "One private key per iteration, ending as unencrypted PKCS#8 PEM in memory on both sides.",
      "certstage's `generatePrivateKey` (Node's crypto) runs in this process, then `export({ type: \"pkcs8\", format: \"pem\" })`, the form certstage stores;",
      "`openssl genpkey` runs as one process per key and writes to stdout, so its figure includes process start.",
      "RSA timings vary widely because prime search is random; compare medians. Memory is this process's growth",
      "across the timed Node loop after a full GC (retained memory, not peak); the openssl process is not measured.",
    ].join(" "),
    tables: [{ headers: HEADERS, rows }],
  };
}

module.exports = keyGeneration;
