/**
 * SIGKILL of the agent at seeded random points during 20 swaps. Each round deploys the next
 * version, starts the real `certstage agent` against nginx, and kills it: in even rounds a random
 * time after it started (before, during or after it publishes and switches), in odd rounds a
 * random time after it logged the switch (before, during or after `nginx -t` and the reload).
 * After every kill:
 *
 * - `<directory>/api` resolves to a whole version: fullchain = cert + chain, a 0600 key that
 *   belongs to the certificate, and a certificate that is one of the store's versions;
 * - nginx, reloaded, loads those files (it refuses a key that does not match) and serves them.
 *
 * At the end one `--once` resync converges (nginx serves the deployed version, exit 0), and what
 * the killed agents left half-written is gone. It runs on the file store and on PostgreSQL (whose
 * agent follows notifications once its watch is set up, and reads keys the database keeps sealed).
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../support/seeded-random";
import { type NginxServer, tlsHandshake } from "../support/tls-servers";
import { certstage, expectWholeVersion, linkedVersion, nginxCommands, SERVER_NAME, spawnAgent, startNginxOn, type StoreFixture } from "./agent-support";
import { AGENT_STORE_DRIVERS, fixtureOn, stopAgentDatabase } from "./postgres-agent-support";

const SWAPS = 20;
const VERSIONS = 4;
/** Kill delays fall uniformly within this long after the chosen log line. */
const MAX_DELAY_MS = 250;

afterAll(async () => stopAgentDatabase());

describe.each(AGENT_STORE_DRIVERS)("SIGKILL of the agent during swaps (%s store)", (driver) => {
  let fixture: StoreFixture;
  let nginx: NginxServer;

  beforeAll(async () => {
    fixture = await fixtureOn(driver, "crash", VERSIONS);
    await fixture.deploy(1);
    const once = await certstage(["agent", "--once", "--store", fixture.location, "--environment", "production", "--directory", fixture.directory], fixture.env);
    expect(once.code, once.stderr).toBe(0);
    nginx = await startNginxOn(fixture.directory);
  });
  afterAll(async () => nginx?.stop());

  it(`always leaves a whole version whose key matches its certificate (${SWAPS} swaps)`, async () => {
    const seed = Number(process.env.CERTSTAGE_CRASH_SEED ?? Date.now() % 1_000_000);
    console.log(`${driver} store: agent crash seed ${seed} (replay with CERTSTAGE_CRASH_SEED=${seed})`);
    const random = seededRandom(seed);
    const fingerprints = fixture.materials.map((material) => material.facts.fingerprintSha256);
    const commands = nginxCommands(nginx.reloadCommand);
    const tally = { installedBeforeKill: 0, reloadedBeforeKill: 0 };

    for (let round = 1; round <= SWAPS; round += 1) {
      const version = (round % VERSIONS) + 1;
      await fixture.deploy(version);
      const agent = spawnAgent(["--store", fixture.location, "--environment", "production", "--directory", fixture.directory, "--check", commands.check, "--reload", commands.reload, "--poll-interval", "50ms"], fixture.env);
      const afterSwitch = round % 2 === 1;
      // "Started": it polls the file store, or follows PostgreSQL's pushes.
      await agent.waitForLog(afterSwitch ? new RegExp(`install api v${version} `) : /polling file store|following changes postgres store/);
      const delayMs = Math.floor(random() * MAX_DELAY_MS);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await agent.kill();
      const where = `round ${round}: killed ${delayMs} ms after ${afterSwitch ? "the switch" : "start"} (seed ${seed})`;
      if (agent.log().includes(`install api v${version} `)) tally.installedBeforeKill += 1;
      if (agent.log().includes(`reload for api v${version}`)) tally.reloadedBeforeKill += 1;

      const linked = expectWholeVersion(fixture.directory, fingerprints, where);
      await nginx.reload();
      expect((await tlsHandshake(nginx.port, SERVER_NAME)).leaf.fingerprint256, `nginx ${where}`).toBe(fingerprints[linked - 1]);
    }
    console.log(`${driver} store: agent crash: ${SWAPS} kills; the switch was made before ${tally.installedBeforeKill} of them, the reload before ${tally.reloadedBeforeKill}`);
    expect(tally.installedBeforeKill, "every kill after the switch came after an install").toBeGreaterThanOrEqual(SWAPS / 2);

    // One resync converges whatever the last kill interrupted, and the next agent cleans up after the killed ones.
    const once = await certstage(["agent", "--once", "--store", fixture.location, "--environment", "production", "--directory", fixture.directory, "--check", commands.check, "--reload", commands.reload, "--serve-check", `127.0.0.1:${nginx.port}`], fixture.env);
    expect(once.code, once.stderr).toBe(0);
    const deployed = (SWAPS % VERSIONS) + 1;
    expect(linkedVersion(fixture.directory)).toBe(deployed);
    expect((await tlsHandshake(nginx.port, SERVER_NAME)).leaf.fingerprint256).toBe(fingerprints[deployed - 1]);
    const left = readdirSync(path.join(fixture.directory, ".versions", "api"));
    expect(left.filter((entry) => !/^\d+$/.test(entry)), "staging directories of killed agents").toEqual([]);
  });
});
