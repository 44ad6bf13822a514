/**
 * A standby undeploy on an HAProxy environment (seed 001: "Undeploy the certificate at a later
 * time ... standby queue"), through the EnvironmentDeployment resource and `certstage tasks run`
 * against a real HAProxy: the task runs the haproxy target's undeploy, then switching back to
 * deployed hot-swaps a version in again through the runtime API, with the same process.
 */
import { existsSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { configure, providerFor } from "../../provider/resources/runtime";
import type { Store } from "../../provider/store";
import { TestCertificate } from "../support/certificates";
import { HaproxyServer, tlsHandshake } from "../support/tls-servers";
import { DeployedPair, startDeployedPair } from "./deployed-pair";

const actor = { principal: "servers-tester" };
const deployments = providerFor("EnvironmentDeployment");
let pair: DeployedPair;
let store: Store;
let leaves: TestCertificate[];
let haproxy: HaproxyServer;

beforeAll(async () => {
  pair = await startDeployedPair("standby-undeploy", actor);
  ({ store, leaves, haproxy } = pair);
});
afterAll(async () => pair?.stop());

beforeEach(() => {
  const settings: Record<string, string> = {
    "certstage:store": pair.storeRoot,
    "certstage:principal": actor.principal,
    "certstage:teams": "o",
    "certstage:environments": JSON.stringify([{ name: "lb", target: { type: "haproxy", socket: haproxy.adminSocket, certificatePath: haproxy.certificatePath } }]),
  };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
});
afterEach(() => {
  delete process.env.CERTSTAGE_NOW;
});

async function cli(...args: string[]): Promise<{ code: number; output: string }> {
  let output = "";
  const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
  const code = await main([...args, "--store", pair.storeRoot, "--principal", "scheduler@ci", "--teams", "o"], sink);
  return { code, output };
}

const servedSerial = async () => (await tlsHandshake(haproxy.port, "api.example.test")).leaf.serialNumber;
const serialOf = (leaf: TestCertificate) => new (require("node:crypto").X509Certificate)(leaf.certificatePem).serialNumber;

describe("a standby undeploy on an HAProxy environment", () => {
  it("is queued at up, runs through the haproxy target after notBefore, refreshes as undeployed; delete then does nothing; switching back serves again", async () => {
    const created = await deployments.create({ certificate: "api", environment: "lb", version: 2 });
    expect(await servedSerial()).toBe(serialOf(leaves[1]));

    const inputs = { certificate: "api", environment: "lb", version: 2, state: "undeployed", mode: "standby", notBefore: "2099-06-01T02:00:00Z" };
    const queued = await deployments.update("lb/api", created.outs, inputs);
    const id: string = queued.outs.task.id;
    expect(queued.outs).toMatchObject({ status: "pending", deployedVersion: 2, task: { state: "pending", notBefore: "2099-06-01T02:00:00.000Z" } });
    expect((await cli("tasks", "run")).output).toBe("No task is due.\n");
    expect((await store.getDeployment("api", "lb"))?.version).toBe(2);
    expect((await deployments.read("lb/api", queued.outs)).props).toMatchObject({ status: "pending" });

    process.env.CERTSTAGE_NOW = "2099-06-01T02:00:00Z";
    const ran = await cli("tasks", "run");
    expect(ran.code).toBe(0);
    expect(ran.output).toMatch(new RegExp(`${id}  done\\s+lb\\s+api\\s+v2 -> undeploy .*lb no longer serves api`));
    expect(await store.getDeployment("api", "lb")).toBeUndefined();
    expect((await store.readHistory({ environment: "lb" })).slice(-2).map(({ action, actor: who, detail }) => `${action} ${who} ${detail ?? ""}`.trim())).toEqual(["undeploy scheduler@ci", `task.run scheduler@ci task ${id}: lb no longer serves api`]);
    // HAProxy keeps its last certificate until its configuration changes (the haproxy target's undeploy
    // changes the store only), and the same process still answers.
    expect(existsSync(`/proc/${haproxy.pid}`)).toBe(true);
    expect(await servedSerial()).toBe(serialOf(leaves[1]));

    // Refresh asks the store, not HAProxy, once the program says undeployed: no drift back to v2.
    const refreshed = await deployments.read("lb/api", queued.outs);
    expect(refreshed.props).toMatchObject({ state: "undeployed", status: "undeployed", deployedVersion: 0, task: { id, state: "done" } });
    expect((await deployments.diff("lb/api", refreshed.props, inputs)).changes).toBe(false);

    // Switching back to deployed serves version 1 through the runtime API, and a later delete undeploys it.
    const back = await deployments.update("lb/api", refreshed.props, { certificate: "api", environment: "lb", version: 1 });
    expect(back.outs).toMatchObject({ status: "deployed", deployedVersion: 1 });
    expect(await servedSerial()).toBe(serialOf(leaves[0]));

    const again = await deployments.update("lb/api", back.outs, { ...inputs, version: 1, notBefore: undefined });
    expect((await cli("tasks", "run", "--task", again.outs.task.id)).code).toBe(0);
    const undeployed = (await deployments.read("lb/api", again.outs)).props;
    const lines = (await store.readHistory()).length;
    await deployments.delete("lb/api", undeployed);
    expect(await store.readHistory()).toHaveLength(lines);
    expect(await store.getDeployment("api", "lb")).toBeUndefined();
  });
});
