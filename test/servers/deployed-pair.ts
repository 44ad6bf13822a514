/**
 * What the real-server tests start from: certificate `api` with two versions (or more) in a fresh store,
 * version 1 deployed to staging and production, and nginx (reading staging's files) and HAProxy
 * (loaded with version 1) serving it.
 */
import * as path from "node:path";
import { inspectUpload } from "../../provider/pki/version-material";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { HaproxyServer, NginxServer, startHaproxy, startNginx } from "../support/tls-servers";

export interface DeployedPair {
  readonly store: Store;
  readonly storeRoot: string;
  /** Versions 1, 2, … in order. */
  readonly leaves: TestCertificate[];
  readonly nginx: NginxServer;
  readonly haproxy: HaproxyServer;
  stop(): Promise<void>;
}

export async function startDeployedPair(name: string, actor: { principal: string }, versions = 2): Promise<DeployedPair> {
  const pki = temporaryDirectory(`${name}-pki`);
  const leaves = Array.from({ length: versions }, () => makeTestCertificate(pki, "api.example.test"));
  const storeRoot = temporaryDirectory(`${name}-store`);
  const store = createFileStore({ root: storeRoot });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
  for (const leaf of leaves) {
    const material = inspectUpload(leaf);
    if (!material.ok) throw new Error("bad test certificate");
    await store.createVersion("api", "upload", material.value, actor);
  }
  await store.deploy("api", "staging", 1, actor);
  await store.deploy("api", "production", 1, actor);
  const staging = path.join(storeRoot, "environments", "staging", "api");
  const nginx = await startNginx({ certificateFile: path.join(staging, "fullchain.pem"), keyFile: path.join(staging, "privkey.pem") });
  const haproxy = await startHaproxy({ fullchainPem: leaves[0].certificatePem + leaves[0].chainPem, privateKeyPem: leaves[0].privateKeyPem });
  return { store, storeRoot, leaves, nginx, haproxy, stop: async () => void (await Promise.all([nginx.stop(), haproxy.stop()])) };
}
