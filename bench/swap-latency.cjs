/**
 * Swap latency: from the start of a deployment's update to the endpoint serving the new leaf, on
 * real nginx and HAProxy (Debian's, started by test/support/tls-servers.ts, transpiled at bench
 * time so the helper is not duplicated here), rotating through three versions.
 *
 * certstage, from dist/ in this process:
 *   - directory target: swap the store's environment link, run `nginx -s reload`;
 *   - haproxy target: `set ssl cert` + `commit ssl cert` on the admin socket;
 *   - the whole rollout as `pulumi up` runs it: the swap, then verification (handshakes until the
 *     new leaf has been served to every one for the settle period), which is when the update
 *     returns.
 * Peers, in the same run, the way it is done by hand:
 *   - nginx: `cp` the new fullchain.pem and privkey.pem over the served files, then `nginx -s reload`
 *     (one `sh -c`, as a certbot deploy hook does it);
 *   - HAProxy: the runtime API through `socat`, as HAProxy's documentation shows it
 *     (`printf 'set ssl cert … <<\n…\n' | socat`, then `echo 'commit ssl cert …' | socat`).
 * Every row has a server of its own (and the certstage rows an environment of their own).
 *
 * "served" is measured from outside the swap: a worker thread makes TLS handshakes with SNI, back
 * to back, until the leaf is the new version's. Time from the start of the swap to the first such
 * handshake is the figure; when the swap call itself returned is reported too, and for nginx, when
 * the old workers had let go of the listening socket (from then on only the new leaf is served).
 *
 * A swap must not be able to see its leaf early. After `nginx -s reload`, old workers go on
 * accepting for a while; alternating two versions with no pause let workers from two reloads ago
 * serve the leaf the next swap waited for, which made nginx's figures lower than the time the
 * reload itself took. So versions rotate 1 → 2 → 3 → 1, and before each swap the benchmark waits,
 * untimed, until the previous reload is complete (no worker of an older generation holds the
 * socket, read from /proc).
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

const VERSIONS = 3;

/**
 * Runs `swap(version)` WARMUP + SWAPS times rotating versions 2, 3, 1, 2, … (version 1 is
 * deployed first), with the prober watching from just before each swap. `settled` tells when
 * the server can serve nothing but the new version (nginx: the old workers let go of the socket);
 * it is awaited before the next swap. Returns the samples until served, until the swap call
 * returned, and until settled.
 */
async function measure(prober, port, fingerprints, swap, settled) {
  const served = [];
  const returned = [];
  const onlyNew = [];
  for (let index = 0; index < WARMUP + SWAPS; index += 1) {
    const version = ((index + 1) % VERSIONS) + 1;
    const waiting = settled.before();
    const { servedAt: served$ } = await prober.watch(port, fingerprints[version - 1]);
    const start = epochNow();
    // From the first new leaf on, watch for the old generation to let go (while a rollout may
    // still be verifying): starting earlier would put /proc reads into the swap being timed.
    const settled$ = served$.then(() => settled.after(waiting));
    await swap(version);
    const returnedAt = epochNow();
    const servedAt = await served$;
    const settledAt = await settled$;
    if (index >= WARMUP) {
      served.push(servedAt - start);
      returned.push(returnedAt - start);
      if (settledAt !== undefined) onlyNew.push(settledAt - start);
    }
  }
  return { served, returned, onlyNew };
}

/** For nginx: waits until no worker of the generation before the swap holds the socket. */
function nginxSettled(nginx) {
  return { before: () => nginx.generation(), after: async (generation) => (await nginx.reloadedSince(generation), epochNow()) };
}

/** HAProxy swaps in one step: nothing to wait for. */
const oneStep = { before: () => undefined, after: async () => undefined };

