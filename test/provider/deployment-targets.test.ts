/**
 * EnvironmentDeployment with environment definitions: the directory target's reload command,
 * verification by TLS handshake and the swap back when it fails, and the promotion rule. The
 * endpoint is a real TLS server that, like nginx on `-s reload`, re-reads the environment's
 * files when its reload command pokes it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createNetServer, Server as NetServer } from "node:net";
import * as path from "node:path";
import { createServer, Server } from "node:tls";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { inspectUpload } from "../../provider/pki/version-material";
import { configure, providerFor } from "../../provider/resources/runtime";
import { createFileStore } from "../../provider/store/drivers/file";
import type { Store } from "../../provider/store";
import { makeTestCertificate, temporaryDirectory } from "../support/certificates";

const deployments = providerFor("EnvironmentDeployment");
const actor = { principal: "targets-tester" };

let storeRoot: string;
let store: Store;
let tls: Server;
let control: NetServer;
let tlsPort: number;
let controlPort: number;
let reloadScript: string;

/** The TLS server serves staging's files; a connection to the control port makes it re-read them. */
function reloadFromStore() {
  const directory = path.join(storeRoot, "environments", "staging", "api");
  tls.setSecureContext({ cert: readFileSync(path.join(directory, "fullchain.pem")), key: readFileSync(path.join(directory, "privkey.pem")) });
}

beforeAll(async () => {
  const pki = temporaryDirectory("targets-pki");
  const first = makeTestCertificate(pki, "api.example.test");
  tls = createServer({ cert: first.certificatePem + first.chainPem, key: first.privateKeyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
  tlsPort = (tls.address() as { port: number }).port;
  control = createNetServer((socket) => {
    reloadFromStore();
    socket.end("reloaded\n");
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  controlPort = (control.address() as { port: number }).port;
  reloadScript = path.join(pki, "reload.cjs");
  writeFileSync(reloadScript, `require("net").connect(${controlPort}, "127.0.0.1").on("data", () => process.exit(0)).on("error", () => process.exit(1));`);

  storeRoot = temporaryDirectory("targets-store");
  store = createFileStore({ root: storeRoot });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
  for (const leaf of [first, makeTestCertificate(pki, "api.example.test"), makeTestCertificate(pki, "api.example.test")]) {
    const material = inspectUpload(leaf);
    if (!material.ok) throw new Error("bad certificate");
    await store.createVersion("api", "upload", material.value, actor);
  }
});
afterAll(async () => {
  tls?.close();
  control?.close();
});

function environments(stagingReload: string[], verifyTimeoutMs = 3000) {
  return JSON.stringify([
    { name: "staging", target: { type: "directory", reload: stagingReload }, verify: { endpoints: [`127.0.0.1:${tlsPort}`], serverName: "api.example.test", timeoutMs: verifyTimeoutMs } },
    { name: "production", target: { type: "directory" }, promotion: { requires: "staging" } },
  ]);
}

function useSettings(environmentsJson: string) {
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": actor.principal, "certstage:environments": environmentsJson };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
}

beforeEach(() => useSettings(environments([process.execPath, reloadScript])));

describe("deployments through targets", () => {
  it("swaps, reloads and verifies; history records the verification", async () => {
    const created = await deployments.create({ certificate: "api", environment: "staging", version: 1 });
    expect(created.outs.deployedVersion).toBe(1);
    const updated = await deployments.update(created.id, created.outs, { certificate: "api", environment: "staging", version: 2 });
    expect(updated.outs.deployedVersion).toBe(2);
    const verified = (await store.readHistory({ environment: "staging" })).filter((entry) => entry.action === "verify");
    expect(verified.at(-1)).toMatchObject({ toVersion: 2, result: "ok" });
  });

  it("a server that keeps serving the old certificate fails verification, and the old version is put back", async () => {
    useSettings(environments([process.execPath, "-e", "process.exit(0)"], 600)); // the reload reaches nothing
    const before = await store.getDeployment("api", "staging");
    await expect(deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: 3 })).rejects.toThrow(
      new RegExp(`^\\[VERIFICATION_FAILED\\] resource 'api': staging did not serve version 3 within 600 ms \\(127\\.0\\.0\\.1:${tlsPort} served [0-9A-F:]+… \\(CN=api\\.example\\.test\\)\\); version ${before!.version} was put back`),
    );
    expect((await store.getDeployment("api", "staging"))?.version).toBe(before!.version);
    expect((await store.readHistory({ environment: "staging" })).filter((entry) => entry.action === "verify").at(-1)).toMatchObject({ toVersion: 3, result: "failed" });
  });

  it("a failing reload command is reported and the previous version stays deployed", async () => {
    useSettings(environments([process.execPath, "-e", "process.stderr.write('nginx: [emerg] bad config'); process.exit(1)"]));
    const before = await store.getDeployment("api", "staging");
    await expect(deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: 3 })).rejects.toThrow(/\[RELOAD_FAILED\].*exited with 1: nginx: \[emerg\] bad config/);
    expect((await store.getDeployment("api", "staging"))?.version).toBe(before!.version);
  });

  it("production refuses at preview a version never verified in staging, and takes it once it was", async () => {
    const refused = await deployments.check({}, { certificate: "api", environment: "production", version: 3 });
    expect(refused.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[PROMOTION_REFUSED\] field 'version': version 3 of 'api' was deployed to staging but never verified there/)]);
    await deployments.update("staging/api", {}, { certificate: "api", environment: "staging", version: 3 });
    expect((await deployments.check({}, { certificate: "api", environment: "production", version: 3 })).failures).toEqual([]);
    const created = await deployments.create({ certificate: "api", environment: "production", version: 3 });
    expect(created.outs.deployedVersion).toBe(3);
  });
});
