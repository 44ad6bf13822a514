/**
 * One full certificate cycle through the real Pulumi CLI on the quickstart program: deploy v1,
 * preview and apply a new certificate file as v2, roll production back, fail to delete what is
 * deployed, undeploy, destroy. After every step the store on disk matches `certstage status`,
 * and no private key ever appears in CLI output, state or history.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../provider/cli/status";
import { makeTestCertificate } from "../support/certificates";
import { PulumiWorkspace, quickstartProject } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { statusMatchingDisk } from "../support/store-on-disk";

const VERSION_TYPE = "pulumi-nodejs:dynamic/certstage:CertificateVersion";
const DEPLOYMENT_TYPE = "pulumi-nodejs:dynamic/certstage:EnvironmentDeployment";
const CERTIFICATE_TYPE = "pulumi-nodejs:dynamic/certstage:Certificate";

let workspace: PulumiWorkspace;
let storeRoot: string;
let pkiDirectory: string;
const privateKeys: string[] = [];
/** The keystore password, a stack secret: found nowhere but in `stack export --show-secrets`. */
const KEYSTORE_PASSWORD = "lifecycle-keystore-3f9c1e";

async function status(): Promise<StatusReport> {
  return statusMatchingDisk(workspace, storeRoot);
}

function servedVersions(report: StatusReport): Record<string, number> {
  const api = report.certificates.find((certificate) => certificate.name === "api");
  return Object.fromEntries(Object.entries(api?.deployments ?? {}).map(([environment, deployment]) => [environment, deployment.version]));
}

/** Step operations of a preview, by resource type, from `pulumi preview --json`. */
async function previewSteps(): Promise<Array<{ op: string; type: string; name: string }>> {
  const result = await workspace.pulumiOk(["preview", "--json"]);
  const steps = (JSON.parse(result.stdout).steps ?? []) as Array<{ op: string; urn: string }>;
  return steps
    .filter((step) => step.op !== "same")
    .map((step) => ({ op: step.op, type: step.urn.split("::")[2], name: step.urn.split("::")[3] }))
    .sort((a, b) => `${a.type}${a.name}`.localeCompare(`${b.type}${b.name}`));
}

function newLeaf(): void {
  const leaf = makeTestCertificate(pkiDirectory, "api.example.test");
  privateKeys.push(leaf.privateKeyPem);
}

beforeAll(async () => {
  workspace = quickstartProject(inject("pulumiBinDirectory"), "lifecycle");
  storeRoot = path.join(workspace.projectDirectory, ".certstage");
  pkiDirectory = path.join(workspace.root, "pki");
  newLeaf();
  await workspace.initStack({ certificateDir: path.join(pkiDirectory, "api") });
  await workspace.pulumiOk(["config", "set", "--secret", "keystorePassword", KEYSTORE_PASSWORD]);
});

/** `openssl pkcs12 -info` of a stored keystore under the stack's password: what it printed, or a failure. */
function openKeystore(file: string): string {
  const run = spawnSync("openssl", ["pkcs12", "-info", "-nodes", "-in", file, "-passin", "env:P12_PASSWORD"], { encoding: "utf8", env: { ...process.env, P12_PASSWORD: KEYSTORE_PASSWORD } });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout + run.stderr;
}

