/**
 * Swap latency: from the start of a deployment's update to the endpoint serving the new leaf, on
 * real nginx and HAProxy (Debian's, started by test/support/tls-servers.ts, transpiled at bench
 * time so the helper is not duplicated here), alternating between two versions.
 *
 * certstage, from dist/ in this process:
 *   - directory target: swap the store's environment link, run `nginx -s reload`;
 *   - haproxy target: `set ssl cert` + `commit ssl cert` on the admin socket;
 *   - the whole rollout as `pulumi up` runs it: the swap, then verification (TLS handshakes until
 *     the new leaf is served), which is when the update returns.
 * Peers, in the same run, each against its own server instance, the way it is done by hand:
 *   - nginx: `cp` the new fullchain.pem and privkey.pem over the served files, then `nginx -s reload`
 *     (one `sh -c`, as a certbot deploy hook does it);
 *   - HAProxy: the runtime API through `socat`, as HAProxy's documentation shows it
 *     (`printf 'set ssl cert … <<\n…\n' | socat`, then `echo 'commit ssl cert …' | socat`).
 *
 * "served" is measured from outside the swap: a worker thread makes TLS handshakes with SNI, back
 * to back, until the leaf is the new version's. Time from the start of the swap to the first such
 * handshake is the figure; when the swap call itself returned is reported too.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const { X509Certificate } = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { Worker } = require("node:worker_threads");
const lib = require("./lib.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const SERVER_NAME = "api.example.test";
const SWAPS = Number(process.env.CERTSTAGE_BENCH_SWAPS ?? 20);
const WARMUP = 2;
/** A swap not served within this long has failed; the run fails rather than waits. */
const SERVED_TIMEOUT_MS = 15_000;

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let errors = "";
    child.stderr.on("data", (chunk) => (errors += chunk));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${errors.trim()}`))));
  });
}

/**
 * The prober: a worker thread making back-to-back TLS handshakes until the wanted leaf is served.
 * It runs beside the swap, not in its event loop, so probing never delays the swap it measures.
 * Times are epoch milliseconds (timeOrigin + now), comparable across threads.
 */
const PROBER = `
const { parentPort } = require("node:worker_threads");
const { connect } = require("node:tls");
const { performance } = require("node:perf_hooks");
const { Worker } = require("node:worker_threads");
const now = () => performance.timeOrigin + performance.now();
const handshake = (port, serverName) => new Promise((resolve) => {
  const socket = connect({ host: "127.0.0.1", port, servername: serverName, rejectUnauthorized: false });
  const done = (value) => { socket.destroy(); resolve(value); };
  socket.once("secureConnect", () => done(socket.getPeerCertificate().fingerprint256));
  socket.once("error", () => done(undefined));
});
parentPort.on("message", async ({ port, serverName, fingerprint, timeoutMs }) => {
  const start = now();
  parentPort.postMessage({ ready: true });
  for (;;) {
    if ((await handshake(port, serverName)) === fingerprint) return parentPort.postMessage({ servedAt: now() });
    if (now() - start > timeoutMs) return parentPort.postMessage({ error: "port " + port + " did not serve the new leaf within " + timeoutMs + " ms" });
  }
});
`;

function startProber() {
  const worker = new Worker(PROBER, { eval: true });
  const next = () => new Promise((resolve, reject) => worker.once("message", (message) => (message.error ? reject(new Error(message.error)) : resolve(message))));
  return {
    /** Starts watching; resolves once the prober runs, with `servedAt`: when the leaf was served. */
    async watch(port, fingerprint) {
      const ready = next();
      worker.postMessage({ port, serverName: SERVER_NAME, fingerprint, timeoutMs: SERVED_TIMEOUT_MS });
      await ready;
      // Wrapped: an async function returning a bare promise would make the caller wait for it.
      return { servedAt: next().then((message) => message.servedAt) };
    },
    stop: () => worker.terminate(),
  };
}

const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Runs `swap(version)` WARMUP + SWAPS times alternating versions 2, 1, 2, …, with the prober
 * watching from just before each swap. Returns the samples until served and until the swap
 * call returned.
 */
async function measure(prober, port, fingerprints, swap) {
  const served = [];
  const returned = [];
  for (let index = 0; index < WARMUP + SWAPS; index += 1) {
    const version = index % 2 === 0 ? 2 : 1;
    const { servedAt: served$ } = await prober.watch(port, fingerprints[version - 1]);
    const start = epochNow();
    await swap(version);
    const returnedAt = epochNow();
    const servedAt = await served$;
    if (index >= WARMUP) {
      served.push(servedAt - start);
      returned.push(returnedAt - start);
    }
  }
  return { served, returned };
}

async function swapLatency() {
  const { startNginx, startHaproxy, serverBinaries } = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "tls-servers.ts"));
  const { makeTestCertificate } = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "certificates.ts"));
  const { openStore } = require(path.join(DIST, "store"));
  const { inspectUpload } = require(path.join(DIST, "pki", "version-material"));
  const { directoryTarget } = require(path.join(DIST, "targets", "directory"));
  const { haproxyTarget } = require(path.join(DIST, "targets", "haproxy"));
  const { rollout } = require(path.join(DIST, "targets", "rollout"));
  lib.ensureDebianPeer("socat", "socat", "-V");

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-swap-"));
  const servers = [];
  try {
    const leaves = [makeTestCertificate(path.join(work, "pki"), SERVER_NAME), makeTestCertificate(path.join(work, "pki"), SERVER_NAME)];
    const fingerprints = leaves.map((leaf) => new X509Certificate(leaf.certificatePem).fingerprint256);
    const actor = { principal: "bench" };
    const store = openStore({ driver: "file", location: path.join(work, "store") });
    await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "bench", shareWith: [], description: "" }, actor);
    for (const leaf of leaves) {
      const material = inspectUpload(leaf);
      if (!material.ok) throw new Error("bench certificate did not inspect");
      await store.createVersion("api", "upload", material.value, actor);
    }
    await store.deploy("api", "staging", 1, actor);
    await store.deploy("api", "production", 1, actor);
    const staging = path.join(work, "store", "environments", "staging", "api");

    // The peers' servers read plain files (nginx) or their own crt (HAProxy).
    const plain = path.join(work, "plain");
    fs.mkdirSync(plain);
    const versionFiles = leaves.map((leaf, index) => {
      const directory = path.join(work, "versions", String(index + 1));
      fs.mkdirSync(directory, { recursive: true });
      fs.writeFileSync(path.join(directory, "fullchain.pem"), leaf.certificatePem + leaf.chainPem);
      fs.writeFileSync(path.join(directory, "privkey.pem"), leaf.privateKeyPem, { mode: 0o600 });
      fs.writeFileSync(path.join(directory, "haproxy.pem"), `${leaf.certificatePem}${leaf.chainPem}${leaf.privateKeyPem}`.split("\n").filter((line) => line.trim() !== "").join("\n") + "\n", { mode: 0o600 });
      return directory;
    });
    fs.copyFileSync(path.join(versionFiles[0], "fullchain.pem"), path.join(plain, "fullchain.pem"));
    fs.copyFileSync(path.join(versionFiles[0], "privkey.pem"), path.join(plain, "privkey.pem"));

    const first = { fullchainPem: leaves[0].certificatePem + leaves[0].chainPem, privateKeyPem: leaves[0].privateKeyPem };
    const nginx = await startNginx({ certificateFile: path.join(staging, "fullchain.pem"), keyFile: path.join(staging, "privkey.pem") });
    servers.push(nginx);
    const peerNginx = await startNginx({ certificateFile: path.join(plain, "fullchain.pem"), keyFile: path.join(plain, "privkey.pem") });
    servers.push(peerNginx);
    const haproxy = await startHaproxy(first);
    servers.push(haproxy);
    const peerHaproxy = await startHaproxy(first);
    servers.push(peerHaproxy);

    const context = (environment) => ({ store, certificate: "api", environment, actor });
    const directory = directoryTarget({ reload: nginx.reloadCommand });
    const hotSwap = haproxyTarget(haproxy.adminSocket, haproxy.certificatePath);
    const environments = [
      { name: "staging", target: { type: "directory", reload: nginx.reloadCommand }, verify: { endpoints: [`127.0.0.1:${nginx.port}`], serverName: SERVER_NAME } },
      { name: "production", target: { type: "haproxy", socket: haproxy.adminSocket, certificatePath: haproxy.certificatePath }, verify: { endpoints: [`127.0.0.1:${haproxy.port}`], serverName: SERVER_NAME } },
    ];
    const socatSwap = [
      'printf "set ssl cert %s <<\\n%s\\n\\n" "$1" "$(cat "$3")" | socat -t5 stdio "UNIX-CONNECT:$2" | grep -q "Transaction"',
      'echo "commit ssl cert $1" | socat -t5 stdio "UNIX-CONNECT:$2" | grep -q "Success"',
    ].join(" && ");
    const [nginxBinary, ...nginxFlags] = peerNginx.reloadCommand;

    const cases = [
      ["nginx", "certstage: directory target (link swap + `nginx -s reload`)", nginx.port, (version) => directory.deploy(context("staging"), version)],
      ["nginx", "certstage: rollout with verification (what `pulumi up` waits for)", nginx.port, (version) => rollout({ store, actor, environments }, { certificate: "api", environment: "staging", version })],
      [
        "nginx",
        "peer: `cp` files over the served ones + `nginx -s reload` (sh)",
        peerNginx.port,
        (version) =>
          run("sh", ["-c", 'cp "$1/fullchain.pem" "$2/fullchain.pem" && cp "$1/privkey.pem" "$2/privkey.pem" && shift 2 && exec "$@"', "sh", versionFiles[version - 1], plain, nginxBinary, ...nginxFlags]),
      ],
      ["HAProxy", "certstage: haproxy target (runtime API over the admin socket)", haproxy.port, (version) => hotSwap.deploy(context("production"), version)],
      ["HAProxy", "certstage: rollout with verification (what `pulumi up` waits for)", haproxy.port, (version) => rollout({ store, actor, environments }, { certificate: "api", environment: "production", version })],
      [
        "HAProxy",
        "peer: runtime API through `socat` (sh), as HAProxy's docs show",
        peerHaproxy.port,
        (version) => run("sh", ["-c", socatSwap, "sh", peerHaproxy.certificatePath, peerHaproxy.adminSocket, path.join(versionFiles[version - 1], "haproxy.pem")]),
      ],
    ];

    const rows = [];
    const prober = startProber();
    servers.push(prober);
    for (const [server, label, port, swap] of cases) {
      console.log(`  ${server}: ${label} …`);
      const { served, returned } = await measure(prober, port, fingerprints, swap);
      const stats = lib.summarize(served);
      rows.push([server, label, ...lib.timingCells(stats), lib.formatMs(lib.summarize(returned).median)]);
    }
    const binaries = serverBinaries();
    const versionOf = (binary, flag, pattern) => pattern.exec(spawnSync(binary, [flag], { encoding: "utf8" }).stderr + spawnSync(binary, [flag], { encoding: "utf8" }).stdout)?.[1] ?? "?";
    const nginxVersion = versionOf(binaries.nginx, "-v", /nginx\/(\S+)/);
    const haproxyVersion = versionOf(binaries.haproxy, "-v", /version (\S+)/);
    return {
      title: "Swap latency",
      description: [
        `${SWAPS} swaps per row (after ${WARMUP} untimed), alternating two versions of one ECDSA P-256 certificate, on Debian's nginx ${nginxVersion} and HAProxy ${haproxyVersion}`,
        "on loopback, each row against its own running server. A sample runs from the start of the swap to the first TLS handshake (SNI, back-to-back probes",
        "from a worker thread, so probing never slows the swap) that gets the new leaf. The last column is when the swap call itself returned: for a reload, nginx's new workers",
        "take over after it; for the rollout rows it includes verification, which is when `pulumi up` moves on. Goal: under 1 s median.",
      ].join(" "),
      tables: [{ headers: ["server", "how", ...lib.TIMING_HEADERS, "returned median ms"], rows }],
    };
  } finally {
    await Promise.all(servers.map((server) => Promise.resolve(server.stop()).catch(() => undefined)));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = swapLatency;
