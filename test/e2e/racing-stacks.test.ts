/**
 * Two Pulumi projects of one team, each in its own runner directory with its own Pulumi backend
 * and its own database login, race on one PostgreSQL store for 20 rounds through the real CLI.
 *
 * They contend on the same rows every round:
 * - environments: each project swaps its certificate in staging and in production, so both write
 *   deployments in both environments at once: the compare-and-swap on each environment's
 *   generation, under its row lock;
 * - version numbering: each project saves a new version of its own certificate and one of the
 *   other project's (a certificate belongs to its owning team, not to a stack: any runner of the
 *   team may save its versions), so two writers allocate numbers of each certificate at once,
 *   under the certificate's row lock.
 *
 * Each round changes both programs (blue and green versions take turns: the round renews one,
 * staging gets it, production gets the other, which staging served the round before) and runs
 * both `pulumi up`s at once. An up may fail only with DEPLOYMENT_CONFLICT, the store's documented
 * answer to writers that collide ("run again"); then it runs again alone and must succeed. (The
 * driver locks the certificate's row, then the environment's, before its compare-and-swap, so
 * writers queue rather than fail: the log's lock waits show them meeting.) After
 * every round the store's invariants are checked by SQL (racing-invariants.ts), against the
 * previous round's snapshot too, and what each stack's state says it deployed must be what the
 * store serves. 0 violations are allowed.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startStoreCluster, type StoreCluster } from "../postgres/support";
import { temporaryDirectory } from "../support/certificates";
import { consumerProject, type CommandResult, type PulumiWorkspace } from "../support/pulumi";
import { checkInvariants, claimDisagreements, snapshotStore, stackClaims, type StoreSnapshot } from "./racing-invariants";

const ROUNDS = 20;
const UP = ["up", "--yes", "--skip-preview"];
const ENVIRONMENTS = ["staging", "production"];
/** Only catches a hang: the other project's up never reaching its program. */
const START_LINE_BOUND_MS = 120_000;

interface Racer {
  /** Its project, its stack and the certificate it owns. */
  readonly name: "alpha" | "beta";
  /** The certificate of the other project it also saves versions of. */
  readonly other: "alpha" | "beta";
  /** Its database login: both act for team-edge, each under its own name (history's actor). */
  readonly login: string;
  workspace: PulumiWorkspace;
}

/**
 * The project's program in round `round`. Round 0 makes the certificate; from round 1 on the
 * program also saves a version of the other project's certificate, which exists by then.
 */
function programOf(racer: Racer, round: number, startLine?: string): string {
  return `
const fs = require("node:fs");
const path = require("node:path");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");
const round = ${round};
const generate = (name, stamp) => {
  const host = name + ".example.test";
  return { keyAlgorithm: "ECDSA-P256", subject: { commonName: host, organization: "racing round " + stamp }, sans: [host] };
};
function declare() {
  const certificate = new Certificate("${racer.name}", { name: "${racer.name}", owner: "team-edge", description: "one of two racing projects" });
  // Blue and green take turns: the round renews one (a new version), staging gets it, production the other.
  const blueStamp = round % 2 === 1 ? round : Math.max(round - 1, 0);
  const greenStamp = round % 2 === 0 ? round : round - 1;
  const blue = new CertificateVersion("${racer.name}-blue", { certificate, generate: generate("${racer.name}", blueStamp) });
  const green = new CertificateVersion("${racer.name}-green", { certificate, generate: generate("${racer.name}", greenStamp) });
  const [renewed, previous] = round % 2 === 1 ? [blue, green] : [green, blue];
  new EnvironmentDeployment("${racer.name}-staging", { version: renewed, environment: "staging" });
  new EnvironmentDeployment("${racer.name}-production", { version: previous, environment: "production" });
  if (round > 0) {
    new CertificateVersion("${racer.name}-into-${racer.other}", { certificate: "${racer.other}", generate: generate("${racer.other}", round) });
  }
}
${startLine === undefined ? "declare();" : startingLine(racer, startLine)}
`;
}

/**
 * Both programs declare their resources only once both have started: the CLI's and the
 * language host's start-up vary by seconds on a loaded machine, the store writes of a round take
 * well under one, and the race is between the writes. Each program marks its start in the
 * round's start line (a directory) and waits until the other's mark is there; a re-run after a
 * conflict finds both marks and goes straight on.
 */
