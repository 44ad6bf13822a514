/**
 * What "verified" promises, on real servers: once a rollout says it verified version N, every new
 * handshake to that endpoint gets version N. nginx reloads by starting new workers and stopping
 * the old ones about 100 ms later, so one handshake that reached a new worker would prove little;
 * HAProxy swaps in one step. For each, 20 rollouts as `pulumi up` runs them (the swap, the reload
 * or hot swap, then verification with the default settle period), rotating through three
 * versions so that no stale worker could serve the leaf a later swap waits for; right after each
 * rollout returns, 200 handshakes from 8 concurrent clients must all get the new leaf.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentDefinition } from "../../provider/settings/environments";
import { rollout } from "../../provider/targets/rollout";
import { tlsHandshake } from "../support/tls-servers";
import { DeployedPair, startDeployedPair } from "./deployed-pair";

const actor = { principal: "verification" };
const SWAPS = 20;
const HANDSHAKES_AFTER = 200;
const CLIENTS = 8;

let pair: DeployedPair;
let environments: EnvironmentDefinition[];

beforeAll(async () => {
  pair = await startDeployedPair("verification", actor, 3);
  environments = [
    { name: "staging", target: { type: "directory", reload: pair.nginx.reloadCommand }, verify: { endpoints: [`127.0.0.1:${pair.nginx.port}`], serverName: "api.example.test" } },
    { name: "production", target: { type: "haproxy", socket: pair.haproxy.adminSocket, certificatePath: pair.haproxy.certificatePath }, verify: { endpoints: [`127.0.0.1:${pair.haproxy.port}`], serverName: "api.example.test" } },
  ];
});
afterAll(async () => pair?.stop());

/** `count` handshakes from `clients` concurrent clients: the fingerprint each one got. */
async function handshakes(port: number, count: number, clients: number): Promise<string[]> {
  const served: string[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (started < count) {
        started += 1;
        served.push((await tlsHandshake(port, "api.example.test")).leaf.fingerprint256);
      }
    }),
  );
  return served;
}

describe.each([
  ["staging", "nginx (link swap + `nginx -s reload`)", () => pair.nginx.port],
  ["production", "HAProxy (runtime API)", () => pair.haproxy.port],
])("%s on %s: after each of 20 verified rollouts", (environment, _server, port) => {
  it(`${HANDSHAKES_AFTER} handshakes from ${CLIENTS} concurrent clients all get the new leaf`, async () => {
    const fingerprints = pair.leaves.map((leaf) => new X509Certificate(leaf.certificatePem).fingerprint256);
    const wrong: string[] = [];
    const settled: string[] = [];
    for (let swap = 0; swap < SWAPS; swap += 1) {
      const version = ((swap + 1) % 3) + 1; // 2, 3, 1, 2, … (version 1 is deployed at the start)
      const progress: string[] = [];
      await rollout({ store: pair.store, actor, environments, progress: (line) => progress.push(line) }, { certificate: "api", environment, version });
      const served = await handshakes(port(), HANDSHAKES_AFTER, CLIENTS);
      const others = served.filter((fingerprint) => fingerprint !== fingerprints[version - 1]);
      if (others.length > 0) wrong.push(`swap ${swap + 1} to v${version}: ${others.length} of ${served.length} handshakes got another leaf`);
      settled.push(progress.find((line) => line.includes(`verified v${version}`)) ?? `swap ${swap + 1}: no verified line in ${JSON.stringify(progress)}`);
      expect(served).toHaveLength(HANDSHAKES_AFTER);
    }
    console.log(`${environment}: ${SWAPS} rollouts, ${SWAPS * HANDSHAKES_AFTER} handshakes after them; last: ${settled.at(-1)}`);
    expect(wrong).toEqual([]);
    // Every rollout said how it verified: a run of consecutive handshakes over the default 1000 ms.
    for (const line of settled) {
      const span = /verified v\d at 1 endpoint\(s\): 127\.0\.0\.1:\d+: \d+ consecutive handshakes over (\d+) ms/.exec(line);
      expect(span, line).not.toBeNull();
      expect(Number(span![1])).toBeGreaterThanOrEqual(1000);
    }
  });
});
