/**
 * For the monitoring tier: a file store whose deployed certificates sit inside or outside the
 * "a third of the lifetime left" window by the real clock (Prometheus's time() is the real
 * one), made with crafted validity dates; and a free loopback port.
 */
import * as net from "node:net";
import * as path from "node:path";
import { inspectUpload } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import { temporaryDirectory } from "../support/certificates";
import { craftCertificate, testAuthorities } from "../support/crafted-certificates";

const DAY = 86_400_000;
const actor = { principal: "monitoring-test@ci" };

export interface MonitoringStore {
  readonly workspace: string;
  readonly storeRoot: string;
  readonly privateKeys: string[];
  readonly notAfter: Record<string, string>;
}

/**
 * `old` (80 of 90 days gone: inside its window) and `fresh` (1 of 90 days gone: outside),
 * both deployed to production.
 */
export async function monitoringStore(name: string): Promise<MonitoringStore> {
  const workspace = temporaryDirectory(`monitoring-${name}`);
  const storeRoot = path.join(workspace, "store");
  const store = createFileStore({ root: storeRoot });
  const { intermediate } = await testAuthorities();
  const now = Date.now();
  const privateKeys: string[] = [];
  const notAfter: Record<string, string> = {};
  try {
    for (const [certificate, daysGone] of [["old", 80], ["fresh", 1]] as const) {
      const crafted = await craftCertificate({ sans: [`${certificate}.example.test`], notBefore: new Date(now - daysGone * DAY), notAfter: new Date(now + (90 - daysGone) * DAY) });
      privateKeys.push(crafted.privateKeyPem);
      const material = inspectUpload({ certificatePem: crafted.pem, privateKeyPem: crafted.privateKeyPem, chainPem: intermediate.pem });
      if (!material.ok) throw new Error(`bad crafted certificate: ${material.problems.map((problem) => problem.message).join("; ")}`);
      await store.createCertificate({ name: certificate, displayName: certificate, type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
      const version = await store.createVersion(certificate, "upload", material.value, actor);
      notAfter[certificate] = version.notAfter;
      await store.deploy(certificate, "production", version.version, actor);
    }
  } finally {
    await store.close();
  }
  return { workspace, storeRoot, privateKeys, notAfter };
}

/** A port nothing listens on right now (the system's choice), for a server that needs one given. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
