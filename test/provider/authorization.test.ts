/**
 * Who may change a certificate, as the provider methods apply the rules on a file store where
 * three principals work: alice (for team-edge, which owns `api`), bob (for team-web, which `api`
 * is shared with) and mallory (for team-db, a stranger). A refusal comes from `check` or `diff`
 * (the preview) where the store already tells, and again from create, update and delete, and
 * whichever refuses, the store is byte for byte what it was.
 */
import { createServer, Server } from "node:net";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { configure, providerFor } from "../../provider/resources/runtime";
import { forgetRun } from "../../provider/resources/run-memory";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { rejectionOf } from "../support/refusals";
import { storeFingerprint } from "../support/store-on-disk";

const certificates = providerFor("Certificate");
const versions = providerFor("CertificateVersion");
const deployments = providerFor("EnvironmentDeployment");
const renewals = providerFor("AcmeRenewal");

const project = "urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage";
const urn = (kind: string, name: string) => `${project}:${kind}::${name}`;

const ALICE = { principal: "alice", teams: "team-edge" };
const BOB = { principal: "bob", teams: "team-web" };
const MALLORY = { principal: "mallory", teams: "team-db" };

const FIX = "Fix: run this stack as a member of 'team-edge' (certstage:principal, or certstage:teams listing 'team-edge'), or ask team-edge to transfer the certificate";
const refusedAs = (who: string, teams: string, doing: string) =>
  `[NOT_OWNER] resource '${doing.split(" ")[0]}': certificate 'api' belongs to 'team-edge', not '${who}' or a team it acts for (${teams}); ${doing.slice(doing.indexOf(" ") + 1)}`;

let storeRoot: string;
let pki: string;
let v1: TestCertificate;
let v2: TestCertificate;
/** A TCP listener standing in for an ACME directory: it counts who connects, and no one may. */
let directory: Server;
let directoryConnections = 0;
let directoryUrl: string;

function actAs(who: { principal: string; teams: string }) {
  forgetRun();
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": who.principal, "certstage:teams": who.teams };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
}

/** Asserts, when called, that nothing in the store changed since. */
function watchStore(): () => void {
  const before = storeFingerprint(storeRoot);
  return () => expect(storeFingerprint(storeRoot), "the store changed").toBe(before);
}

const upload = (leaf: TestCertificate) => ({ certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem });
const certificateInputs = (extra: Record<string, unknown> = {}) => ({ name: "api", owner: "team-edge", shareWith: ["team-web"], resourceUrn: urn("Certificate", "api"), ...extra });
const versionInputs = (leaf: TestCertificate, name = "api-v1") => ({ certificate: "api", upload: upload(leaf), resourceUrn: urn("CertificateVersion", name) });
const deploymentInputs = (environment: string, version: number, extra: Record<string, unknown> = {}) => ({ certificate: "api", environment, version, resourceUrn: urn("EnvironmentDeployment", `api-${environment}`), ...extra });
const renewalInputs = (domains: string[]) => ({
  certificate: "api",
  domains,
  directory: directoryUrl,
  acceptTermsOfService: true,
  challenge: { type: "http-01", listen: "127.0.0.1:5002" },
  resourceUrn: urn("AcmeRenewal", "api-acme"),
});

/** What alice's stack holds: `api` (team-edge's, shared with team-web), its version 1, and staging serving it. */
let held: { certificate: Record<string, unknown>; version: { id: string; outs: Record<string, unknown> }; staging: { id: string; outs: Record<string, unknown> } };

