/**
 * What the compat tier claims, checked where it runs: `pulumi up` of a program in the compat
 * install reports the CLI, the Node and the SDK of the oldest supported pair, and its certificate
 * lands in the store through the dynamic provider started there.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { temporaryDirectory } from "../support/certificates";
import { PulumiWorkspace } from "../support/pulumi";
import { sdkFloor } from "./global-setup";

const PROGRAM = `
const { Certificate } = require("certstage");
new Certificate("api", { name: "api" });
exports.node = process.version;
exports.sdk = require("@pulumi/pulumi/package.json").version;
`;

let workspace: PulumiWorkspace;
let storeRoot: string;

beforeAll(async () => {
  const root = temporaryDirectory("compat-pair");
  const project = path.join(root, "project");
  mkdirSync(project);
  writeFileSync(path.join(project, "Pulumi.yaml"), "name: compat-pair\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "compat-pair", private: true, main: "index.js" }));
  writeFileSync(path.join(project, "index.js"), PROGRAM);
  symlinkSync(inject("programNodeModules")!, path.join(project, "node_modules"));
  workspace = new PulumiWorkspace(project, "compat", inject("pulumiBinDirectory"), root);
  storeRoot = path.join(root, "store");
  await workspace.initStack({ "certstage:store": storeRoot });
});

describe("the oldest supported pair", () => {
  it("is what runs: CLI and SDK at the peer range's floor, the program on Node 20", async () => {
    expect((await workspace.pulumiOk(["version"])).stdout.trim()).toBe(`v${sdkFloor()}`);
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const outputs = JSON.parse((await workspace.pulumiOk(["stack", "output", "--json"])).stdout);
    expect(outputs.sdk).toBe(sdkFloor());
    expect(outputs.node).toMatch(/^v20\./);
  });

  it("the certificate created through the dynamic provider is in the store", async () => {
    const status = JSON.parse((await workspace.certstage(["status", "--json", "--store", storeRoot])).stdout);
    expect(status.certificates.map((certificate: { name: string }) => certificate.name)).toEqual(["api"]);
  });
});
