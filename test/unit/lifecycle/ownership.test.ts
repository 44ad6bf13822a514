import { describe, expect, it } from "vitest";
import { adoptableVersion, releasedVersions, unclaimedVersions } from "../../../provider/lifecycle/ownership";
import type { DeploymentRecord, HistoryEntry, ResourceOrigin, VersionRecord } from "../../../provider/store";

const urn = (name: string) => `urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage:CertificateVersion::${name}`;
const origin = (name: string, inputs: string): ResourceOrigin => ({ urn: urn(name), inputs });
const version = (number: number, from?: ResourceOrigin): VersionRecord => ({ certificate: "api", version: number, ...(from ? { origin: from } : {}) }) as VersionRecord;
const release = (number: number): HistoryEntry => ({ at: "2026-12-01T00:00:00Z", actor: "a", action: "version.release", certificate: "api", fromVersion: number, result: "ok" });
const deployed = (number: number): DeploymentRecord => ({ certificate: "api", environment: "production", version: number, deployedAt: "2026-12-01T00:00:00Z" });

describe("adoption", () => {
  it("adopts the newest version the same resource made from the same inputs", () => {
    const versions = [version(1, origin("a", "x")), version(2, origin("a", "x")), version(3, origin("b", "x"))];
    expect(adoptableVersion(origin("a", "x"), { versions, released: new Set(), held: new Set() })?.version).toBe(2);
  });

  it("never adopts across resources, across inputs, a version the state holds, or one Pulumi released", () => {
    const versions = [version(1, origin("a", "x")), version(2, origin("a", "y")), version(3)];
    expect(adoptableVersion(origin("b", "x"), { versions, released: new Set(), held: new Set() })).toBeUndefined();
    expect(adoptableVersion(origin("a", "z"), { versions, released: new Set(), held: new Set() })).toBeUndefined();
    expect(adoptableVersion(origin("a", "x"), { versions, released: new Set(), held: new Set([1]) })).toBeUndefined();
    expect(adoptableVersion(origin("a", "x"), { versions, released: new Set([1]), held: new Set() })).toBeUndefined();
  });
});

describe("unclaimed versions", () => {
  it("are versions a resource moved on from without Pulumi ever releasing them, served nowhere", () => {
    const versions = [version(1, origin("a", "x")), version(2, origin("a", "y")), version(3, origin("a", "z")), version(4, origin("b", "x")), version(5)];
    const released = releasedVersions([release(2)]);
    expect(unclaimedVersions(versions, released, []).map((record) => record.version)).toEqual([1]);
    expect(unclaimedVersions(versions, released, [deployed(1)])).toEqual([]);
  });

  it("never include a resource's newest version, nor versions made before origins were recorded", () => {
    expect(unclaimedVersions([version(1), version(2), version(3, origin("a", "x"))], new Set(), [])).toEqual([]);
  });

  it("only count releases that succeeded", () => {
    expect([...releasedVersions([release(1), { ...release(2), result: "failed" }, { ...release(3), action: "version.delete" }])]).toEqual([1]);
  });
});
