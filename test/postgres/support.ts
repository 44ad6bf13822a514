/**
 * A real PostgreSQL with certstage's roles, for the postgres tier: a role that owns each store's
 * database and migrates it, team roles, runner logins that act for them, a preview login and an
 * agent login. Every login is checked at once to be what the tests claim: no superuser, no
 * BYPASSRLS, not the tables' owner; a test that ran as one of those would prove nothing about
 * row-level security.
 */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createPostgresStore, PostgresStore } from "../../provider/store/drivers/postgres";
import { parseKeyRing, type KeyRing } from "../../provider/store/key-envelope";
import { postgresConnectionFrom } from "../../provider/store/postgres/connection";
import { startPostgres, type PostgresCluster } from "../support/postgres";

export const STORE_OWNER = "certstage_owner";

export interface Login {
  readonly user: string;
  readonly password: string;
}

export interface StoreCluster {
  readonly cluster: PostgresCluster;
  readonly keyText: string;
  readonly keyRing: KeyRing;
  /** The login that owns every store database and runs migrations. */
  readonly owner: Login;
  login(name: string): Login;
  /** A fresh, migrated store database; its name. */
  newStoreDatabase(): Promise<string>;
  /** A store on `database` as `login`, through the same URL parsing users go through. */
  open(database: string, login: Login, options?: { keyRing?: KeyRing | null; migrate?: boolean }): PostgresStore;
  url(database: string, login: Login): string;
  stop(): Promise<void>;
}

/**
 * Sets a job's environment to act as `login`, as its CI secrets would: PGUSER and PGPASSWORD,
 * and the store key only where the job writes (a preview gets none).
 */
export function actAs(world: StoreCluster, env: NodeJS.ProcessEnv, login: string, withKey: boolean): void {
  const { user, password } = world.login(login);
  env.PGUSER = user;
  env.PGPASSWORD = password;
  if (withKey) env.CERTSTAGE_STORE_KEY = world.keyText;
  else delete env.CERTSTAGE_STORE_KEY;
}

/** Logins by name, each with the roles it is created in. */
const LOGINS: Record<string, readonly string[]> = {
  // Acts for team-a: the conformance suite's certificates are owned by `team-a`, its actor is `conformance@test`.
  "conformance@test": ["certstage_runner", "team-a"],
  "edge-ci": ["certstage_runner", "team-edge"],
  "web-ci": ["certstage_runner", "team-web"],
  preview: ["certstage_reader"],
  "edge-agent": ["certstage_agent"],
  copier: ["certstage_admin"],
};

export async function startStoreCluster(): Promise<StoreCluster> {
  const cluster = await startPostgres({ bindir: inject("postgresBinDirectory") });
  const passwords = new Map<string, string>();
  const secret = () => randomBytes(12).toString("base64url");
  const owner: Login = { user: STORE_OWNER, password: secret() };
  // CREATEROLE: the first migration makes the certstage_* groups itself.
  await cluster.sql(`CREATE ROLE ${STORE_OWNER} LOGIN CREATEROLE PASSWORD '${owner.password}'`);
  // The first store's migration makes the certstage_* groups that the logins below join.
  await createStoreDatabase(cluster, owner, "certstage_bootstrap");
  for (const team of ["team-a", "team-edge", "team-web"]) await cluster.createRole(team);
  for (const [name, roles] of Object.entries(LOGINS)) {
    const password = secret();
    passwords.set(name, password);
    await cluster.createRole(name, { login: true, password, inRoles: roles });
  }
  await assertRowSecurityBinds(cluster, [...passwords.keys()]);

  const keyText = randomBytes(32).toString("base64");
  const keyRing = parseKeyRing(keyText, "CERTSTAGE_STORE_KEY");
  let databases = 0;
  const url = (database: string, login: Login) => cluster.url({ user: login.user, password: login.password, database });
  return {
    cluster,
    keyText,
    keyRing,
    owner,
    login(name) {
      const password = passwords.get(name);
      if (password === undefined) throw new Error(`no test login ${name}`);
      return { user: name, password };
    },
    async newStoreDatabase() {
      databases += 1;
      return createStoreDatabase(cluster, owner, `store_${databases}_${randomBytes(3).toString("hex")}`);
    },
    open(database, login, options = {}) {
      const { config, description } = postgresConnectionFrom(url(database, login), {}, { applicationName: `test-${login.user}` });
      const ring = options.keyRing === null ? undefined : (options.keyRing ?? keyRing);
      return createPostgresStore({ connection: config, description, keyRing: ring, migrate: options.migrate });
    },
    url,
    stop: () => cluster.stop(),
  };
}

async function createStoreDatabase(cluster: PostgresCluster, owner: Login, name: string): Promise<string> {
  await cluster.createDatabase(name, { owner: owner.user });
  const { config, description } = postgresConnectionFrom(cluster.url({ user: owner.user, password: owner.password, database: name }), {}, {});
  const store = createPostgresStore({ connection: config, description });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  return name;
}

/** Fails the tier at once if a test login could bypass row-level security. */
async function assertRowSecurityBinds(cluster: PostgresCluster, logins: string[]): Promise<void> {
  const roles = await cluster.sql<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY($1)", [logins]);
  const unsafe = roles.rows.filter((role) => role.rolsuper || role.rolbypassrls || role.rolname === STORE_OWNER);
  if (unsafe.length > 0 || roles.rows.length !== logins.length) throw new Error(`test logins must be plain roles: ${JSON.stringify(unsafe)}`);
  const ownsOrInheritsOwner = await cluster.sql<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY($1) AND pg_has_role(rolname, $2, 'MEMBER')", [logins, STORE_OWNER]);
  if (ownsOrInheritsOwner.rows.length > 0) throw new Error(`test logins must not act for the tables' owner: ${ownsOrInheritsOwner.rows.map((row) => row.rolname).join(", ")}`);
}
