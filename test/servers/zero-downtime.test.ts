/**
 * Zero downtime: while 20 consecutive rollouts happen (the swap, nginx's reload or HAProxy's hot
 * swap, then verification, as `pulumi up` runs them), clients keep making TLS handshakes against
 * each real server. Every handshake must succeed and get one whole version (its leaf matches one
 * of the two versions). Loops are bounded in count and time; no figure is asserted on time.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentDefinition } from "../../provider/settings/environments";
import { rollout } from "../../provider/targets/rollout";
import type { Store } from "../../provider/store";
import type { TestCertificate } from "../support/certificates";
import { HaproxyServer, NginxServer, tlsHandshake } from "../support/tls-servers";
import { DeployedPair, startDeployedPair } from "./deployed-pair";

const actor = { principal: "zero-downtime" };
const SWAPS = 20;
const CLIENTS = 4;
const MAX_HANDSHAKES = 200_000;
const MAX_MS = 110_000;

let store: Store;
let leaves: TestCertificate[];
let nginx: NginxServer;
let haproxy: HaproxyServer;

let pair: DeployedPair;

beforeAll(async () => {
  pair = await startDeployedPair("zero-downtime", actor);
  ({ store, leaves, nginx, haproxy } = pair);
});
afterAll(async () => pair?.stop());

interface Tally {
  attempted: number;
  failed: number;
  unknownLeaf: number;
  errors: string[];
  /** Leaves clients were served: both versions, if the swaps took effect under load. */
  seen: Set<string>;
}

/** Handshake loops until `done()` (or the bounds), counting what clients saw. */
async function hammer(port: number, done: () => boolean): Promise<Tally> {
  const known = new Set(leaves.map((leaf) => new X509Certificate(leaf.certificatePem).fingerprint256));
  const tally: Tally = { attempted: 0, failed: 0, unknownLeaf: 0, errors: [], seen: new Set() };
  const deadline = Date.now() + MAX_MS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!done() && tally.attempted < MAX_HANDSHAKES && Date.now() < deadline) {
        tally.attempted += 1;
        try {
          const served = await tlsHandshake(port, "api.example.test");
          if (!known.has(served.leaf.fingerprint256)) tally.unknownLeaf += 1;
          tally.seen.add(served.leaf.fingerprint256);
        } catch (error) {
          tally.failed += 1;
          if (tally.errors.length < 5) tally.errors.push((error as Error).message);
        }
      }
    }),
  );
  return tally;
}

async function swapsUnderLoad(port: number, swap: (version: number) => Promise<void>): Promise<Tally> {
  let finished = false;
  const clients = hammer(port, () => finished);
  for (let index = 0; index < SWAPS; index += 1) await swap((index % 2) + 1 === 1 ? 2 : 1);
  finished = true;
  return clients;
}

function rolloutTo(environment: string, definition: EnvironmentDefinition) {
  return async (version: number) => void (await rollout({ store, actor, environments: [definition] }, { certificate: "api", environment, version }));
}

describe("zero downtime during 20 consecutive swaps", () => {
  it("nginx behind the directory target (`nginx -s reload`, verified): every handshake succeeds", async () => {
    const tally = await swapsUnderLoad(
      nginx.port,
      rolloutTo("staging", { name: "staging", target: { type: "directory", reload: nginx.reloadCommand }, verify: { endpoints: [`127.0.0.1:${nginx.port}`], serverName: "api.example.test" } }),
    );
    console.log(`nginx: ${tally.attempted} handshakes attempted, ${tally.failed} failed, ${tally.unknownLeaf} with an unknown leaf during ${SWAPS} swaps`);
    expect(tally.errors).toEqual([]);
    expect(tally.failed).toBe(0);
    expect(tally.unknownLeaf).toBe(0);
    expect(tally.attempted).toBeGreaterThan(SWAPS);
    expect(tally.seen.size).toBe(2);
  });

  it("HAProxy behind the haproxy target (verified): every handshake succeeds", async () => {
    const tally = await swapsUnderLoad(
      haproxy.port,
      rolloutTo("production", { name: "production", target: { type: "haproxy", socket: haproxy.adminSocket, certificatePath: haproxy.certificatePath }, verify: { endpoints: [`127.0.0.1:${haproxy.port}`], serverName: "api.example.test" } }),
    );
    console.log(`haproxy: ${tally.attempted} handshakes attempted, ${tally.failed} failed, ${tally.unknownLeaf} with an unknown leaf during ${SWAPS} swaps`);
    expect(tally.errors).toEqual([]);
    expect(tally.failed).toBe(0);
    expect(tally.unknownLeaf).toBe(0);
    expect(tally.attempted).toBeGreaterThan(SWAPS);
    expect(tally.seen.size).toBe(2);
  });
});
