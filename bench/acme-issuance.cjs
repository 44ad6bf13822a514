/**
 * ACME issuance: 20 new certificates (ECDSA P-256, http-01, one name each) from one local Pebble,
 * by certstage, lego and certbot in the same run.
 *
 * One Pebble v2.10.1 serves the whole benchmark (test/support/pebble.ts, transpiled at bench time
 * so the helper is not duplicated here), with no rejected nonces and no authorization reuse, so
 * every order needs a fresh http-01 validation (each order is for a name never validated before,
 * so there is no authorization to reuse: Pebble reuses 1 in 100 even at PEBBLE_AUTHZREUSE=0). Pebble's validation authority resolves names
 * through pebble-challtestsrv (each name is registered with addHost first) and always dials
 * 127.0.0.1:<httpChallengePort>; nothing leaves the loopback interface.
 *
 * certstage: `issueCertificate` from dist/ in this process, one account key (PKCS#8 PEM, P-256)
 * for every order, a fresh P-256 certificate key per order (generated inside the timed region),
 * and the built-in http-01 responder listening on the challenge port. Peers: Debian's `lego`
 * (4.9.1) and `certbot` (2.1), one process per certificate, so their figures include process
 * start; `lego --version` and `certbot --version` are reported as rows to subtract.
 *
 * Each client first issues one untimed warm-up certificate, which also registers its ACME account
 * (lego's --path / certbot's --config-dir keep it), so the timed orders all reuse an existing
 * account, as certstage's do.
 *
 * Sequential: 20 orders one after the other; per-certificate times are each order's own wall time.
 * Parallel: 20 orders started at once; per-certificate times run from the common start to that
 * order's end. Pebble only ever dials one challenge port, which only one process can bind, so
 * the CLIs' parallel runs use their webroot mode (`--http.webroot` / `--webroot -w`) with one
 * shared directory served on that port by a small static file server in this process, each process
 * with its own --path / --config-dir (certbot locks its directories) seeded with the account
 * registered during the sequential run. certstage's 20 orders share one responder.
 *
 * Every issued certificate is checked after its timing: it exists, its subjectAltName is exactly
 * the requested name, its key is P-256 and matches the private key written with it, and it was
 * signed by Pebble's intermediate. A client that fails or issues the wrong thing fails the run.
 */
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const { X509Certificate, createPrivateKey } = require("node:crypto");
const { performance } = require("node:perf_hooks");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const PEBBLE_HELPER = path.join(REPOSITORY, "test", "support", "pebble.ts");

/** Certificates per mode and client. The brief's figure is 20; smaller values are for trying the bench out. */
const CERTIFICATES = Number(process.env.CERTSTAGE_BENCH_ACME_CERTIFICATES ?? 20);
const EMAIL = "bench@example.test";
const LOOPBACK = "127.0.0.1";
/** Any one peer process taking longer than this has hung; the run fails rather than waits. */
const PROCESS_TIMEOUT_MS = 3 * 60 * 1000;
const PROCESS_START_RUNS = { warmup: 1, iterations: 10 };
const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

// ---------------------------------------------------------------------------------------------
// Peers: versions, environment.

