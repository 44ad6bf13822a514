/**
 * `certstage preview-summary` where the preview workflow runs it: after a real `pulumi preview
 * --json` of a team's program, against its PostgreSQL store, as the read-only preview role (a
 * certstage_reader member) with no store key. The summary shows the new version with its number,
 * what changes against what production serves, and the swap, and the standby undeploy of staging
 * an earlier `up` queued; the database is not touched by the preview or the summary; no private
 * key appears in the preview's JSON or the summary.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startStoreCluster, type StoreCluster, actAs as actAsLogin } from "../postgres/support";
import { makeTestCertificate, temporaryDirectory, type TestCertificate } from "../support/certificates";
import { consumerProject, type PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";

const STACK = "prod";

const PROGRAM = `
const fs = require("node:fs");
const path = require("node:path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");
const config = new pulumi.Config();
const directory = config.require("certificateDir");
const read = (file) => fs.readFileSync(path.join(directory, file), "utf8");
const api = new Certificate("api", { name: "api", owner: "team-edge" });
const version = new CertificateVersion("api", {
  certificate: api,
  upload: { certificatePem: read("cert.pem"), privateKeyPem: pulumi.secret(read("key.pem")), chainPem: read("chain.pem") },
});
new EnvironmentDeployment("api-production", { version, environment: "production" });
const stagingMode = config.get("stagingMode") ?? "now";
new EnvironmentDeployment("api-staging", { version, environment: "staging", state: config.get("stagingState") ?? "deployed", mode: stagingMode, notBefore: stagingMode === "standby" ? "2099-01-01T00:00:00Z" : undefined });
`;

let world: StoreCluster;
let database: string;
let runner: PulumiWorkspace;
const certificates: TestCertificate[] = [];
let undeployTask: string;

/** The job's role, as its CI secrets would set it (support.ts's actAs). */
const actAs = (workspace: PulumiWorkspace, login: string, withKey: boolean) => actAsLogin(world, workspace.env, login, withKey);

async function databaseSnapshot(): Promise<string> {
  const tables = ["certificates", "versions", "version_keys", "environments", "deployments", "history", "tasks"];
  const rows = async (table: string) => JSON.stringify((await world.cluster.sql(`SELECT * FROM certstage.${table} ORDER BY 1, 2`, [], { database })).rows);
  return (await Promise.all(tables.map(async (table) => `${table}: ${await rows(table)}`))).join("\n");
}

beforeAll(async () => {
  world = await startStoreCluster();
  database = await world.newStoreDatabase();
  const storeUrl = `postgres://127.0.0.1:${world.cluster.port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(world.cluster.caFile)}`;
  const pki = temporaryDirectory("summary-pki");
  certificates.push(makeTestCertificate(path.join(pki, "one"), "api.example.test"), makeTestCertificate(path.join(pki, "two"), "api.example.test", 20));
  runner = consumerProject(inject("pulumiBinDirectory"), STACK, PROGRAM);
  // As the workflow sets it: the store in CERTSTAGE_STORE, for the program and the summary alike.
  runner.env.CERTSTAGE_STORE = storeUrl;
  actAs(runner, "edge-ci", true);
  await runner.initStack({ certificateDir: certificates[0].directory });
  await runner.pulumiOk(["up", "--yes", "--skip-preview"]);
  // An earlier change: staging undeploys later, through the standby queue.
  await runner.pulumiOk(["config", "set", "stagingState", "undeployed"]);
  await runner.pulumiOk(["config", "set", "stagingMode", "standby"]);
  await runner.pulumiOk(["up", "--yes", "--skip-preview"]);
  undeployTask = (await world.cluster.sql("SELECT id FROM certstage.tasks WHERE action = 'undeploy' AND state = 'pending'", [], { database })).rows[0].id;
});

afterAll(async () => {
  await world?.stop();
});

describe("certstage preview-summary in the preview job", () => {
  it("summarizes a real preview with the read-only role and no key, and neither writes to the store", async () => {
    actAs(runner, "preview", false);
    await runner.pulumiOk(["config", "set", "certificateDir", certificates[1].directory]);
    const before = await databaseSnapshot();
    const preview = await runner.pulumiOk(["preview", "--json"]);
    writeFileSync(path.join(runner.projectDirectory, "preview.json"), preview.stdout);
    const summarized = await runner.certstage(["preview-summary", "--preview", "preview.json", "--project", "consumer", "--stack", STACK, "--output", "summary.md"]);
    expect(summarized, summarized.stderr).toMatchObject({ code: 0, stdout: "" });
    expect(await databaseSnapshot()).toBe(before);

    const summary = readFileSync(path.join(runner.projectDirectory, "summary.md"), "utf8");
    expect(summary.split("\n")[0]).toBe(`<!-- certstage:preview-summary project=consumer stack=${STACK} -->`);
    expect(summary).toContain("New version **v2** (upload), from `api`");
    expect(summary).toContain("| `production` | v1 → **v2** |");
    expect(summary).toMatch(/\| names \| `api\.example\.test` \| same names \|/);
    expect(summary).toMatch(/\| key \| [^|]+ \| new key \|/);
    // The new certificate runs out inside the 30-day window: the first warning says so.
    expect(summary.slice(0, summary.indexOf("#### "))).toMatch(/:warning: production would serve api v2, which expires in 1[89] days/);
    // The undeploy queued in the store, which this change (a new version for staging too) keeps.
    expect(summary).toContain(`- :warning: staging stops serving api (v1) when a standby undeploy already queued runs, not before 2099-01-01T00:00:00.000Z (task ${undeployTask}); this change keeps it queued\n`);
    expect(summary).toContain(`| \`staging\` | v1 (unchanged) | a standby undeploy is queued for 2099-01-01T00:00:00.000Z (task \`${undeployTask}\`) |`);
    const keys = certificates.map((certificate) => certificate.privateKeyPem);
    expectNoPrivateKeyMaterial(preview.stdout, keys, "pulumi preview --json");
    expectNoPrivateKeyMaterial(summary, keys, "summary.md");
  });

  it("refuses a preview cut short with PREVIEW_JSON_INVALID and exit 2, writing no summary", async () => {
    const whole = readFileSync(path.join(runner.projectDirectory, "preview.json"), "utf8");
    writeFileSync(path.join(runner.projectDirectory, "cut.json"), whole.slice(0, whole.length / 2));
    const result = await runner.certstage(["preview-summary", "--preview", "cut.json", "--project", "consumer", "--stack", STACK, "--output", "cut.md"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[PREVIEW_JSON_INVALID]");
    expect(() => readFileSync(path.join(runner.projectDirectory, "cut.md"))).toThrow(/ENOENT/);
  });
});
