/**
 * `certstage report --html` on a team's PostgreSQL store, as a pull-request job or a dashboard
 * runs it: with the preview login (certstage_reader) and no key-encryption key at all. It reads
 * everything it shows from listings, so it needs neither, and no private key reaches the page.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectUpload } from "../../provider/pki/version-material";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { startStoreCluster, type StoreCluster } from "./support";

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");

let world: StoreCluster;
let database: string;
const keys: string[] = [];
let undeployTask: string;

beforeAll(async () => {
  world = await startStoreCluster();
  database = await world.newStoreDatabase();
  const store = world.open(database, world.login("conformance@test"));
  const actor = { principal: "conformance@test" };
  const pki = temporaryDirectory("report-postgres-pki");
  try {
    await store.createCertificate({ name: "api", displayName: "Public <API>", type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
    for (let index = 0; index < 2; index += 1) {
      const made = makeTestCertificate(pki, "api.example.test", 90);
      keys.push(made.privateKeyPem);
      const material = inspectUpload(made);
      if (!material.ok) throw new Error("bad test certificate");
      await store.createVersion("api", "upload", material.value, actor);
    }
    await store.deploy("api", "production", 1, actor);
    await store.deploy("api", "staging", 2, actor);
    await store.queueTask({ certificate: "api", environment: "production", version: 2, environments: [] }, actor);
    await store.deploy("api", "edge", 1, actor);
    undeployTask = (await store.queueTask({ certificate: "api", environment: "edge", action: "undeploy", notBefore: "2099-01-01T00:00:00.000Z", environments: [] }, actor)).id;
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  await world?.stop();
});

describe("certstage report on a postgres store", () => {
  it("writes the page as the preview login, with no store key", async () => {
    const file = path.join(temporaryDirectory("report-postgres-out"), "report.html");
    const url = world.url(database, world.login("preview"));
    const { stdout, stderr } = await run(process.execPath, [CLI, "report", "--html", file, "--store", url], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(stderr).toBe("");
    expect(stdout).toBe(`Wrote ${file}: 1 certificate, 3 environments, 2 served versions (0 to renew), 1 pending swap, 1 pending undeploy.\n`);
    const html = readFileSync(file, "utf8");
    expect([...html.matchAll(/<td class="served \w+" data-environment="(\w+)" data-version="(\d+)"/g)].map((match) => `${match[1]} v${match[2]}`)).toEqual(["staging v2", "production v1", "edge v1"]);
    expect(html).toContain("Public &lt;API&gt;");
    expect(html).toContain("→ v2 on standby, at the next certstage tasks run");
    // The preview login reads undeploy tasks too: edge stops serving v1 by this task.
    expect(html).toContain(`<tr data-task="${undeployTask}" data-certificate="api" data-environment="edge" data-version="1"><td>api</td><td>edge</td><td>v1, served now</td><td>not before 2099-01-01 00:00 UTC</td>`);
    expectNoPrivateKeyMaterial(html + stdout, keys, "the report of a postgres store");
    // The login's password is in the URL it was given; the page names the store without it.
    expect(html).not.toContain(world.login("preview").password);
  });
});
