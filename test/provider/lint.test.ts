/**
 * `certstage lint` as CI runs it: the built command on real manifests and real certificate files.
 * Exit codes (0 clean, 1 problems, 2 cannot run), the text, GitHub annotation and JSON outputs
 * (the JSON against its schema), the preview's checks found offline at their line:col, no key
 * material in any output, and a store it is pointed at neither read nor written.
 */
import Ajv from "ajv";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory, type TestCertificate } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { watchUntouched } from "../support/untouched";

const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lint(directory: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "lint", ...args], { cwd: directory, env: { ...process.env, CERTSTAGE_STORE: "", CERTSTAGE_TEAMS: "", CERTSTAGE_PRINCIPAL: "ci", ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const validateReport = new Ajv({ strict: true, allErrors: true }).compile(require(path.join(REPO_ROOT, "schema", "lint-report.schema.json")) as object);

let project: string;
let leaf: TestCertificate;
let other: TestCertificate;

/** A manifest with one problem of each kind the preview finds, on known lines. */
const BROKEN = `certificates:
  api:
    versions:
      v1:
        upload:
          certificateFile: certs/api.pem
          privateKeyFile: certs/other.key
          chainFile: certs/chain.pem
      v2:
        generate:
          keyAlgorithm: ECDSA-P256
          subject: { commonName: api.example.test }
          sans: [api.example.test, "bad..name"]
    deployments:
      qa: { version: v1 }
`;

beforeAll(() => {
  project = temporaryDirectory("lint");
  const pki = path.join(project, "pki");
  leaf = makeTestCertificate(pki, "api.example.test");
  other = makeTestCertificate(pki, "other.example.test");
  mkdirSync(path.join(project, "certs"));
  writeFileSync(path.join(project, "certs", "api.pem"), leaf.certificatePem);
  writeFileSync(path.join(project, "certs", "api.key"), leaf.privateKeyPem, { mode: 0o600 });
  writeFileSync(path.join(project, "certs", "other.key"), other.privateKeyPem, { mode: 0o600 });
  writeFileSync(path.join(project, "certs", "chain.pem"), leaf.chainPem);
  writeFileSync(path.join(project, "broken.yaml"), BROKEN);
  writeFileSync(path.join(project, "Pulumi.yaml"), "name: lint\nruntime: nodejs\n");
  writeFileSync(path.join(project, "Pulumi.ci.yaml"), "config:\n  certstage:environments:\n    - staging\n    - qa\n    - production\n  certstage:storeKey:\n    secure: v1:AAAA\n");
  writeFileSync(path.join(project, "uploaded.yaml"), BROKEN.replace("other.key", "api.key").replace(', "bad..name"', "").replace("qa:", "production:"));
});

function expectNoKeys(run: Run) {
  expectNoPrivateKeyMaterial(run.stdout + run.stderr, [leaf.privateKeyPem, other.privateKeyPem], "certstage lint output");
}

describe("certstage lint", () => {
  it("passes the example repository's manifest: exit 0", async () => {
    const run = await lint(path.join(REPO_ROOT, "examples", "gitops"), ["certificates.yaml"]);
    expect(run).toEqual({ code: 0, stdout: "certificates.yaml: no problems (7 resources)\n", stderr: "" });
  });

  it("passes uploaded files that are in order, reading them relative to the manifest", async () => {
    const run = await lint(REPO_ROOT, [path.join(project, "uploaded.yaml")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/no problems \(4 resources\)/);
    expectNoKeys(run);
  });

  it("reports every preview problem at once, each at file:line:col: exit 1", async () => {
    const run = await lint(project, ["broken.yaml"]);
    expect(run.code).toBe(1);
    expect(run.stdout.split("\n").filter((line) => line.startsWith("broken.yaml:")).map((line) => line.split(": ").slice(0, 3).join(": "))).toEqual([
      "broken.yaml:7:27: KEY_MISMATCH: certificates.api.versions.v1.upload.privateKeyFile",
      "broken.yaml:13:36: DNS_NAME_INVALID: certificates.api.versions.v2.generate.sans.1",
      "broken.yaml:15:7: ENVIRONMENT_UNKNOWN: certificates.api.deployments.qa",
    ]);
    expect(run.stdout).toMatch(/\n3 problems in broken\.yaml\n$/);
    expectNoKeys(run);
  });

  it("passes a keystore that names its password's source, and refuses one that writes the password, at its line:col without printing it: exit 1", async () => {
    const uploaded = BROKEN.replace("other.key", "api.key").replace(', "bad..name"', "").replace("qa:", "production:");
    const withKeystore = (keystore: string) => uploaded.replace("          chainFile: certs/chain.pem\n", `          chainFile: certs/chain.pem\n        keystore: ${keystore}\n`);
    writeFileSync(path.join(project, "keystore.yaml"), withKeystore("{ passwordFrom: certstage:apiKeystorePassword, profile: legacy }"));
    writeFileSync(path.join(project, "keystore-literal.yaml"), withKeystore("{ password: Tr0ub4dor-and-3 }"));
    const named = await lint(project, ["keystore.yaml"]);
    expect(named).toEqual({ code: 0, stdout: "keystore.yaml: no problems (4 resources)\n", stderr: "" });
    const literal = await lint(project, ["keystore-literal.yaml", "--format", "github"]);
    expect(literal.code).toBe(1);
    expect(literal.stdout).toMatch(/^::error file=keystore-literal\.yaml,line=9,col=21,title=MANIFEST_SECRET_LITERAL::certificates\.api\.versions\.v1\.keystore\.password: certificate 'api', version 'v1': /m);
    expect(literal.stdout + literal.stderr).not.toContain("Tr0ub4dor");
  });

  it("prints GitHub annotations with --format github", async () => {
    const run = await lint(project, ["broken.yaml", "--format", "github"]);
    expect(run.code).toBe(1);
    const annotations = run.stdout.split("\n").filter((line) => line.startsWith("::error "));
    expect(annotations.map((line) => /^::error file=([^,]+),line=(\d+),col=(\d+),title=([A-Z_]+)::/.exec(line)?.slice(1))).toEqual([
      ["broken.yaml", "7", "27", "KEY_MISMATCH"],
      ["broken.yaml", "13", "36", "DNS_NAME_INVALID"],
      ["broken.yaml", "15", "7", "ENVIRONMENT_UNKNOWN"],
    ]);
    expectNoKeys(run);
  });

  it("serves tools with --json, a versioned contract its schema describes", async () => {
    const clean = await lint(path.join(REPO_ROOT, "examples", "gitops"), ["certificates.yaml", "--json"]);
    const broken = await lint(project, ["broken.yaml", "--json"]);
    for (const [run, code] of [[clean, 0], [broken, 1]] as const) {
      expect(run.code).toBe(code);
      const report = JSON.parse(run.stdout);
      expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    }
    const report = JSON.parse(broken.stdout);
    expect(report).toMatchObject({ schemaVersion: 1, file: "broken.yaml", ok: false });
    expect(report.problems[0]).toEqual({ code: "KEY_MISMATCH", file: "broken.yaml", line: 7, column: 27, path: "certificates.api.versions.v1.upload.privateKeyFile", problem: expect.any(String), fix: expect.any(String) });
    expect(JSON.parse(clean.stdout).resources.map((resource: { type: string; name: string }) => `${resource.type} ${resource.name}`)).toContain("EnvironmentDeployment api/production");
    expectNoKeys(broken);
  });

  it("exits 2 when it cannot run: no manifest, an unreadable one, a bad format", async () => {
    const missing = await lint(project, ["nowhere.yaml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\[MANIFEST_UNREADABLE\] cannot read nowhere\.yaml/);
    expect((await lint(project, [])).code).toBe(2);
    const format = await lint(project, ["broken.yaml", "--format", "sarif"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be one of text, github/);
  });

  it("checks against a stack's own settings with --stack, and exits 2 for a stack it cannot read", async () => {
    const run = await lint(project, ["broken.yaml", "--stack", "ci", "--json"]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).problems.map((problem: { code: string }) => problem.code)).toEqual(["KEY_MISMATCH", "DNS_NAME_INVALID"]);
    const missing = await lint(project, ["broken.yaml", "--stack", "prod"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\[CONFIG_INVALID\] field '--stack': cannot read the settings of stack 'prod'/);
  });

  it("neither reads nor writes a store, even one CERTSTAGE_STORE names, and makes none", async () => {
    const storeRoot = path.join(temporaryDirectory("lint-store"), "store");
    await createFileStore({ root: storeRoot }).createCertificate({ name: "api", displayName: "api", type: "server", owner: "someone-else", shareWith: [], description: "" }, { principal: "someone-else" });
    const repository = temporaryDirectory("lint-repository");
    cpSync(path.join(REPO_ROOT, "examples", "gitops"), repository, { recursive: true });
    const untouched = watchUntouched(storeRoot);
    const before = readdirSync(repository, { recursive: true }).map(String).sort();
    const run = await lint(repository, ["certificates.yaml"], { CERTSTAGE_STORE: storeRoot });
    expect(run.code).toBe(0);
    untouched();
    expect(existsSync(path.join(repository, ".certstage"))).toBe(false);
    // The repository gains no file either: no .certstage, no cache, no report.
    expect(readdirSync(repository, { recursive: true }).map(String).sort()).toEqual(before);
    expect(before).toContain("certificates.yaml");
  });
});