describe("certificate lifecycle through the Pulumi CLI", () => {
  it("up creates version 1 and deploys it to staging and production in the default store", async () => {
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const report = await status();
    expect(report.certificates.map((certificate) => [certificate.name, certificate.latestVersion])).toEqual([["api", 1]]);
    expect(servedVersions(report)).toEqual({ production: 1, staging: 1 });
    const stored = readFileSync(path.join(storeRoot, "environments", "production", "api", "cert.pem"), "utf8");
    expect(stored).toBe(readFileSync(path.join(pkiDirectory, "api", "cert.pem"), "utf8"));
    // The keystore beside the PEMs, readable by its owner only, holding this version's key and leaf.
    const keystore = path.join(storeRoot, "certificates", "api", "versions", "1", "keystore.p12");
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
    const opened = openKeystore(keystore);
    expect(opened).toMatch(/MAC: sha256/);
    expect(opened).toContain(stored.trim());
    expect(opened).toContain("friendlyName: api");
  });

  it("a replaced certificate file previews as a new version and two swaps, nothing else", async () => {
    newLeaf();
    const diff = await workspace.pulumiOk(["preview", "--diff"]);
    expect(diff.stdout).toMatch(/\+-pulumi-nodejs:dynamic\/certstage:CertificateVersion: \(replace\)/);
    expect(diff.stdout.match(/~ pulumi-nodejs:dynamic\/certstage:EnvironmentDeployment: \(update\)/g)).toHaveLength(2);
    expect(diff.stdout).toMatch(/~ version\s*: 1 => \[unknown\]/);
    expect(diff.stdout).toMatch(/\+-1 to replace/);
    expect(diff.stdout).toMatch(/~ 2 to update/);
    expect(await previewSteps()).toEqual([
      { op: "replace", type: VERSION_TYPE, name: "api" },
      { op: "update", type: DEPLOYMENT_TYPE, name: "api-production" },
      { op: "update", type: DEPLOYMENT_TYPE, name: "api-staging" },
    ]);
    expect(servedVersions(await status())).toEqual({ production: 1, staging: 1 });
  });

  it("up saves version 2 and swaps both environments to it", async () => {
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const report = await status();
    expect(report.certificates[0].versions.map((version) => version.version)).toEqual([1, 2]);
    expect(servedVersions(report)).toEqual({ production: 2, staging: 2 });
    expect(await previewSteps()).toEqual([]);
  });

  it("state holds both private keys only encrypted, also after a refresh", async () => {
    await workspace.pulumiOk(["refresh", "--yes", "--skip-preview"]);
    expect(await previewSteps()).toEqual([]);
    const exported = (await workspace.pulumiOk(["stack", "export"])).stdout;
    const revealed = (await workspace.pulumiOk(["stack", "export", "--show-secrets"])).stdout;
    expectNoPrivateKeyMaterial(exported, privateKeys, "stack export");
    // The keystore password and the keystore itself (it holds the key) are secrets too.
    const outputsOfVersion = (text: string) => JSON.parse(text).deployment.resources.find((resource: { type: string }) => resource.type === VERSION_TYPE).outputs;
    // `--show-secrets` writes a secret as {<signature>, "plaintext": <its JSON>}.
    const plaintext = (secret: { plaintext: string }) => JSON.parse(secret.plaintext);
    const keystoreBase64 = plaintext(outputsOfVersion(revealed).pkcs12) as string;
    expect(Buffer.from(keystoreBase64, "base64").length).toBeGreaterThan(1000);
    expect(plaintext(outputsOfVersion(revealed).keystore).password).toBe(KEYSTORE_PASSWORD);
    expect(exported).not.toContain(KEYSTORE_PASSWORD);
    expect(exported).not.toContain(keystoreBase64.slice(0, 64));
    expect(outputsOfVersion(exported).pkcs12).toHaveProperty("ciphertext");
    // The same scan finds the key once secrets are decrypted: the check above is not vacuous.
    expect(revealed).toContain("PRIVATE KEY");
    expect(revealed).toContain(KEYSTORE_PASSWORD);
    expect(exported).toContain("ciphertext");
  });

  it("state holds each certificate once: no fullchainPem and no version JWK, and the deployments' JWKs without the chain, as JSON text", async () => {
    const resources = (JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout).deployment.resources ?? []) as Array<{ type: string; outputs?: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const versions = resources.filter((resource) => resource.type === VERSION_TYPE);
    const deployments = resources.filter((resource) => resource.type === DEPLOYMENT_TYPE);
    expect(versions.length).toBeGreaterThan(0);
    expect(deployments.length).toBeGreaterThan(0);
    for (const version of versions) {
      expect(version.outputs?.certificatePem).toContain("BEGIN CERTIFICATE");
      expect(version.outputs).not.toHaveProperty("fullchainPem");
      expect(version.outputs).not.toHaveProperty("jwk");
    }
    // One value per JWK (and per JWKS): the engine's cost of a checkpoint grows with the values in state.
    for (const deployment of deployments) {
      expect(typeof deployment.outputs?.jwk).toBe("string");
      const jwk = JSON.parse(deployment.outputs?.jwk);
      expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(jwk).not.toHaveProperty("x5c");
    }
    const certificate = resources.find((resource) => resource.type === CERTIFICATE_TYPE);
    expect(Object.keys(JSON.parse(certificate?.outputs?.jwks)).sort()).toEqual(["production", "staging"]);
  });

  it("pinning production to version 1 rolls it back and leaves staging on version 2", async () => {
    await workspace.pulumiOk(["config", "set", "--path", "pinnedVersions.production", "1"]);
    expect(await previewSteps()).toEqual([{ op: "update", type: DEPLOYMENT_TYPE, name: "api-production" }]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(servedVersions(await status())).toEqual({ production: 1, staging: 2 });
    const history = await workspace.certstage(["status"]);
    expect(history.stdout).toContain("production   serves version 1");
    const lines = readFileSync(path.join(storeRoot, "history.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.at(-1)).toMatchObject({ action: "rollback", environment: "production", fromVersion: 2, toVersion: 1, actor: "e2e-tester" });
  });

  it("deleting the certificate while it is deployed fails, says where to undeploy, and changes nothing", async () => {
    await workspace.pulumiOk(["config", "set", "--path", "pinnedVersions.staging", "2"]);
    await workspace.pulumiOk(["config", "set", "manageCertificate", "false"]);
    const removed = await workspace.pulumi(["up", "--yes", "--skip-preview"]);
    expect(removed.code).not.toBe(0);
    // Pulumi deletes the version before the certificate it belongs to; its refusal stops the run.
    const refusal = /\[STILL_DEPLOYED\] resource 'api': version 2 of certificate 'api' is deployed in staging \(version 2\)\. Fix: undeploy it from staging first/;
    expect(removed.stdout + removed.stderr).toMatch(refusal);
    expect(servedVersions(await status())).toEqual({ production: 1, staging: 2 });

    const urns = JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout).deployment.resources.map((resource: { urn: string }) => resource.urn) as string[];
    const targets = urns.filter((urn) => urn.includes(`::${CERTIFICATE_TYPE}::`) || urn.includes(`::${VERSION_TYPE}::`));
    expect(targets).toHaveLength(2);
    const destroy = await workspace.pulumi(["destroy", "--yes", "--skip-preview", ...targets.flatMap((urn) => ["--target", urn])]);
    expect(destroy.code).not.toBe(0);
    expect(destroy.stdout + destroy.stderr).toMatch(refusal);
    expect(servedVersions(await status())).toEqual({ production: 1, staging: 2 });
  });

  it("after undeploying, destroy succeeds and the store is empty", async () => {
    await workspace.pulumiOk(["config", "set", "manageCertificate", "true"]);
    await workspace.pulumiOk(["config", "set", "environments", "[]"]);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(servedVersions(await status())).toEqual({});
    await workspace.pulumiOk(["destroy", "--yes", "--skip-preview"]);
    const report = await status();
    expect(report.certificates).toEqual([]);
    const actions = readFileSync(path.join(storeRoot, "history.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line).action);
    expect(actions.filter((action: string) => action === "undeploy")).toHaveLength(2);
    expect(actions.at(-1)).toBe("certificate.delete");
  });

  it("no private key appeared in any CLI output or in the store's history", async () => {
    const history = readFileSync(path.join(storeRoot, "history.jsonl"), "utf8");
    // `stack export --show-secrets` asks for the keys on purpose; every other command must not show one.
    const outputs = workspace.transcript.filter((entry) => !entry.command.includes("--show-secrets"));
    expect(outputs.length).toBeGreaterThan(20);
    for (const { command, output } of outputs) {
      expectNoPrivateKeyMaterial(output, privateKeys, command);
      expect(output, command).not.toContain(KEYSTORE_PASSWORD);
    }
    expectNoPrivateKeyMaterial(history, privateKeys, "history.jsonl");
    expect(history).not.toContain(KEYSTORE_PASSWORD);
  });
});
