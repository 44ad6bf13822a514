/**
 * Keys for servers that run as a non-root user (settings/key-file.ts): a directory target with
 * `"keyFile": {"group": "ssl-cert", "mode": "0640"}`, and `certstage agent --key-group ssl-cert`,
 * publish privkey.pem, and keystore.p12 (the version is saved with one), so that a user in
 * ssl-cert reads them and a user outside the group cannot.
 * Real users (test/support/system-users.ts) read the files through setpriv.
 */
import { chmodSync, mkdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { installVersion } from "../../provider/agent/install";
import { buildPkcs12 } from "../../provider/pki/pkcs12";
import { inspectUpload } from "../../provider/pki/version-material";
import { environmentDefinitionsFrom } from "../../provider/settings/environments";
import { keyFileAccess } from "../../provider/settings/key-file";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { targetFor } from "../../provider/targets";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { ensureSystemUser, readAs, SystemUser } from "../support/system-users";

const actor = { principal: "key-file-tester" };
const GROUP = "ssl-cert";
let root: string;
let store: Store;
let leaf: TestCertificate;
let reader: SystemUser;
let outsider: SystemUser;
let sslCertGid: number;

beforeAll(async () => {
  reader = ensureSystemUser("certstage-keyreader", [GROUP]);
  outsider = ensureSystemUser("certstage-outsider");
  sslCertGid = keyFileAccess({ group: GROUP }, "test").gid!;
  root = temporaryDirectory("key-file");
  // mkdtemp makes 0700: the users must be able to walk down to the published files.
  chmodSync(root, 0o755);
  leaf = makeTestCertificate(path.join(root, "pki"));
  store = createFileStore({ root: path.join(root, "store") });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
  const material = inspectUpload(leaf);
  if (!material.ok) throw new Error(material.problems.map((problem) => problem.message).join("; "));
  const pkcs12 = buildPkcs12(leaf, { password: "key-file-keystore-pw", friendlyName: "api" }).toString("base64");
  await store.createVersion("api", "upload", { ...material.value, pkcs12 }, actor);
});

function expectReadableByGroupOnly(directory: string): void {
  const key = path.join(directory, "api", "privkey.pem");
  const stats = statSync(key);
  expect((stats.mode & 0o777).toString(8)).toBe("640");
  expect(stats.gid).toBe(sslCertGid);
  // Certificates stay world-readable, as before.
  expect(statSync(path.join(directory, "api", "fullchain.pem")).mode & 0o777).toBe(0o644);
  expect(readAs(reader, key)).toEqual({ ok: true, content: leaf.privateKeyPem });
  const refused = readAs(outsider, key);
  expect(refused.ok).toBe(false);
  expect(refused).toMatchObject({ error: expect.stringMatching(/Permission denied/) });
  // The keystore holds the key: the same group and mode.
  const keystore = path.join(directory, "api", "keystore.p12");
  expect(statSync(keystore).mode & 0o777).toBe(0o640);
  expect(statSync(keystore).gid).toBe(sslCertGid);
  expect(readAs(reader, keystore).ok).toBe(true);
  expect(readAs(outsider, keystore)).toMatchObject({ ok: false, error: expect.stringMatching(/Permission denied/) });
  // The outsider still reads the certificate: the refusal is the key's mode, not the path.
  expect(readAs(outsider, path.join(directory, "api", "fullchain.pem")).ok).toBe(true);
}

describe("a deployed key for a server in group ssl-cert", () => {
  it("directory target with keyFile: a user in the group reads privkey.pem, one outside it cannot", async () => {
    const published = path.join(root, "published");
    const [definition] = environmentDefinitionsFrom([{ name: "staging", target: { type: "directory", path: published, keyFile: { group: GROUP, mode: "0640" } } }]);
    await targetFor(definition.target).deploy({ store, certificate: "api", environment: "staging", actor }, 1);
    expectReadableByGroupOnly(published);
    expect(readFileSync(path.join(published, "api", "privkey.pem"), "utf8")).toBe(leaf.privateKeyPem);
  });

  it("a version published before keyFile was set is published again with the key's new group and mode", async () => {
    const published = path.join(root, "republished");
    const [plain] = environmentDefinitionsFrom([{ name: "staging", target: { type: "directory", path: published } }]);
    await targetFor(plain.target).deploy({ store, certificate: "api", environment: "staging", actor }, 1);
    expect(statSync(path.join(published, "api", "privkey.pem")).mode & 0o777).toBe(0o600);
    expect(readAs(reader, path.join(published, "api", "privkey.pem")).ok).toBe(false);
    expect(readAs(reader, path.join(published, "api", "keystore.p12")).ok).toBe(false);
    const [grouped] = environmentDefinitionsFrom([{ name: "staging", target: { type: "directory", path: published, keyFile: { group: GROUP } } }]);
    await targetFor(grouped.target).deploy({ store, certificate: "api", environment: "staging", actor }, 1);
    expectReadableByGroupOnly(published);
  });

  it("the agent's install with --key-group ssl-cert --key-mode 0640 does the same", async () => {
    const directory = path.join(root, "agent");
    mkdirSync(directory, { mode: 0o755 });
    const record = (await store.getVersion("api", 1))!;
    await installVersion({ directory, record, load: () => store.readVersionFiles("api", 1), now: new Date(), keyFile: keyFileAccess({ group: GROUP, mode: "0640" }, "--key-group") });
    expectReadableByGroupOnly(directory);
  });
});
