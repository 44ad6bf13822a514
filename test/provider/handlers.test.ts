/**
 * Provider methods called directly, as the Pulumi provider host calls them, against a
 * temporary store: what `check` reports, what `diff` decides, what each operation changes.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { configure, providerFor } from "../../provider/resources/runtime";
import { UNKNOWN_INPUT } from "../../provider/resources/handler";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { rejectionOf } from "../support/refusals";

const certificates = providerFor("Certificate");
const versions = providerFor("CertificateVersion");
const deployments = providerFor("EnvironmentDeployment");

let v1: TestCertificate;
let v2: TestCertificate;
let stranger: TestCertificate;
let storeRoot: string;

beforeAll(() => {
  const pki = temporaryDirectory("handlers-pki");
  v1 = makeTestCertificate(pki, "api.example.test");
  v2 = makeTestCertificate(pki, "api.example.test");
  stranger = makeTestCertificate(pki, "stranger.example.test");
});

beforeEach(() => {
  storeRoot = temporaryDirectory("handlers-store");
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": "tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
});

const upload = (leaf: TestCertificate) => ({ certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem });

async function createCertificateWithVersion(leaf = v1) {
  await certificates.create({ name: "api" });
  return versions.create({ certificate: "api", upload: upload(leaf) });
}

describe("CertificateVersion", () => {
  it("check reports each bad input with its code and field, and no key material", async () => {
    const result = await versions.check({}, { certificate: "api", upload: { certificatePem: "garbage", privateKeyPem: stranger.privateKeyPem, chainPem: "" } });
    expect(result.failures?.map((failure) => failure.reason)).toEqual([expect.stringMatching(/^\[PEM_MALFORMED\] field 'upload.certificatePem': no PEM block found.*Fix:/)]);
    const mismatch = await versions.check({}, { certificate: "api", upload: { ...upload(v1), privateKeyPem: stranger.privateKeyPem } });
    expect(mismatch.failures).toHaveLength(1);
    expect(mismatch.failures?.[0].reason).toMatch(/^\[KEY_MISMATCH\] field 'upload.privateKeyPem'/);
    expect(JSON.stringify(mismatch.failures)).not.toContain("PRIVATE KEY");
    expect(JSON.stringify(mismatch.failures)).not.toContain(stranger.privateKeyPem.split("\n")[1]);
  });

  it("check accepts good input, and input not known yet", async () => {
    expect((await versions.check({}, { certificate: "api", upload: upload(v1) })).failures).toEqual([]);
    expect((await versions.check({}, { certificate: "api", upload: { certificatePem: UNKNOWN_INPUT, privateKeyPem: UNKNOWN_INPUT } })).failures).toEqual([]);
  });

  it("create saves version 1 with its facts; the next is version 2", async () => {
    const first = await createCertificateWithVersion();
    expect(first.id).toBe("api/1");
    expect(first.outs).toMatchObject({ version: 1, method: "upload", sans: ["api.example.test"], keyAlgorithm: "ECDSA P-256" });
    // The key is in the store, not in state, unless exportPrivateKey asks for it (below).
    expect(first.outs).not.toHaveProperty("privateKeyPem");
    expect(readFileSync(path.join(storeRoot, "certificates", "api", "versions", "1", "privkey.pem"), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const second = await versions.create({ certificate: "api", upload: upload(v2) });
    expect(second.outs.version).toBe(2);
    const stored = readFileSync(path.join(storeRoot, "certificates", "api", "versions", "2", "cert.pem"), "utf8");
    expect(stored).toBe(second.outs.certificatePem);
  });

  it("diff: new content replaces (pointing at `upload`), re-encoded content does not", async () => {
    const { id, outs } = await createCertificateWithVersion();
    // The engine diffs what `check` returned, so go through check as it does.
    const checked = async (inputs: Record<string, unknown>) => (await versions.check({}, inputs)).inputs;
    const reencoded = { ...upload(v1), certificatePem: v1.certificatePem.replace(/\n/g, "\r\n") };
    expect(await versions.diff(id, outs, await checked({ certificate: "api", upload: reencoded }))).toEqual({ changes: false, replaces: [] });
    expect(await versions.diff(id, outs, await checked({ certificate: "api", upload: upload(v2) }))).toEqual({ changes: true, replaces: ["upload"] });
    expect(await versions.diff(id, outs, await checked({ certificate: "api", upload: { ...upload(v1), certificatePem: UNKNOWN_INPUT } }))).toEqual({ changes: true, replaces: ["upload"] });
    expect(await versions.diff(id, outs, await checked({ certificate: "api", upload: upload(v1), acknowledge: ["CHAIN_INCLUDES_ROOT"] }))).toEqual({ changes: true, replaces: [] });
  });

  it("exportPrivateKey keeps the key in state; changing it is an in-place update that adds or removes the key", async () => {
    const { id, outs } = await createCertificateWithVersion();
    const storedKey = readFileSync(path.join(storeRoot, "certificates", "api", "versions", "1", "privkey.pem"), "utf8");
    const checked = async (inputs: Record<string, unknown>) => (await versions.check({}, inputs)).inputs;
    const exporting = await checked({ certificate: "api", upload: upload(v1), exportPrivateKey: true });
    expect(await versions.diff(id, outs, exporting)).toEqual({ changes: true, replaces: [] });
    const exported = await versions.update(id, outs, exporting);
    expect(exported.outs).toMatchObject({ exportPrivateKey: true, privateKeyPem: storedKey, version: 1 });
    expect(await versions.diff(id, exported.outs, exporting)).toEqual({ changes: false, replaces: [] });
    expect((await versions.read(id, exported.outs)).props?.privateKeyPem).toBe(storedKey);
    const plain = await checked({ certificate: "api", upload: upload(v1) });
    expect(await versions.diff(id, exported.outs, plain)).toEqual({ changes: true, replaces: [] });
    const withdrawn = await versions.update(id, exported.outs, plain);
    expect(withdrawn.outs).not.toHaveProperty("privateKeyPem");
    expect(withdrawn.outs).not.toHaveProperty("exportPrivateKey");
    expect(withdrawn.outs).toMatchObject({ version: 1, certificatePem: outs.certificatePem });
    // A new version made with the input holds its key from the start.
    const second = await versions.create({ certificate: "api", upload: upload(v2), exportPrivateKey: true });
    expect(second.outs.privateKeyPem).toBe(readFileSync(path.join(storeRoot, "certificates", "api", "versions", "2", "privkey.pem"), "utf8"));
  });

  it("check carries the version's number for a change in place, and not for a replacement, so a preview keeps its deployments' version known", async () => {
    const { id } = await createCertificateWithVersion();
    const program = { certificate: "api", upload: upload(v1), resourceUrn: "urn:pulumi:s::p::certstage:CertificateVersion::api" };
    const inputs = (await versions.check({}, program)).inputs!;
    expect(inputs).not.toHaveProperty("version");
    // Inputs checked before the number was carried: the store names the version this resource made.
    const made = await versions.create(inputs);
    expect((await versions.check(inputs, { ...program, domains: ["api.example.test"] })).inputs).toMatchObject({ version: made.outs.version });
    const carried = (await versions.check(inputs, { ...program, exportPrivateKey: true })).inputs!;
    expect(carried.version).toBe(made.outs.version);
    expect((await versions.check(carried, { ...program, acknowledge: ["CHAIN_INCLUDES_ROOT"] })).inputs).toMatchObject({ version: made.outs.version });
    expect((await versions.check(carried, { ...program, upload: upload(v2) })).inputs).not.toHaveProperty("version");
    expect(id).toBe("api/1");
  });

  it("a state written before exportPrivateKey existed holds the key: the next up takes it out in place, and a refresh alone changes nothing", async () => {
    const { id, outs } = await createCertificateWithVersion();
    const storedKey = readFileSync(path.join(storeRoot, "certificates", "api", "versions", "1", "privkey.pem"), "utf8");
    const older = { ...outs, privateKeyPem: storedKey };
    expect((await versions.read(id, older)).props?.privateKeyPem).toBe(storedKey);
    const plain = (await versions.check({}, { certificate: "api", upload: upload(v1) })).inputs;
    expect(await versions.diff(id, older, plain)).toEqual({ changes: true, replaces: [] });
    expect((await versions.update(id, older, plain)).outs).not.toHaveProperty("privateKeyPem");
    // Asking to keep it exports it the new way: no change for that state.
    expect(await versions.diff(id, older, { ...plain, exportPrivateKey: true })).toEqual({ changes: false, replaces: [] });
  });

  it("delete is refused while deployed, naming the environment, and keeps the files afterwards", async () => {
    const { id, outs } = await createCertificateWithVersion();
    await deployments.create({ certificate: "api", environment: "production", version: 1 });
    const refused = await rejectionOf(versions.delete(id, outs));
    expect(refused.message).toMatch(/^\[STILL_DEPLOYED\] resource 'api': version 1 of certificate 'api' is deployed in production \(version 1\)\. Fix: undeploy it from production first/);
    expect(refused.stack).toBe("");
    await deployments.delete("production/api", {});
    await versions.delete(id, outs);
    expect(await createFileStore({ root: storeRoot }).getVersion("api", 1)).toBeDefined();
  });
});

describe("EnvironmentDeployment", () => {
  it("check refuses an environment that is not configured and a version that does not exist", async () => {
    await createCertificateWithVersion();
    const result = await deployments.check({}, { certificate: "api", environment: "qa", version: 9 });
    expect(result.failures?.map((failure) => failure.reason)).toEqual([
      expect.stringMatching(/^\[ENVIRONMENT_UNKNOWN\] field 'environment': 'qa' is not an environment of this stack\. Fix: use one of staging, production/),
      expect.stringMatching(/^\[VERSION_NOT_FOUND\] field 'version': certificate 'api' has no version 9\. Fix: deploy one of its versions: 1/),
    ]);
  });

  it("check refuses a verify endpoint whose port nothing can listen on", async () => {
    const result = await deployments.check({}, { certificate: "new", environment: "staging", version: 1, verify: { endpoints: ["127.0.0.1:8443", "127.0.0.1:99999"] } });
    expect(result.failures?.map((failure) => failure.reason)).toEqual([
      "[INPUT_SCHEMA] field 'verify.endpoints.1': \"127.0.0.1:99999\" has port 99999; ports are 1 to 65535. Fix: write host:port with a port from 1 to 65535, e.g. 127.0.0.1:8443",
    ]);
  });

  it("check cannot judge a version of a certificate this run creates, so it does not", async () => {
    expect((await deployments.check({}, { certificate: "new", environment: "staging", version: 1 })).failures).toEqual([]);
  });

  it("a new version is an update that swaps in place; a new environment is a replacement", async () => {
    await createCertificateWithVersion();
    await versions.create({ certificate: "api", upload: upload(v2) });
    const created = await deployments.create({ certificate: "api", environment: "production", version: 1 });
    expect(created).toMatchObject({ id: "production/api", outs: { deployedVersion: 1, status: "deployed" } });
    expect(await deployments.diff(created.id, created.outs, { certificate: "api", environment: "production", version: 2 })).toEqual({ changes: true, replaces: [] });
    expect(await deployments.diff(created.id, created.outs, { certificate: "api", environment: "staging", version: 1 })).toEqual({ changes: true, replaces: ["environment"] });
    const updated = await deployments.update(created.id, created.outs, { certificate: "api", environment: "production", version: 2 });
    expect(updated.outs.deployedVersion).toBe(2);
    expect(readFileSync(path.join(storeRoot, "environments", "production", "api", "cert.pem"), "utf8")).toBe(
      readFileSync(path.join(storeRoot, "certificates", "api", "versions", "2", "cert.pem"), "utf8"),
    );
  });

  it("read reports a deployment changed outside Pulumi, and one removed outside Pulumi as gone", async () => {
    await createCertificateWithVersion();
    await versions.create({ certificate: "api", upload: upload(v2) });
    const created = await deployments.create({ certificate: "api", environment: "production", version: 2 });
    const store = createFileStore({ root: storeRoot });
    await store.deploy("api", "production", 1, { principal: "someone-else" });
    expect((await deployments.read(created.id, created.outs)).props).toMatchObject({ version: 1, deployedVersion: 1 });
    await store.undeploy("api", "production", { principal: "someone-else" });
    expect(await deployments.read(created.id, created.outs)).toEqual({});
  });
});

describe("Certificate", () => {
  it("check refuses a name that cannot be a path segment", async () => {
    const result = await certificates.check({}, { name: "../api" });
    expect(result.failures?.[0].reason).toMatch(/^\[NAME_INVALID\] field 'name'/);
  });

  it("renames in place; changing the name or type replaces", async () => {
    const created = await certificates.create({ name: "api", displayName: "API" });
    expect(created.outs).toMatchObject({ name: "api", displayName: "API", type: "server", owner: "tester", latestVersion: 0 });
    expect(await certificates.diff("api", created.outs, { name: "api", displayName: "API gateway" })).toEqual({ changes: true, replaces: [] });
    expect(await certificates.diff("api", created.outs, { name: "api", displayName: "API", type: "ca" })).toEqual({ changes: true, replaces: ["type"] });
    expect(await certificates.diff("api", created.outs, { name: "api", displayName: "API" })).toEqual({ changes: false, replaces: [] });
    const renamed = await certificates.update("api", created.outs, { name: "api", displayName: "API gateway" });
    expect(renamed.outs.displayName).toBe("API gateway");
  });

  it("delete is refused while a version is deployed and leaves everything serving", async () => {
    await createCertificateWithVersion();
    await deployments.create({ certificate: "api", environment: "staging", version: 1 });
    const refused = await rejectionOf(certificates.delete("api", {}));
    expect(refused.message).toContain("[STILL_DEPLOYED]");
    expect(refused.message).toContain("undeploy it from staging first");
    expect((await createFileStore({ root: storeRoot }).getDeployment("api", "staging"))?.version).toBe(1);
    await deployments.delete("staging/api", {});
    await certificates.delete("api", {});
    expect(await createFileStore({ root: storeRoot }).listCertificates()).toEqual([]);
  });
});
