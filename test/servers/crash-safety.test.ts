/**
 * Crash safety: a process swapping versions through the real targets (nginx reading the store's
 * environment directory, HAProxy through its runtime API) is killed with SIGKILL at random points,
 * 50 times. After every kill:
 *
 * - every environment link points at a whole version whose certificate matches its key;
 * - nginx, reloaded, loads those files (it refuses a key that does not match) and serves the
 *   version the link names;
 * - HAProxy completes handshakes (so the certificate it serves matches the key it holds) with one
 *   of the versions, and a swap left half-done (a transaction staged, not committed) does not
 *   stop the next process from swapping.
 *
 * The delays come from a seeded generator, printed, so a failure can be replayed.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollout } from "../../provider/targets/rollout";
import { REPO_ROOT } from "../support/certificates";
import { expectEnvironmentsWhole } from "../support/store-on-disk";
import { tlsHandshake } from "../support/tls-servers";
import { DeployedPair, startDeployedPair } from "./deployed-pair";
import { seededRandom } from "../support/seeded-random";

const actor = { principal: "crash-safety" };
const KILLS = 50;
/** Kills land uniformly within this long after the worker says it is swapping (a verified nginx swap takes a few hundred ms). */
const MAX_DELAY_MS = 1500;

let pair: DeployedPair;
let environmentsJson: string;

beforeAll(async () => {
  pair = await startDeployedPair("crash-safety", actor);
  environmentsJson = JSON.stringify([
    // Verified, as nginx environments should be: `nginx -s reload` returns before nginx has read
    // the files, so without it the next swap can change the link between nginx's read of the
    // certificate and of the key, and that reload is refused (seen under load: "key values mismatch").
    { name: "staging", target: { type: "directory", reload: pair.nginx.reloadCommand }, verify: { endpoints: [`127.0.0.1:${pair.nginx.port}`], serverName: "api.example.test", settleMs: 100 } },
    { name: "production", target: { type: "haproxy", socket: pair.haproxy.adminSocket, certificatePath: pair.haproxy.certificatePath } },
  ]);
});
afterAll(async () => pair?.stop());


/** Starts the worker, kills it `delayMs` after it is ready, and returns how many swaps it finished. */
async function runAndKill(delayMs: number): Promise<number> {
  const child = spawn(process.execPath, [path.join(__dirname, "swap-worker.cjs"), path.join(REPO_ROOT, "dist"), pair.storeRoot, environmentsJson], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let errors = "";
  child.stdout.on("data", (chunk) => (output += String(chunk)));
  child.stderr.on("data", (chunk) => (errors += String(chunk)));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!output.includes("ready\n")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`swap worker did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (child.exitCode !== null) throw new Error(`swap worker failed before it was killed:\n${errors}`);
  child.kill("SIGKILL");
  await exited;
  return output.split("\n").filter((line) => /^(staging|production) v\d$/.test(line)).length;
}

describe("SIGKILL during swaps", () => {
  it(`never leaves an environment on a missing or partial version (${KILLS} kills)`, async () => {
    const seed = Number(process.env.CERTSTAGE_CRASH_SEED ?? Date.now() % 1_000_000);
    console.log(`crash-safety seed ${seed} (replay with CERTSTAGE_CRASH_SEED=${seed})`);
    const random = seededRandom(seed);
    const fingerprints = pair.leaves.map((leaf) => new X509Certificate(leaf.certificatePem).fingerprint256);
    let swaps = 0;
    const servedByHaproxy = new Set<string>();

    for (let kill = 1; kill <= KILLS; kill += 1) {
      const delayMs = Math.floor(random() * MAX_DELAY_MS);
      swaps += await runAndKill(delayMs);
      const where = `after kill ${kill} (${delayMs} ms, seed ${seed})`;

      const links = expectEnvironmentsWhole(pair.storeRoot);
      expect(Object.keys(links).sort(), where).toEqual(["production/api", "staging/api"]);
      await pair.nginx.reload();
      const nginxLeaf = (await tlsHandshake(pair.nginx.port, "api.example.test")).leaf.fingerprint256;
      expect(nginxLeaf, `nginx ${where}`).toBe(fingerprints[links["staging/api"] - 1]);
      const haproxyLeaf = (await tlsHandshake(pair.haproxy.port, "api.example.test")).leaf.fingerprint256;
      expect(fingerprints, `HAProxy ${where}`).toContain(haproxyLeaf);
      servedByHaproxy.add(haproxyLeaf);
    }
    console.log(`crash-safety: ${KILLS} kills, ${swaps} swaps completed between them`);
    expect(swaps, "the kills landed while swaps were happening").toBeGreaterThan(KILLS);
    expect(servedByHaproxy.size, "HAProxy's certificate changed across the kills").toBe(2);

    // Whatever the last kill interrupted, one more rollout converges store and servers.
    const store = pair.store;
    const context = { store, actor, environments: JSON.parse(environmentsJson) };
    for (const environment of ["staging", "production"]) {
      const current = (await store.getDeployment("api", environment))!.version;
      await rollout(context, { certificate: "api", environment, version: current });
    }
    const links = expectEnvironmentsWhole(pair.storeRoot);
    expect((await tlsHandshake(pair.nginx.port, "api.example.test")).leaf.fingerprint256).toBe(fingerprints[links["staging/api"] - 1]);
    expect((await tlsHandshake(pair.haproxy.port, "api.example.test")).leaf.fingerprint256).toBe(fingerprints[links["production/api"] - 1]);
  });
});
