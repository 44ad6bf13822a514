/**
 * keystore.p12 under a directory target's path: a version saved with a keystore publishes it
 * beside its PEMs, 0600 like the key (or the target's keyFile mode), and it opens with the
 * version's password to the same leaf, chain and key as the PEMs; a version saved without one
 * publishes none, so swapping to it leaves no keystore served, and swapping back brings it again;
 * a keystore version published before keystores were is published again with its keystore.p12.
 */
import { existsSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPkcs12 } from "../../provider/pki/pkcs12";
import { environmentDefinitionsFrom } from "../../provider/settings/environments";
import type { Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { targetFor } from "../../provider/targets";
import { makeTestMaterials, temporaryDirectory } from "../support/certificates";
import { openKeystore, pemsAsKeystoreSees } from "../support/keystores";

const actor = { principal: "keystore-publisher" };
const PASSWORD = "published-keystore-pw";
let store: Store;

beforeAll(async () => {
  const root = temporaryDirectory("published-keystores");
  store = createFileStore({ root: path.join(root, "store") });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "o", shareWith: [], description: "" }, actor);
  const [withKeystore, without, legacy] = makeTestMaterials(path.join(root, "pki"), ["api.example.test", "api.example.test", "api.example.test"]);
  const keystoreOf = (material: typeof withKeystore, profile: "modern" | "legacy") => buildPkcs12({ certificatePem: material.certificatePem, chainPem: material.chainPem, privateKeyPem: material.privateKeyPem! }, { password: PASSWORD, profile, friendlyName: "api" }).toString("base64");
  await store.createVersion("api", "upload", { ...withKeystore, pkcs12: keystoreOf(withKeystore, "modern") }, actor); // 1
  await store.createVersion("api", "upload", without, actor); // 2
  await store.createVersion("api", "upload", { ...legacy, pkcs12: keystoreOf(legacy, "legacy") }, actor); // 3
});

function targetPublishingInto(directory: string, keyFile?: { mode: string }) {
  const [definition] = environmentDefinitionsFrom([{ name: "edge", target: { type: "directory", path: directory, ...(keyFile ? { keyFile } : {}) } }]);
  const target = targetFor(definition.target);
  return (version: number) => target.deploy({ store, certificate: "api", environment: "edge", actor }, version);
}

describe("keystore.p12 under a directory target's path", () => {
  it("is published beside the PEMs, 0600, and opens with the password to the same leaf, chain and key", async () => {
    const published = temporaryDirectory("published-keystore");
    await targetPublishingInto(published)(1);
    const served = path.join(published, "api");
    const keystore = path.join(served, "keystore.p12");
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
    const opened = openKeystore(keystore, PASSWORD);
    expect(opened).toEqual(pemsAsKeystoreSees(path.join(served, "fullchain.pem"), path.join(served, "privkey.pem")));
    const bare = (fingerprint: string) => fingerprint.replace(/:/g, "").toLowerCase();
    expect(bare(opened.certificates[0])).toBe(bare((await store.getVersion("api", 1))!.fingerprintSha256));
    expect(() => openKeystore(keystore, "not-the-password")).toThrow(/could not open/);
  });

  it("a version without a keystore publishes none: the swap to it leaves no keystore.p12 served, and the swap back brings it again", async () => {
    const published = temporaryDirectory("published-keystore-swap");
    const deploy = targetPublishingInto(published);
    const served = path.join(published, "api", "keystore.p12");
    await deploy(1);
    expect(existsSync(served)).toBe(true);
    await deploy(2);
    expect(readlinkSync(path.join(published, "api"))).toBe(path.join(".versions", "api", "2"));
    expect(existsSync(served)).toBe(false);
    expect(readdirSync(path.join(published, "api")).sort()).toEqual(["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]);
    await deploy(3);
    expect(openKeystore(served, PASSWORD)).toEqual(pemsAsKeystoreSees(path.join(published, "api", "fullchain.pem"), path.join(published, "api", "privkey.pem")));
    await deploy(2);
    expect(existsSync(served)).toBe(false);
  });

  it("a keystore version published without its keystore.p12 (by a certstage before keystores were published) is published again with it", async () => {
    const published = temporaryDirectory("published-keystore-upgrade");
    const deploy = targetPublishingInto(published);
    await deploy(1);
    rmSync(path.join(published, ".versions", "api", "1", "keystore.p12"));
    await deploy(2);
    await deploy(1);
    expect(openKeystore(path.join(published, "api", "keystore.p12"), PASSWORD)).toEqual(pemsAsKeystoreSees(path.join(published, "api", "fullchain.pem"), path.join(published, "api", "privkey.pem")));
    // A version without a keystore stays as it was published.
    const before = statSync(path.join(published, ".versions", "api", "2", "cert.pem")).ino;
    await deploy(2);
    expect(statSync(path.join(published, ".versions", "api", "2", "cert.pem")).ino).toBe(before);
  });

  it("takes the target's keyFile mode like privkey.pem, and a version published before keyFile was set is published again", async () => {
    const published = temporaryDirectory("published-keystore-mode");
    await targetPublishingInto(published)(1);
    expect(statSync(path.join(published, "api", "keystore.p12")).mode & 0o777).toBe(0o600);
    await targetPublishingInto(published, { mode: "0640" })(1);
    expect(statSync(path.join(published, "api", "keystore.p12")).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(published, "api", "privkey.pem")).mode & 0o777).toBe(0o640);
    expect(openKeystore(path.join(published, "api", "keystore.p12"), PASSWORD).certificates).toHaveLength(2);
  });
});
