/**
 * The postgres driver against a real PostgreSQL: the same conformance suite as the file driver,
 * then what only a database can promise: invariants it enforces against any client (raw SQL
 * included), ownership by row-level security, previews that can neither write nor read keys,
 * keys that are ciphertext in every row and in a dump, and migrations that two runners may
 * start at once.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildStatusReport } from "../../provider/cli/status";
import type { VersionMaterial } from "../../provider/pki/version-material";
import type { Actor, NewCertificate } from "../../provider/store";
import type { PostgresStore } from "../../provider/store/drivers/postgres";
import { parseKeyRing } from "../../provider/store/key-envelope";
import { makeTestMaterials, temporaryDirectory } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { describeStoreConformance } from "../store/conformance";
import { startStoreCluster, type StoreCluster } from "./support";
import { certstageRefusalOf } from "../support/refusals";
import { readAllStatusListings } from "../support/status-listings";
import { waitFor } from "../agent/agent-support";
import { MIGRATIONS } from "../../provider/store/postgres/migrations";

let world: StoreCluster;
beforeAll(async () => {
  world = await startStoreCluster();
});
afterAll(async () => {
  await world?.stop();
});

describeStoreConformance("postgres", async () => {
  const database = await world.newStoreDatabase();
  const login = world.login("conformance@test");
  return {
    store: world.open(database, login),
    reopen: () => world.open(database, login),
    cleanup: async () => undefined,
  };
}, { watchesDeployments: true });

const edge: Actor = { principal: "edge-ci" };
const certificate = (name: string, owner = "team-edge"): NewCertificate => ({ name, displayName: name, type: "server", owner, shareWith: [], description: "" });

const refusal = certstageRefusalOf;

/** Runs SQL as a login, outside certstage: what a modified client could send. */
async function asLogin<T>(database: string, user: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const login = world.login(user);
  const client = new pg.Client({ connectionString: world.url(database, login) });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

async function sqlError(database: string, user: string, text: string, params: unknown[] = []): Promise<{ code?: string; message: string }> {
  return asLogin(database, user, async (client) => {
    try {
      await client.query(text, params);
    } catch (error) {
      return { code: (error as { code?: string }).code, message: (error as Error).message };
    }
    return { code: undefined, message: "accepted" };
  });
}

/** Every row of every certstage table, as the superuser sees them: the "nothing changed" witness. */
async function snapshot(database: string): Promise<string> {
  const tables = ["certificates", "versions", "version_keys", "version_keystores", "version_removals", "environments", "deployments", "history", "tasks", "acme_accounts", "acme_orders", "acme_renewals"];
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await world.cluster.sql(`SELECT * FROM certstage.${table} ORDER BY 1, 2`, [], { database });
    parts.push(`${table}: ${JSON.stringify(rows.rows)}`);
  }
  return parts.join("\n");
}

