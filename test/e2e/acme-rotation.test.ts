/**
 * A scheduled CI rotation through the real CLI against a real Pebble: `up` issues version 1 and
 * deploys it to staging and production; when the CA's renewal window (ARI) opens, `preview` shows
 * the renewal and both swaps; `up` deploys version 2 and the served files change; a further
 * preview is quiet. If the CA then cannot reach the challenge responder, the run fails with the
 * CA's problem and nothing is deployed (the CA is first made to forget the name's valid
 * authorizations, which it could otherwise reuse without asking for a challenge).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../provider/cli/status";
import { consumerProject, PulumiWorkspace } from "../support/pulumi";
import { openStore } from "../../provider/store";
import { deactivateValidAuthorizations } from "../support/acme-authorizations";
import { PebbleServer, pebbleBinDirectory, startPebble } from "../support/pebble";
import { statusMatchingDisk } from "../support/store-on-disk";

const PROGRAM = `
const fs = require("fs");
const pulumi = require("@pulumi/pulumi");
const { AcmeRenewal, Certificate, EnvironmentDeployment } = require("certstage");

const config = new pulumi.Config();
const api = new Certificate("api", { name: "api" });
const renewal = new AcmeRenewal("api-acme", {
  certificate: api,
  domains: ["api.example.test"],
  directory: config.require("directory"),
  directoryCaPem: fs.readFileSync(config.require("directoryCaFile"), "utf8"),
  contact: "ops@example.test",
  acceptTermsOfService: true,
  challenge: { type: "http-01", listen: config.require("listen") },
});
for (const environment of ["staging", "production"]) {
  new EnvironmentDeployment("api-" + environment, { certificate: api, version: renewal.version, environment });
}
exports.version = renewal.version;
exports.renewal = renewal.renewal;
`;

let pebble: PebbleServer;
let workspace: PulumiWorkspace;
let storeRoot: string;

async function status(): Promise<StatusReport> {
  return statusMatchingDisk(workspace, storeRoot);
}

const served = (report: StatusReport) =>
  Object.fromEntries(Object.entries(report.certificates[0]?.deployments ?? {}).map(([environment, deployment]) => [environment, deployment.version]));

async function previewSteps(): Promise<string[]> {
  const steps = JSON.parse((await workspace.pulumiOk(["preview", "--json"])).stdout).steps as Array<{ op: string; urn: string }>;
  return steps.filter((step) => step.op !== "same").map((step) => `${step.op} ${step.urn.split("::").at(-1)}`).sort();
}

/** Tells Pebble to suggest renewing this certificate now (its management API). */
async function caSaysRenewNow(certificatePem: string): Promise<void> {
  const window = { start: new Date(Date.now() - 2 * 3_600_000).toISOString(), end: new Date(Date.now() - 3_600_000).toISOString() };
  const body = JSON.stringify({ Certificate: certificatePem, ARIResponse: JSON.stringify({ suggestedWindow: window }) });
  await new Promise<void>((resolve, reject) => {
    const call = request(`${pebble.managementUrl}/set-renewal-info/`, { method: "POST", ca: pebble.listenerCaPem, headers: { "content-type": "application/json", "user-agent": "certstage-tests" } }, (response) => {
      response.resume();
      response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`set-renewal-info answered ${response.statusCode}`))));
    });
    call.on("error", reject);
    call.end(body);
  });
}

const servedCertificate = (environment: string) => readFileSync(path.join(storeRoot, "environments", environment, "api", "cert.pem"), "utf8");

beforeAll(async () => {
  pebble = await startPebble({ binDirectory: pebbleBinDirectory() });
  await pebble.addHost("api.example.test");
  workspace = consumerProject(inject("pulumiBinDirectory"), "rotation", PROGRAM);
  storeRoot = path.join(workspace.projectDirectory, ".certstage");
  const directoryCaFile = path.join(workspace.root, "pebble-listener-ca.pem");
  writeFileSync(directoryCaFile, pebble.listenerCaPem);
  await workspace.initStack({ directory: pebble.directoryUrl, directoryCaFile, listen: `127.0.0.1:${pebble.httpChallengePort}` });
});
afterAll(async () => pebble?.stop());

describe("ACME rotation in a scheduled CI run", () => {
  it("up issues version 1 and deploys it to staging and production", async () => {
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const report = await status();
    expect(report.certificates[0].versions.map((version) => [version.version, version.method])).toEqual([[1, "acme"]]);
    expect(served(report)).toEqual({ production: 1, staging: 1 });
    expect(new X509Certificate(servedCertificate("production")).subjectAltName).toBe("DNS:api.example.test");
    expect(await previewSteps()).toEqual([]);
  });

  it("when the CA's renewal window opens, preview shows the renewal and both swaps", async () => {
    await caSaysRenewNow(servedCertificate("production"));
    const diff = await workspace.pulumiOk(["preview", "--diff"]);
    expect(diff.stdout).toMatch(/~ renewal\s*: "due at [^"]+" => "renewal due: expires \d{4}-\d\d-\d\d, \d+ days left, the CA's renewal window \(ARI\) suggests/);
    expect(await previewSteps()).toEqual(["replace api-acme", "update api-production", "update api-staging"]);
    expect(served(await status())).toEqual({ production: 1, staging: 1 });
  });

  it("up deploys version 2 to both, the served files change, and a further preview is quiet", async () => {
    const before = servedCertificate("production");
    await workspace.pulumiOk(["up", "--yes", "--skip-preview"]);
    const report = await status();
    expect(served(report)).toEqual({ production: 2, staging: 2 });
    expect(servedCertificate("production")).not.toBe(before);
    expect(servedCertificate("staging")).toBe(servedCertificate("production"));
    expect(new X509Certificate(servedCertificate("production")).checkPrivateKey(require("node:crypto").createPrivateKey(readFileSync(path.join(storeRoot, "environments", "production", "api", "privkey.pem"))))).toBe(true);
    expect(await previewSteps()).toEqual([]);
  });

  it("when the CA cannot reach the challenge responder, up fails with the CA's problem and nothing is deployed", async () => {
    await caSaysRenewNow(servedCertificate("production"));
    // The account validated api.example.test twice already; a CA may reuse such an authorization
    // (Pebble does, about 1 order in 100), and then no challenge is asked for. Make it ask.
    const account = await openStore({ driver: "file", location: storeRoot }).getAcmeAccount(pebble.directoryUrl);
    expect(account?.accountUrl).toBeDefined();
    const deactivated = await deactivateValidAuthorizations({ directoryUrl: pebble.directoryUrl, listenerCaPem: pebble.listenerCaPem, accountKeyPem: account!.accountKeyPem, accountUrl: account!.accountUrl! }, "api.example.test");
    expect(deactivated).toBeGreaterThanOrEqual(1);
    // The responder listens, but not where the CA looks: from the CA's side it is down.
    const elsewhere = pebble.httpChallengePort === 65000 ? 65001 : 65000;
    await workspace.pulumiOk(["config", "set", "listen", `127.0.0.1:${elsewhere}`]);
    const failed = await workspace.pulumi(["up", "--yes", "--skip-preview"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/\[CHALLENGE_FAILED\] field 'challenge': the CA could not validate api\.example\.test: \{"type":"urn:ietf:params:acme:error:(connection|unauthorized)"/);
    const report = await status();
    expect(served(report)).toEqual({ production: 2, staging: 2 });
    expect(report.certificates[0].versions.map((version) => version.version)).toEqual([1, 2]);
  });
});