async function swapLatency() {
  const { startNginx, startHaproxy, serverBinaries } = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "tls-servers.ts"));
  const { makeTestCertificate } = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "certificates.ts"));
  const { openStore } = require(path.join(DIST, "store"));
  const { inspectUpload } = require(path.join(DIST, "pki", "version-material"));
  const { directoryTarget } = require(path.join(DIST, "targets", "directory"));
  const { haproxyTarget } = require(path.join(DIST, "targets", "haproxy"));
  const { rollout } = require(path.join(DIST, "targets", "rollout"));
  const { DEFAULT_VERIFY_SETTLE_MS } = require(path.join(DIST, "settings", "environments"));
  lib.ensureDebianPeer("socat", "socat", "-V");

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-swap-"));
  const servers = [];
  try {
    const leaves = Array.from({ length: VERSIONS }, () => makeTestCertificate(path.join(work, "pki"), SERVER_NAME));
    const fingerprints = leaves.map((leaf) => new X509Certificate(leaf.certificatePem).fingerprint256);
    const actor = { principal: "bench" };
    const store = openStore({ driver: "file", location: path.join(work, "store") });
    await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "bench", shareWith: [], description: "" }, actor);
    for (const leaf of leaves) {
      const material = inspectUpload(leaf);
      if (!material.ok) throw new Error("bench certificate did not inspect");
      await store.createVersion("api", "upload", material.value, actor);
    }

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

    /** An nginx reading environment `name`'s link, with version 1 deployed there. */
    const nginxFor = async (name) => {
      await store.deploy("api", name, 1, actor);
      const link = path.join(work, "store", "environments", name, "api");
      const server = await startNginx({ certificateFile: path.join(link, "fullchain.pem"), keyFile: path.join(link, "privkey.pem") });
      servers.push(server);
      return server;
    };
    const haproxyFor = async (name) => {
      if (name) await store.deploy("api", name, 1, actor);
      const server = await startHaproxy(first);
      servers.push(server);
      return server;
    };
    const directoryNginx = await nginxFor("nginx-target");
    const rolloutNginx = await nginxFor("nginx-rollout");
    const peerNginx = await startNginx({ certificateFile: path.join(plain, "fullchain.pem"), keyFile: path.join(plain, "privkey.pem") });
    servers.push(peerNginx);
    const targetHaproxy = await haproxyFor("haproxy-target");
    const rolloutHaproxy = await haproxyFor("haproxy-rollout");
    const peerHaproxy = await haproxyFor(undefined);

    const context = (environment) => ({ store, certificate: "api", environment, actor });
    const directory = directoryTarget({ reload: directoryNginx.reloadCommand });
    const hotSwap = haproxyTarget(targetHaproxy.adminSocket, targetHaproxy.certificatePath);
    const verify = (server) => ({ endpoints: [`127.0.0.1:${server.port}`], serverName: SERVER_NAME });
    const environments = [
      { name: "nginx-rollout", target: { type: "directory", reload: rolloutNginx.reloadCommand }, verify: verify(rolloutNginx) },
      { name: "haproxy-rollout", target: { type: "haproxy", socket: rolloutHaproxy.adminSocket, certificatePath: rolloutHaproxy.certificatePath }, verify: verify(rolloutHaproxy) },
    ];
    const socatSwap = [
      'printf "set ssl cert %s <<\\n%s\\n\\n" "$1" "$(cat "$3")" | socat -t5 stdio "UNIX-CONNECT:$2" | grep -q "Transaction"',
      'echo "commit ssl cert $1" | socat -t5 stdio "UNIX-CONNECT:$2" | grep -q "Success"',
    ].join(" && ");
    const [nginxBinary, ...nginxFlags] = peerNginx.reloadCommand;

    const cases = [
      ["nginx", "certstage: directory target (link swap + `nginx -s reload`)", directoryNginx, (version) => directory.deploy(context("nginx-target"), version)],
      ["nginx", "certstage: rollout with verification (what `pulumi up` waits for)", rolloutNginx, (version) => rollout({ store, actor, environments }, { certificate: "api", environment: "nginx-rollout", version })],
      [
        "nginx",
        "peer: `cp` files over the served ones + `nginx -s reload` (sh)",
        peerNginx,
        (version) =>
          run("sh", ["-c", 'cp "$1/fullchain.pem" "$2/fullchain.pem" && cp "$1/privkey.pem" "$2/privkey.pem" && shift 2 && exec "$@"', "sh", versionFiles[version - 1], plain, nginxBinary, ...nginxFlags]),
      ],
      ["HAProxy", "certstage: haproxy target (runtime API over the admin socket)", targetHaproxy, (version) => hotSwap.deploy(context("haproxy-target"), version)],
      ["HAProxy", "certstage: rollout with verification (what `pulumi up` waits for)", rolloutHaproxy, (version) => rollout({ store, actor, environments }, { certificate: "api", environment: "haproxy-rollout", version })],
      [
        "HAProxy",
        "peer: runtime API through `socat` (sh), as HAProxy's docs show",
        peerHaproxy,
        (version) => run("sh", ["-c", socatSwap, "sh", peerHaproxy.certificatePath, peerHaproxy.adminSocket, path.join(versionFiles[version - 1], "haproxy.pem")]),
      ],
    ];

    const rows = [];
    const prober = startProber();
    servers.push(prober);
    for (const [kind, label, server, swap] of cases) {
      console.log(`  ${kind}: ${label} …`);
      const { served, returned, onlyNew } = await measure(prober, server.port, fingerprints, swap, kind === "nginx" ? nginxSettled(server) : oneStep);
      const onlyNewCell = onlyNew.length > 0 ? lib.formatMs(lib.summarize(onlyNew).median) : "= served (one step)";
      rows.push([kind, label, ...lib.timingCells(lib.summarize(served)), onlyNewCell, lib.formatMs(lib.summarize(returned).median)]);
    }
    const binaries = serverBinaries();
    const versionOf = (binary, flag, pattern) => pattern.exec(spawnSync(binary, [flag], { encoding: "utf8" }).stderr + spawnSync(binary, [flag], { encoding: "utf8" }).stdout)?.[1] ?? "?";
    const nginxVersion = versionOf(binaries.nginx, "-v", /nginx\/(\S+)/);
    const haproxyVersion = versionOf(binaries.haproxy, "-v", /version (\S+)/);
    return {
      title: "Swap latency",
      description: [
        `${SWAPS} swaps per row (after ${WARMUP} untimed), rotating through ${VERSIONS} versions of one ECDSA P-256 certificate, on Debian's nginx ${nginxVersion} and HAProxy ${haproxyVersion}`,
        "on loopback; every row has its own running server. Before each swap the previous one is complete (for nginx: no worker of an older generation still holds the socket), so no",
        "stale worker can serve the leaf a swap waits for. A sample runs from the start of the swap to the first TLS handshake (SNI, back-to-back probes from a worker thread, so",
        "probing never slows the swap) that gets the new leaf. \"only new ms\" is when, for nginx, the old workers had let go of the listening socket (read from /proc every 25 ms),",
        "from when on every handshake gets the new leaf; HAProxy swaps in one step. The last column is when the swap call itself returned: `nginx -s reload` returns before the new",
        `workers take over; the rollout rows include verification, ${DEFAULT_VERIFY_SETTLE_MS} ms of consecutive handshakes that all got the new leaf by default, which is when \`pulumi up\` moves on.`,
        "Goal: served under 1 s median.",
      ].join(" "),
      tables: [{ headers: ["server", "how", ...lib.TIMING_HEADERS, "only new median ms", "returned median ms"], rows }],
    };
  } finally {
    await Promise.all(servers.map((server) => Promise.resolve(server.stop()).catch(() => undefined)));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = swapLatency;
