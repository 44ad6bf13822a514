/**
 * CertificateVersion's `keystore` input through the provider methods, against a temporary store:
 * check refuses a bad password by code and field without quoting it, create writes keystore.p12
 * (0600) and the `pkcs12` output, diff makes another password a new version, and read keeps it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UNKNOWN_INPUT } from "../../provider/resources/handler";
import { configure, providerFor } from "../../provider/resources/runtime";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";

const certificates = providerFor("Certificate");
const versions = providerFor("CertificateVersion");
const PASSWORD = "provider-keystore-pw";

let leaf: TestCertificate;
let storeRoot: string;

beforeAll(() => {
  leaf = makeTestCertificate(temporaryDirectory("keystore-pki"));
});

beforeEach(() => {
  storeRoot = temporaryDirectory("keystore-store");
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": "tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
});

const upload = () => ({ certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem });

describe("CertificateVersion keystore", () => {
  it("check refuses a missing, empty or short password by code, resource and field, never quoting it", async () => {
    for (const [keystore, problem] of [
      [{}, "the keystore password is missing"],
      [{ password: "" }, "the keystore password is empty"],
      [{ password: "abc1234" }, "the keystore password is too short (7 characters; at least 8)"],
    ] as const) {
      const result = await versions.check({}, { certificate: "api", upload: upload(), keystore });
      expect(result.failures?.map((failure) => failure.reason)).toEqual([expect.stringContaining(`[KEYSTORE_PASSWORD_INVALID] resource 'api', field 'keystore.password': ${problem}. Fix: give a password of 8 to 256 printable ASCII characters`)]);
      if ("password" in keystore && keystore.password !== "") expect(JSON.stringify(result.failures)).not.toContain(keystore.password);
    }
    expect((await versions.check({}, { certificate: "api", upload: upload(), keystore: { password: UNKNOWN_INPUT } })).failures).toEqual([]);
    expect((await versions.check({}, { certificate: "api", upload: upload(), keystore: { password: PASSWORD, profile: "legacy" } })).failures).toEqual([]);
  });

  it("create writes keystore.p12 (0600) beside the PEMs and the pkcs12 output, both opening with the password", async () => {
    await certificates.create({ name: "api" });
    const created = await versions.create({ certificate: "api", upload: upload(), keystore: { password: PASSWORD } });
    const file = path.join(storeRoot, "certificates", "api", "versions", "1", "keystore.p12");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).toString("base64")).toBe(created.outs.pkcs12);
    const output = path.join(storeRoot, "from-output.p12");
    writeFileSync(output, Buffer.from(created.outs.pkcs12, "base64"));
    for (const keystore of [file, output]) {
      const opened = spawnSync("openssl", ["pkcs12", "-info", "-noout", "-in", keystore, "-passin", "env:P"], { encoding: "utf8", env: { ...process.env, P: PASSWORD } });
      expect(opened.status, opened.stderr).toBe(0);
      expect(opened.stderr).toMatch(/MAC: sha256/);
    }
    // The keystore input rides along in the outputs (declared secret), so diff can compare it.
    expect(created.outs.keystore).toEqual({ password: PASSWORD });
    // read, as `pulumi refresh` runs it, keeps the keystore.
    const read = await versions.read(created.id, created.outs);
    expect(read.props?.pkcs12).toBe(created.outs.pkcs12);
  });

  it("a version without keystore has no pkcs12 output and no keystore.p12", async () => {
    await certificates.create({ name: "api" });
    const created = await versions.create({ certificate: "api", upload: upload() });
    expect(created.outs).not.toHaveProperty("pkcs12");
    expect(() => statSync(path.join(storeRoot, "certificates", "api", "versions", "1", "keystore.p12"))).toThrow(/ENOENT/);
  });

  it("diff: another password or profile is a new version; the same keystore is no change", async () => {
    await certificates.create({ name: "api" });
    const checked = await versions.check({}, { certificate: "api", upload: upload(), keystore: { password: PASSWORD } });
    const created = await versions.create(checked.inputs);
    const same = await versions.diff(created.id, created.outs, checked.inputs);
    expect(same.replaces ?? []).toEqual([]);
    for (const keystore of [{ password: "another-password" }, { password: PASSWORD, profile: "legacy" }, undefined]) {
      const news = (await versions.check(created.outs, { certificate: "api", upload: upload(), ...(keystore ? { keystore } : {}) })).inputs;
      expect((await versions.diff(created.id, created.outs, news)).replaces).toEqual(["keystore"]);
    }
  });
});

describe("node-forge", () => {
  it("is loaded when a keystore is built, not by a program that only loads certstage", async () => {
    const { REPO_ROOT } = await import("../support/certificates");
    const dist = (...parts: string[]) => JSON.stringify(path.join(REPO_ROOT, "dist", "provider", ...parts));
    // A Pulumi program's require("certstage"), and a keystore built after it, each in a fresh process.
    const forgeLoaded = (script: string) => spawnSync(process.execPath, ["-e", `${script}; console.log(Object.keys(require.cache).some((file) => file.includes("node-forge")))`], { encoding: "utf8" }).stdout.trim();
    expect(forgeLoaded(`require(${dist("index.js")})`)).toBe("false");
    expect(forgeLoaded(`require(${dist("index.js")}); require(${dist("pki", "pkcs12.js")}).buildPkcs12(${JSON.stringify({ certificatePem: leaf.certificatePem, chainPem: leaf.chainPem, privateKeyPem: leaf.privateKeyPem })}, { password: "long enough", friendlyName: "api" })`)).toBe("true");
  });
});
