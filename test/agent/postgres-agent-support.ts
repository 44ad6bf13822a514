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
import { agentFixture, certstage, type FixtureOptions, populateFixture, type StoreFixture } from "./agent-support";

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
