/**
 * The deployment targets against the real servers: the directory target with nginx reloaded by
 * its reload command, and the haproxy target hot-swapping through HAProxy's runtime API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectUpload } from "../../provider/pki/version-material";
import { directoryTarget } from "../../provider/targets/directory";
import { haproxyTarget } from "../../provider/targets/haproxy";
import type { Store } from "../../provider/store";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { haproxyPemPayload, HaproxyServer, NginxServer, startHaproxy, tlsHandshake } from "../support/tls-servers";
import { DeployedPair, startDeployedPair } from "./deployed-pair";

const actor = { principal: "servers-tester" };
let store: Store;
let leaves: TestCertificate[];
let nginx: NginxServer;
let haproxy: HaproxyServer;

let pair: DeployedPair;

beforeAll(async () => {
  pair = await startDeployedPair("targets-servers", actor);
  ({ store, leaves, nginx, haproxy } = pair);
});
afterAll(async () => pair?.stop());

const servedSerial = async (port: number) => (await tlsHandshake(port, "api.example.test")).leaf.serialNumber;
const serialOf = (leaf: TestCertificate) => new (require("node:crypto").X509Certificate)(leaf.certificatePem).serialNumber;

describe("targets on real servers", () => {
  it("directory: the link swap plus the target's own reload (`nginx -s reload`) serves the new version, and back", async () => {
    const target = directoryTarget({ reload: nginx.reloadCommand });
    const context = { store, certificate: "api", environment: "staging", actor };
    for (const [version, leaf] of [[2, leaves[1]], [1, leaves[0]]] as const) {
      const before = nginx.generation();
      await target.deploy(context, version);
      // Waits for the reload the target ran; sends nothing, so without that reload this fails.
      await nginx.reloadedSince(before);
      expect(await servedSerial(nginx.port)).toBe(serialOf(leaf));
    }
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

  it("haproxy: live asks HAProxy which version it holds, and sees a certificate pushed by hand", async () => {
    const target = haproxyTarget(haproxy.adminSocket, haproxy.certificatePath);
    const context = { store, certificate: "api", environment: "production", actor };
    await target.deploy(context, 1);
    expect(await target.live!(context)).toEqual({ version: 1, description: "HAProxy serves version 1" });
    await target.deploy(context, 2);
    expect((await target.live!(context)).version).toBe(2);

    const stranger = makeTestCertificate(temporaryDirectory("stranger-pki"), "api.example.test");
    expect(await haproxy.command(`set ssl cert ${haproxy.certificatePath} <<\n${haproxyPemPayload(stranger.certificatePem + stranger.chainPem, stranger.privateKeyPem)}`)).toMatch(/Transaction created/);
    // A staged, uncommitted change is not what HAProxy serves.
    expect((await target.live!(context)).version).toBe(2);
    expect(await haproxy.command(`commit ssl cert ${haproxy.certificatePath}`)).toMatch(/Success/);
    const seen = await target.live!(context);
    expect(seen.version).toBeUndefined();
    expect(seen.description).toMatch(/^HAProxy serves a certificate that is no version of 'api' \(serial [0-9a-f]+\)$/);
    await target.deploy(context, 2); // the store already says 2: the push still happens
    expect(await servedSerial(haproxy.port)).toBe(serialOf(leaves[1]));
  });

  it("haproxy: one environment serves two certificates by SNI through a {certificate} path template", async () => {
    const pki = temporaryDirectory("two-certificates-pki");
    const wwwLeaves = [makeTestCertificate(pki, "www.example.test")];
    wwwLeaves.push(makeTestCertificate(pki, "www.example.test"));
    await store.createCertificate({ name: "www", displayName: "www", type: "server", owner: "o", shareWith: [], description: "" }, actor);
    for (const leaf of wwwLeaves) {
      const material = inspectUpload(leaf);
      if (!material.ok) throw new Error("bad test certificate");
      await store.createVersion("www", "upload", material.value, actor);
    }
    const shared = await startHaproxy({
      fullchainPem: leaves[0].certificatePem + leaves[0].chainPem,
      privateKeyPem: leaves[0].privateKeyPem,
      moreCertificates: [{ fileName: "www.pem", fullchainPem: wwwLeaves[0].certificatePem + wwwLeaves[0].chainPem, privateKeyPem: wwwLeaves[0].privateKeyPem }],
    });
    try {
      // The helper names api's file site.pem; a template covers both when the files follow the names.
      const template = `${shared.certificatesDirectory}/{certificate}.pem`;
      await expect(haproxyTarget(shared.adminSocket, template).deploy({ store, certificate: "api", environment: "edge", actor }, 2)).rejects.toThrow(/\[RELOAD_FAILED\].*api\.pem/);
      const target = haproxyTarget(shared.adminSocket, template);
      await target.deploy({ store, certificate: "www", environment: "edge", actor }, 2);
      const served = async (name: string) => (await tlsHandshake(shared.port, name)).leaf.serialNumber;
      expect(await served("www.example.test")).toBe(serialOf(wwwLeaves[1]));
      expect(await served("api.example.test")).toBe(serialOf(leaves[0])); // untouched
      expect((await target.live!({ store, certificate: "www", environment: "edge", actor })).version).toBe(2);

      const apiTarget = haproxyTarget(shared.adminSocket, shared.certificatePath);
      await apiTarget.deploy({ store, certificate: "api", environment: "edge", actor }, 2);
      expect(await served("api.example.test")).toBe(serialOf(leaves[1]));
      expect(await served("www.example.test")).toBe(serialOf(wwwLeaves[1]));
    } finally {
      await shared.stop();
    }
  });
});
