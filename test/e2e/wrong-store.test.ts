/**
 * The wrong store, through the real Pulumi CLI on the quickstart program: a runner whose
 * `.certstage/` is missing (no volume), or holds another store. `preview`, `refresh` and
 * `up --refresh` must fail with STORE_MISMATCH and leave the stack's state alone, never report
 * "unchanged" or drop resources as "deleted"; with the right store back, `up --refresh`
 * converges with nothing created twice. A resource is reported gone only when the right store
 * positively no longer holds it. A stack that lost its resources from state (as a refresh
 * against the wrong store did before identities) is recovered by `up`, which adopts them.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../provider/cli/status";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate } from "../support/certificates";
import { CommandResult, PulumiWorkspace, quickstartProject } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { statusMatchingDisk } from "../support/store-on-disk";

let workspace: PulumiWorkspace;
let storeRoot: string;
let storeId: string;
const privateKeys: string[] = [];

interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly id?: string;
}

/** The certstage resources of the stack's state: type name and id, sorted. */
async function stateResources(): Promise<string[]> {
  const exported = JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout) as { deployment: { resources?: StateResource[] } };
  return (exported.deployment.resources ?? [])
    .filter((resource) => resource.type.startsWith("pulumi-nodejs:dynamic/certstage:"))
    .map((resource) => `${resource.type.split(":").at(-1)} ${resource.id}`)
    .sort();
}

async function status(): Promise<StatusReport> {
  return statusMatchingDisk(workspace, storeRoot);
}

async function versionsAndDeployments(): Promise<{ versions: number[]; deployments: Record<string, number> }> {
  const api = (await status()).certificates.find((certificate) => certificate.name === "api");
  return {
    versions: api?.versions.map((version) => version.version) ?? [],
    deployments: Object.fromEntries(Object.entries(api?.deployments ?? {}).map(([environment, deployment]) => [environment, deployment.version])),
  };
}

const output = (result: CommandResult) => result.stdout + result.stderr;

const EXPECTED_STATE = ["Certificate api", "CertificateVersion api/1", "EnvironmentDeployment production/api", "EnvironmentDeployment staging/api"];

/** Each of preview, refresh and `up --refresh` refuses with STORE_MISMATCH; state and served files stay. */
async function expectEveryCommandRefuses(holds: RegExp): Promise<void> {
  for (const args of [["preview", "--diff"], ["refresh", "--yes"], ["up", "--refresh", "--yes"]]) {
    const result = await workspace.pulumi(args);
    const text = output(result);
    expect(result.code, `pulumi ${args.join(" ")}\n${text}`).not.toBe(0);
    expect(text).toContain("[STORE_MISMATCH]");
    expect(text).toContain(`live in store ${storeId}, but certstage:store points at file store ${storeRoot}`);
    expect(text).toMatch(holds);
    expect(text).toContain("Fix: point certstage:store (or CERTSTAGE_STORE) at the store whose store.json says");
    // Only the stack itself may count as unchanged: no certstage resource is "unchanged" or "deleted".
    expect(text).not.toMatch(/\d+ deleted|([2-9]|\d{2,}) unchanged/);
    expect(await stateResources(), `state after pulumi ${args.join(" ")}`).toEqual(EXPECTED_STATE);
  }
}

beforeAll(async () => {
  workspace = quickstartProject(inject("pulumiBinDirectory"), "wrongstore");
  storeRoot = path.join(workspace.projectDirectory, ".certstage");
  const pki = path.join(workspace.root, "pki");
  privateKeys.push(makeTestCertificate(pki, "api.example.test").privateKeyPem);
  await workspace.initStack({ certificateDir: path.join(pki, "api") });
  await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
  storeId = (await createFileStore({ root: storeRoot }).identity())!.id;
});

