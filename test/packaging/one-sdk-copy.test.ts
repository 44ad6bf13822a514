/**
 * certstage installed from its `npm pack` tarball into a user's project that already uses another
 * @pulumi/pulumi than the one certstage is developed with: the SDK is a peer dependency, so the
 * project keeps one copy (two copies break Pulumi: resources registered through one are unknown
 * to the other's runtime), and `pulumi up` runs through the real CLI with it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { installPackedProject, packCertstage } from "../support/packed";
import { PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";

/** In the peer range, and neither the development pin nor the compat tier's floor. */
const USER_SDK = "3.262.0";

const PROGRAM = `
const fs = require("fs");
const path = require("path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");

const config = new pulumi.Config();
const read = (file) => fs.readFileSync(path.join(config.require("certificateDir"), file), "utf8");
const api = new Certificate("api", { name: "api" });
const v1 = new CertificateVersion("api", {
  certificate: api,
  upload: { certificatePem: read("cert.pem"), privateKeyPem: pulumi.secret(read("key.pem")), chainPem: read("chain.pem") },
});
new EnvironmentDeployment("api-staging", { version: v1, environment: "staging" });
exports.fingerprint = v1.fingerprintSha256;
`;

interface NpmTree {
  version?: string;
  dependencies?: Record<string, NpmTree>;
}

/** Every place `npm ls --all --json` shows @pulumi/pulumi, as "path@version" (deduped ones name the copy they share). */
function sdkEntries(tree: NpmTree, at = "."): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([name, child]) => [
    ...(name === "@pulumi/pulumi" ? [`${at}@${child.version}`] : []),
    ...sdkEntries(child, `${at}/${name}`),
  ]);
}

let root: string;
let tarball: string;
let workspace: PulumiWorkspace;
let storeRoot: string;
const privateKeys: string[] = [];

beforeAll(() => {
  root = temporaryDirectory("packaging");
  tarball = packCertstage(path.join(root, "pack"));
  const project = path.join(root, "project");
  installPackedProject(project, tarball, USER_SDK, PROGRAM);
  workspace = new PulumiWorkspace(project, "packed", inject("pulumiBinDirectory"), root);
  storeRoot = path.join(root, "store");
  const pki = path.join(root, "pki");
  privateKeys.push(makeTestCertificate(pki, "api.example.test").privateKeyPem);
  return workspace.initStack({ "certstage:store": storeRoot, certificateDir: path.join(pki, "api") });
});

describe("certstage from its npm tarball in a project on another SDK", () => {
  it("declares @pulumi/pulumi as a peer with a range, pinned only for its own development", () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    expect(manifest.peerDependencies["@pulumi/pulumi"]).toBe("^3.248.0");
    expect(manifest.dependencies["@pulumi/pulumi"]).toBeUndefined();
    expect(manifest.devDependencies["@pulumi/pulumi"]).not.toBe(USER_SDK);
  });

  it("npm ls shows one @pulumi/pulumi, the project's, and none under certstage", () => {
    const tree = JSON.parse(execFileSync("npm", ["ls", "@pulumi/pulumi", "--all", "--json"], { cwd: workspace.projectDirectory, encoding: "utf8" })) as NpmTree;
    expect(new Set(sdkEntries(tree).map((entry) => entry.split("@").at(-1)))).toEqual(new Set([USER_SDK]));
    expect(sdkEntries(tree)).toContain(`.@${USER_SDK}`);
    expect(existsSync(path.join(workspace.projectDirectory, "node_modules", "certstage", "node_modules", "@pulumi"))).toBe(false);
  });

  it("pulumi up deploys through the real CLI with the project's SDK, and the packed certstage command reads the store", async () => {
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const fingerprint = (await workspace.pulumiOk(["stack", "output", "fingerprint"])).stdout.trim();
    const status = JSON.parse(execFileSync(path.join(workspace.projectDirectory, "node_modules", ".bin", "certstage"), ["status", "--json", "--store", storeRoot], { encoding: "utf8" }));
    expect(status.certificates.map((certificate: { name: string; latestVersion: number }) => [certificate.name, certificate.latestVersion])).toEqual([["api", 1]]);
    expect(status.certificates[0].versions[0].fingerprintSha256).toBe(fingerprint);
    expect(status.certificates[0].deployments.staging.version).toBe(1);
    for (const { command, output } of workspace.transcript) expectNoPrivateKeyMaterial(output, privateKeys, command);
  });

  it("a project on an SDK older than the range is refused by npm, which names certstage's peer range", () => {
    const older = path.join(root, "older");
    let message = "";
    try {
      installPackedProject(older, tarball, "3.247.0", PROGRAM);
    } catch (error) {
      message = String((error as { stderr?: string }).stderr ?? error);
    }
    expect(message).toMatch(/ERESOLVE/);
    expect(message).toMatch(/peer @pulumi\/pulumi@"\^3\.248\.0" from certstage@/);
    expect(existsSync(path.join(older, "node_modules", "certstage"))).toBe(false);
  });
});