/** Debian's lego reports "dev" as its version, so the package version is the one to quote. */
function packageVersion(debianPackage) {
  const result = spawnSync("dpkg-query", ["-W", "-f=${Version}", debianPackage], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : "unknown";
}

/** The inherited environment minus proxies (no request may leave loopback), plus `extra`. */
function peerEnvironment(extra) {
  const environment = { ...process.env };
  for (const name of Object.keys(environment)) if (/^(https?|all|no)_proxy$/i.test(name)) delete environment[name];
  for (const name of ["LEGO_PATH", "LEGO_EMAIL", "LEGO_SERVER"]) delete environment[name];
  return { ...environment, NO_PROXY: `${LOOPBACK},localhost`, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Checking what a client issued.

function parseLeaf(pem, source) {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error(`${source}: no certificate`);
  return new X509Certificate(match[0]);
}

/**
 * The certificate exists, names exactly `name`, has a P-256 key matching `privateKeyPem`, and was
 * signed by Pebble's intermediate: a client that issued nothing, or something else, fails the run.
 */
function verifyIssued({ client, name, certificatePem, privateKeyPem, intermediates }) {
  const source = `${client} certificate for ${name}`;
  const leaf = parseLeaf(certificatePem, source);
  const sans = (leaf.subjectAltName ?? "").split(", ").filter(Boolean);
  if (sans.length !== 1 || sans[0] !== `DNS:${name}`) throw new Error(`${source}: subjectAltName is ${JSON.stringify(leaf.subjectAltName)}`);
  const curve = leaf.publicKey.asymmetricKeyDetails?.namedCurve;
  if (leaf.publicKey.asymmetricKeyType !== "ec" || curve !== "prime256v1") throw new Error(`${source}: key is ${leaf.publicKey.asymmetricKeyType} ${curve ?? ""}, not P-256`);
  if (!leaf.checkPrivateKey(createPrivateKey(privateKeyPem))) throw new Error(`${source}: the private key written with it does not match`);
  if (!intermediates.some((issuer) => leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey))) throw new Error(`${source}: not signed by Pebble's intermediate`);
}

function readIssuedFile(file, client, name) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`${client} reported success for ${name} but ${file} is missing (${error.code})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing.

/** Wall time (ms) of each sequential step; `work(name)` returns what is checked afterwards. */
async function timeSequentially(names, work) {
  const samples = [];
  const outcomes = [];
  const start = performance.now();
  for (const name of names) {
    const issued = performance.now();
    outcomes.push(await work(name));
    samples.push(performance.now() - issued);
  }
  return { samples, totalMs: performance.now() - start, outcomes };
}

/**
 * All at once; each sample runs from the common start to that item's end. Every item is waited for
 * even when one fails, so no process is still running when Pebble is stopped.
 */
async function timeInParallel(names, work) {
  const start = performance.now();
  const settled = await Promise.allSettled(
    names.map(async (name) => {
      const outcome = await work(name);
      return { outcome, ms: performance.now() - start };
    }),
  );
  const totalMs = performance.now() - start;
  const failed = settled.find((entry) => entry.status === "rejected");
  if (failed) throw failed.reason;
  const outcomes = settled.map((entry) => entry.value);
  return { samples: outcomes.map((entry) => entry.ms), totalMs, outcomes: outcomes.map((entry) => entry.outcome) };
}

/** lib.timeChildProcess, asynchronously, so several can run at once; a non-zero exit fails the run. */
function runChildProcess(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), PROCESS_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      if (status === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${status ?? signal}: ${output.trim().split("\n").slice(-15).join("\n")}`));
    });
  });
}

/** The synchronous lib helper for sequential runs (nothing in this process needs to run meanwhile). */
function runChildProcessSync(command, args, options) {
  return lib.timeChildProcess(command, args, { timeout: PROCESS_TIMEOUT_MS, ...options }).stdout;
}

/**
 * Serves `<webroot>/.well-known/acme-challenge/<token>` on the challenge port, as a web server in
 * front of lego --http.webroot or certbot --webroot would.
 */
