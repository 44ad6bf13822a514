/**
 * Provider methods as the engine calls them across runs: a create whose run was killed before
 * Pulumi saved it is adopted by the next run's create, a replacement still makes a new version,
 * and a store that is not the one the state was recorded in is STORE_MISMATCH, never "gone".
 * A "run" is one provider process; `forgetRun` starts the next one.
 */
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { configure, providerFor } from "../../provider/resources/runtime";
import { forgetRun } from "../../provider/resources/run-memory";
import { createFileStore } from "../../provider/store/drivers/file";
import { temporaryDirectory } from "../support/certificates";
import { rejectionOf } from "../support/refusals";

const certificates = providerFor("Certificate");
const versions = providerFor("CertificateVersion");

const project = "urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage";
const certificateInputs = { name: "svc", resourceUrn: `${project}:Certificate::svc` };
const generate = (sans: string[]) => ({ certificate: "svc", generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: sans[0] }, sans }, resourceUrn: `${project}:CertificateVersion::svc-v` });

let storeRoot: string;

function useStore(root: string) {
  const settings: Record<string, string> = { "certstage:store": root, "certstage:principal": "tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
}

async function storedVersions(): Promise<number[]> {
  const store = createFileStore({ root: storeRoot });
  return (await store.listVersions("svc")).map((version) => version.version);
}

/** `check` as the engine runs it before a create: it normalizes the inputs the create gets. */
async function checked(olds: Record<string, unknown>, news: Record<string, unknown>, provider = versions) {
  const result = await provider.check(olds, news);
  expect(result.failures ?? []).toEqual([]);
  return result.inputs!;
}

beforeAll(() => forgetRun());
beforeEach(() => {
  forgetRun();
  storeRoot = temporaryDirectory("ownership-store");
  useStore(storeRoot);
});

describe("a create whose run was interrupted", () => {
  it("is adopted by the next run's create of the same resource from the same inputs: one version, one key", async () => {
    await certificates.create(await checked({}, certificateInputs, certificates));
    const inputs = await checked({}, generate(["svc.example.test"]));
    const first = await versions.create(inputs);
    // Killed here: Pulumi never saved `first`. The next run creates both resources again.
    forgetRun();
    const certificate = await certificates.create(await checked({}, certificateInputs, certificates));
    expect(certificate.id).toBe("svc");
    const second = await versions.create(await checked({}, generate(["svc.example.test"])));
    expect(second.id).toBe(first.id);
    expect(second.outs.fingerprintSha256).toBe(first.outs.fingerprintSha256);
    expect(await storedVersions()).toEqual([1]);
  });

  it("is not adopted from other inputs; the version left behind is then unclaimed until removed", async () => {
    await certificates.create(certificateInputs);
    await versions.create(await checked({}, generate(["svc.example.test"])));
    forgetRun();
    const second = await versions.create(await checked({}, generate(["svc.example.test", "www.svc.example.test"])));
    expect(second.id).toBe("svc/2");
    const refreshed = await certificates.read("svc", { ...certificateInputs, storeId: (await createFileStore({ root: storeRoot }).identity())?.id });
    expect(refreshed.props?.unclaimedVersions).toEqual([1]);
  });

  it("is not adopted by another resource with the same inputs", async () => {
    await certificates.create(certificateInputs);
    await versions.create(await checked({}, generate(["svc.example.test"])));
    forgetRun();
    const other = await versions.create(await checked({}, { ...generate(["svc.example.test"]), resourceUrn: `${project}:CertificateVersion::svc-other` }));
    expect(other.id).toBe("svc/2");
  });
});

describe("what is not an interrupted create", () => {
  it("a replacement with unchanged inputs whose old version the state holds (its diff was seen) makes a new version", async () => {
    await certificates.create(certificateInputs);
    const first = await versions.create(await checked({}, generate(["svc.example.test"])));
    forgetRun();
    // The engine diffs the resource its state holds, then replaces it (as a renewal does).
    await versions.diff(first.id, { ...first.outs }, generate(["svc.example.test"]));
    const replacement = await versions.create(await checked({}, generate(["svc.example.test"])));
    expect(replacement.id).toBe("svc/2");
    await versions.delete(first.id, first.outs);
    expect(await storedVersions()).toEqual([1, 2]);
    const store = createFileStore({ root: storeRoot });
    expect((await store.readHistory({ certificate: "svc" })).filter((entry) => entry.action === "version.release").map((entry) => entry.fromVersion)).toEqual([1]);
    // Released through Pulumi: kept for rollbacks, and not unclaimed.
    expect((await certificates.read("svc", certificateInputs)).props?.unclaimedVersions).toEqual([]);
  });

  it("a targeted `up --replace` (no diff) adopts the same version, and the old resource's delete leaves it alone", async () => {
    await certificates.create(certificateInputs);
    const first = await versions.create(await checked({}, generate(["svc.example.test"])));
    forgetRun();
    const replacement = await versions.create(await checked({}, generate(["svc.example.test"])));
    expect(replacement.id).toBe(first.id);
    await versions.delete(first.id, first.outs);
    const store = createFileStore({ root: storeRoot });
    expect((await store.readHistory({ certificate: "svc" })).some((entry) => entry.action === "version.release")).toBe(false);
  });
});

describe("the store a resource was recorded in", () => {
  async function recorded() {
    const certificate = await certificates.create(await checked({}, certificateInputs, certificates));
    const version = await versions.create(await checked({}, generate(["svc.example.test"])));
    expect(certificate.outs.storeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(version.outs.storeId).toBe(certificate.outs.storeId);
    return { certificate, version, storeId: certificate.outs.storeId as string };
  }

  it("missing: read, check, diff, update and delete fail with STORE_MISMATCH naming both stores, and nothing is written", async () => {
    const { certificate, version, storeId } = await recorded();
    forgetRun();
    const elsewhere = path.join(temporaryDirectory("ownership-missing"), ".certstage");
    useStore(elsewhere);
    const expected = new RegExp(`^\\[STORE_MISMATCH\\] resource 'svc': this Certificate and the rest of the stack's resources live in store ${storeId}, but certstage:store points at file store ${elsewhere.replace(/[.]/g, "\\.")}, which holds no store .*nothing was read or changed\\. Fix: point certstage:store`);
    expect((await rejectionOf(certificates.read("svc", certificate.outs))).message).toMatch(expected);
    expect((await rejectionOf(certificates.diff("svc", certificate.outs, certificateInputs))).message).toMatch(expected);
    expect((await rejectionOf(certificates.check({ ...certificateInputs, storeId }, certificateInputs))).message).toMatch(expected);
    expect((await rejectionOf(certificates.update("svc", certificate.outs, certificateInputs))).message).toMatch(expected);
    expect((await rejectionOf(certificates.delete("svc", certificate.outs))).message).toMatch(expected);
    expect((await rejectionOf(versions.read(version.id, version.outs))).message).toMatch(/\[STORE_MISMATCH\] resource 'svc-v': this CertificateVersion/);
    expect(await createFileStore({ root: elsewhere }).identity()).toBeUndefined();
  });

  it("foreign: another store at the path is named as another store", async () => {
    const { certificate, storeId } = await recorded();
    const foreignRoot = temporaryDirectory("ownership-foreign");
    const foreign = createFileStore({ root: foreignRoot });
    await foreign.createCertificate({ name: "other", displayName: "other", type: "server", owner: "x", shareWith: [], description: "" }, { principal: "x" });
    const foreignId = (await foreign.identity())!.id;
    useStore(foreignRoot);
    expect((await rejectionOf(certificates.read("svc", certificate.outs))).message).toContain(`resources live in store ${storeId}, but certstage:store points at file store ${foreignRoot}, which holds another store, ${foreignId}`);
  });

  it("gone from the right store: read reports it gone (refresh drops it) and says so", async () => {
    const { certificate, version } = await recorded();
    const lines: string[] = [];
    const original = console.error;
    console.error = (line: string) => lines.push(line);
    try {
      rmSync(path.join(storeRoot, "certificates", "svc"), { recursive: true });
      expect(await versions.read(version.id, version.outs)).toEqual({});
      expect(await certificates.read("svc", certificate.outs)).toEqual({});
    } finally {
      console.error = original;
    }
    expect(lines).toContain(`certstage: Certificate 'svc' (svc) no longer exists in file store ${storeRoot}; refresh removes it from the stack`);
  });

  it("a damaged store.json is STORE_CORRUPT, not another store", async () => {
    const { certificate } = await recorded();
    writeFileSync(path.join(storeRoot, "store.json"), "{");
    expect((await rejectionOf(certificates.read("svc", certificate.outs))).message).toMatch(/^\[STORE_CORRUPT\] .*store\.json is not valid JSON/);
  });
});
