/**
 * `certstage metrics` as a textfile-collector cron job or a workflow runs it: the built command
 * against a file store with deployed versions of 10, 40 and 90 days, a failed verification and
 * ACME renewal records, CERTSTAGE_NOW moving the clock. What a scraper reads on stdout and in
 * --output (written atomically, 0644, no temporary file left), the refusals with their codes
 * (nothing written), and that no private key is read or printed.
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { certificateMetrics } from "../../provider/metrics/certificate-metrics";
import { inspectUpload } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import type { Store } from "../../provider/store";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";

const DAY = 86_400_000;
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
let storeRoot: string;
let issuedAt: number;
const keys: string[] = [];
const validity = new Map<string, { notBefore: string; notAfter: string }>();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function metrics(args: string[], daysLater = 0, cwd?: string): Promise<Run> {
  const env = { ...process.env, CERTSTAGE_NOW: new Date(issuedAt + daysLater * DAY).toISOString(), CERTSTAGE_STORE: storeRoot };
  delete env.CERTSTAGE_STORE_KEY;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "metrics", ...args], { env, cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The samples of one metric: labels as text -> value. */
function samples(text: string, name: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm"))) found.set(match[1] ?? "", match[2]);
  return found;
}

const seconds = (iso: string) => String(Date.parse(iso) / 1000);

