/**
 * What the agent refuses to switch to, one case per way a unit is unfit to serve, judged on the
 * files and the store's record of the version (unit-check.ts is pure: no disk, no clock).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { unitProblems } from "../../provider/agent/unit-check";
import type { VersionMaterial } from "../../provider/pki/version-material";
import type { VersionRecord } from "../../provider/store";
import type { PublishedUnit } from "../../provider/targets/published-versions";
import { makeTestMaterials, temporaryDirectory } from "../support/certificates";

let good: VersionMaterial;
let other: VersionMaterial;
let foreign: VersionMaterial;
let record: VersionRecord;
let unit: PublishedUnit;
let now: Date;

beforeAll(() => {
  [good, other] = makeTestMaterials(temporaryDirectory("unit-check"), ["api.example.test", "api.example.test"]);
  // Another CA made the same way: its intermediate has the name of good's issuer, and another key.
  [foreign] = makeTestMaterials(temporaryDirectory("unit-check-other-ca"), ["api.example.test"]);
  record = { certificate: "api", version: 7, method: "upload", ...good.facts, chainFingerprints: good.chainFingerprints, jwk: good.jwk, createdAt: good.facts.notBefore, createdBy: "test" };
  unit = { certificatePem: good.certificatePem, chainPem: good.chainPem, fullchainPem: good.fullchainPem, privateKeyPem: good.privateKeyPem };
  now = new Date(Date.parse(good.facts.notBefore) + 60_000);
});

const codes = (changes: Partial<PublishedUnit>, at: Date = now, of: VersionRecord = record) => unitProblems({ ...unit, ...changes }, of, at).map((problem) => problem.code);

describe("a unit fit to serve", () => {
  it("has no problem", () => {
    expect(unitProblems(unit, record, now)).toEqual([]);
  });
});

describe("a unit the agent refuses", () => {
  it.each<[string, () => Partial<PublishedUnit>, string]>([
    ["a key of another certificate", () => ({ privateKeyPem: other.privateKeyPem }), "KEY_MISMATCH"],
    ["no key for a server certificate", () => ({ privateKeyPem: undefined }), "PRIVATE_KEY_MISSING"],
    ["a key file that is not a key", () => ({ privateKeyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }), "PRIVATE_KEY_UNPARSEABLE"],
    ["a chain from another CA of the same name, which did not sign it", () => ({ chainPem: foreign.chainPem, fullchainPem: good.certificatePem + foreign.chainPem }), "CHAIN_SIGNATURE_INVALID"],
    ["a fullchain that is not cert + chain", () => ({ fullchainPem: other.fullchainPem }), "PEM_MALFORMED"],
    ["a truncated certificate", () => ({ certificatePem: good.certificatePem.slice(0, 200), fullchainPem: good.certificatePem.slice(0, 200) + good.chainPem }), "PEM_MALFORMED"],
    ["a certificate other than the version's", () => ({ certificatePem: other.certificatePem, fullchainPem: other.certificatePem + other.chainPem, privateKeyPem: other.privateKeyPem }), "STORE_CORRUPT"],
  ])("%s", (_case, changes, code) => {
    expect(codes(changes())).toContain(code);
  });

  it("an expired certificate, and one not valid yet", () => {
    expect(codes({}, new Date(Date.parse(good.facts.notAfter) + 1000))).toEqual(["CERTIFICATE_EXPIRED"]);
    expect(codes({}, new Date(Date.parse(good.facts.notBefore) - 1000))).toEqual(["CERTIFICATE_NOT_YET_VALID"]);
  });

  it("names the certificate and the file, and never quotes key material", () => {
    const [problem] = unitProblems({ ...unit, privateKeyPem: other.privateKeyPem }, record, now);
    expect(problem).toMatchObject({ resource: "api", field: "privkey.pem" });
    expect(problem.message).toContain("version 7");
    expect(problem.message).not.toContain(other.privateKeyPem!.split("\n")[1]);
    expect(problem.message).not.toMatch(/PRIVATE KEY/);
  });
});