beforeAll(async () => {
  pki = temporaryDirectory("authorization-pki");
  v1 = makeTestCertificate(pki, "api.example.test");
  v2 = makeTestCertificate(pki, "api.example.test");
  directory = createServer((socket) => {
    directoryConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => directory.listen(0, "127.0.0.1", resolve));
  directoryUrl = `https://127.0.0.1:${(directory.address() as { port: number }).port}/dir`;
});
afterAll(() => directory?.close());

beforeEach(async () => {
  storeRoot = temporaryDirectory("authorization-store");
  directoryConnections = 0;
  actAs(ALICE);
  const certificate = await certificates.create((await certificates.check({}, certificateInputs())).inputs!);
  const version = await versions.create((await versions.check({}, versionInputs(v1))).inputs!);
  const staging = await deployments.create((await deployments.check({}, deploymentInputs("staging", 1))).inputs!);
  held = { certificate: certificate.outs, version: { id: version.id, outs: version.outs }, staging: { id: staging.id!, outs: staging.outs } };
});

describe("the owner", () => {
  it("acting for the owning team, creates, changes, deploys, swaps and deletes; history names the principal", async () => {
    expect(held.certificate).toMatchObject({ owner: "team-edge", shareWith: ["team-web"] });
    expect(await certificates.diff("api", held.certificate, certificateInputs({ description: "edge API" }))).toEqual({ changes: true, replaces: [] });
    await certificates.update("api", held.certificate, certificateInputs({ description: "edge API" }));
    const second = await versions.create((await versions.check({}, versionInputs(v2, "api-v2"))).inputs!);
    expect(await deployments.diff(held.staging.id, held.staging.outs, deploymentInputs("staging", 2))).toEqual({ changes: true, replaces: [] });
    expect((await deployments.update(held.staging.id, held.staging.outs, deploymentInputs("staging", 2))).outs.deployedVersion).toBe(2);
    await deployments.delete(held.staging.id, held.staging.outs);
    await versions.delete(second.id, second.outs);
    await versions.delete(held.version.id, held.version.outs);
    await certificates.delete("api", held.certificate);
    const history = await createFileStore({ root: storeRoot }).readHistory({ certificate: "api" });
    expect(new Set(history.map((entry) => entry.actor))).toEqual(new Set(["alice"]));
    expect(history.at(-1)).toMatchObject({ action: "certificate.delete", result: "ok" });
  });

  it("a certificate with no owner set belongs to the acting principal", async () => {
    actAs(MALLORY);
    const created = await certificates.create((await certificates.check({}, { name: "db", resourceUrn: urn("Certificate", "db") })).inputs!);
    expect(created.outs.owner).toBe("mallory");
  });
});

describe("a stranger (mallory, for team-db)", () => {
  beforeEach(() => actAs(MALLORY));

  it("cannot create a certificate owned by a team it does not act for: refused at preview and at create, nothing written", async () => {
    const unchanged = watchStore();
    const inputs = { name: "web", owner: "team-edge", resourceUrn: urn("Certificate", "web") };
    const expected =
      "[NOT_OWNER] resource 'web': certificate 'web' would belong to 'team-edge', which is not 'mallory' or a team it acts for (team-db); a principal creates only certificates it owns. " +
      "Fix: set owner to 'mallory' (or leave it unset) or one of 'team-db', or run this stack as a member of 'team-edge' (certstage:principal, or certstage:teams listing 'team-edge')";
    expect((await certificates.check({}, inputs)).failures?.map((failure) => failure.reason)).toEqual([expected]);
    expect((await rejectionOf(certificates.create(inputs))).message).toBe(expected);
    unchanged();
    expect(existsSync(path.join(storeRoot, "certificates", "web"))).toBe(false);
    expect((await certificates.check({}, { ...inputs, owner: "team-db" })).failures).toEqual([]);
  });

  it("cannot rename, re-describe, re-share, transfer or delete the certificate: diff refuses at preview, update and delete refuse too", async () => {
    const unchanged = watchStore();
    const onlyOwner = (doing: string) => refusedAs("mallory", "team-db", `api only its owner may ${doing}. ${FIX} to you`);
    for (const change of [{ displayName: "API" }, { description: "mine now" }, { shareWith: ["team-db"] }]) {
      expect((await rejectionOf(certificates.diff("api", held.certificate, certificateInputs(change)))).message).toBe(onlyOwner("rename it or change its description, sharing or profile"));
      expect((await rejectionOf(certificates.update("api", held.certificate, certificateInputs(change)))).message).toBe(onlyOwner("rename it or change its description, sharing or profile"));
    }
    expect((await rejectionOf(certificates.diff("api", held.certificate, certificateInputs({ owner: "team-db" })))).message).toBe(onlyOwner("transfer it to another owner"));
    expect((await rejectionOf(certificates.update("api", held.certificate, certificateInputs({ owner: "team-db" })))).message).toBe(onlyOwner("transfer it to another owner"));
    expect((await rejectionOf(certificates.diff("api", held.certificate, certificateInputs({ type: "ca" })))).message).toBe(onlyOwner("delete it"));
    expect((await rejectionOf(certificates.delete("api", held.certificate))).message).toBe(onlyOwner("delete it"));
    unchanged();
  });

  it("cannot create a version (check and create refuse; a replacement's diff refuses) or release one", async () => {
    const unchanged = watchStore();
    const expected = refusedAs("mallory", "team-db", `api-v2 only its owner may create its versions. ${FIX} to you`);
    expect((await versions.check({}, versionInputs(v2, "api-v2"))).failures?.map((failure) => failure.reason)).toEqual([expected]);
    expect((await rejectionOf(versions.create(versionInputs(v2, "api-v2")))).message).toBe(expected);
    const replacement = (await versions.check(held.version.outs, versionInputs(v2))).inputs!;
    expect((await rejectionOf(versions.diff(held.version.id, held.version.outs, replacement))).message).toMatch(/^\[NOT_OWNER\] resource 'api-v1': .*only its owner may create its versions/);
    expect((await rejectionOf(versions.delete(held.version.id, held.version.outs))).message).toBe(refusedAs("mallory", "team-db", `api-v1 only its owner may delete or release its versions. ${FIX} to you`));
    unchanged();
    expect((await createFileStore({ root: storeRoot }).listVersions("api")).map((version) => version.version)).toEqual([1]);
  });

  it("cannot deploy, swap or undeploy: check and diff refuse at preview, create, update and delete too", async () => {
    const unchanged = watchStore();
    const deploy = refusedAs("mallory", "team-db", `api-production only its owner may deploy it. ${FIX} to you`);
    expect((await deployments.check({}, deploymentInputs("production", 1))).failures?.map((failure) => failure.reason)).toEqual([deploy]);
    expect((await rejectionOf(deployments.create(deploymentInputs("production", 1)))).message).toBe(deploy);
    expect((await rejectionOf(deployments.create(deploymentInputs("production", 1, { mode: "standby" })))).message).toBe(deploy);
    const swap = refusedAs("mallory", "team-db", `api-staging only its owner may deploy it. ${FIX} to you`);
    expect((await rejectionOf(deployments.diff(held.staging.id, held.staging.outs, deploymentInputs("staging", 2)))).message).toBe(swap);
    expect((await rejectionOf(deployments.update(held.staging.id, held.staging.outs, deploymentInputs("staging", 1)))).message).toBe(swap);
    expect((await rejectionOf(deployments.diff(held.staging.id, held.staging.outs, deploymentInputs("production", 1)))).message).toMatch(/only its owner may undeploy it/);
    expect((await rejectionOf(deployments.delete(held.staging.id, held.staging.outs))).message).toBe(refusedAs("mallory", "team-db", `api-staging only its owner may undeploy it. ${FIX} to you`));
    unchanged();
  });

  it("cannot have an ACME CA issue a version: refused before anything reaches the CA", async () => {
    const unchanged = watchStore();
    const expected = refusedAs("mallory", "team-db", `api-acme only its owner may create its versions. ${FIX} to you`);
    expect((await renewals.check({}, renewalInputs(["api.example.test"]))).failures?.map((failure) => failure.reason)).toEqual([expected]);
    expect((await rejectionOf(renewals.create(renewalInputs(["api.example.test"])))).message).toBe(expected);
    // A renewal the state holds (as alice's stack would): a reissue, and its delete.
    const state = { ...renewalInputs(["api.example.test"]), directory: directoryUrl, version: 1 };
    expect((await rejectionOf(renewals.diff("api/acme/1", state, renewalInputs(["api.example.test", "www.example.test"])))).message).toBe(expected);
    expect((await rejectionOf(renewals.delete("api/acme/1", state))).message).toMatch(/^\[NOT_OWNER\] resource 'api-acme': .*only its owner may delete or release its versions/);
    unchanged();
    expect(directoryConnections).toBe(0);
  });

  it("cannot read the certificate, a version's material or a deployment into its state: refresh refuses instead of dropping them", async () => {
    const unchanged = watchStore();
    expect((await rejectionOf(certificates.read("api", held.certificate))).message).toMatch(/^\[NOT_OWNER\] resource 'api': .*only its owner and the principals it is shared with may read it, and it is shared with 'team-web'\. Fix: .* or ask team-edge to transfer the certificate or to add you to shareWith$/);
    expect((await rejectionOf(versions.read(held.version.id, held.version.outs))).message).toMatch(/^\[NOT_OWNER\] resource 'api-v1': .*may use its versions/);
    expect((await rejectionOf(deployments.read(held.staging.id, held.staging.outs))).message).toMatch(/^\[NOT_OWNER\] resource 'api-staging': .*may read it/);
    unchanged();
  });
});

describe("a principal the certificate is shared with (bob, for team-web)", () => {
  beforeEach(() => actAs(BOB));

  it("reads the certificate and its deployments, and references a version: its material comes into bob's state", async () => {
    expect((await certificates.read("api", held.certificate)).props).toMatchObject({ owner: "team-edge", latestVersion: 1 });
    const referenced = await versions.read(held.version.id, {});
    expect(referenced.props).toMatchObject({ version: 1, fingerprintSha256: held.version.outs.fingerprintSha256, certificatePem: v1.certificatePem });
    expect(referenced.props).not.toHaveProperty("privateKeyPem");
    // Asked for, the key comes too: the store's, as the owner saved it.
    const withKey = await versions.read(held.version.id, { exportPrivateKey: true });
    expect(withKey.props?.privateKeyPem).toBe(v1.privateKeyPem);
    expect((await deployments.read(held.staging.id, held.staging.outs)).props).toMatchObject({ deployedVersion: 1 });
  });

  it("is told what sharing allows when it deploys, makes a version or changes the certificate; nothing is written", async () => {
    const unchanged = watchStore();
    const sharedOnly = (resource: string, doing: string) =>
      `[NOT_OWNER] resource '${resource}': certificate 'api' belongs to 'team-edge', not 'bob' or a team it acts for (team-web); it is shared with 'team-web', which may read it and use its versions, but only its owner may ${doing}. ${FIX} to you`;
    expect((await deployments.check({}, deploymentInputs("production", 1))).failures?.map((failure) => failure.reason)).toEqual([sharedOnly("api-production", "deploy it")]);
    expect((await versions.check({}, versionInputs(v2, "api-v2"))).failures?.map((failure) => failure.reason)).toEqual([sharedOnly("api-v2", "create its versions")]);
    expect((await rejectionOf(certificates.diff("api", held.certificate, certificateInputs({ owner: "team-web" })))).message).toBe(sharedOnly("api", "transfer it to another owner"));
    unchanged();
  });
});

describe("transferring a certificate", () => {
  it("is the owner's: alice gives api to team-web, then bob deploys it and alice may change it no more", async () => {
    expect(await certificates.diff("api", held.certificate, certificateInputs({ owner: "team-web" }))).toEqual({ changes: true, replaces: [] });
    const transferred = await certificates.update("api", held.certificate, certificateInputs({ owner: "team-web" }));
    expect(transferred.outs).toMatchObject({ owner: "team-web" });
    expect((await createFileStore({ root: storeRoot }).getCertificate("api"))?.owner).toBe("team-web");

    const unchanged = watchStore();
    expect((await rejectionOf(certificates.diff("api", transferred.outs, certificateInputs({ owner: "team-web", description: "still mine?" })))).message).toMatch(
      /^\[NOT_OWNER\] resource 'api': certificate 'api' belongs to 'team-web', not 'alice' or a team it acts for \(team-edge\); only its owner may rename it/,
    );
    expect((await rejectionOf(deployments.diff(held.staging.id, held.staging.outs, deploymentInputs("staging", 2)))).message).toMatch(/belongs to 'team-web', not 'alice'/);
    // Nothing changes in alice's program after the transfer: her preview stays quiet.
    expect(await certificates.diff("api", transferred.outs, certificateInputs({ owner: "team-web" }))).toEqual({ changes: false, replaces: [] });
    unchanged();

    actAs(BOB);
    expect((await deployments.check({}, deploymentInputs("production", 1))).failures).toEqual([]);
    expect((await deployments.create(deploymentInputs("production", 1))).outs.deployedVersion).toBe(1);
  });

  it("by a stranger is refused at preview and at update, and the owner stays", async () => {
    actAs(MALLORY);
    const unchanged = watchStore();
    expect((await rejectionOf(certificates.diff("api", held.certificate, certificateInputs({ owner: "team-db" })))).message).toMatch(/only its owner may transfer it to another owner/);
    expect((await rejectionOf(certificates.update("api", held.certificate, certificateInputs({ owner: "team-db" })))).message).toMatch(/only its owner may transfer it to another owner/);
    unchanged();
    expect((await createFileStore({ root: storeRoot }).getCertificate("api"))?.owner).toBe("team-edge");
  });
});

describe("the command line", () => {
  async function certstage(...args: string[]): Promise<{ code: number; output: string }> {
    let output = "";
    const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
    const code = await main([...args, "--store", storeRoot], sink);
    return { code, output };
  }

  it("versions remove is the owner's", async () => {
    await deployments.delete(held.staging.id, held.staging.outs);
    await versions.delete(held.version.id, held.version.outs); // released and served nowhere: removable by hand
    const unchanged = watchStore();
    await expect(main(["versions", "remove", "api", "1", "--store", storeRoot, "--principal", "mallory", "--teams", "team-db"])).rejects.toThrow(
      "[NOT_OWNER] resource 'api': certificate 'api' belongs to 'team-edge', not 'mallory' or a team it acts for (team-db); only its owner may delete or release its versions.",
    );
    await expect(main(["versions", "remove", "api", "1", "--store", storeRoot, "--principal", "bob", "--teams", "team-web"])).rejects.toThrow(/\[NOT_OWNER\].*shared with 'team-web'/);
    unchanged();
    expect(await certstage("versions", "remove", "api", "1", "--principal", "ci", "--teams", "team-edge")).toEqual({ code: 0, output: "Removed version 1 of api.\n" });
  });

  it("tasks run leaves another owner's due task pending and says so; tasks cancel and a named run are refused", async () => {
    const queued = await deployments.create((await deployments.check({}, deploymentInputs("production", 1, { mode: "standby" }))).inputs!);
    const task = (queued.outs.task as { id: string }).id;
    const unchanged = watchStore();
    const skipped = await certstage("tasks", "run", "--principal", "scheduler", "--teams", "team-db");
    expect(skipped.code).toBe(0);
    expect(skipped.output).toContain(`task ${task}: skipped, left pending: [NOT_OWNER] resource 'api': certificate 'api' belongs to 'team-edge', not 'scheduler' or a team it acts for (team-db); only its owner may deploy it.`);
    expect(skipped.output).toMatch(/No task is due\.\n$/);
    const json = JSON.parse((await certstage("tasks", "run", "--json", "--principal", "scheduler", "--teams", "team-db")).output);
    expect(json).toEqual({ ran: [], skipped: [{ task, reason: expect.stringMatching(/^\[NOT_OWNER\]/) }] });
    await expect(main(["tasks", "run", "--task", task, "--store", storeRoot, "--principal", "scheduler"])).rejects.toThrow(/^\[NOT_OWNER\] resource 'api': .*only its owner may deploy it/);
    await expect(main(["tasks", "cancel", task, "--store", storeRoot, "--principal", "scheduler"])).rejects.toThrow(/^\[NOT_OWNER\]/);
    unchanged();

    const ran = await certstage("tasks", "run", "--principal", "scheduler", "--teams", "team-edge");
    expect(ran.code).toBe(0);
    expect((await createFileStore({ root: storeRoot }).getTask(task))?.state).toBe("done");
  });

  it("status reads a file store whoever asks: the directory is readable to whoever runs it anyway", async () => {
    const status = JSON.parse((await certstage("status", "--json", "--principal", "mallory")).output);
    expect(status.certificates.map((certificate: { name: string; owner: string }) => [certificate.name, certificate.owner])).toEqual([["api", "team-edge"]]);
  });
});
