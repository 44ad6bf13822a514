/**
 * The manifest through the real Pulumi CLI. The example repository's program (one Manifest over
 * its certificates.yaml) and the TypeScript program that declares the same resources by hand
 * preview the same steps: same resource names and types (the manifest's sit under the component),
 * same inputs. Both go up; then the same edit, a new version with production swapped to it,
 * previews as the same changes in both, and `up` deploys it; the new version asks for a keystore
 * whose password the manifest names (a stack config secret), as the program reads it with
 * requireSecret. A broken manifest fails the program with every problem at its line:col. No
 * private key or keystore password appears in any output or in state.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../provider/cli/status";
import { REPO_ROOT } from "../support/certificates";
import { openKeystore } from "../support/keystores";
import { consumerProject, PulumiWorkspace } from "../support/pulumi";
import { expectNoPrivateKeyMaterial } from "../support/secrets";

const EXAMPLE = path.join(REPO_ROOT, "examples", "gitops");
const MANIFEST = readFileSync(path.join(EXAMPLE, "certificates.yaml"), "utf8");

/** Both stacks' `certstage:apiKeystorePassword` secret. */
const KEYSTORE_PASSWORD = "manifest-keystore-7d21c4";

/** A new version of api, with a keystore, and production swapped to it: the edit a rotation pull request makes. */
const EDITED_MANIFEST = MANIFEST.replace(
  "        domains: [api.example.test]\n",
  "        domains: [api.example.test]\n      v2:\n        generate:\n          keyAlgorithm: ECDSA-P256\n          subject:\n            commonName: api.example.test\n          sans: [api.example.test, www.example.test]\n        keystore: { passwordFrom: \"certstage:apiKeystorePassword\", profile: legacy }\n",
).replace("      production:\n        version: v1\n", "      production:\n        version: v2\n");

/** What an author who writes TypeScript would declare for the example's certificates.yaml. */
function equivalentProgram(edited: boolean): string {
  return `
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");
const api = new Certificate("api", { name: "api", displayName: "API gateway", description: "TLS certificate of api.example.test" });
const apiV1 = new CertificateVersion("api/v1", {
  certificate: api,
  generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: ["api.example.test"] },
  domains: ["api.example.test"],
});
const apiV2 = ${edited} ? new CertificateVersion("api/v2", {
  certificate: api,
  generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: ["api.example.test", "www.example.test"] },
  keystore: { password: new pulumi.Config("certstage").requireSecret("apiKeystorePassword"), profile: "legacy" },
}) : undefined;
new EnvironmentDeployment("api/staging", { certificate: api, environment: "staging", version: apiV1 });
new EnvironmentDeployment("api/production", { certificate: api, environment: "production", version: apiV2 ?? apiV1 });
const grafana = new Certificate("grafana", { name: "grafana", displayName: "Grafana (internal)", profile: "private" });
const grafanaV1 = new CertificateVersion("grafana/v1", {
  certificate: grafana,
  generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "grafana.internal.test", organization: "Example Ltd" }, sans: ["grafana.internal.test", "10.0.0.7"] },
});
new EnvironmentDeployment("grafana/staging", { certificate: grafana, environment: "staging", version: grafanaV1 });
`;
}

