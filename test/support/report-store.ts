/**
 * A file store for the report's tests, as a team's would look 84.5 days after its certificates were
 * issued (CERTSTAGE_NOW = `now`; half a day off a whole day, since X.509 keeps whole seconds and
 * the certificates are made a moment after `issuedAt`, so "days left" never sits on an edge):
 *
 * | certificate | display name          | versions (lifetime) | staging | production          | edge |
 * |-------------|-----------------------|---------------------|---------|---------------------|------|
 * | api         | Public API            | v1, v2 (398 d)      | v2      | v1, standby → v2    |      |
 * | www         | a `<script>` and more | v1 (120 d)          | v1, standby undeploy | v1                 |      |
 * | grafana     | grafana               | v1 (90 d): 5 d left |         |                     | v1   |
 * | legacy      | legacy                | v1 (398 d)          |         |                     |      |
 *
 * So: four served versions (www's v1 is one version served twice), one of them critical
 * (grafana), one pending swap, one pending undeploy (www from staging, in 5 days), one certificate serving nothing, and store text that must be
 * escaped: a display name holding a script element and an owner holding markup.
 */
import { inspectUpload } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, temporaryDirectory } from "./certificates";

export const HOSTILE_DISPLAY_NAME = `<script>document.title="pwned"</script><img src="http://127.0.0.1:9/x.png"> & "www"`;
export const HOSTILE_OWNER = "team-<b>web</b>";

export interface ReportStore {
  readonly root: string;
  /** Every private key the store holds: none may appear in a report. */
  readonly privateKeys: readonly string[];
  /** The report's clock: 84.5 days after the certificates were issued. */
  readonly now: Date;
  readonly pendingTask: string;
  /** The standby undeploy of www from staging. */
  readonly pendingUndeploy: string;
}

const DAY = 86_400_000;

export async function makeReportStore(prefix = "report"): Promise<ReportStore> {
  const root = temporaryDirectory(`${prefix}-store`);
  const pki = temporaryDirectory(`${prefix}-pki`);
  const store = createFileStore({ root });
  const actor = { principal: "alice" };
  const privateKeys: string[] = [];
  const issuedAt = Date.now();
  const upload = async (certificate: string, dnsName: string, days: number) => {
    const made = makeTestCertificate(pki, dnsName, days);
    privateKeys.push(made.privateKeyPem);
    const material = inspectUpload(made);
    if (!material.ok) throw new Error(`bad test certificate for ${dnsName}`);
    return store.createVersion(certificate, "upload", material.value, actor);
  };
  const certificate = (name: string, displayName: string, owner = "team-a") => store.createCertificate({ name, displayName, type: "server", owner, shareWith: [], description: "" }, actor);
  try {
    await certificate("api", "Public API");
    await certificate("www", HOSTILE_DISPLAY_NAME, HOSTILE_OWNER);
    await certificate("grafana", "grafana", "team-ops");
    await certificate("legacy", "legacy");
    await upload("api", "api.example.test", 398);
    await upload("api", "api.example.test", 398);
    await upload("www", "www.example.test", 120);
    await upload("grafana", "grafana.example.test", 90);
    await upload("legacy", "legacy.example.test", 398);
    await store.deploy("api", "staging", 2, actor);
    await store.deploy("api", "production", 1, actor);
    await store.deploy("www", "staging", 1, actor);
    await store.deploy("www", "production", 1, actor);
    await store.deploy("grafana", "edge", 1, actor);
    const now = new Date(issuedAt + 84.5 * DAY);
    const task = await store.queueTask({ certificate: "api", environment: "production", version: 2, notBefore: new Date(now.getTime() + 2 * DAY).toISOString(), environments: [] }, actor);
    const undeploy = await store.queueTask({ certificate: "www", environment: "staging", action: "undeploy", notBefore: new Date(now.getTime() + 5 * DAY).toISOString(), environments: [] }, actor);
    return { root, privateKeys, now, pendingTask: task.id, pendingUndeploy: undeploy.id };
  } finally {
    await store.close();
  }
}
