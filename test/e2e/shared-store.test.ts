/**
 * A team on one PostgreSQL, through the real Pulumi CLI, as the README sets it up: the stack's
 * settings name the database without credentials, and each job brings its own role.
 *
 * - runner A's `up` (role edge-ci, with the key-encryption key) creates and deploys;
 * - an agent in another directory (role edge-agent) installs what production serves, and nginx
 *   serves it from the agent's own files;
 * - runner B, a fresh checkout sharing only the Pulumi backend, previews a new version with the
 *   read-only role and no key: the preview shows the new version and the swap, and the database
 *   is not touched;
 * - runner B's `up` with the owner's role rotates; production verifies by waiting for its agent,
 *   which follows within the run;
 * - a runner of another team is refused at preview with NOT_OWNER;
 * - no private key appears in the stack's state, in any command's output, or in the agent's log.
 */
import { X509Certificate } from "node:crypto";
import { copyFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { nginxCommands, spawnAgent, startNginxOn, waitFor, type AgentProcess } from "../agent/agent-support";
import { startStoreCluster, type StoreCluster, actAs as actAsLogin } from "../postgres/support";
import { makeTestCertificate, temporaryDirectory, type TestCertificate } from "../support/certificates";
import { consumerProject, type PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { tlsHandshake, type NginxServer } from "../support/tls-servers";

const STACK = "prod";
const SERVER_NAME = "api.example.test";

const PROGRAM = `
const fs = require("node:fs");
const path = require("node:path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");
const config = new pulumi.Config();
const directory = config.require("certificateDir");
const read = (file) => fs.readFileSync(path.join(directory, file), "utf8");
const api = new Certificate("api", { name: "api", owner: "team-edge", shareWith: ["team-web"], description: "the edge API" });
const version = new CertificateVersion("api", {
  certificate: api,
  upload: { certificatePem: read("cert.pem"), privateKeyPem: pulumi.secret(read("key.pem")), chainPem: read("chain.pem") },
});
const production = new EnvironmentDeployment("api-production", { version, environment: "production" });
exports.version = version.version;
exports.production = production.deployedVersion;
`;

let world: StoreCluster;
let database: string;
let storeUrl: string;
let runnerA: PulumiWorkspace;
let agentDirectory: string;
let nginx: NginxServer;
let agent: AgentProcess | undefined;
const certificates: TestCertificate[] = [];

/** The job's role, as its CI secrets would set it (support.ts's actAs). */
const actAs = (workspace: PulumiWorkspace, login: string, withKey: boolean) => actAsLogin(world, workspace.env, login, withKey);

/** A fresh checkout of the same project and stack: its own directory and Pulumi home, the shared backend. */
function freshRunner(): PulumiWorkspace {
  const runner = consumerProject(inject("pulumiBinDirectory"), STACK, PROGRAM);
  runner.env.PULUMI_BACKEND_URL = runnerA.env.PULUMI_BACKEND_URL;
  copyFileSync(path.join(runnerA.projectDirectory, `Pulumi.${STACK}.yaml`), path.join(runner.projectDirectory, `Pulumi.${STACK}.yaml`));
  return runner;
}

async function rows(sql: string): Promise<unknown[]> {
  return (await world.cluster.sql(sql, [], { database })).rows;
}

async function databaseSnapshot(): Promise<string> {
  const tables = ["certificates", "versions", "version_keys", "environments", "deployments", "history", "tasks"];
  return (await Promise.all(tables.map(async (table) => `${table}: ${JSON.stringify(await rows(`SELECT * FROM certstage.${table} ORDER BY 1, 2`))}`))).join("\n");
}

const leafOf = (index: number) => new X509Certificate(certificates[index].certificatePem).fingerprint256;
const servedFingerprint = async () => (await tlsHandshake(nginx.port, SERVER_NAME)).leaf.fingerprint256;

beforeAll(async () => {
  world = await startStoreCluster();
  database = await world.newStoreDatabase();
  storeUrl = `postgres://127.0.0.1:${world.cluster.port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(world.cluster.caFile)}`;
  const pki = temporaryDirectory("shared-pki");
  certificates.push(makeTestCertificate(path.join(pki, "one"), SERVER_NAME), makeTestCertificate(path.join(pki, "two"), SERVER_NAME));

  runnerA = consumerProject(inject("pulumiBinDirectory"), STACK, PROGRAM);
  actAs(runnerA, "edge-ci", true);
  await runnerA.initStack({ "certstage:store": storeUrl, certificateDir: certificates[0].directory });
  await runnerA.pulumiOk(["up", "--yes", "--skip-preview"]);

  agentDirectory = path.join(temporaryDirectory("edge-1"), "certstage");
  const agentEnvironment = { PGUSER: "edge-agent", PGPASSWORD: world.login("edge-agent").password, CERTSTAGE_STORE_KEY: world.keyText };
  // What nginx reads when it starts must be there first: one pass, as a boot unit would run it.
  const first = spawnAgent(["--once", "--store", storeUrl, "--environment", "production", "--directory", agentDirectory, "--agent-id", "edge-1"], agentEnvironment);
  expect((await first.exited).code, first.log()).toBe(0);
  nginx = await startNginxOn(agentDirectory);
  const commands = nginxCommands(nginx.reloadCommand);
  agent = spawnAgent(
    ["--store", storeUrl, "--environment", "production", "--directory", agentDirectory, "--agent-id", "edge-1", "--check", commands.check, "--reload", commands.reload, "--serve-check", `127.0.0.1:${nginx.port}`],
    agentEnvironment,
  );
  await agent.waitForLog(/following changes postgres store/, "the agent follows the store's pushes");
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) await agent.stop();
  await nginx?.stop();
  await world?.stop();
});

describe("a team on one PostgreSQL store", () => {
  it("runner A's up created and deployed the version in the database, its key sealed, and the agent serves it", async () => {
    expect(await rows("SELECT c.name, c.owner, d.environment, d.version FROM certstage.deployments d JOIN certstage.certificates c ON c.id = d.certificate_id")).toEqual([
      { name: "api", owner: "team-edge", environment: "production", version: 1 },
    ]);
    expect(await servedFingerprint()).toBe(leafOf(0));
    expectNoPrivateKeyMaterial(await world.cluster.dump(database), certificates.map((certificate) => certificate.privateKeyPem), "pg_dump");
  });

  it("runner B, a fresh checkout with the read-only role and no key, previews the new version and the swap, and writes nothing", async () => {
    const runnerB = freshRunner();
    actAs(runnerB, "preview", false);
    await runnerB.pulumiOk(["config", "set", "certificateDir", certificates[1].directory]);
    const before = await databaseSnapshot();
    const preview = await runnerB.pulumiOk(["preview", "--diff"]);
    const text = preview.stdout + preview.stderr;
    expect(text).toContain("+-pulumi-nodejs:dynamic/certstage:CertificateVersion: (replace)");
    expect(text).toContain(`~ fingerprintSha256: "${leafOf(0)}" => "${leafOf(1)}"`);
    expect(text).toContain("~ pulumi-nodejs:dynamic/certstage:EnvironmentDeployment: (update)");
    expect(text).toMatch(/\+-1 to replace/);
    expect(text).not.toMatch(/error|STORE_KEY_MISSING|STORE_READ_ONLY/);
    expect(await databaseSnapshot()).toBe(before);
  });

  it("runner B with the owner's role rotates; production waits for its agent, which follows within the run", async () => {
    const runnerB = freshRunner();
    actAs(runnerB, "edge-ci", true);
    await runnerB.pulumiOk(["config", "set", "certificateDir", certificates[1].directory]);
    await runnerB.pulumiOk(["config", "set", "certstage:environments", JSON.stringify(["staging", { name: "production", verify: { agents: { minimum: 1 }, timeoutMs: 60_000 } }])]);
    const up = await runnerB.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await servedFingerprint()).toBe(leafOf(1));
    const verify = (await rows("SELECT action, environment, to_version, result, detail FROM certstage.history WHERE action = 'verify'")) as { result: string; detail: string; to_version: number }[];
    expect(verify.at(-1)).toMatchObject({ to_version: 2, result: "ok" });
    expect(verify.at(-1)!.detail).toContain("edge-1: v2 served");
    expect(up.stdout + up.stderr).toMatch(/production\/api: verified v2 at 1 live agent\(s\): edge-1: v2 served/);
  });

  it("a runner of another team is refused at preview with NOT_OWNER, naming the resource and the owner", async () => {
    const stranger = freshRunner();
    actAs(stranger, "web-ci", true);
    await stranger.pulumiOk(["config", "set", "certificateDir", certificates[0].directory]);
    const before = await databaseSnapshot();
    const preview = await stranger.pulumi(["preview", "--diff"]);
    expect(preview.code).not.toBe(0);
    expect(preview.stdout + preview.stderr).toMatch(/\[NOT_OWNER\] resource 'api[^']*': certificate 'api' belongs to 'team-edge', not 'web-ci' or a team it acts for \([^)]*team-web[^)]*\); it is shared with 'team-web', which may read it and use its versions, but only its owner may create its versions/);
    expect(await databaseSnapshot()).toBe(before);
  });

  it("keeps every private key out of the state, every command's output and the agent's log", async () => {
    const keys = certificates.map((certificate) => certificate.privateKeyPem);
    const exported = await runnerA.pulumiOk(["stack", "export"]);
    expectNoPrivateKeyMaterial(exported.stdout, keys, "pulumi stack export");
    expectNoPrivateKeyMaterial(runnerA.transcript.map((entry) => entry.output).join("\n"), keys, "runner A's commands");
    expectNoPrivateKeyMaterial(agent!.log(), keys, "the agent's log");
    await waitFor("the agent's report", async () => ((await rows("SELECT version FROM certstage.agent_reports")) as { version: number }[]).find((row) => row.version === 2));
  });
});
