/**
 * certstage's keystores as their readers open them: Java's keytool (a Java server's KeyStore) and
 * OpenSSL 3, for both profiles. OpenSSL 3 opens the legacy profile's 3DES only with `-legacy`;
 * keytool opens both, each entry a PrivateKeyEntry under the friendly name, with its chain.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPkcs12 } from "../../provider/pki/pkcs12";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory, TestCertificate } from "../support/certificates";

const PASSWORD = "changeit-but-longer";
let keytool: string;
let directory: string;
let version: TestCertificate;

beforeAll(() => {
  const provided = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "keytool.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  keytool = /^keytool=(\/.+)$/m.exec(provided)![1];
  directory = temporaryDirectory("pkcs12-readers");
  version = makeTestCertificate(directory);
});

function keystoreFile(profile: "modern" | "legacy"): string {
  const file = path.join(directory, `${profile}.p12`);
  writeFileSync(file, buildPkcs12(version, { password: PASSWORD, profile, friendlyName: "api" }), { mode: 0o600 });
  return file;
}

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", env: { ...process.env, P12_PASSWORD: PASSWORD } });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe.each(["modern", "legacy"] as const)("a %s keystore", (profile) => {
  it("opens in `openssl pkcs12 -info`", () => {
    const file = keystoreFile(profile);
    const { status, output } = run("openssl", ["pkcs12", "-info", "-noout", "-in", file, "-passin", "env:P12_PASSWORD", ...(profile === "legacy" ? ["-legacy"] : [])]);
    expect(status, output).toBe(0);
    expect(output).toMatch(profile === "modern" ? /MAC: sha256/ : /MAC: sha1/);
    expect(output).toMatch(profile === "modern" ? /AES-256-CBC/ : /3-KeyTripleDES-CBC/);
  });

  it("opens in Java's keytool as one PrivateKeyEntry with its chain", () => {
    const file = keystoreFile(profile);
    const { status, output } = run(keytool, ["-list", "-v", "-storetype", "PKCS12", "-keystore", file, "-storepass:env", "P12_PASSWORD"]);
    expect(status, output).toBe(0);
    expect(output).toMatch(/Your keystore contains 1 entry/);
    expect(output).toMatch(/Alias name: api/);
    expect(output).toMatch(/Entry type: PrivateKeyEntry/);
    // The leaf and the intermediate the test CA signs it with.
    expect(output).toMatch(/Certificate chain length: 2/);
  });

  it("is refused by keytool under another password", () => {
    const file = keystoreFile(profile);
    const { status, output } = run(keytool, ["-list", "-storetype", "PKCS12", "-keystore", file, "-storepass", "not-the-password"]);
    expect(status).not.toBe(0);
    expect(output).toMatch(/Integrity check failed|password was incorrect/i);
  });
});