async function startWebrootServer(webroot, port) {
  const server = http.createServer((request, response) => {
    const token = request.url?.startsWith(CHALLENGE_PREFIX) ? request.url.slice(CHALLENGE_PREFIX.length) : "";
    let body;
    if (/^[A-Za-z0-9_-]+$/.test(token)) {
      try {
        body = fs.readFileSync(path.join(webroot, ".well-known", "acme-challenge", token));
      } catch {
        body = undefined;
      }
    }
    response.writeHead(body === undefined ? 404 : 200, { "content-type": "text/plain" });
    response.end(body ?? "");
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, LOOPBACK, resolve));
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ---------------------------------------------------------------------------------------------
// The three clients.

function loadCertstage() {
  const fromDist = (relative) => require(path.join(DIST, ...relative.split("/")));
  try {
    return {
      ...fromDist("acme/issue.js"),
      ...fromDist("acme/solvers/http01-responder.js"),
      ...fromDist("acme/trust.js"),
      ...fromDist("pki/key-generation.js"),
    };
  } catch (error) {
    throw new Error(`cannot load certstage from dist/ (${error.message.split("\n")[0]}); run \`npx tsc -p tsconfig.json\` first`);
  }
}

async function certstageClient(pebble) {
  const certstage = loadCertstage();
  certstage.trustAcmeServerRoots(pebble.listenerCaPem);
  const accountKey = await certstage.generatePrivateKey("ECDSA-P256");
  const accountKeyPem = accountKey.export({ type: "pkcs8", format: "pem" });
  const address = `${LOOPBACK}:${pebble.httpChallengePort}`;

  const issue = async (solver, name) => {
    const certificateKey = await certstage.generatePrivateKey("ECDSA-P256");
    const issued = await certstage.issueCertificate({
      directoryUrl: pebble.directoryUrl,
      accountKeyPem,
      termsOfServiceAgreed: true,
      domains: [name],
      certificateKey,
      solver,
    });
    return { name, certificatePem: issued.certificatePem, privateKeyPem: certificateKey.export({ type: "pkcs8", format: "pem" }) };
  };
  const withResponder = async (action) => {
    const solver = await certstage.startHttp01Responder(address);
    try {
      return await action(solver);
    } finally {
      await solver.close();
    }
  };
  return {
    label: "certstage issueCertificate",
    warmUp: (name) => withResponder((solver) => issue(solver, name)),
    sequential: (names) => withResponder((solver) => timeSequentially(names, (name) => issue(solver, name))),
    parallel: (names) => withResponder((solver) => timeInParallel(names, (name) => issue(solver, name))),
  };
}

function legoClient(pebble, workDirectory, caFile) {
  const environment = peerEnvironment({ LEGO_CA_CERTIFICATES: caFile });
  const sequentialPath = path.join(workDirectory, "lego-sequential");
  const args = (name, legoPath, challenge) => [
    "--server", pebble.directoryUrl,
    "--email", EMAIL,
    "--accept-tos",
    "--key-type", "ec256",
    "--domains", name,
    "--http", ...challenge,
    // Only dns-01 uses a resolver; pointing it at challtestsrv keeps any lookup on loopback.
    "--dns.resolvers", `${LOOPBACK}:${pebble.dnsPort}`,
    "--path", legoPath,
    "run",
  ];
  const standalone = ["--http.port", `${LOOPBACK}:${pebble.httpChallengePort}`];
  const issued = (legoPath, name) => ({
    name,
    certificatePem: readIssuedFile(path.join(legoPath, "certificates", `${name}.crt`), "lego", name),
    privateKeyPem: readIssuedFile(path.join(legoPath, "certificates", `${name}.key`), "lego", name),
  });
  const sequentialRun = (name) => {
    runChildProcessSync("lego", args(name, sequentialPath, standalone), { env: environment });
    return issued(sequentialPath, name);
  };
  return {
    label: "lego run (one process per certificate)",
    warmUp: async (name) => sequentialRun(name),
    sequential: (names) => timeSequentially(names, async (name) => sequentialRun(name)),
    parallel: async (names) => {
      const webroot = path.join(workDirectory, "lego-webroot");
      fs.mkdirSync(path.join(webroot, ".well-known", "acme-challenge"), { recursive: true });
      const paths = new Map(names.map((name, index) => [name, path.join(workDirectory, `lego-parallel-${index + 1}`)]));
      // Each process its own --path, holding a copy of the account the sequential run registered.
      for (const legoPath of paths.values()) fs.cpSync(path.join(sequentialPath, "accounts"), path.join(legoPath, "accounts"), { recursive: true });
      const server = await startWebrootServer(webroot, pebble.httpChallengePort);
      try {
        return await timeInParallel(names, async (name) => {
          await runChildProcess("lego", args(name, paths.get(name), ["--http.webroot", webroot]), { env: environment });
          return issued(paths.get(name), name);
        });
      } finally {
        await server.close();
      }
    },
  };
}

function certbotClient(pebble, workDirectory, caFile) {
  const environment = peerEnvironment({ REQUESTS_CA_BUNDLE: caFile });
  const directories = (base) => ({ config: path.join(base, "config"), work: path.join(base, "work"), logs: path.join(base, "logs") });
  const sequentialDirectories = directories(path.join(workDirectory, "certbot-sequential"));
  const args = (name, dirs, challenge) => [
    "certonly",
    ...challenge,
    "--server", pebble.directoryUrl,
    "-d", name,
    "--key-type", "ecdsa",
    "--elliptic-curve", "secp256r1",
    "--agree-tos",
    "-m", EMAIL,
    "--no-eff-email",
    "--non-interactive",
    "--config-dir", dirs.config,
    "--work-dir", dirs.work,
    "--logs-dir", dirs.logs,
  ];
  const standalone = ["--standalone", "--http-01-port", String(pebble.httpChallengePort), "--http-01-address", LOOPBACK];
  const issued = (dirs, name) => ({
    name,
    certificatePem: readIssuedFile(path.join(dirs.config, "live", name, "cert.pem"), "certbot", name),
    privateKeyPem: readIssuedFile(path.join(dirs.config, "live", name, "privkey.pem"), "certbot", name),
  });
  const sequentialRun = (name) => {
    runChildProcessSync("certbot", args(name, sequentialDirectories, standalone), { env: environment });
    return issued(sequentialDirectories, name);
  };
  return {
    label: "certbot certonly (one process per certificate)",
    warmUp: async (name) => sequentialRun(name),
    sequential: (names) => timeSequentially(names, async (name) => sequentialRun(name)),
    parallel: async (names) => {
      const webroot = path.join(workDirectory, "certbot-webroot");
      // Made beforehand, so no process's clean-up removes the directory while another writes in it.
      fs.mkdirSync(path.join(webroot, ".well-known", "acme-challenge"), { recursive: true });
      const perName = new Map(names.map((name, index) => [name, directories(path.join(workDirectory, `certbot-parallel-${index + 1}`))]));
      // certbot locks its config, work and logs directories: each process gets its own, with a
      // copy of the account the sequential run registered.
      for (const dirs of perName.values()) fs.cpSync(path.join(sequentialDirectories.config, "accounts"), path.join(dirs.config, "accounts"), { recursive: true });
      const server = await startWebrootServer(webroot, pebble.httpChallengePort);
      try {
        return await timeInParallel(names, async (name) => {
          await runChildProcess("certbot", args(name, perName.get(name), ["--webroot", "-w", webroot]), { env: environment });
          return issued(perName.get(name), name);
        });
      } finally {
        await server.close();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------

const HEADERS = ["mode", "client", ...lib.TIMING_HEADERS, "total wall s", "notes"];

async function acmeIssuance() {
  if (!Number.isInteger(CERTIFICATES) || CERTIFICATES < 1) throw new Error(`CERTSTAGE_BENCH_ACME_CERTIFICATES must be a positive integer, got ${CERTIFICATES}`);
  lib.ensureDebianPeer("lego", "lego");
  lib.ensureDebianPeer("certbot", "certbot");
  const versions = { lego: packageVersion("lego"), certbot: packageVersion("certbot") };

  const { startPebble } = lib.loadTypeScriptModule(PEBBLE_HELPER);
  const workDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-acme-"));
  let pebble;
  try {
    pebble = await startPebble({ nonceRejectPercent: 0, authzReusePercent: 0 });
    const caFile = path.join(workDirectory, "pebble-listener-ca.pem");
    fs.writeFileSync(caFile, pebble.listenerCaPem);
    const intermediates = (await pebble.intermediatesPem()).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g).map((pem) => new X509Certificate(pem));

    const clients = [
      ["certstage", await certstageClient(pebble)],
      ["lego", legoClient(pebble, workDirectory, caFile)],
      ["certbot", certbotClient(pebble, workDirectory, caFile)],
    ];
    const namesFor = async (client, mode, count = CERTIFICATES) => {
      const names = Array.from({ length: count }, (_, index) => `${mode}-${String(index + 1).padStart(2, "0")}.${client}.bench.test`);
      for (const name of names) await pebble.addHost(name);
      return names;
    };
    const verifyAll = (client, outcomes) => {
      for (const outcome of outcomes) verifyIssued({ client, intermediates, ...outcome });
    };

    const rows = [];
    const row = (mode, label, measured, notes) =>
      rows.push([mode, label, ...lib.timingCells(lib.summarize(measured.samples)), (measured.totalMs / 1000).toFixed(1), notes]);
    const sequentialNotes = {
      certstage: "in-process; one responder for all; key generation included",
      lego: `lego ${versions.lego}; --http.port (own listener); includes process start`,
      certbot: `certbot ${versions.certbot}; --standalone; includes process start`,
    };
    const parallelNotes = {
      certstage: `${CERTIFICATES} issueCertificate calls in one Promise.all, one shared responder`,
      lego: `${CERTIFICATES} lego processes at once, each its own --path; --http.webroot on one shared dir served on the challenge port (lego's listener cannot be shared)`,
      certbot: `${CERTIFICATES} certbot processes at once, each its own config/work/logs dirs; --webroot on one shared dir served on the challenge port (--standalone cannot be shared)`,
    };

    for (const [client, implementation] of clients) {
      console.log(`  ${client}: warm-up, then ${CERTIFICATES} sequential …`);
      const [warmUpName] = await namesFor(client, "warmup", 1);
      verifyAll(client, [await implementation.warmUp(warmUpName)]);
      const sequential = await implementation.sequential(await namesFor(client, "seq"));
      verifyAll(client, sequential.outcomes);
      row("sequential", implementation.label, sequential, sequentialNotes[client]);
    }
    for (const [client, implementation] of clients) {
      console.log(`  ${client}: ${CERTIFICATES} in parallel …`);
      const parallel = await implementation.parallel(await namesFor(client, "par"));
      verifyAll(client, parallel.outcomes);
      row("parallel", implementation.label, parallel, `${parallelNotes[client]}; time from common start to each end`);
    }

    console.log("  bare process starts …");
    for (const command of ["lego", "certbot"]) {
      const samples = lib.timeChildProcesses(command, ["--version"], { ...PROCESS_START_RUNS, timeout: PROCESS_TIMEOUT_MS });
      rows.push(["(none)", `${command} --version (bare process start)`, ...lib.timingCells(lib.summarize(samples)), "n/a", `subtract from ${command} rows`]);
    }

    return {
      title: "ACME issuance",
      description: [
        `${CERTIFICATES} new certificates per client and mode, one DNS name each, ECDSA P-256 keys, http-01, from one local Pebble v2.10.1`,
        "(no rejected nonces, no authorization reuse: every order is validated afresh; names under .test answered by pebble-challtestsrv).",
        `certstage: \`issueCertificate\` from \`dist/\` in this process with one account key and its built-in responder. Peers: Debian's lego ${versions.lego}`,
        `and certbot ${versions.certbot}, one process per certificate, so their rows include process start (bare start rows below).`,
        "Each client issues one untimed warm-up certificate first, which registers its account; every timed order reuses that account.",
        "Sequential: one after the other, per-certificate wall time. Parallel: all started together, each sample from the common start to",
        "that certificate's end. Pebble dials one challenge port, so the CLIs' parallel runs use their webroot modes with one shared directory",
        "served on that port by this process. Every certificate is checked afterwards (name, P-256 key matching its private key, Pebble's signature).",
        "lego waits about 5 s before its first authorization poll when the CA sends no Retry-After (Pebble sends none); certbot waits 1 s before it",
        "and 1 s after finalizing; certstage (acme-client) backs off from 100 ms.",
      ].join(" "),
      tables: [{ headers: HEADERS, rows }],
    };
  } finally {
    if (pebble) await pebble.stop();
    fs.rmSync(workDirectory, { recursive: true, force: true });
  }
}

module.exports = acmeIssuance;
