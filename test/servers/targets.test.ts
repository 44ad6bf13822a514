/**
 * The deployment targets against the real servers: the directory target with nginx reloaded by
 * its reload command, and the haproxy target hot-swapping through HAProxy's runtime API.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectUpload } from "../../provider/pki/version-material";
import { directoryTarget } from "../../provider/targets/directory";
import { haproxyTarget } from "../../provider/targets/haproxy";
import { createFileStore } from "../../provider/store/drivers/file";
import type { Store } from "../../provider/store";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { HaproxyServer, NginxServer, startHaproxy, startNginx, tlsHandshake } from "../support/tls-servers";

const actor = { principal: "servers-tester" };
let store: Store;
let storeRoot: string;
let leaves: TestCertificate[];
let nginx: NginxServer;
let haproxy: HaproxyServer;

beforeAll(async () => {
  const pki = temporaryDirectory("targets-servers-pki");
  leaves = [makeTestCertificate(pki, "api.example.test"), makeTestCertificate(pki, "api.example.test")];
  storeRoot = temporaryDirectory("targets-servers-store");
  store = createFileStore({ root: storeRoot });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
  for (const leaf of leaves) {
    const material = inspectUpload(leaf);
    if (!material.ok) throw new Error("bad certificate");
    await store.createVersion("api", "upload", material.value, actor);
  }
  await store.deploy("api", "staging", 1, actor);
  await store.deploy("api", "production", 1, actor);
  const staging = path.join(storeRoot, "environments", "staging", "api");
  nginx = await startNginx({ certificateFile: path.join(staging, "fullchain.pem"), keyFile: path.join(staging, "privkey.pem") });
  haproxy = await startHaproxy({ fullchainPem: leaves[0].certificatePem + leaves[0].chainPem, privateKeyPem: leaves[0].privateKeyPem });
});
afterAll(async () => Promise.all([nginx?.stop(), haproxy?.stop()]));

const servedSerial = async (port: number) => (await tlsHandshake(port, "api.example.test")).leaf.serialNumber;
const serialOf = (leaf: TestCertificate) => new (require("node:crypto").X509Certificate)(leaf.certificatePem).serialNumber;

describe("targets on real servers", () => {
  it("directory: the link swap plus nginx's reload serves the new version, and back", async () => {
    // nginx -s reload stands in for the reload of a real deployment: here, SIGHUP to this master.
    const reload = [process.execPath, "-e", `process.kill(${nginx.pid}, "SIGHUP")`];
    const target = directoryTarget(reload);
    const context = { store, certificate: "api", environment: "staging", actor };
    await target.deploy(context, 2);
    await nginx.reload(); // waits until the new workers own the socket
    expect(await servedSerial(nginx.port)).toBe(serialOf(leaves[1]));
    await target.deploy(context, 1);
    await nginx.reload();
    expect(await servedSerial(nginx.port)).toBe(serialOf(leaves[0]));
  });

  it("haproxy: a hot swap through the runtime API, with the same process", async () => {
    const target = haproxyTarget(haproxy.adminSocket, haproxy.certificatePath);
    await target.deploy({ store, certificate: "api", environment: "production", actor }, 2);
    expect(await servedSerial(haproxy.port)).toBe(serialOf(leaves[1]));
    expect((await store.getDeployment("api", "production"))?.version).toBe(2);
    expect(require("node:fs").existsSync(`/proc/${haproxy.pid}`)).toBe(true);
  });

  it("haproxy: a payload HAProxy refuses is aborted, reported, and the previous version stays", async () => {
    const target = haproxyTarget(haproxy.adminSocket, "/no/such/certificate.pem");
    await expect(target.deploy({ store, certificate: "api", environment: "production", actor }, 1)).rejects.toThrow(/\[RELOAD_FAILED\] field 'certstage:environments': HAProxy refused the certificate for \/no\/such\/certificate\.pem/);
    expect((await store.getDeployment("api", "production"))?.version).toBe(2);
    expect(await servedSerial(haproxy.port)).toBe(serialOf(leaves[1]));
  });
});