describe("postgres store: what the database itself enforces", () => {
  let materials: VersionMaterial[];
  let database: string;
  let store: PostgresStore;

  beforeAll(() => {
    materials = makeTestMaterials(temporaryDirectory("pg-materials"), ["one.edge.test", "two.edge.test", "three.edge.test"]);
  });
  beforeEach(async () => {
    database = await world.newStoreDatabase();
    store = world.open(database, world.login("edge-ci"));
    await store.createCertificate(certificate("api"), edge);
    await store.createVersion("api", "upload", materials[0], edge);
    await store.createVersion("api", "upload", materials[1], edge);
    await store.deploy("api", "production", 1, edge);
    return () => store.close();
  });

  it("refuses, even from the owner's own role in raw SQL, to change or delete a saved version's rows and bytes", async () => {
    // Runners hold no UPDATE privilege on versions at all; the tables' owner holds every privilege, and the triggers still refuse it.
    expect((await sqlError(database, "edge-ci", "UPDATE certstage.versions SET certificate_pem = 'x'")).message).toMatch(/permission denied/);
    const owner = new pg.Client({ connectionString: world.url(database, world.owner) });
    await owner.connect();
    try {
      await owner.query("ALTER TABLE certstage.versions NO FORCE ROW LEVEL SECURITY");
      await owner.query("ALTER TABLE certstage.version_keys NO FORCE ROW LEVEL SECURITY");
      await expect(owner.query("UPDATE certstage.versions SET certificate_pem = 'x' WHERE version = 1")).rejects.toThrow(/VERSION_IMMUTABLE/);
      await expect(owner.query("UPDATE certstage.version_keys SET ciphertext = '\\x00' WHERE version = 2")).rejects.toThrow(/VERSION_IMMUTABLE/);
      await expect(owner.query("DELETE FROM certstage.versions WHERE version = 2")).rejects.toThrow(/VERSION_IMMUTABLE.*without recording its removal/);
    } finally {
      await owner.end();
    }
    expect((await store.readVersionFiles("api", 2)).certificatePem).toBe(materials[1].certificatePem);
  });

  it("allocates version numbers itself: a raw insert of a number that is not the next is refused", async () => {
    const skipped = await asLogin(database, "edge-ci", async (client) => {
      const id = (await client.query("SELECT id FROM certstage.certificates WHERE name = 'api'")).rows[0].id;
      try {
        await client.query("INSERT INTO certstage.versions (certificate_id, version, record, certificate_pem, chain_pem, fullchain_pem, has_private_key) VALUES ($1, 7, '{}', 'c', '', 'c', false)", [id]);
        return "accepted";
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(skipped).toMatch(/VERSION_IMMUTABLE.*not the next number/);
    const next = await store.createVersion("api", "upload", materials[2], edge);
    expect(next.version).toBe(3);
  });

  it("keeps history append-only for every role, the tables' owner included", async () => {
    for (const text of ["UPDATE certstage.history SET detail = 'rewritten'", "DELETE FROM certstage.history", "TRUNCATE certstage.history"]) {
      expect((await sqlError(database, "edge-ci", text)).code, text).toBeDefined();
    }
    const owner = new pg.Client({ connectionString: world.url(database, world.owner) });
    await owner.connect();
    try {
      // The owner has every privilege on its tables; the triggers still refuse.
      await expect(owner.query("TRUNCATE certstage.history")).rejects.toThrow(/append-only/);
      await expect(owner.query("DELETE FROM certstage.history")).resolves.toMatchObject({ rowCount: 0 }); // FORCE RLS: the owner sees no row to delete
    } finally {
      await owner.end();
    }
    const count = await world.cluster.sql("SELECT count(*)::int AS n FROM certstage.history", [], { database });
    expect(count.rows[0].n).toBe(4);
  });

  it("fences every deployment change on its environment's generation: a stale or unbumped write is refused", async () => {
    const unbumped = await sqlError(database, "edge-ci", "UPDATE certstage.deployments SET version = 2");
    expect(unbumped.message).toMatch(/DEPLOYMENT_CONFLICT/);
    const generation = Number((await world.cluster.sql("SELECT generation FROM certstage.environments WHERE name = 'production'", [], { database })).rows[0].generation);
    await store.deploy("api", "production", 2, edge);
    const stale = await sqlError(database, "edge-ci", "UPDATE certstage.environments SET generation = generation + 1 WHERE name = 'production' AND generation = $1", [generation]);
    expect(stale.message).toBe("accepted"); // matched no row: the stale writer's compare-and-swap did nothing
    const after = await world.cluster.sql("SELECT version, generation FROM certstage.deployments", [], { database });
    expect(after.rows).toEqual([{ version: 2, generation: String(generation + 1) }]);
  });

  it("holds one pending task per certificate and environment by a key", async () => {
    const environments = [{ name: "production", target: { type: "directory" } }];
    const first = await store.queueTask({ certificate: "api", environment: "production", version: 2, environments }, edge);
    const duplicate = await asLogin(database, "edge-ci", async (client) => {
      const id = (await client.query("SELECT id FROM certstage.certificates WHERE name = 'api'")).rows[0].id;
      try {
        await client.query("INSERT INTO certstage.tasks (id, certificate_id, environment, version, state, record) VALUES ('x', $1, 'production', 2, 'pending', '{}')", [id]);
        return "accepted";
      } catch (error) {
        return (error as { code?: string }).code;
      }
    });
    expect(duplicate).toBe("23505");
    expect((await store.getTask(first.id))?.state).toBe("pending");
  });

  it("holds that a swap task names a version and an undeploy task none, by a check", async () => {
    const environments = [{ name: "production", target: { type: "directory" } }];
    const undeploy = await store.queueTask({ certificate: "api", environment: "production", action: "undeploy", environments }, edge);
    const rows = await world.cluster.sql("SELECT action, version FROM certstage.tasks WHERE id = $1", [undeploy.id], { database });
    expect(rows.rows).toEqual([{ action: "undeploy", version: null }]);
    const insert = (action: string, version: number | null) =>
      sqlError(database, "edge-ci", "INSERT INTO certstage.tasks (id, certificate_id, environment, action, version, state, record) SELECT $1, id, 'staging', $2, $3, 'cancelled', '{}' FROM certstage.certificates WHERE name = 'api'", [`x-${action}-${version}`, action, version]);
    expect(await insert("undeploy", 2)).toMatchObject({ code: "23514" });
    expect(await insert("deploy", null)).toMatchObject({ code: "23514" });
    expect(await insert("retire", null)).toMatchObject({ code: "23514" });
    expect((await store.getTask(undeploy.id))?.state).toBe("pending");
  });

  it("lets retention remove only finished tasks of certificates a role owns; a pending or running one is refused to anybody, the tables' owner included", async () => {
    const environments = [{ name: "production", target: { type: "directory" } }];
    const done = await store.queueTask({ certificate: "api", environment: "production", version: 2, environments }, edge);
    await store.claimTask(done.id, edge);
    await store.finishTask(done.id, { state: "done" }, edge);
    const pending = await store.queueTask({ certificate: "api", environment: "production", version: 1, environments }, edge);
    // Another team's runner sees no row to remove; the owner's raw DELETE of a pending task is refused by the trigger.
    expect((await asLogin(database, "web-ci", (client) => client.query("DELETE FROM certstage.tasks"))).rowCount).toBe(0);
    expect((await asLogin(database, "edge-ci", (client) => client.query("DELETE FROM certstage.tasks WHERE id = $1", [pending.id]))).rowCount).toBe(0);
    const owner = new pg.Client({ connectionString: world.url(database, world.owner) });
    await owner.connect();
    try {
      await owner.query("ALTER TABLE certstage.tasks NO FORCE ROW LEVEL SECURITY");
      await expect(owner.query("DELETE FROM certstage.tasks WHERE id = $1", [pending.id])).rejects.toThrow(/TASK_STATE: task .* is pending and cannot be removed/);
      await owner.query("ALTER TABLE certstage.tasks FORCE ROW LEVEL SECURITY");
    } finally {
      await owner.end();
    }
    const history = await store.readHistory();
    expect(await store.pruneFinishedTasks({ retention: { keepDays: 0, keepLast: 0 }, now: new Date(Date.now() + 86_400_000), limit: 10 }, edge)).toEqual([done.id]);
    expect((await store.listTasks()).map((task) => task.id)).toEqual([pending.id]);
    expect(await store.readHistory()).toEqual(history);
  });

  it("keeps the deployment and history whole when a change fails half-way (one transaction)", async () => {
    const before = await snapshot(database);
    // A version of another certificate: refused after the certificate's row was locked.
    expect((await refusal(store.deploy("api", "production", 9, edge))).code).toBe("VERSION_NOT_FOUND");
    expect(await snapshot(database)).toBe(before);
  });
});

describe("postgres store: writers of one deployment at once", () => {
  let materials: VersionMaterial[];
  let database: string;

  beforeAll(async () => {
    materials = makeTestMaterials(temporaryDirectory("pg-racing"), ["one.edge.test", "two.edge.test"]);
    database = await world.newStoreDatabase();
    const store = world.open(database, world.login("edge-ci"));
    try {
      await store.createCertificate(certificate("api"), edge);
      await store.createVersion("api", "upload", materials[0], edge);
      await store.createVersion("api", "upload", materials[1], edge);
      await store.deploy("api", "production", 1, edge);
    } finally {
      await store.close();
    }
  });

  /** Backends of the two runners below that wait for a lock right now. */
  const waitingRunners = async () =>
    Number((await world.cluster.sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'test-%' AND wait_event_type = 'Lock'", [database])).rows[0].n);

  it("an undeploy that waited for a deploy of the same pair records the version it removed, not the one it first read", async () => {
    const deployer = world.open(database, world.login("edge-ci"));
    const undeployer = world.open(database, world.login("edge-ci"));
    // Hold the certificate's row, so both runners queue on it: the deploy first, then the undeploy.
    const holder = new pg.Client({ connectionString: world.cluster.url({ user: world.cluster.superuser.user, password: world.cluster.superuser.password, database }) });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM certstage.certificates WHERE name = 'api' FOR UPDATE");
      const deploy = deployer.deploy("api", "production", 2, edge);
      await waitFor("the deploy waits for the certificate's row", async () => ((await waitingRunners()) === 1 ? true : undefined));
      const undeploy = undeployer.undeploy("api", "production", edge);
      await waitFor("the undeploy waits behind it", async () => ((await waitingRunners()) === 2 ? true : undefined));
      await holder.query("COMMIT");
      await Promise.all([deploy, undeploy]);
    } finally {
      await holder.end();
      await deployer.close();
      await undeployer.close();
    }
    const rows = await world.cluster.sql("SELECT action, from_version, to_version FROM certstage.history WHERE environment = 'production' ORDER BY id", [], { database });
    expect(rows.rows).toEqual([
      { action: "deploy", from_version: null, to_version: 1 },
      { action: "deploy", from_version: 1, to_version: 2 },
      { action: "undeploy", from_version: 2, to_version: null },
    ]);
    expect((await world.cluster.sql("SELECT count(*)::int AS n FROM certstage.deployments", [], { database })).rows[0].n).toBe(0);
  });
});

describe("postgres store: ownership by row-level security", () => {
  let materials: VersionMaterial[];
  let database: string;
  let owner: PostgresStore;
  let stranger: PostgresStore;
  const web: Actor = { principal: "web-ci" };

  beforeAll(() => {
    materials = makeTestMaterials(temporaryDirectory("pg-owners"), ["api.edge.test", "api2.edge.test"]);
  });
  beforeEach(async () => {
    database = await world.newStoreDatabase();
    owner = world.open(database, world.login("edge-ci"));
    stranger = world.open(database, world.login("web-ci"));
    await owner.createCertificate({ ...certificate("api"), shareWith: ["team-web"] }, edge);
    await owner.createCertificate(certificate("private"), edge);
    await owner.createVersion("api", "upload", materials[0], edge);
    await owner.deploy("api", "production", 1, edge);
    return async () => {
      await owner.close();
      await stranger.close();
    };
  });

  it("refuses every write path of a non-owner, through certstage and changes nothing", async () => {
    const before = await snapshot(database);
    const attempts: [string, () => Promise<unknown>][] = [
      ["update", () => stranger.updateCertificate("api", { displayName: "taken" }, web)],
      ["transfer", () => stranger.updateCertificate("api", { owner: "team-web" }, web)],
      ["delete", () => stranger.deleteCertificate("api", web)],
      ["version", () => stranger.createVersion("api", "upload", materials[1], web)],
      ["delete version", () => stranger.deleteVersion("api", 1, web)],
      ["deploy", () => stranger.deploy("api", "staging", 1, web)],
      ["undeploy", () => stranger.undeploy("api", "production", web)],
      ["queue", () => stranger.queueTask({ certificate: "api", environment: "staging", version: 1, environments: [] }, web)],
      ["queue an undeploy", () => stranger.queueTask({ certificate: "api", environment: "production", action: "undeploy", environments: [] }, web)],
    ];
    for (const [what, attempt] of attempts) {
      const error = await refusal(attempt());
      expect(error.code, what).toBe("NOT_OWNER");
      expect(error.message, what).toContain("belongs to 'team-edge'");
    }
    // The ACME records of the certificate belong to its owner too; the database says no.
    const key = materials[1].privateKeyPem!;
    for (const [what, attempt] of [
      ["renewal record", () => stranger.putAcmeRenewal({ certificate: "api", version: 1, directoryUrl: "https://ca.test/dir", notBefore: "2026-11-01T00:00:00.000Z", notAfter: "2027-01-30T00:00:00.000Z", issuedAt: "2026-11-01T00:00:00.000Z" })],
      ["order in flight", () => stranger.putAcmeOrder({ certificate: "api", directoryUrl: "https://ca.test/dir", orderUrl: "https://ca.test/order/1", accountUrl: "https://ca.test/acct/1", certificateKeyPem: key, createdAt: "2026-12-01T00:00:00.000Z" })],
    ] as const) {
      expect((await refusal(attempt())).code, what).toBe("NOT_OWNER");
    }
    expect(await snapshot(database)).toBe(before);
    // A task of the owner's, a swap or an undeploy: a stranger can neither claim it (the row cannot be locked) nor end it.
    const task = await owner.queueTask({ certificate: "api", environment: "staging", version: 1, environments: [] }, edge);
    const undeploy = await owner.queueTask({ certificate: "api", environment: "production", action: "undeploy", environments: [] }, edge);
    const queued = await snapshot(database);
    for (const id of [task.id, undeploy.id]) {
      expect(await stranger.claimTask(id, web)).toBeUndefined();
      expect((await refusal(stranger.finishTask(id, { state: "cancelled" }, web))).code).toBe("NOT_OWNER");
    }
    expect(await snapshot(database)).toBe(queued);
  });

  it("refuses the same writes made in raw SQL with the team's own role", async () => {
    const before = await snapshot(database);
    const statements = [
      "UPDATE certstage.certificates SET owner = 'team-web'",
      "UPDATE certstage.certificates SET display_name = 'taken'",
      "DELETE FROM certstage.deployments",
      "UPDATE certstage.environments SET generation = generation + 1",
      "INSERT INTO certstage.certificates (name, display_name, type, owner) VALUES ('squat', 's', 'server', 'team-edge')",
      "INSERT INTO certstage.tasks (id, certificate_id, environment, action, state, record) SELECT 'x', id, 'production', 'undeploy', 'pending', '{}' FROM certstage.certificates WHERE name = 'api'",
    ];
    for (const text of statements) {
      await asLogin(database, "web-ci", async (client) => {
        await client.query("BEGIN");
        try {
          await client.query(text);
        } catch {
          // refused outright: fine
        }
        await client.query("ROLLBACK");
      });
    }
    // Each statement either failed or touched no row: read as the superuser, nothing moved.
    expect(await snapshot(database)).toBe(before);
    const insertOwned = await sqlError(database, "web-ci", "INSERT INTO certstage.certificates (name, display_name, type, owner) VALUES ('squat', 's', 'server', 'team-edge')");
    expect(insertOwned.message).toMatch(/row-level security/);
    const update = await asLogin(database, "web-ci", (client) => client.query("UPDATE certstage.certificates SET display_name = 'taken' WHERE name = 'api'"));
    expect(update.rowCount).toBe(0);
  });

  it("lets a share-with role see a certificate, and hides one that is not shared", async () => {
    expect((await stranger.getCertificate("api"))?.owner).toBe("team-edge");
    expect((await stranger.listVersions("api")).map((version) => version.version)).toEqual([1]);
    expect(await stranger.getCertificate("private")).toBeUndefined();
    expect((await stranger.listCertificates()).map((record) => record.name)).toEqual(["api"]);
    const squat = await refusal(stranger.createCertificate(certificate("private", "team-web"), web));
    expect(squat.code).toBe("CERTIFICATE_EXISTS");
  });

  it("lets the owner transfer a certificate; the old owner keeps sight of it but may no longer change it", async () => {
    const transferred = await owner.updateCertificate("private", { owner: "team-web" }, edge);
    expect(transferred).toMatchObject({ owner: "team-web", shareWith: ["team-edge"] });
    expect((await stranger.getCertificate("private"))?.owner).toBe("team-web");
    expect((await owner.getCertificate("private"))?.owner).toBe("team-web");
    expect((await refusal(owner.updateCertificate("private", { displayName: "back" }, edge))).code).toBe("NOT_OWNER");
    await stranger.updateCertificate("private", { displayName: "ours now", shareWith: [] }, web);
    expect(await owner.getCertificate("private")).toBeUndefined();
  });

  it("records the connecting role as the actor: history cannot be written in another's name", async () => {
    const forged = await sqlError(database, "web-ci", "INSERT INTO certstage.history (actor, action, certificate, result) VALUES ('edge-ci', 'deploy', 'api', 'ok')");
    expect(forged.message).toMatch(/row-level security/);
    await stranger.recordHistory({ actor: "edge-ci", action: "verify", certificate: "api", environment: "production", result: "ok", detail: "seen" });
    const history = await owner.readHistory({ certificate: "api" });
    expect(history.at(-1)).toMatchObject({ action: "verify", actor: "web-ci" });
  });

  it("keeps the record of releases as history has it: written only with a release line, seen as its line is seen", async () => {
    await owner.createVersion("private", "upload", materials[0], edge);
    await owner.recordHistory({ actor: edge.principal, action: "version.release", certificate: "api", fromVersion: 1, result: "ok", detail: "replaced" });
    await owner.recordHistory({ actor: edge.principal, action: "version.release", certificate: "private", fromVersion: 1, result: "ok", detail: "replaced" });
    // Nobody writes or changes the record but the trigger on history, not even the certificate's owner.
    expect((await sqlError(database, "edge-ci", "INSERT INTO certstage.version_releases (certificate, version) VALUES ('api', 2)")).message).toMatch(/permission denied/);
    expect((await sqlError(database, "edge-ci", "DELETE FROM certstage.version_releases")).message).toMatch(/permission denied/);
    expect(await owner.listReleasedVersions()).toEqual(new Map([["api", new Set([1])], ["private", new Set([1])]]));
    // The share-with role sees the release lines of api alone, and so the releases of api alone.
    expect(await stranger.listReleasedVersions()).toEqual(new Map([["api", new Set([1])]]));
    expect((await stranger.readHistory({ actions: ["version.release"] })).map((entry) => entry.certificate)).toEqual(["api"]);
  });
});

describe("postgres store: previews run read-only, without keys", () => {
  let materials: VersionMaterial[];
  let database: string;
  let runner: PostgresStore;
  let preview: PostgresStore;

  beforeAll(() => {
    materials = makeTestMaterials(temporaryDirectory("pg-preview"), ["api.preview.test"]);
  });
  beforeEach(async () => {
    database = await world.newStoreDatabase();
    runner = world.open(database, world.login("edge-ci"));
    preview = world.open(database, world.login("preview"), { keyRing: null });
    await runner.createCertificate(certificate("api"), edge);
    await runner.createVersion("api", "upload", materials[0], edge);
    await runner.deploy("api", "production", 1, edge);
    return async () => {
      await runner.close();
      await preview.close();
    };
  });

  it("is a read-only principal, and a runner acts for its team: the database says who acts", async () => {
    expect(await preview.principal({ principal: "whatever the stack says" })).toEqual({ name: "preview", roles: ["certstage_reader", "preview"], enforcedBy: "database", readOnly: true });
    const runnerPrincipal = await runner.principal({ principal: "someone@else" });
    expect(runnerPrincipal).toMatchObject({ name: "edge-ci", enforcedBy: "database" });
    expect(runnerPrincipal.roles).toEqual(expect.arrayContaining(["edge-ci", "team-edge", "certstage_runner"]));
    expect(runnerPrincipal.readOnly).toBeUndefined();
  });

  it("reads certificates, versions, deployments and history, as a preview needs them", async () => {
    expect((await preview.listCertificates()).map((record) => record.name)).toEqual(["api"]);
    expect((await preview.getVersion("api", 1))?.fingerprintSha256).toBe(materials[0].facts.fingerprintSha256);
    expect(await preview.getDeployment("api", "production")).toMatchObject({ version: 1 });
    expect((await preview.readHistory()).length).toBe(3);
  });

  it("reads status as the runner does; a role refused part of it gets the refusal, and its connection stays usable", async () => {
    await runner.recordHistory({ actor: edge.principal, action: "version.release", certificate: "api", fromVersion: 1, result: "ok", detail: "replaced" });
    expect(await readAllStatusListings(preview)).toEqual(await readAllStatusListings(runner));
    expect((await readAllStatusListings(preview)).released).toEqual(new Map([["api", new Set([1])]]));
    // Agents may read deployments and versions but not tasks: status is refused to them half-way through its listings.
    const agent = world.open(database, world.login("edge-agent"));
    try {
      expect((await refusal(readAllStatusListings(agent))).message).toMatch(/permission denied/);
      expect((await agent.listDeployments()).map((deployment) => deployment.version)).toEqual([1]);
    } finally {
      await agent.close();
    }
  });

  it("is refused by the database when it reads the key tables or writes anything", async () => {
    for (const table of ["version_keys", "version_keystores", "acme_accounts", "acme_orders"]) {
      const read = await sqlError(database, "preview", `SELECT * FROM certstage.${table}`);
      expect(read.message, table).toMatch(/permission denied/);
    }
    const writes = [
      "INSERT INTO certstage.certificates (name, display_name, type, owner) VALUES ('x', 'x', 'server', 'preview')",
      "UPDATE certstage.certificates SET display_name = 'x'",
      "DELETE FROM certstage.deployments",
      "INSERT INTO certstage.history (action, certificate, result) VALUES ('deploy', 'api', 'ok')",
      "UPDATE certstage.environments SET generation = generation + 1",
    ];
    for (const text of writes) expect((await sqlError(database, "preview", text)).message, text).toMatch(/permission denied/);
    const error = await refusal(preview.deploy("api", "staging", 1, { principal: "preview" }));
    expect(error.code).toBe("STORE_READ_ONLY");
    const keyless = await refusal(preview.readVersionFiles("api", 1));
    expect(keyless.code).toBe("STORE_KEY_MISSING");
  });
});

describe("postgres store: private keys at rest", () => {
  let materials: VersionMaterial[];
  let database: string;
  let store: PostgresStore;

  beforeAll(() => {
    materials = makeTestMaterials(temporaryDirectory("pg-keys"), ["one.keys.test", "two.keys.test"]);
  });
  beforeEach(async () => {
    database = await world.newStoreDatabase();
    store = world.open(database, world.login("edge-ci"));
    await store.createCertificate(certificate("api"), edge);
    await store.createVersion("api", "upload", materials[0], edge);
    await store.createVersion("api", "upload", materials[1], edge);
    await store.putAcmeAccount({ directoryUrl: "https://ca.test/dir", accountKeyPem: materials[1].privateKeyPem! });
    return () => store.close();
  });

  it("keeps no usable key in any row or in pg_dump, yet opens them with the key-encryption key", async () => {
    const keys = materials.map((material) => material.privateKeyPem!);
    expectNoPrivateKeyMaterial(await snapshot(database), keys, "the store's rows");
    expectNoPrivateKeyMaterial(await world.cluster.dump(database), keys, "pg_dump");
    expect((await store.readVersionFiles("api", 1)).privateKeyPem).toBe(keys[0]);
    expect((await store.getAcmeAccount("https://ca.test/dir"))?.accountKeyPem).toBe(keys[1]);
  });

  it("refuses a ciphertext moved to another version's row, or changed, with a clear error", async () => {
    await world.cluster.sql("ALTER TABLE certstage.version_keys DISABLE TRIGGER version_key_guard", [], { database });
    const movedRows = await world.cluster.sql("UPDATE certstage.version_keys k SET kek_id = o.kek_id, wrapped_key = o.wrapped_key, ciphertext = o.ciphertext FROM certstage.version_keys o WHERE k.version = 2 AND o.version = 1", [], { database });
    expect(movedRows.rowCount).toBe(1);
    const moved = await refusal(store.readVersionFiles("api", 2));
    expect(moved.code).toBe("KEY_DECRYPT_FAILED");
    // Flip one bit: writing a fixed byte would change nothing whenever the ciphertext already held it.
    await world.cluster.sql("UPDATE certstage.version_keys SET ciphertext = set_byte(ciphertext, 19, get_byte(ciphertext, 19) # 1) WHERE version = 1", [], { database });
    const tampered = await refusal(store.readVersionFiles("api", 1));
    expect(tampered.code).toBe("KEY_DECRYPT_FAILED");
    expectNoPrivateKeyMaterial(`${moved.message}\n${tampered.message}`, materials.map((material) => material.privateKeyPem!), "errors");
  });

  it("rekeys: after `new,old` and a rekey, the new key alone opens every key", async () => {
    const newKey = randomBytes(32).toString("base64");
    const rotating = world.open(database, world.login("edge-ci"), { keyRing: parseKeyRing(`${newKey},${world.keyText}`, "CERTSTAGE_STORE_KEY") });
    try {
      expect(await rotating.rekey()).toEqual({ rewrapped: 3, total: 3 });
      expect(await rotating.rekey()).toEqual({ rewrapped: 0, total: 3 });
    } finally {
      await rotating.close();
    }
    const rotated = world.open(database, world.login("edge-ci"), { keyRing: parseKeyRing(newKey, "CERTSTAGE_STORE_KEY") });
    try {
      expect((await rotated.readVersionFiles("api", 2)).privateKeyPem).toBe(materials[1].privateKeyPem);
      expect((await rotated.getAcmeAccount("https://ca.test/dir"))?.accountKeyPem).toBe(materials[1].privateKeyPem);
    } finally {
      await rotated.close();
    }
    expect((await refusal(store.readVersionFiles("api", 1))).code).toBe("STORE_KEY_UNKNOWN");
  });
});

describe("postgres store: a process that watches holds one connection", () => {
  it("runs its reads and writes on the watch's LISTEN connection, and is still notified", async () => {
    const database = await world.newStoreDatabase();
    const runner = world.open(database, world.login("edge-ci"));
    const agent = world.open(database, world.login("edge-agent"));
    const [material] = makeTestMaterials(temporaryDirectory("pg-one-connection"), ["one.edge.test"]);
    let changes = 0;
    const watch = await agent.watchDeployments("production", { onChange: () => (changes += 1), onResync: () => undefined, onError: () => undefined });
    try {
      await runner.createCertificate(certificate("api"), edge);
      await runner.createVersion("api", "upload", material, edge);
      await runner.deploy("api", "production", 1, edge);
      await waitFor("the watch is told of the deploy", async () => (changes > 0 ? true : undefined));
      // What an agent's pass does: read what is deployed and its files, and report.
      expect((await agent.listDeployments()).map(({ certificate, environment, version }) => ({ certificate, environment, version }))).toEqual([{ certificate: "api", environment: "production", version: 1 }]);
      expect((await agent.readVersionFiles("api", 1)).privateKeyPem).toBe(material.privateKeyPem);
      await agent.putAgentReport({ agentId: "edge-1", host: "edge-1.test", environment: "production", certificate: "api", version: 1, lastSeen: new Date().toISOString() });
      expect(await agent.listAgentReports({ environment: "production" })).toHaveLength(1);
      // A pool connection would stay open, idle, for 10 s after those calls.
      const backends = await world.cluster.sql("SELECT application_name FROM pg_stat_activity WHERE usename = 'edge-agent' AND datname = $1", [database]);
      expect(backends.rows).toEqual([{ application_name: "test-edge-agent watch" }]);
      const before = changes;
      await runner.deploy("api", "staging", 1, edge);
      await runner.undeploy("api", "production", edge);
      await waitFor("the watch is told of the undeploy", async () => (changes > before ? true : undefined));
    } finally {
      await watch.close();
      await agent.close();
      await runner.close();
    }
  });
});

describe("postgres store: migrations", () => {
  it("run once when several runners meet an empty database at once, and leave no advisory lock behind", async () => {
    const name = `race_${randomBytes(3).toString("hex")}`;
    await world.cluster.createDatabase(name, { owner: world.owner.user });
    const stores = Array.from({ length: 4 }, () => world.open(name, world.owner, {}));
    try {
      const outcomes = await Promise.all(stores.map((candidate) => candidate.migrate()));
      expect(outcomes.filter((outcome) => outcome.applied.length > 0)).toHaveLength(1);
      const applied = await world.cluster.sql("SELECT version FROM certstage.migrations ORDER BY version", [], { database: name });
      expect(applied.rows).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
      const locks = await world.cluster.sql("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'");
      expect(locks.rows[0].n).toBe(0);
    } finally {
      await Promise.all(stores.map((candidate) => candidate.close()));
    }
  });

  it("brings a store that holds versions from schema 1 up to the latest, each version listing as it did", async () => {
    const database = await world.newStoreDatabase();
    const runner = world.open(database, world.login("edge-ci"));
    const materials = makeTestMaterials(temporaryDirectory("pg-upgrade"), ["one.edge.test", "two.edge.test"]);
    try {
      await runner.createCertificate(certificate("api"), edge);
      // Made by one resource, so version 1 would be unclaimed were its release not known.
      for (const [index, material] of materials.entries()) await runner.createVersion("api", "upload", material, edge, { urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::api", inputs: `inputs-${index}` });
      await runner.deploy("api", "production", 2, edge);
      const swap = await runner.queueTask({ certificate: "api", environment: "staging", version: 1, environments: [] }, edge);
      // Release lines written before the record of releases (migration 8): one that counts, one that failed.
      await runner.recordHistory({ actor: edge.principal, action: "version.release", certificate: "api", fromVersion: 1, result: "ok", detail: "replaced" });
      await runner.recordHistory({ actor: edge.principal, action: "version.release", certificate: "api", fromVersion: 2, result: "failed", detail: "interrupted" });
      const before = { versions: await runner.listVersions("api"), all: await runner.listAllVersions(), status: await buildStatusReport(runner) };
      // Schema 1's shape: the versions table without the summary columns migrations 2 and 10 add, no
      // notifications table (migration 3), no task retention (migration 4), no keystores table
      // (migration 5), and no record of any.
      // Row triggers do not fire on DDL, so a saved version stays as it was.
      await world.cluster.sql("ALTER TABLE certstage.versions DROP COLUMN status_summary", [], { database });
      await world.cluster.sql("ALTER TABLE certstage.versions DROP COLUMN summary", [], { database });
      await world.cluster.sql("DROP TABLE certstage.notifications", [], { database });
      await world.cluster.sql("DROP TABLE certstage.version_keystores", [], { database });
      // No undeploy tasks (migration 6): no action column, and every task names its version.
      await world.cluster.sql("ALTER TABLE certstage.tasks DROP CONSTRAINT tasks_version_of_action", [], { database });
      await world.cluster.sql("ALTER TABLE certstage.tasks DROP COLUMN action", [], { database });
      await world.cluster.sql("ALTER TABLE certstage.tasks ALTER COLUMN version SET NOT NULL", [], { database });
      for (const statement of ["DROP TRIGGER tasks_keep_unfinished ON certstage.tasks", "DROP FUNCTION certstage.keep_unfinished_tasks()", "DROP POLICY tasks_remove ON certstage.tasks", "REVOKE DELETE ON certstage.tasks FROM certstage_runner, certstage_admin"]) {
        await world.cluster.sql(statement, [], { database });
      }
      // No record of releases (migration 8): history alone says which versions were released.
      for (const statement of ["DROP TRIGGER history_records_release ON certstage.history", "DROP FUNCTION certstage.record_release()", "DROP TABLE certstage.version_releases"]) {
        await world.cluster.sql(statement, [], { database });
      }
      await world.cluster.sql("DELETE FROM certstage.migrations WHERE version > 1", [], { database });
      const owner = world.open(database, world.owner);
      try {
        const outcome = await owner.migrate();
        expect(outcome).toMatchObject({ from: 1, to: MIGRATIONS.at(-1)!.version });
        expect(outcome.applied.map(({ version }) => version)).toEqual(MIGRATIONS.filter(({ version }) => version > 1).map(({ version }) => version));
      } finally {
        await owner.close();
      }
      expect(await runner.listVersions("api")).toEqual(before.versions);
      expect(await runner.listAllVersions()).toEqual(before.all);
      expect(before.all.map(({ version }) => version)).toEqual([1, 2]);
      // The releases history held before the record are in it, and status reads as it did.
      expect(await runner.listReleasedVersions()).toEqual(new Map([["api", new Set([1])]]));
      expect(await buildStatusReport(runner)).toEqual(before.status);
      // Status reads only what it shows of each version (versions.status_summary): no issuer, no
      // times of making, no origin inputs, for the versions saved before the column existed too.
      const statusVersions = (await readAllStatusListings(runner)).versionGroups.flat();
      for (const version of statusVersions) {
        expect(Object.keys(version).sort()).toEqual(["certificate", "fingerprintSha256", "method", "notAfter", "origin", "sans", "serial", "subject", "version"]);
        expect(version.origin).toEqual({ urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::api" });
      }
      expect(before.status.certificates[0].versions.map(({ version, unclaimed }) => ({ version, unclaimed }))).toEqual([{ version: 1, unclaimed: false }, { version: 2, unclaimed: false }]);
      expect((await runner.readVersionFiles("api", 2)).privateKeyPem).toBe(materials[1].privateKeyPem);
      // The task written before undeploy tasks existed is a swap still, and the database says so.
      expect(await runner.getTask(swap.id)).toEqual(swap);
      expect(swap.action).toBeUndefined();
      expect((await world.cluster.sql("SELECT action FROM certstage.tasks WHERE id = $1", [swap.id], { database })).rows).toEqual([{ action: "deploy" }]);
    } finally {
      await runner.close();
    }
  });

  it("refuses a runner that may not create the schema with STORE_NOT_MIGRATED, and reads an empty store meanwhile", async () => {
    const name = `empty_${randomBytes(3).toString("hex")}`;
    await world.cluster.createDatabase(name, { owner: world.owner.user });
    const runner = world.open(name, world.login("edge-ci"));
    try {
      expect(await runner.identity()).toBeUndefined();
      expect(await runner.listCertificates()).toEqual([]);
      const error = await refusal(runner.createCertificate(certificate("api"), edge));
      expect(error.code).toBe("STORE_NOT_MIGRATED");
      expect(error.message).toContain("certstage store migrate");
    } finally {
      await runner.close();
    }
  });
});