function startingLine(racer: Racer, startLine: string): string {
  return `
module.exports = (async () => {
  const line = ${JSON.stringify(startLine)};
  fs.writeFileSync(path.join(line, "${racer.name}"), "");
  const deadline = Date.now() + ${START_LINE_BOUND_MS};
  while (!fs.existsSync(path.join(line, "${racer.other}"))) {
    if (Date.now() > deadline) throw new Error("the ${racer.other} project did not start its round within ${START_LINE_BOUND_MS} ms");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  declare();
})();`;
}

let world: StoreCluster;
let database: string;
const racers: Racer[] = [
  { name: "alpha", other: "beta", login: "edge-ci", workspace: undefined as unknown as PulumiWorkspace },
  { name: "beta", other: "alpha", login: "edge-ci-beta", workspace: undefined as unknown as PulumiWorkspace },
];
let previousSnapshot: StoreSnapshot;
let runRoot: string;
const outcomes: string[] = [];

const superuser = async (sql: string) => (await world.cluster.sql(sql, [], { database })).rows;

/** `pulumi up`'s outcome: ok, or a conflict the store reported as such; anything else fails the round. */
function outcomeOf(racer: Racer, result: CommandResult): "ok" | "conflict" {
  if (result.code === 0) return "ok";
  const output = result.stdout + result.stderr;
  if (/\[DEPLOYMENT_CONFLICT\]/.test(output)) return "conflict";
  throw new Error(`${racer.name}'s up failed, and not with DEPLOYMENT_CONFLICT:\n${output}`);
}

/** Which of the round's new history rows each login wrote, and whether their writes interleaved in time. */
async function interleaving(afterHistoryId: number): Promise<string> {
  const rows = (await superuser(`SELECT actor, min(at) AS first, max(at) AS last, count(*) AS writes FROM certstage.history WHERE id > ${afterHistoryId} GROUP BY actor`)) as Array<{ actor: string; first: Date; last: Date; writes: string }>;
  const [one, two] = rows;
  if (!one || !two) return `writes only by ${rows.map((row) => row.actor).join(", ") || "nobody"}`;
  const overlapMs = Math.min(one.last.getTime(), two.last.getTime()) - Math.max(one.first.getTime(), two.first.getTime());
  return `${rows.map((row) => `${row.actor} ${row.writes} writes`).join(", ")}; ${overlapMs > 0 ? `interleaved for ${overlapMs} ms` : "one after the other"}`;
}

/**
 * The lock waits PostgreSQL logged since `offset` of its log (log_lock_waits, after
 * deadlock_timeout), by the table whose row was waited for (the CONTEXT line that follows each
 * wait, from the same backend): proof that the round's writers met on the same rows.
 */
