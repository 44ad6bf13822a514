/**
 * Deployments that reach real servers, through the real Pulumi CLI: staging is nginx reading the
 * store's environment directory (reloaded with `nginx -s reload`), production is HAProxy swapped
 * hot through its runtime API, and production only takes versions verified in staging first.
 *
 *   up: v1 to both → both serve v1 → v2, up → both serve v2 → production refuses (at preview) a
 *   version never staged → a verification pointed at a server that keeps serving the old
 *   certificate puts the old version back and fails → a standby swap waits for `certstage tasks
 *   run`, and `pulumi refresh` sees it done.
 *
 * What each endpoint serves is read by Node's TLS and cross-checked with `openssl s_client`.
 */
import { X509Certificate } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { makeTestCertificate, TestCertificate, temporaryDirectory } from "../support/certificates";
import { consumerProject, PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { haproxyPemPayload, HaproxyServer, NginxServer, opensslServedLeaf, startHaproxy, startNginx, tlsHandshake } from "../support/tls-servers";

const SERVER_NAME = "api.example.test";

const PROGRAM = `
const fs = require("fs");
const path = require("path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");

const config = new pulumi.Config();
const api = new Certificate("api", { name: "api" });
const versions = {};
for (const [name, directory] of Object.entries(config.requireObject("certificates"))) {
  const read = (file) => fs.readFileSync(path.join(directory, file), "utf8");
  versions[name] = new CertificateVersion("api-" + name, {
    certificate: api,
    upload: { certificatePem: read("cert.pem"), chainPem: read("chain.pem"), privateKeyPem: pulumi.secret(read("key.pem")) },
  });
}
const staging = new EnvironmentDeployment("api-staging", { version: versions[config.require("staging")], environment: "staging" });
// Production is promoted from staging: it waits for staging's swap (and verification) in the same run.
const production = new EnvironmentDeployment(
  "api-production",
  {
    version: versions[config.require("production")],
    environment: "production",
    mode: config.get("productionMode"),
    verify: config.getObject("productionVerify"),
  },
  { dependsOn: [staging] },
);
exports.stagingVersion = staging.deployedVersion;
exports.productionVersion = production.deployedVersion;
exports.productionStatus = production.status;
`;

let workspace: PulumiWorkspace;
let nginx: NginxServer;
let haproxy: HaproxyServer;
let bystander: HaproxyServer | undefined;
const leaves: Record<string, TestCertificate> = {};
/** Where the program reads each version's files (cert.pem, chain.pem, key.pem). */
const versionDirectories: Record<string, string> = {};

const fingerprint = (leaf: TestCertificate) => new X509Certificate(leaf.certificatePem).fingerprint256;

/** The leaf an endpoint serves, as Node sees it, after checking OpenSSL sees the same. */
async function servedBy(port: number): Promise<string> {
  const node = (await tlsHandshake(port, SERVER_NAME)).leaf.fingerprint256;
  expect(opensslServedLeaf(port, SERVER_NAME).fingerprint256, `openssl s_client on port ${port}`).toBe(node);
  return node;
}

async function expectServing(stagingLeaf: string, productionLeaf: string): Promise<void> {
  expect(await servedBy(nginx.port), "staging (nginx)").toBe(fingerprint(leaves[stagingLeaf]));
  expect(await servedBy(haproxy.port), "production (HAProxy)").toBe(fingerprint(leaves[productionLeaf]));
}

async function setVersions(stage: string, production: string, certificates = Object.keys(leaves)): Promise<void> {
  const directories = Object.fromEntries(certificates.map((name) => [name, versionDirectories[name]]));
  await workspace.pulumiOk(["config", "set", "certificates", JSON.stringify(directories)]);
  await workspace.pulumiOk(["config", "set", "staging", stage]);
  await workspace.pulumiOk(["config", "set", "production", production]);
}

async function stackOutput(name: string): Promise<string> {
  return (await workspace.pulumiOk(["stack", "output", name])).stdout.trim();
}

async function history(environment: string): Promise<Array<{ action: string; fromVersion?: number; toVersion?: number; result: string; detail?: string }>> {
  return JSON.parse((await workspace.certstage(["history", "--environment", environment, "--json"])).stdout).history;
}

function environments(options: { nginxReady: boolean }) {
  return JSON.stringify([
    {
      name: "staging",
      target: options.nginxReady ? { type: "directory", reload: nginx.reloadCommand, reloadTimeoutMs: 10_000 } : { type: "directory" },
      ...(options.nginxReady ? { verify: { endpoints: [`127.0.0.1:${nginx.port}`], serverName: SERVER_NAME, timeoutMs: 10_000 } } : {}),
    },
    {
      name: "production",
      target: { type: "haproxy", socket: haproxy.adminSocket, certificatePath: haproxy.certificatePath },
      verify: { endpoints: [`127.0.0.1:${haproxy.port}`], serverName: SERVER_NAME, timeoutMs: 10_000 },
      promotion: { requires: "staging" },
    },
  ]);
}

beforeAll(async () => {
  const pki = temporaryDirectory("real-servers-pki");
  for (const name of ["v1", "v2", "v3"]) {
    // makeTestCertificate reuses one directory per name: keep each version's files apart.
    leaves[name] = makeTestCertificate(pki, SERVER_NAME);
    versionDirectories[name] = path.join(pki, "versions", name);
    mkdirSync(versionDirectories[name], { recursive: true });
    writeFileSync(path.join(versionDirectories[name], "cert.pem"), leaves[name].certificatePem);
    writeFileSync(path.join(versionDirectories[name], "chain.pem"), leaves[name].chainPem);
    writeFileSync(path.join(versionDirectories[name], "key.pem"), leaves[name].privateKeyPem, { mode: 0o600 });
  }
  // HAProxy starts with a certificate certstage never made; the first deployment replaces it.
  const bootstrap = makeTestCertificate(pki, SERVER_NAME);
  haproxy = await startHaproxy({ fullchainPem: bootstrap.certificatePem + bootstrap.chainPem, privateKeyPem: bootstrap.privateKeyPem });
  workspace = consumerProject(inject("pulumiBinDirectory"), "real-servers", PROGRAM);
  await workspace.initStack({ "certstage:environments": environments({ nginxReady: false }) });
});

afterAll(async () => {
  await Promise.all([nginx?.stop(), haproxy?.stop(), bystander?.stop()]);
});

describe("staging on nginx, production on HAProxy, through pulumi up", () => {
  it("up deploys v1 to both; nginx (reading the store) and HAProxy (hot-swapped) serve it", async () => {
    await setVersions("v1", "v1", ["v1"]);
    const up = await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    // Progress from the provider reaches the Pulumi output: the swap and its verification.
    expect(up.stdout + up.stderr).toMatch(/production\/api: nothing -> v1 through the haproxy target/);
    expect(up.stdout + up.stderr).toMatch(/production\/api: verified v1 at 1 endpoint/);

    // nginx is pointed at the files the first deployment created, as an operator would set it up.
    const staging = path.join(workspace.projectDirectory, ".certstage", "environments", "staging", "api");
    nginx = await startNginx({ certificateFile: path.join(staging, "fullchain.pem"), keyFile: path.join(staging, "privkey.pem") });
    await workspace.pulumiOk(["config", "set", "certstage:environments", environments({ nginxReady: true })]);
    await expectServing("v1", "v1");
    expect(await stackOutput("productionStatus")).toBe("deployed");
  });

  it("a new version deployed to both: nginx is reloaded, HAProxy swapped, and both verified serving v2", async () => {
    await setVersions("v2", "v2", ["v1", "v2"]);
    const preview = await workspace.pulumiOk(["preview", "--diff"]);
    expect(preview.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/certstage:CertificateVersion: \(create\)/);
    expect(preview.stdout).toMatch(/\+ 1 to create\s+~ 2 to update/);
    const up = await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    // Verified means a settle period (1000 ms by default) of consecutive handshakes that all got v2.
    for (const [environment, port] of [["staging", nginx.port], ["production", haproxy.port]] as const) {
      const line = new RegExp(`${environment}/api: verified v2 at 1 endpoint\\(s\\): 127\\.0\\.0\\.1:${port}: (\\d+) consecutive handshakes over (\\d+) ms`).exec(up.stdout + up.stderr);
      expect(line, `${environment}'s progress line`).not.toBeNull();
      expect(Number(line![1])).toBeGreaterThanOrEqual(4);
      expect(Number(line![2])).toBeGreaterThanOrEqual(1000);
    }
    await expectServing("v2", "v2");
    expect(await stackOutput("stagingVersion")).toBe("2");
    expect(await stackOutput("productionVersion")).toBe("2");
    expect((await history("staging")).filter((entry) => entry.action === "verify").map((entry) => [entry.toVersion, entry.result])).toEqual([[2, "ok"]]);
  });

  it("production refuses, at preview, a version never deployed to staging, and nothing changes", async () => {
    await setVersions("v2", "v2", ["v1", "v2", "v3"]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]); // v3 exists, served nowhere
    await workspace.pulumiOk(["config", "set", "production", "v3"]);
    const preview = await workspace.pulumi(["preview", "--diff"]);
    expect(preview.code).not.toBe(0);
    expect(preview.stdout + preview.stderr).toMatch(/\[PROMOTION_REFUSED\] field 'version': version 3 of 'api' was never deployed to staging; production only takes versions promoted from staging\. Fix: deploy version 3 to staging first/);
    const up = await workspace.pulumi(["up", "--yes", "--skip-preview"]);
    expect(up.code).not.toBe(0);
    expect(up.stdout + up.stderr).toMatch(/PROMOTION_REFUSED/);
    await expectServing("v2", "v2");
  });

  it("a verification pointed at a server that keeps serving the old certificate puts v2 back on HAProxy and fails", async () => {
    // Another HAProxy, serving v2, that certstage does not manage: verification can never see v3 there.
    bystander = await startHaproxy({ fullchainPem: leaves.v2.certificatePem + leaves.v2.chainPem, privateKeyPem: leaves.v2.privateKeyPem });
    await workspace.pulumiOk(["config", "set", "staging", "v3"]);
    await workspace.pulumiOk(["config", "set", "productionVerify", JSON.stringify({ endpoints: [`127.0.0.1:${bystander.port}`], serverName: SERVER_NAME, timeoutMs: 2000 })]);
    const up = await workspace.pulumi(["up", "--yes", "--skip-preview"]);
    expect(up.code).not.toBe(0);
    const v2 = fingerprint(leaves.v2).slice(0, 23);
    expect(up.stdout + up.stderr).toContain(
      `[VERIFICATION_FAILED] resource 'api': production did not serve version 3 to every handshake for 1000 ms within 2000 ms (127.0.0.1:${bystander.port} served ${v2}… (CN=${SERVER_NAME})); version 2 was put back`,
    );
    await expectServing("v3", "v2");
    const production = await history("production");
    expect(production.slice(-3).map((entry) => `${entry.action} ${entry.fromVersion ?? "-"}->${entry.toVersion ?? "-"} ${entry.result}`)).toEqual([
      "deploy 2->3 ok",
      "verify -->3 failed",
      "rollback 3->2 ok",
    ]);
    const status = JSON.parse((await workspace.certstage(["status", "--json"])).stdout);
    expect(status.certificates[0].deployments).toMatchObject({ staging: { version: 3 }, production: { version: 2 } });
  });

  it("a standby swap waits for `certstage tasks run`; refresh then shows it deployed", async () => {
    await workspace.pulumiOk(["config", "rm", "productionVerify"]);
    await workspace.pulumiOk(["config", "set", "productionMode", "standby"]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await stackOutput("productionStatus")).toBe("pending");
    await expectServing("v3", "v2");

    const status = JSON.parse((await workspace.certstage(["status", "--json"])).stdout);
    expect(status.certificates[0].pending).toEqual({ production: { version: 3, task: expect.any(String) } });
    const listed = await workspace.certstage(["tasks", "list", "--state", "pending"]);
    expect(listed.stdout).toMatch(/pending\s+production\s+api\s+v2 -> v3/);
    const ran = await workspace.certstage(["tasks", "run"]);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/production\/api: verified v3 at 1 endpoint/);
    await expectServing("v3", "v3");
    expect((await history("production")).at(-1)).toMatchObject({ action: "task.run", fromVersion: 2, toVersion: 3, result: "ok" });

    // Refresh updates the resource's state (stack outputs follow at the next up).
    await workspace.pulumiOk(["refresh", "--yes", "--skip-preview"]);
    const exported = JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout);
    const production = exported.deployment.resources.find((resource: { urn: string }) => resource.urn.endsWith("::api-production"));
    expect(production.outputs).toMatchObject({ status: "deployed", deployedVersion: 3, version: 3, task: { state: "done" } });
    await workspace.pulumiOk(["preview", "--expect-no-changes"]);
  });

  it("a swap made by hand on HAProxy shows in refresh as drift, and up puts the program's version back", async () => {
    // An operator pushes v2 through the runtime API, outside certstage; the store still says v3.
    expect(await haproxy.command(`set ssl cert ${haproxy.certificatePath} <<\n${haproxyPemPayload(leaves.v2.certificatePem + leaves.v2.chainPem, leaves.v2.privateKeyPem)}`)).toMatch(/Transaction created/);
    expect(await haproxy.command(`commit ssl cert ${haproxy.certificatePath}`)).toMatch(/Success/);
    await expectServing("v3", "v2");

    const refresh = await workspace.pulumiOk(["refresh", "--yes", "--skip-preview"]);
    expect(refresh.stdout + refresh.stderr).toContain("production/api: the store says version 3, but HAProxy serves version 2");
    const preview = await workspace.pulumiOk(["preview", "--diff"]);
    expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/certstage:EnvironmentDeployment: \(update\)\s+\[id=production\/api\]/);
    expect(preview.stdout).toMatch(/~ 1 to update/);
    // Still in standby mode: the swap back is a task, run as a scheduled job would.
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    await expectServing("v3", "v2");
    expect((await workspace.certstage(["tasks", "run"])).code).toBe(0);
    await expectServing("v3", "v3");
    await workspace.pulumiOk(["refresh", "--yes", "--skip-preview"]);
    await workspace.pulumiOk(["preview", "--expect-no-changes"]);
  });

  it("no private key appears in any command's output or in the exported state", async () => {
    const state = (await workspace.pulumiOk(["stack", "export"])).stdout;
    const keys = Object.values(leaves).map((leaf) => leaf.privateKeyPem);
    expectNoPrivateKeyMaterial(state, keys, "stack export");
    for (const { command, output } of workspace.transcript) expectNoPrivateKeyMaterial(output, keys, command);
  });
});
