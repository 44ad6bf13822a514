/**
 * EnvironmentDeployment with an http environment (the gcore preset) through the provider: the
 * token comes from the stack config (`certstage:gcoreToken`, a secret), a failed request fails
 * the update and leaves the previous version, refresh reads the served certificate back, and a
 * standby task keeps the name of the secret, never the secret, and runs with an environment
 * variable as its source; a standby undeploy reaches the API only when its task runs. The API is
 * a local stand-in (test/support/certificate-apis.ts), or a listener of the test's own.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { configure, providerFor } from "../../provider/resources/runtime";
import type { Store } from "../../provider/store";
import { GcoreEmulator } from "../support/certificate-apis";
import { makeTestCertificate, storeWithVersions, temporaryDirectory, TestCertificate } from "../support/certificates";

const deployments = providerFor("EnvironmentDeployment");
const actor = { principal: "http-tester" };
const TOKEN = "gc_provider_0a1b2c3d4e5f60718293a4b5";
const RUNNER_VARIABLE = "CERTSTAGE_TEST_GCORE_TOKEN";

let storeRoot: string;
let store: Store;
let leaves: TestCertificate[];
let gcore: GcoreEmulator;

function useSettings(token: string | undefined) {
  const environments = [{ name: "production", target: { type: "http", preset: "gcore", params: { baseUrl: `${gcore.url}/ddos`, resourceId: "4711" }, auth: { tokenFrom: ["certstage:gcoreToken", `env:${RUNNER_VARIABLE}`] }, attempts: 2 } }];
  const settings: Record<string, string | undefined> = { "certstage:store": storeRoot, "certstage:principal": actor.principal, "certstage:teams": "team-edge", "certstage:environments": JSON.stringify(environments), "certstage:gcoreToken": token };
  configure({ get: (key) => settings[key], require: (key) => settings[key]! });
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const file = path.join(directory, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

async function tasksRun(): Promise<{ code: number; output: string }> {
  let output = "";
  const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
  const code = await main(["tasks", "run", "--store", storeRoot, "--principal", "scheduler@ci", "--teams", "team-edge"], sink);
  return { code, output };
}

const fullchainOf = (index: number) => leaves[index].certificatePem + leaves[index].chainPem;

beforeAll(async () => {
  const pki = temporaryDirectory("http-provider-pki");
  leaves = [makeTestCertificate(pki), makeTestCertificate(pki), makeTestCertificate(pki)];
  storeRoot = temporaryDirectory("http-provider-store");
  store = await storeWithVersions(storeRoot, leaves, actor);
  gcore = await new GcoreEmulator(TOKEN, "/ddos", "4711").start();
});
afterAll(async () => gcore?.stop());
afterEach(() => {
  expect(gcore.violations).toEqual([]);
  delete process.env[RUNNER_VARIABLE];
});

describe("EnvironmentDeployment through an http target", () => {
  it("deploys with the stack config's token, survives a 500, and fails a 401 leaving the previous version", async () => {
    useSettings(TOKEN);
    const created = await deployments.create({ certificate: "api", environment: "production", version: 1 });
    expect(created.outs).toMatchObject({ deployedVersion: 1, status: "deployed" });
    expect(gcore.resource.service_ssl_crt).toBe(fullchainOf(0));

    gcore.failures.push({ method: "PUT", status: 500, body: { error: "Internal Server Error" } });
    expect((await deployments.update(created.id, created.outs, { certificate: "api", environment: "production", version: 2 })).outs.deployedVersion).toBe(2);
    expect(gcore.resource.service_ssl_crt).toBe(fullchainOf(1));

    useSettings("a-revoked-token-0000000000");
    await expect(deployments.update(created.id, created.outs, { certificate: "api", environment: "production", version: 3 })).rejects.toThrow(
      `[TARGET_HTTP_FAILED] resource 'api', field 'certstage:environments': production: GET ${gcore.url}/ddos/resources/4711 answered HTTP 401: {"error":"Unauthorized"}; version 2 was put back.`,
    );
    expect((await store.getDeployment("api", "production"))?.version).toBe(2);
    expect((await store.readHistory({ environment: "production" })).at(-1)).toMatchObject({ action: "deploy", fromVersion: 2, toVersion: 3, result: "failed" });
  });

  it("refresh reads the served certificate back: a change made at the API shows as drift", async () => {
    useSettings(TOKEN);
    gcore.resource = { ...gcore.resource, service_ssl_crt: fullchainOf(0) };
    const read = await deployments.read("production/api", { certificate: "api", environment: "production", version: 2 });
    expect(read.props).toMatchObject({ version: 1, deployedVersion: 1 });
    await deployments.update("production/api", {}, { certificate: "api", environment: "production", version: 2 });
    expect((await deployments.read("production/api", { certificate: "api", environment: "production", version: 2 })).props).toMatchObject({ version: 2, deployedVersion: 2 });
  });

  it("a standby task stores where the token is, never the token, and its runner reads the environment variable", async () => {
    useSettings(TOKEN);
    const queued = await deployments.update("production/api", {}, { certificate: "api", environment: "production", version: 3, mode: "standby" });
    expect(queued.outs.status).toBe("pending");
    const task = await store.getTask(queued.outs.task.id);
    expect(JSON.stringify(task?.environments)).toContain(`"tokenFrom":["certstage:gcoreToken","env:${RUNNER_VARIABLE}"]`);
    for (const file of filesUnder(storeRoot)) expect(readFileSync(file, "utf8"), file).not.toContain(TOKEN);

    // The runner has no stack configuration: without the variable the task fails, changing nothing.
    const withoutToken = await tasksRun();
    expect(withoutToken.code).toBe(1);
    expect((await store.getTask(queued.outs.task.id))?.detail).toMatch(/^\[TARGET_CREDENTIAL_MISSING\] field 'certstage:environments': the http target of production found no token in certstage:gcoreToken, env:CERTSTAGE_TEST_GCORE_TOKEN/);
    expect(gcore.resource.service_ssl_crt).toBe(fullchainOf(1));

    const again = await deployments.update("production/api", {}, { certificate: "api", environment: "production", version: 3, mode: "standby" });
    process.env[RUNNER_VARIABLE] = TOKEN;
    expect((await tasksRun()).code).toBe(0);
    expect((await store.getTask(again.outs.task.id))?.state).toBe("done");
    expect(gcore.resource.service_ssl_crt).toBe(fullchainOf(2));
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
    for (const file of filesUnder(storeRoot)) expect(readFileSync(file, "utf8"), file).not.toContain(TOKEN);
  });

  it("a standby undeploy: up queues it and the API hears nothing, then tasks run sends the undeploy request with the runner's token", async () => {
    const seen: string[] = [];
    const { createServer } = await import("node:http");
    const server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        seen.push(`${request.method} ${request.url} ${request.headers["x-api-key"] === TOKEN ? "with the token" : "without the token"}`);
        response.writeHead(request.method === "DELETE" ? 204 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const edge = {
        name: "edge",
        target: {
          type: "http",
          deploy: { method: "PUT", url: `${base}/certificates/{certificate}`, body: { type: "json", pem: { cert: "certificate", key: "privateKey" } } },
          undeploy: { method: "DELETE", url: `${base}/certificates/{certificate}` },
          auth: { tokenFrom: ["certstage:edgeToken", `env:${RUNNER_VARIABLE}`], header: "X-API-Key" },
        },
      };
      const settings: Record<string, string | undefined> = { "certstage:store": storeRoot, "certstage:principal": actor.principal, "certstage:teams": "team-edge", "certstage:environments": JSON.stringify([edge]), "certstage:edgeToken": TOKEN };
      configure({ get: (key) => settings[key], require: (key) => settings[key]! });

      const created = await deployments.create({ certificate: "api", environment: "edge", version: 1 });
      expect(seen).toEqual(["PUT /certificates/api with the token"]);
      const queued = await deployments.update(created.id, created.outs, { certificate: "api", environment: "edge", version: 1, state: "undeployed", mode: "standby" });
      expect(queued.outs.status).toBe("pending");
      expect(seen).toHaveLength(1);
      expect((await store.getDeployment("api", "edge"))?.version).toBe(1);

      process.env[RUNNER_VARIABLE] = TOKEN;
      expect((await tasksRun()).code).toBe(0);
      expect(seen).toEqual(["PUT /certificates/api with the token", "DELETE /certificates/api with the token"]);
      expect(await store.getDeployment("api", "edge")).toBeUndefined();
      expect((await store.getTask(queued.outs.task.id))?.state).toBe("done");
      const refreshed = await deployments.read!(created.id, queued.outs);
      expect(refreshed.props).toMatchObject({ status: "undeployed" });
      // Deleting the resource afterwards asks the API nothing more.
      await deployments.delete!(created.id, refreshed.props!);
      expect(seen).toHaveLength(2);
      for (const file of filesUnder(storeRoot)) expect(readFileSync(file, "utf8"), file).not.toContain(TOKEN);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