interface Step {
  readonly op: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

/**
 * A preview's steps, by resource name: the type without its parents', the inputs without what the
 * runtime adds (the URN, which names the parent; the identity of each project's own store).
 */
async function previewSteps(workspace: PulumiWorkspace, { changesOnly }: { changesOnly: boolean }): Promise<Step[]> {
  const result = await workspace.pulumiOk(["preview", "--json"]);
  const steps = (JSON.parse(result.stdout).steps ?? []) as Array<{ op: string; urn: string; newState?: { inputs?: Record<string, unknown> } }>;
  return steps
    .filter((step) => !step.urn.includes("pulumi:pulumi:Stack") && !step.urn.endsWith("certstage:index:Manifest::certificates"))
    .filter((step) => !changesOnly || step.op !== "same")
    .map((step) => {
      const [, , typeChain, name] = step.urn.split("::");
      const { resourceUrn: _urn, __provider: _provider, storeId: _store, ...inputs } = step.newState?.inputs ?? {};
      return { op: step.op, type: typeChain.split("$").at(-1)!, name, inputs };
    })
    .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
}

async function served(workspace: PulumiWorkspace): Promise<Record<string, Record<string, number>>> {
  const report = JSON.parse((await workspace.certstage(["status", "--json"])).stdout) as StatusReport;
  return Object.fromEntries(report.certificates.map((certificate) => [certificate.name, Object.fromEntries(Object.entries(certificate.deployments).map(([environment, deployment]) => [environment, deployment.version]))]));
}

let fromManifest: PulumiWorkspace;
let handWritten: PulumiWorkspace;

beforeAll(async () => {
  fromManifest = consumerProject(inject("pulumiBinDirectory"), "manifest", readFileSync(path.join(EXAMPLE, "index.js"), "utf8"));
  writeFileSync(path.join(fromManifest.projectDirectory, "certificates.yaml"), MANIFEST);
  handWritten = consumerProject(inject("pulumiBinDirectory"), "handwritten", equivalentProgram(false));
  await fromManifest.initStack();
  await handWritten.initStack();
  for (const workspace of [fromManifest, handWritten]) await workspace.pulumiOk(["config", "set", "--secret", "certstage:apiKeystorePassword", KEYSTORE_PASSWORD]);
});

describe("a Manifest previews and deploys as the equivalent TypeScript program", () => {
  it("the first preview has the same steps, names and inputs", async () => {
    const manifestSteps = await previewSteps(fromManifest, { changesOnly: false });
    expect(manifestSteps.map((step) => `${step.op} ${step.type} ${step.name}`)).toEqual([
      "create pulumi-nodejs:dynamic/certstage:Certificate api",
      "create pulumi-nodejs:dynamic/certstage:Certificate grafana",
      "create pulumi-nodejs:dynamic/certstage:CertificateVersion api/v1",
      "create pulumi-nodejs:dynamic/certstage:CertificateVersion grafana/v1",
      "create pulumi-nodejs:dynamic/certstage:EnvironmentDeployment api/production",
      "create pulumi-nodejs:dynamic/certstage:EnvironmentDeployment api/staging",
      "create pulumi-nodejs:dynamic/certstage:EnvironmentDeployment grafana/staging",
    ]);
    expect(manifestSteps).toEqual(await previewSteps(handWritten, { changesOnly: false }));
  });

  it("up deploys what the manifest says", async () => {
    await fromManifest.pulumiOk(["up", "--yes", "--skip-preview"]);
    await handWritten.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await served(fromManifest)).toEqual({ api: { production: 1, staging: 1 }, grafana: { staging: 1 } });
    expect(await served(handWritten)).toEqual(await served(fromManifest));
    expect(await previewSteps(fromManifest, { changesOnly: true })).toEqual([]);
  });

  it("a new version with production swapped to it previews as the same change the program's edit would", async () => {
    writeFileSync(path.join(fromManifest.projectDirectory, "certificates.yaml"), EDITED_MANIFEST);
    writeFileSync(path.join(handWritten.projectDirectory, "index.js"), equivalentProgram(true));
    const changes = await previewSteps(fromManifest, { changesOnly: true });
    expect(changes.map((step) => `${step.op} ${step.name}`)).toEqual(["create api/v2", "update api/production"]);
    expect(changes).toEqual(await previewSteps(handWritten, { changesOnly: true }));
    expect(await served(fromManifest)).toEqual({ api: { production: 1, staging: 1 }, grafana: { staging: 1 } });
  });

  it("up makes version 2 with its keystore and swaps production to it; staging keeps version 1", async () => {
    await fromManifest.pulumiOk(["up", "--yes", "--skip-preview"]);
    expect(await served(fromManifest)).toEqual({ api: { production: 2, staging: 1 }, grafana: { staging: 1 } });
    const versions = path.join(fromManifest.projectDirectory, ".certstage", "certificates", "api", "versions");
    const leaf = new X509Certificate(readFileSync(path.join(versions, "2", "cert.pem"))).fingerprint256;
    expect(openKeystore(path.join(versions, "2", "keystore.p12"), KEYSTORE_PASSWORD).certificates).toEqual([leaf]);
    expect(existsSync(path.join(versions, "1", "keystore.p12"))).toBe(false);
    expect(await previewSteps(fromManifest, { changesOnly: true })).toEqual([]);
  });

  it("a broken manifest fails the program with every problem at its line:col, and changes nothing", async () => {
    const broken = EDITED_MANIFEST.replace("        version: v2\n", "        version: v3\n").replace("    displayName: API gateway\n", "    displayName: API gateway\n    colour: blue\n");
    writeFileSync(path.join(fromManifest.projectDirectory, "certificates.yaml"), broken);
    const preview = await fromManifest.pulumi(["preview"]);
    expect(preview.code).not.toBe(0);
    const output = preview.stdout + preview.stderr;
    expect(output).toContain("[MANIFEST_INVALID] resource 'certificates': certificates.yaml has 1 problem");
    expect(output).toMatch(/certificates\.yaml:8:5: MANIFEST_INVALID: certificates\.api\.colour: 'colour' is not a field here/);
    writeFileSync(path.join(fromManifest.projectDirectory, "certificates.yaml"), broken.replace("    colour: blue\n", ""));
    const reference = await fromManifest.pulumi(["preview"]);
    expect(reference.stdout + reference.stderr).toMatch(/certificates\.yaml:\d+:\d+: MANIFEST_REFERENCE_UNKNOWN: certificates\.api\.deployments\.production\.version: 'v3' is not a version of certificate 'api'/);
    expect(await served(fromManifest)).toEqual({ api: { production: 2, staging: 1 }, grafana: { staging: 1 } });
  });

  it("no private key or keystore password appeared in any output or in state", async () => {
    const storeRoot = path.join(fromManifest.projectDirectory, ".certstage");
    const keys = ["api/versions/1", "api/versions/2", "grafana/versions/1"].map((version) => readFileSync(path.join(storeRoot, "certificates", version, "privkey.pem"), "utf8"));
    const exported = (await fromManifest.pulumiOk(["stack", "export"])).stdout;
    expectNoPrivateKeyMaterial(exported, keys, "stack export");
    expect(exported).not.toContain(KEYSTORE_PASSWORD);
    for (const { command, output } of fromManifest.transcript) {
      expectNoPrivateKeyMaterial(output, keys, command);
      expect(output, command).not.toContain(KEYSTORE_PASSWORD);
    }
  });
});