function lockWaitsSince(offset: number): string {
  const lines = readFileSync(world.cluster.logFile).subarray(offset).toString("utf8").split("\n");
  const counts = new Map<string, number>();
  let waits = 0;
  for (const [index, line] of lines.entries()) {
    const wait = /\[(\d+)\] LOG:  process \d+ still waiting for (\w+)/.exec(line);
    if (!wait) continue;
    waits += 1;
    const sameBackend = lines.slice(index + 1, index + 4).filter((next) => next.includes(`[${wait[1]}] `) && !next.includes(" LOG: "));
    const relation = sameBackend.map((next) => /in relation "(\w+)"/.exec(next)?.[1]).find((name) => name !== undefined);
    const what = `${wait[2]} on ${relation ? `a row of ${relation}` : "another lock"}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return waits === 0 ? "no lock waits" : `${waits} lock waits (${[...counts].map(([what, count]) => `${count}× ${what}`).join(", ")})`;
}

/** Both stacks' states against the store, after their runs converged. */
async function disagreements(snapshot: StoreSnapshot): Promise<string[]> {
  const exports = await Promise.all(racers.map((racer) => racer.workspace.pulumiOk(["stack", "export"])));
  return racers.flatMap((racer, index) => claimDisagreements(racer.name, stackClaims(exports[index].stdout), snapshot));
}

beforeAll(async () => {
  world = await startStoreCluster();
  database = await world.newStoreDatabase();
  runRoot = temporaryDirectory("racing");
  // Every lock wait longer than 1 ms goes to the server's log, to count where the writers met.
  await world.cluster.sql("ALTER SYSTEM SET log_lock_waits = on");
  await world.cluster.sql("ALTER SYSTEM SET deadlock_timeout = '1ms'");
  await world.cluster.sql("SELECT pg_reload_conf()");
  const storeUrl = `postgres://127.0.0.1:${world.cluster.port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(world.cluster.caFile)}`;
  // A second runner login of team-edge, so history tells the two projects' writes apart.
  const betaPassword = randomBytes(12).toString("base64url");
  await world.cluster.createRole("edge-ci-beta", { login: true, password: betaPassword, inRoles: ["certstage_runner", "team-edge"] });
  for (const racer of racers) {
    racer.workspace = consumerProject(inject("pulumiBinDirectory"), racer.name, programOf(racer, 0));
    // Two projects, not two stacks of one: their resources' URNs differ in the project's name too.
    writeFileSync(path.join(racer.workspace.projectDirectory, "Pulumi.yaml"), `name: racing-${racer.name}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n`);
    racer.workspace.env.PGUSER = racer.login;
    racer.workspace.env.PGPASSWORD = racer.login === "edge-ci" ? world.login("edge-ci").password : betaPassword;
    racer.workspace.env.CERTSTAGE_STORE_KEY = world.keyText;
    await racer.workspace.initStack({ "certstage:store": storeUrl });
  }
  // Round 0, one after the other: each certificate exists before the other project saves versions of it.
  for (const racer of racers) await racer.workspace.pulumiOk(UP);
  previousSnapshot = await snapshotStore(superuser);
  const report = await checkInvariants(superuser, previousSnapshot);
  expect(report.violations).toEqual([]);
  expect(await disagreements(previousSnapshot)).toEqual([]);
  expect([...previousSnapshot.deployments.keys()].sort()).toEqual(ENVIRONMENTS.flatMap((environment) => racers.map((racer) => `${environment}/${racer.name}`)).sort());
});

afterAll(async () => {
  console.log(`racing stacks, ${ROUNDS} rounds:\n${outcomes.join("\n")}`);
  await world?.stop();
});

describe(`two projects racing on one PostgreSQL store for ${ROUNDS} rounds`, () => {
  for (let round = 1; round <= ROUNDS; round += 1) {
    it(`round ${round}: both ups at once, a conflict only as DEPLOYMENT_CONFLICT, converged, 0 invariant violations`, async () => {
      const startLine = mkdtempSync(path.join(runRoot, `round-${round}-`));
      for (const racer of racers) writeFileSync(path.join(racer.workspace.projectDirectory, "index.js"), programOf(racer, round, startLine));
      const logOffset = statSync(world.cluster.logFile).size;
      const lastHistoryId = Math.max(0, ...previousSnapshot.history.keys());
      const results = await Promise.all(racers.map((racer) => racer.workspace.pulumi(UP)));
      const first = racers.map((racer, index) => outcomeOf(racer, results[index]));
      // What a user does with a conflict: run again. Alone now, it must succeed.
      for (const [index, racer] of racers.entries()) if (first[index] === "conflict") await racer.workspace.pulumiOk(UP);

      const snapshot = await snapshotStore(superuser);
      const report = await checkInvariants(superuser, snapshot, previousSnapshot);
      const disagreeing = await disagreements(snapshot);
      const newVersions = snapshot.versions.size - previousSnapshot.versions.size;
      const generations = ENVIRONMENTS.map((environment) => `${environment} ${previousSnapshot.generations.get(environment)}->${snapshot.generations.get(environment)}`).join(", ");
      const checked = Object.values(report.counts).length;
      outcomes.push(
        `round ${String(round).padStart(2)}: ${racers.map((racer, index) => `${racer.name} ${first[index] === "ok" ? "ok" : "conflict, then ok on re-run"}`).join(", ")}; ` +
          `${newVersions} new versions, generations ${generations}; ${await interleaving(lastHistoryId)}, ${lockWaitsSince(logOffset)}; ` +
          `invariants: ${report.violations.length} violations in ${checked} checks, state vs store: ${disagreeing.length} disagreements`,
      );
      console.log(outcomes.at(-1));
      const before = previousSnapshot;
      previousSnapshot = snapshot;

      expect(report.violations).toEqual([]);
      expect(disagreeing).toEqual([]);
      // The round's change reached the store: each project saved its two versions and swapped both environments.
      expect(newVersions).toBe(4);
      for (const environment of ENVIRONMENTS) expect(snapshot.generations.get(environment)! - before.generations.get(environment)!, environment).toBe(2);
    });
  }
});