beforeAll(async () => {
  storeRoot = temporaryDirectory("metrics");
  const store = createFileStore({ root: storeRoot });
  const pki = temporaryDirectory("metrics-pki");
  const actor = { principal: "alice" };
  issuedAt = Date.now();
  const save = async (certificate: string, dnsName: string, days: number, method: "upload" | "acme" = "upload") => {
    const made = makeTestCertificate(pki, dnsName, days);
    keys.push(made.privateKeyPem);
    const material = inspectUpload(made);
    if (!material.ok) throw new Error("bad test certificate");
    const version = await store.createVersion(certificate, method, material.value, actor);
    validity.set(`${certificate}/v${version.version}`, { notBefore: version.notBefore, notAfter: version.notAfter });
    return version;
  };
  for (const name of ["api", "web", "www"]) await store.createCertificate({ name, displayName: name, type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
  await save("api", "api.example.test", 10); // v1
  await save("api", "api.example.test", 90); // v2
  await save("web", "web.example.test", 40); // v1
  const www = await save("www", "www.example.test", 90, "acme"); // v1
  await store.deploy("api", "production", 1, actor);
  await store.deploy("api", "staging", 2, actor);
  await store.deploy("web", "production", 1, actor);
  await store.deploy("www", "production", 1, actor);
  // v2 of api failed its verification in production: production's latest healthy version stays 1.
  await store.recordHistory({ actor: "alice", action: "verify", certificate: "api", environment: "production", toVersion: 2, result: "failed", detail: "the endpoint kept serving v1" });
  await store.putAcmeRenewal({ certificate: "www", version: 1, directoryUrl: "https://acme.example.test/directory", notBefore: www.notBefore, notAfter: www.notAfter, issuedAt: www.createdAt, renewalDueAt: new Date(Date.parse(www.notAfter) - 30 * DAY).toISOString() });
  await store.close();
});

describe("certstage metrics", () => {
  it("prints every deployed version's validity per environment, the served and latest healthy versions, renewal and the check time", async () => {
    // A day on: every version has begun (X.509 keeps whole seconds; the last was made seconds after issuedAt).
    const run = await metrics([], 1);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    for (const name of ["certstage_certificate_not_after_timestamp_seconds", "certstage_certificate_not_before_timestamp_seconds", "certstage_deployment_version", "certstage_last_check_timestamp_seconds"]) {
      expect(run.stdout).toContain(`# HELP ${name} `);
      expect(run.stdout).toContain(`# TYPE ${name} gauge\n`);
    }
    const notAfter = samples(run.stdout, "certstage_certificate_not_after_timestamp_seconds");
    expect([...notAfter.keys()].map((labels) => labels.replace(/,serial_number="[0-9a-f:A-F]+"/, ""))).toEqual([
      '{certificate="api",environment="production",version="1"}',
      '{certificate="api",environment="staging",version="2"}',
      '{certificate="web",environment="production",version="1"}',
      '{certificate="www",environment="production",version="1"}',
    ]);
    // What the walk-through greps for: a plain integer of seconds, Date.parse(notAfter) / 1000.
    expect(run.stdout).toMatch(new RegExp(`^certstage_certificate_not_after_timestamp_seconds\\{[^}]*certificate="www"[^}]*\\} ${seconds(validity.get("www/v1")!.notAfter)}$`, "m"));
    expect(run.stdout).toMatch(new RegExp(`^certstage_certificate_not_before_timestamp_seconds\\{certificate="api",environment="staging",version="2",serial_number="[^"]+"\\} ${seconds(validity.get("api/v2")!.notBefore)}$`, "m"));
    expect(Object.fromEntries(samples(run.stdout, "certstage_deployment_version"))).toEqual({
      '{certificate="api",environment="production"}': "1",
      '{certificate="api",environment="staging"}': "2",
      '{certificate="web",environment="production"}': "1",
      '{certificate="www",environment="production"}': "1",
    });
    expect(Object.fromEntries(samples(run.stdout, "certstage_certificate_latest_healthy_version"))).toEqual({
      '{certificate="api",environment="production"}': "1",
      '{certificate="api",environment="staging"}': "2",
      '{certificate="web",environment="production"}': "1",
      '{certificate="www",environment="production"}': "1",
    });
    expect(Object.fromEntries(samples(run.stdout, "certstage_certificate_renewal_timestamp_seconds"))).toEqual({ '{certificate="www",version="1"}': String(Date.parse(validity.get("www/v1")!.notAfter) / 1000 - 30 * 86_400) });
    expect(Object.fromEntries(samples(run.stdout, "certstage_last_check_timestamp_seconds"))).toEqual({ "": String(Math.floor((issuedAt + DAY) / 1000)) });
  });

  it("leaves out what it does not know instead of sending 0: no renewal time without a record that says it, no healthy version once all expired", async () => {
    // 15 days on, api v1 (10 days) expired: production has no healthy version (v2 failed there), staging still v2.
    const run = await metrics([], 15);
    expect(run.code).toBe(0);
    expect(Object.fromEntries(samples(run.stdout, "certstage_certificate_latest_healthy_version"))).toEqual({
      '{certificate="api",environment="staging"}': "2",
      '{certificate="web",environment="production"}': "1",
      '{certificate="www",environment="production"}': "1",
    });
    expect(samples(run.stdout, "certstage_certificate_renewal_timestamp_seconds").has('{certificate="api",version="1"}')).toBe(false);
    expect(run.stdout).not.toMatch(/ 0$/m);
    expect(run.stdout).not.toMatch(/e[+-]?\d+$/m);
  });

  it("--environment keeps only what that environment serves", async () => {
    const run = await metrics(["--environment", "staging"]);
    expect(run.code).toBe(0);
    expect([...samples(run.stdout, "certstage_deployment_version").keys()]).toEqual(['{certificate="api",environment="staging"}']);
    expect(samples(run.stdout, "certstage_certificate_renewal_timestamp_seconds").size).toBe(0);
  });

  it("--output replaces the file atomically, mode 0644, leaving no temporary file beside it", async () => {
    const directory = temporaryDirectory("metrics-out");
    const file = path.join(directory, "certstage.prom");
    writeFileSync(file, "old\n", { mode: 0o600 });
    const run = await metrics(["--output", "certstage.prom"], 0, directory);
    expect(run).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(file, "utf8")).toBe((await metrics([])).stdout);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(directory)).toEqual(["certstage.prom"]);
  });

  it("refuses an --output it cannot write with METRICS_OUTPUT_UNWRITABLE and exit 2, writing nothing", async () => {
    const directory = temporaryDirectory("metrics-bad");
    const missing = await metrics(["--output", path.join(directory, "no-such-dir", "certstage.prom")]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain(`certstage metrics: [METRICS_OUTPUT_UNWRITABLE] field '--output': cannot write ${path.join(directory, "no-such-dir", "certstage.prom")}: its directory ${path.join(directory, "no-such-dir")} does not exist; nothing was written. Fix: give a file in an existing directory`);
    writeFileSync(path.join(directory, "plain-file"), "");
    const notDirectory = await metrics(["--output", path.join(directory, "plain-file", "certstage.prom")]);
    expect(notDirectory.code).toBe(2);
    expect(notDirectory.stderr).toContain("[METRICS_OUTPUT_UNWRITABLE]");
    expect(notDirectory.stderr).toContain("is not a directory");
    mkdirSync(path.join(directory, "certstage.prom"));
    const isDirectory = await metrics(["--output", path.join(directory, "certstage.prom")]);
    expect(isDirectory.code).toBe(2);
    expect(isDirectory.stderr).toContain("it is a directory");
    expect(readdirSync(directory).sort()).toEqual(["certstage.prom", "plain-file"]);
    expect(existsSync(path.join(directory, "no-such-dir"))).toBe(false);
  });

  it("refuses a bad --environment or an unknown option with exit 2 and says why", async () => {
    const badName = await metrics(["--environment", "Prod!"]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("[NAME_INVALID] field '--environment'");
    const unknown = await metrics(["--bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
    expect(unknown.stderr).toContain("Usage: certstage metrics");
  });

  it("never reads a version's files or an ACME key, and prints no private key, without a store key", async () => {
    const store = createFileStore({ root: storeRoot });
    const forbidden = new Set(["readVersionFiles", "getAcmeAccount", "getAcmeOrder"]);
    const guarded = new Proxy(store, {
      get(target, property, receiver) {
        if (typeof property === "string" && forbidden.has(property)) throw new Error(`metrics called ${property}`);
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Store;
    try {
      expect((await certificateMetrics(guarded, new Date(issuedAt))).length).toBeGreaterThan(4);
    } finally {
      await store.close();
    }
    const directory = temporaryDirectory("metrics-keys");
    const run = await metrics(["--output", path.join(directory, "certstage.prom")]);
    expect(run.code).toBe(0);
    expect(keys.length).toBe(4);
    expectNoPrivateKeyMaterial(`${run.stdout}${run.stderr}${readFileSync(path.join(directory, "certstage.prom"), "utf8")}`, keys, "certstage metrics");
  });
});