describe("the wrong store is an error, never 'deleted'", () => {
  it("up records the store's identity on every resource", async () => {
    expect(await stateResources()).toEqual(EXPECTED_STATE);
    const exported = JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout) as { deployment: { resources: Array<StateResource & { outputs?: { storeId?: string } }> } };
    const certstage = exported.deployment.resources.filter((resource) => resource.type.startsWith("pulumi-nodejs:dynamic/certstage:"));
    expect(certstage.map((resource) => resource.outputs?.storeId)).toEqual(certstage.map(() => storeId));
  });

  it("a missing store: preview, refresh and up --refresh refuse and create nothing; with the store back, up --refresh converges", async () => {
    const away = `${storeRoot}.away`;
    renameSync(storeRoot, away);
    try {
      await expectEveryCommandRefuses(/which holds no store \(missing, empty, or not mounted\)/);
      expect(existsSync(storeRoot), "no store was made where the missing one should be").toBe(false);
    } finally {
      rmSync(storeRoot, { recursive: true, force: true });
      renameSync(away, storeRoot);
    }
    const result = await workspace.pulumiOk(["up", "--refresh", "--yes"]);
    expect(output(result)).not.toMatch(/\d+ (created|deleted)/);
    expect(await stateResources()).toEqual(EXPECTED_STATE);
    expect(await versionsAndDeployments()).toEqual({ versions: [1], deployments: { production: 1, staging: 1 } });
  });

  it("a foreign store at the same path: every command names the other store; with ours back, up --refresh converges", async () => {
    const away = `${storeRoot}.away`;
    renameSync(storeRoot, away);
    const foreign = createFileStore({ root: storeRoot });
    await foreign.createCertificate({ name: "api", displayName: "someone else's api", type: "server", owner: "other-team", shareWith: [], description: "" }, { principal: "other" });
    try {
      const foreignId = (await foreign.identity())!.id;
      await expectEveryCommandRefuses(new RegExp(`which holds another store, ${foreignId}`));
      expect((await foreign.getCertificate("api"))?.displayName, "the foreign store was not touched").toBe("someone else's api");
    } finally {
      rmSync(storeRoot, { recursive: true, force: true });
      renameSync(away, storeRoot);
    }
    await workspace.pulumiOk(["up", "--refresh", "--yes"]);
    expect(await stateResources()).toEqual(EXPECTED_STATE);
    expect(await versionsAndDeployments()).toEqual({ versions: [1], deployments: { production: 1, staging: 1 } });
  });

  it("gone from the right store: refresh says so and drops only that resource; up puts it back", async () => {
    // Someone undeployed staging outside Pulumi.
    const store = createFileStore({ root: storeRoot });
    await store.undeploy("api", "staging", { principal: "operator" });
    const refreshed = await workspace.pulumiOk(["refresh", "--yes"]);
    expect(output(refreshed)).toContain(`certstage: EnvironmentDeployment 'api-staging' (staging/api) no longer exists in file store ${storeRoot}; refresh removes it from the stack`);
    expect(await stateResources()).toEqual(EXPECTED_STATE.filter((resource) => resource !== "EnvironmentDeployment staging/api"));

    await workspace.pulumiOk(["up", "--yes"]);
    expect(await stateResources()).toEqual(EXPECTED_STATE);
    expect(await versionsAndDeployments()).toEqual({ versions: [1], deployments: { production: 1, staging: 1 } });
  });

  it("a stack that lost its resources from state is recovered by up: it adopts them, nothing is created twice", async () => {
    const exported = JSON.parse((await workspace.pulumiOk(["stack", "export"])).stdout) as { deployment: { resources: StateResource[] } };
    exported.deployment.resources = exported.deployment.resources.filter((resource) => !resource.type.startsWith("pulumi-nodejs:dynamic/certstage:"));
    const file = path.join(workspace.root, "state-without-certstage.json");
    writeFileSync(file, JSON.stringify(exported));
    await workspace.pulumiOk(["stack", "import", "--file", file]);
    expect(await stateResources()).toEqual([]);
    const historyBefore = (await createFileStore({ root: storeRoot }).readHistory()).length;

    const result = await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(output(result)).toContain("certstage: certificate 'api': adopted it from");
    expect(output(result)).toContain("certstage: certificate 'api': adopted version 1, which an interrupted run made from these inputs");
    expect(await stateResources()).toEqual(EXPECTED_STATE);
    expect(await versionsAndDeployments()).toEqual({ versions: [1], deployments: { production: 1, staging: 1 } });
    const since = (await createFileStore({ root: storeRoot }).readHistory()).slice(historyBefore);
    expect(since.filter((entry) => entry.action === "version.create" || entry.action === "certificate.create")).toEqual([]);
    expect((await workspace.pulumiOk(["preview", "--diff"])).stdout).not.toMatch(/[+~-] +pulumi-nodejs:dynamic\/certstage/);
  });

  it("no private key in any command's output", () => {
    for (const entry of workspace.transcript) expectNoPrivateKeyMaterial(entry.output, privateKeys, entry.command);
  });
});
