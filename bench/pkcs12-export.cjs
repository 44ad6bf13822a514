/**
 * A version as a PKCS#12 keystore (the `keystore` input): certstage's `buildPkcs12` (node-forge's
 * ASN.1 and PBE pieces, pki/pkcs12.ts) in this process, against `openssl pkcs12 -export` writing
 * the same kind of file, one process per keystore. Both profiles: modern (AES-256-CBC under
 * PBKDF2-HMAC-SHA256, SHA-256 MAC, OpenSSL 3's default) and legacy (3DES, SHA-1 MAC), with an
 * ECDSA P-256 leaf and a chain of 0, 1 and 2 certificates (leaf only; the intermediate; the
 * intermediate and the root), so the cost is seen as the file grows.
 *
 * Both sides run 2048 PBKDF2 iterations per encrypted bag and for the MAC: most of the time is
 * that, by design (it is what makes a stolen file slow to guess). The openssl rows include
 * starting a process; `openssl version` is the bare start cost. The material is made with
 * scripts/make-test-certificates.sh in a temporary directory and deleted afterwards.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const { buildPkcs12 } = require(path.join(REPOSITORY, "dist", "provider", "pki", "pkcs12.js"));

const PASSWORD = "bench-keystore-passphrase";
const PROFILES = [
  { name: "modern", openssl: [] },
  { name: "legacy", openssl: ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"] },
];
const ITERATIONS = { warmup: 3, iterations: 30 };

/** A PKCS#12 file starts with a SEQUENCE; anything else (an error text) must not look fast. */
function expectPkcs12(bytes) {
  if (!Buffer.isBuffer(bytes) || bytes.length < 100 || bytes[0] !== 0x30) throw new Error("expected a DER PKCS#12 keystore");
}

function material(directory) {
  const leafDirectory = execFileSync("bash", [path.join(REPOSITORY, "scripts", "make-test-certificates.sh"), directory, "api.example.test", "90"], { encoding: "utf8" }).trim();
  const read = (file) => fs.readFileSync(file, "utf8");
  const intermediate = read(path.join(leafDirectory, "chain.pem"));
  const root = read(path.join(directory, "ca", "root.pem"));
  const chains = [
    { label: "leaf only", chainPem: "" },
    { label: "+ intermediate", chainPem: intermediate },
    { label: "+ intermediate + root", chainPem: intermediate + root },
  ];
  return { leafDirectory, certificatePem: read(path.join(leafDirectory, "cert.pem")), privateKeyPem: read(path.join(leafDirectory, "key.pem")), chains };
}

async function pkcs12Export() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-p12-"));
  const rows = [];
  try {
    const made = material(scratch);
    for (const chain of made.chains) {
      const chainFile = path.join(scratch, `chain-${chain.label.replace(/\W+/g, "-")}.pem`);
      fs.writeFileSync(chainFile, chain.chainPem);
      for (const profile of PROFILES) {
        let size = 0;
        const ours = lib.summarize(
          await lib.timeInProcess(() => {
            const bytes = buildPkcs12({ certificatePem: made.certificatePem, chainPem: chain.chainPem, privateKeyPem: made.privateKeyPem }, { password: PASSWORD, profile: profile.name, friendlyName: "api" });
            expectPkcs12(bytes);
            size = bytes.length;
          }, ITERATIONS),
        );
        const args = ["pkcs12", "-export", "-inkey", path.join(made.leafDirectory, "key.pem"), "-in", path.join(made.leafDirectory, "cert.pem"), ...(chain.chainPem ? ["-certfile", chainFile] : []), "-name", "api", "-passout", `pass:${PASSWORD}`, ...profile.openssl];
        let peerSize = 0;
        const peer = lib.summarize(lib.timeChildProcesses("openssl", args, { ...ITERATIONS, encoding: "buffer", check: (stdout) => (expectPkcs12(stdout), (peerSize = stdout.length)) }));
        rows.push([chain.label, profile.name, "certstage buildPkcs12", ...lib.timingCells(ours), `${size} B`, "in-process"]);
        rows.push([chain.label, profile.name, "openssl pkcs12 -export", ...lib.timingCells(peer), `${peerSize} B`, "includes process start"]);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  rows.push(["(none)", "", "openssl version (bare process start)", ...lib.timingCells(lib.measureOpensslProcessStart()), "", "subtract from openssl rows"]);
  return {
    title: "PKCS#12 keystores",
    description: [
      "One keystore per iteration for an ECDSA P-256 leaf, its key and a chain of 0, 1 or 2 certificates: certstage's `buildPkcs12` (what a version with `keystore` runs at create) in this process, against `openssl pkcs12 -export` to stdout, one process per file.",
      "modern is AES-256-CBC under PBKDF2-HMAC-SHA256 with a SHA-256 MAC (OpenSSL 3's default); legacy is 3DES with a SHA-1 MAC.",
      "Both run 2048 key-derivation iterations per encrypted bag and for the MAC, most of the work by design; the openssl rows include starting a process.",
    ].join(" "),
    tables: [{ headers: ["chain", "profile", "implementation", ...lib.TIMING_HEADERS, "file", "notes"], rows }],
  };
}

module.exports = pkcs12Export;
