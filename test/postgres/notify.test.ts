/**
 * `certstage notify` on a shared postgres store: two runs started at once (two CI jobs, a
 * re-run beside a scheduled run) send each notice once; the preview role may read the
 * notifications table but the database refuses it every write; a role sees and writes only the
 * notices of certificates it may see; and notify runs without the store key.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectUpload } from "../../provider/pki/version-material";
import type { Actor, NewCertificate } from "../../provider/store";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { certstageRefusalOf } from "../support/refusals";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { startWebhookServer, type WebhookServer } from "../support/webhook-server";
import { startStoreCluster, type StoreCluster } from "./support";

const DAY = 86_400_000;
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const edge: Actor = { principal: "edge-ci" };
const certificate = (name: string, owner = "team-edge"): NewCertificate => ({ name, displayName: name, type: "server", owner, shareWith: [], description: "" });

let world: StoreCluster;
let database: string;
let webhook: WebhookServer;
let issuedAt: number;
const keys: string[] = [];

beforeAll(async () => {
  world = await startStoreCluster();
  database = await world.newStoreDatabase();
  webhook = await startWebhookServer();
  const store = world.open(database, world.login("edge-ci"));
  const pki = temporaryDirectory("pg-notify-pki");
  issuedAt = Date.now();
  try {
    for (const name of ["api", "grafana"]) {
      await store.createCertificate(certificate(name), edge);
      const made = makeTestCertificate(pki, `${name}.example.test`, 30);
      keys.push(made.privateKeyPem);
      const material = inspectUpload(made);
      if (!material.ok) throw new Error("bad test certificate");
      await store.createVersion(name, "upload", material.value, edge);
    }
    await store.deploy("api", "production", 1, edge);
    await store.deploy("api", "staging", 1, edge);
    await store.deploy("grafana", "staging", 1, edge);
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  await webhook?.stop();
  await world?.stop();
});

/** The built command as a CI job runs it: PGUSER/PGPASSWORD of `login`, no store key. */
function notify(login: string, args: string[], daysLater: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const { password } = world.login(login);
  const env: NodeJS.ProcessEnv = { ...process.env, CERTSTAGE_STORE: world.url(database, { user: login, password }), CERTSTAGE_NOW: new Date(issuedAt + daysLater * DAY).toISOString() };
  delete env.CERTSTAGE_STORE_KEY;
  delete env.CERTSTAGE_NOTIFY_WEBHOOK;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "notify", "--webhook", webhook.url, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function asLogin<T>(user: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: world.url(database, world.login(user)) });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

async function sqlOutcome(user: string, text: string): Promise<string> {
  return asLogin(user, async (client) => {
    try {
      const result = await client.query(text);
      return `ok ${result.rowCount}`;
    } catch (error) {
      return (error as Error).message;
    }
  });
}

describe("certstage notify on a postgres store", () => {
  it("two runs at once send each notice once, and a third sends nothing", async () => {
    // The first message is answered only once the other run sends one too: both are sending at once,
    // and the second run must have found the first's claim and moved on.
    webhook.holdUntil = 2;
    const runs = await Promise.all([notify("edge-ci", ["--json"], 25), notify("edge-ci", ["--json"], 25)]);
    for (const run of runs) expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
    const noticed = webhook.messages.map((message) => `${message.certificate} ${message.environment} ${message.band}`).sort();
    expect(noticed).toEqual(["api production 7d", "api staging 7d", "grafana staging 7d"]);
    const outcomes = runs.flatMap((run) => (JSON.parse(run.stdout) as { notices: Array<{ outcome: string }> }).notices.map((notice) => notice.outcome));
    expect(outcomes.filter((outcome) => outcome === "sent")).toHaveLength(3);
    expect(outcomes.every((outcome) => outcome === "sent" || outcome === "claimed-elsewhere")).toBe(true);
    expect(outcomes.filter((outcome) => outcome === "claimed-elsewhere").length).toBeGreaterThanOrEqual(1);

    expect((await notify("edge-ci", [], 25.2)).stdout).toMatch(/^Nothing to notify/);
    expect(webhook.messages).toHaveLength(3);
    const rows = await world.cluster.sql<{ key: string; state: string; written_by: string }>("SELECT key, state, written_by FROM certstage.notifications ORDER BY key", [], { database });
    expect(rows.rows).toEqual([
      { key: "expiry:api:production:v1:7d", state: "sent", written_by: "edge-ci" },
      { key: "expiry:api:staging:v1:7d", state: "sent", written_by: "edge-ci" },
      { key: "expiry:grafana:staging:v1:7d", state: "sent", written_by: "edge-ci" },
    ]);
    expectNoPrivateKeyMaterial(JSON.stringify(webhook.messages) + (await world.cluster.dump(database)), keys, "the messages and the database");
    expect(await world.cluster.dump(database)).not.toContain(webhook.secretPath);
  });

  it("the preview role reads notifications but may not write them, through certstage or raw SQL", async () => {
    const preview = world.open(database, world.login("preview"), { keyRing: null });
    try {
      expect((await preview.listNotifications()).map((record) => record.key)).toContain("expiry:api:production:v1:7d");
      const refused = await certstageRefusalOf(preview.claimNotification({ key: "expiry:api:production:v1:1d", certificate: "api", environment: "production", at: new Date().toISOString() }, { principal: "preview" }));
      expect(refused.code).toBe("STORE_READ_ONLY");
    } finally {
      await preview.close();
    }
    const writes = [
      "INSERT INTO certstage.notifications (key, certificate, state, record) VALUES ('expiry:api:production:v1:1d', 'api', 'sent', '{}')",
      "UPDATE certstage.notifications SET state = 'failed'",
      "DELETE FROM certstage.notifications",
    ];
    for (const text of writes) expect(await sqlOutcome("preview", text), text).toMatch(/permission denied/);
    // Nor may the deploying role delete what was sent (a notice would go out again).
    expect(await sqlOutcome("edge-ci", "DELETE FROM certstage.notifications")).toMatch(/permission denied/);
    // As a preview runs it, notify itself fails with exit 2 and sends nothing.
    const before = webhook.requests.length;
    const run = await notify("preview", [], 29.5);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("[STORE_READ_ONLY]");
    expect(webhook.requests.length).toBe(before);
  });

  it("the table has row-level security forced, like every certstage table", async () => {
    const flags = await world.cluster.sql<{ relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'certstage.notifications'::regclass",
      [],
      { database },
    );
    expect(flags.rows).toEqual([{ relrowsecurity: true, relforcerowsecurity: true }]);
  });

  it("a team sees and writes only the notices of certificates it may see", async () => {
    expect(await sqlOutcome("web-ci", "SELECT * FROM certstage.notifications")).toBe("ok 0");
    expect(await sqlOutcome("web-ci", "UPDATE certstage.notifications SET state = 'failed'")).toBe("ok 0");
    const forged = await sqlOutcome("web-ci", "INSERT INTO certstage.notifications (key, certificate, state, record) VALUES ('expiry:api:production:v1:1d', 'api', 'sent', '{}')");
    expect(forged).toMatch(/row-level security/);
  });
});
