/**
 * Two stacks on one file store, through the real Pulumi CLI, acting as two principals: team-edge's
 * stack owns `api` and shares it with team-web; team-web's stack references version 1 (its
 * material comes into team-web's state), but its deployment of `api` to production fails the
 * preview with NOT_OWNER, and its `up` writes nothing. Once team-edge transfers `api` to
 * team-web, team-web's stack deploys it; team-edge's preview of its unchanged program stays
 * quiet, and one that changes `api` fails at diff.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { makeTestCertificate } from "../support/certificates";
import { CommandResult, consumerProject, PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { readStoreFromDisk, storeFingerprint } from "../support/store-on-disk";

const EDGE_PROGRAM = `
const fs = require("fs");
const path = require("path");
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");

const config = new pulumi.Config();
const read = (file) => fs.readFileSync(path.join(config.require("certificateDir"), file), "utf8");
const api = new Certificate("api", { name: "api", owner: config.get("owner") || "team-edge", shareWith: ["team-web"], description: config.get("description") });
const v1 = new CertificateVersion("api-v1", {
  certificate: api,
  upload: { certificatePem: read("cert.pem"), privateKeyPem: pulumi.secret(read("key.pem")), chainPem: read("chain.pem") },
});
new EnvironmentDeployment("api-staging", { version: v1, environment: "staging" });
`;

const WEB_PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const { CertificateVersion, EnvironmentDeployment } = require("certstage");

const config = new pulumi.Config();
// team-edge's version 1, read into this stack: api is shared with team-web.
const shared = new CertificateVersion("api-v1-shared", { certificate: "api" }, { id: "api/1" });
exports.sharedFingerprint = shared.fingerprintSha256;
if (config.getBoolean("deployProduction")) {
  new EnvironmentDeployment("api-production", { certificate: "api", version: 1, environment: "production" });
}
`;

let edge: PulumiWorkspace;
let web: PulumiWorkspace;
let storeRoot: string;
const privateKeys: string[] = [];

const output = (result: CommandResult) => result.stdout + result.stderr;

beforeAll(async () => {
  const bin = inject("pulumiBinDirectory");
  edge = consumerProject(bin, "edge", EDGE_PROGRAM);
  web = consumerProject(bin, "web", WEB_PROGRAM);
  storeRoot = path.join(edge.root, "shared-store");
  const pki = path.join(edge.root, "pki");
  privateKeys.push(makeTestCertificate(pki, "api.example.test").privateKeyPem);
  await edge.initStack({ "certstage:store": storeRoot, "certstage:principal": "ci-edge", "certstage:teams": "team-edge", certificateDir: path.join(pki, "api") });
  await web.initStack({ "certstage:store": storeRoot, "certstage:principal": "ci-web", "certstage:teams": "team-web" });
  await edge.pulumiOk(["up", "--yes", "--skip-preview"]);
});

describe("two principals on one file store", () => {
  it("the principal the certificate is shared with references its version", async () => {
    await web.pulumiOk(["up", "--yes", "--skip-preview"]);
    const fingerprint = (await web.pulumiOk(["stack", "output", "sharedFingerprint"])).stdout.trim();
    const status = JSON.parse((await edge.certstage(["status", "--json", "--store", storeRoot])).stdout);
    expect(fingerprint).toBe(status.certificates[0].versions[0].fingerprintSha256);
  });

  it("its deployment of the owner's certificate fails the preview with NOT_OWNER, and its up writes nothing", async () => {
    await web.pulumiOk(["config", "set", "deployProduction", "true"]);
    const before = storeFingerprint(storeRoot);
    const expected =
      "[NOT_OWNER] resource 'api-production': certificate 'api' belongs to 'team-edge', not 'ci-web' or a team it acts for (team-web); it is shared with 'team-web', which may read it and use its versions, but only its owner may deploy it. " +
      "Fix: run this stack as a member of 'team-edge' (certstage:principal, or certstage:teams listing 'team-edge'), or ask team-edge to transfer the certificate to you";
    for (const args of [["preview", "--diff"], ["up", "--yes"]]) {
      const result = await web.pulumi(args);
      expect(result.code, `pulumi ${args.join(" ")}\n${output(result)}`).not.toBe(0);
      expect(output(result).replace(/\s+/g, " ")).toContain(expected);
    }
    expect(storeFingerprint(storeRoot)).toBe(before);
    expect(readStoreFromDisk(storeRoot).deployments).toEqual({ api: { staging: 1 } });
  });

  it("after the owner transfers it, the new owner deploys it and the old owner's unchanged program previews quietly", async () => {
    await edge.pulumiOk(["config", "set", "owner", "team-web"]);
    const transfer = await edge.pulumiOk(["up", "--yes"]);
    expect(output(transfer)).toMatch(/~ +1 updated/);
    const up = await web.pulumiOk(["up", "--yes"]);
    expect(output(up)).toMatch(/\+ +1 created/);
    expect(readStoreFromDisk(storeRoot).deployments).toEqual({ api: { staging: 1, production: 1 } });
    const quiet = await edge.pulumiOk(["preview", "--diff"]);
    expect(output(quiet)).not.toContain("NOT_OWNER");
    expect(output(quiet)).toMatch(/4 unchanged/);
    // A change there is no longer team-edge's to make: diff refuses it at preview.
    await edge.pulumiOk(["config", "set", "description", "still ours?"]);
    const before = storeFingerprint(storeRoot);
    const refused = await edge.pulumi(["preview", "--diff"]);
    expect(refused.code).not.toBe(0);
    expect(output(refused).replace(/\s+/g, " ")).toContain(
      "[NOT_OWNER] resource 'api': certificate 'api' belongs to 'team-web', not 'ci-edge' or a team it acts for (team-edge); only its owner may rename it or change its description, sharing or profile.",
    );
    expect(storeFingerprint(storeRoot)).toBe(before);
  });

  it("no private key appears in any command's output", () => {
    for (const workspace of [edge, web]) for (const entry of workspace.transcript) expectNoPrivateKeyMaterial(entry.output, privateKeys, entry.command);
  });
});
