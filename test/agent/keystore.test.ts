/**
 * keystore.p12 on an edge server: `certstage agent --once` (the real CLI, as cron or a boot unit
 * runs it) installs a version saved with a keystore with its keystore.p12 beside the PEMs, 0600
 * (or --key-mode), opening with the version's password to the leaf and key it installed as PEMs;
 * a version saved without one installs none, so the switch to it leaves no keystore served.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPkcs12 } from "../../provider/pki/pkcs12";
import { makeTestMaterials } from "../support/certificates";
import { openKeystore, pemsAsKeystoreSees } from "../support/keystores";
import { actor, AgentFixture, agentFixture, certstage, expectWholeVersion, SERVER_NAME } from "./agent-support";

const PASSWORD = "edge-keystore-password";
let fixture: AgentFixture;
let fingerprints: string[];

beforeAll(async () => {
  // Versions 1 and 2 without a keystore; version 3 with one.
  fixture = await agentFixture("keystore", 2);
  const [material] = makeTestMaterials(path.join(fixture.workspace, "pki-keystore"), [SERVER_NAME]);
  const pkcs12 = buildPkcs12({ certificatePem: material.certificatePem, chainPem: material.chainPem, privateKeyPem: material.privateKeyPem! }, { password: PASSWORD, friendlyName: "api" }).toString("base64");
  await fixture.store.createVersion("api", "upload", { ...material, pkcs12 }, actor);
  fingerprints = [...fixture.materials, material].map((version) => version.facts.fingerprintSha256);
});

async function resyncOnce(...extra: string[]): Promise<void> {
  const once = await certstage(["agent", "--once", "--store", fixture.storeRoot, "--environment", "production", "--directory", fixture.directory, "--agent-id", "edge-keystore", ...extra]);
  expect(once.code, once.stderr).toBe(0);
}

describe("certstage agent and keystore.p12", () => {
  it("installs a keystore version's keystore.p12 (0600) that opens to the leaf and key it installed as PEMs", async () => {
    await fixture.deploy(3);
    await resyncOnce();
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the resync")).toBe(3);
    const served = path.join(fixture.directory, "api");
    expect(statSync(path.join(served, "keystore.p12")).mode & 0o777).toBe(0o600);
    expect(openKeystore(path.join(served, "keystore.p12"), PASSWORD)).toEqual(pemsAsKeystoreSees(path.join(served, "fullchain.pem"), path.join(served, "privkey.pem")));
  });

  it("switching to a version without a keystore leaves no keystore.p12 served", async () => {
    await fixture.deploy(1);
    await resyncOnce();
    expect(expectWholeVersion(fixture.directory, fingerprints, "after the switch")).toBe(1);
    expect(existsSync(path.join(fixture.directory, "api", "keystore.p12"))).toBe(false);
    expect(readdirSync(path.join(fixture.directory, "api"))).not.toContain("keystore.p12");
  });

  it("a keystore version on disk without its keystore.p12 (installed before keystores were) is installed again with it", async () => {
    // Version 3 is the last good one on disk, kept beside the served version 1.
    const kept = path.join(fixture.directory, ".versions", "api", "3");
    rmSync(path.join(kept, "keystore.p12"));
    await fixture.deploy(3);
    await resyncOnce();
    expect(expectWholeVersion(fixture.directory, fingerprints, "after switching back")).toBe(3);
    const served = path.join(fixture.directory, "api");
    expect(openKeystore(path.join(served, "keystore.p12"), PASSWORD)).toEqual(pemsAsKeystoreSees(path.join(served, "fullchain.pem"), path.join(served, "privkey.pem")));
    await fixture.deploy(1);
    await resyncOnce();
  });

  it("--key-mode 0640 applies to keystore.p12 as to privkey.pem", async () => {
    await fixture.deploy(3);
    await resyncOnce("--key-mode", "0640");
    const served = path.join(fixture.directory, "api");
    expect(statSync(path.join(served, "privkey.pem")).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(served, "keystore.p12")).mode & 0o777).toBe(0o640);
    expect(openKeystore(path.join(served, "keystore.p12"), PASSWORD)).toEqual(pemsAsKeystoreSees(path.join(served, "fullchain.pem"), path.join(served, "privkey.pem")));
  });
});
