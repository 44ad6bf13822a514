/**
 * The agent tests' store on a real PostgreSQL: one cluster per test file (started on first use,
 * stopped by `stopAgentDatabase` in afterAll), a fresh migrated database per fixture. The test
 * writes as `edge-ci`, a runner of team-edge (the owner of `api`), through the Store API; the
 * agent child process connects as `edge-agent` (a member of certstage_agent) with the store key,
 * from the environment as a systemd unit would give them: the password is on no command line.
 *
 * Every `certstage` process names its connections `certstage`; the driver names the agent's
 * LISTEN connection `certstage watch`, which is how a test finds it in pg_stat_activity.
 */
import { expect } from "vitest";
import type { AgentListing } from "../../provider/cli/agent";
import type { Store } from "../../provider/store";
import { startStoreCluster, type StoreCluster } from "../postgres/support";
import { temporaryDirectory } from "../support/certificates";
import { type NginxServer, tlsHandshake } from "../support/tls-servers";
import {
  agentFixture,
  type AgentProcess,
  certstage,
  type FixtureOptions,
  nginxCommands,
  populateFixture,
  reportOnceSo,
  SERVER_NAME,
  spawnAgent,
  startNginxOn,
  type StoreFixture,
  waitFor,
} from "./agent-support";

/** application_name of an agent's listening connection (the CLI's name plus " watch"). */
export const AGENT_LISTENER = "certstage watch";

export interface PostgresAgentFixture extends StoreFixture {
  readonly world: StoreCluster;
  readonly database: string;
}

let world: StoreCluster | undefined;
const opened: Store[] = [];

/** This file's cluster, started on first use. */
export async function agentDatabase(): Promise<StoreCluster> {
  world ??= await startStoreCluster();
  return world;
}

/** Closes the fixtures' stores and stops the cluster (afterAll). */
export async function stopAgentDatabase(): Promise<void> {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
  await world?.stop();
  world = undefined;
}

/** agentFixture's certificate and versions, in a fresh database of this file's cluster. */
export async function postgresAgentFixture(name: string, versions: number, options: FixtureOptions = {}): Promise<PostgresAgentFixture> {
  const cluster = await agentDatabase();
  const database = await cluster.newStoreDatabase();
  const store = cluster.open(database, cluster.login("edge-ci"));
  opened.push(store);
  const agent = cluster.login("edge-agent");
  const location = `postgres://127.0.0.1:${cluster.cluster.port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(cluster.cluster.caFile)}`;
  const env = { PGUSER: agent.user, PGPASSWORD: agent.password, CERTSTAGE_STORE_KEY: cluster.keyText };
  const fixture = await populateFixture({ workspace: temporaryDirectory(`agent-pg-${name}`), store, location, env }, versions, options);
  return { ...fixture, world: cluster, database };
}

/** The drivers a test that holds for every store runs on (`describe.each`). */
export const AGENT_STORE_DRIVERS = ["file", "postgres"] as const;
export type AgentStoreDriver = (typeof AGENT_STORE_DRIVERS)[number];

/** agentFixture on `driver`. */
export function fixtureOn(driver: AgentStoreDriver, name: string, versions: number, options: FixtureOptions = {}): Promise<StoreFixture> {
  return driver === "file" ? agentFixture(name, versions, options) : postgresAgentFixture(name, versions, options);
}

/** `certstage agents --json` against the fixture's store, as the agent's login. */
export async function agentListings(fixture: StoreFixture): Promise<{ code: number; listings: AgentListing[] }> {
  const result = await certstage(["agents", "--json", "--store", fixture.location], fixture.env);
  expect(result.stderr).toBe("");
  return { code: result.code, listings: (JSON.parse(result.stdout) as { agents: AgentListing[] }).agents };
}

/** The rows of the fixture's database an agent writes (its reports), as text, read as the superuser. */
export async function agentRowsText(fixture: PostgresAgentFixture): Promise<string> {
  return JSON.stringify((await fixture.world.cluster.sql("SELECT * FROM certstage.agent_reports", [], { database: fixture.database })).rows);
}

export interface FollowingAgent {
  readonly agent: AgentProcess;
  readonly nginx: NginxServer;
  /** The fingerprint of the leaf nginx serves now (a TLS handshake). */
  served(): Promise<string>;
  /** Resolves once nginx serves `version`. */
  servedOnceIs(version: number): Promise<void>;
  /** Stops the agent (if it still runs) and nginx. */
  stop(): Promise<void>;
}

/**
 * Version 1 deployed and installed by one `--once` pass (what nginx reads when it starts must be
 * there first, as a boot unit would run it), nginx serving it, and the agent following with
 * `nginx -t` and `nginx -s reload`, its full resync once an hour: on a store that pushes, it runs a
 * pass for a notification or a reconnection only. Resolves once it follows the pushes and has
 * reported version 1.
 */
export async function startFollowingAgent(fixture: StoreFixture, agentId: string): Promise<FollowingAgent> {
  await fixture.deploy(1);
  const once = await certstage(["agent", "--once", "--store", fixture.location, "--environment", "production", "--directory", fixture.directory, "--agent-id", agentId], fixture.env);
  expect(once.code, once.stderr).toBe(0);
  const nginx = await startNginxOn(fixture.directory);
  const commands = nginxCommands(nginx.reloadCommand);
  const agent = spawnAgent(
    [
      "--store", fixture.location,
      "--environment", "production",
      "--directory", fixture.directory,
      "--agent-id", agentId,
      "--check", commands.check,
      "--reload", commands.reload,
      "--serve-check", `127.0.0.1:${nginx.port}`,
      "--resync-interval", "1h",
    ],
    fixture.env,
  );
  await agent.waitForLog(/following changes postgres store .* and a full resync every 3600 s/, "the agent follows the store's pushes");
  await reportOnceSo(fixture.store, agentId, "serves version 1", (report) => report.version === 1 && report.servedFingerprintSha256 === fixture.fingerprintOf(1));
  const served = async () => (await tlsHandshake(nginx.port, SERVER_NAME)).leaf.fingerprint256;
  return {
    agent,
    nginx,
    served,
    servedOnceIs: async (version) => {
      await waitFor(`nginx serves version ${version}`, async () => ((await served()) === fixture.fingerprintOf(version) ? true : undefined));
    },
    stop: async () => {
      if (agent.child.exitCode === null && agent.child.signalCode === null) await agent.kill();
      await nginx.stop();
    },
  };
}
