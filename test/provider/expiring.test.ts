/**
 * `certstage expiring` as a scheduled job runs it: the built command against a file store whose
 * deployed versions have 10, 40 and 90 days of life, with CERTSTAGE_NOW moving the clock. Exit
 * codes (0 nothing inside, 1 something is, 2 it cannot tell), the JSON contract against its
 * schema, and the text a person reads.
 */
import Ajv from "ajv";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspectUpload } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";

const DAY = 86_400_000;
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
let storeRoot: string;
let issuedAt: number;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function expiring(args: string[], daysLater: number): Promise<Run> {
  const env = { ...process.env, CERTSTAGE_NOW: new Date(issuedAt + daysLater * DAY).toISOString(), CERTSTAGE_STORE: storeRoot };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "expiring", ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const validate = new Ajv({ strict: true, allErrors: true, formats: { "date-time": (text: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text) } }).compile(
  require(path.join(REPO_ROOT, "schema", "expiring-report.schema.json")) as object,
);

async function expiringJson(args: string[], daysLater: number) {
  const run = await expiring([...args, "--json"], daysLater);
  expect(run.stderr).toBe("");
  const report = JSON.parse(run.stdout);
  expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  return { code: run.code, report, served: (report.expiring as Array<{ certificate: string; environment: string; version: number }>).map((entry) => `${entry.certificate}/${entry.environment}/v${entry.version}`) };
}

beforeAll(async () => {
  storeRoot = temporaryDirectory("expiring");
  const store = createFileStore({ root: storeRoot });
  const pki = temporaryDirectory("expiring-pki");
  const actor = { principal: "alice" };
  issuedAt = Date.now();
  const upload = async (certificate: string, dnsName: string, days: number) => {
    const material = inspectUpload(makeTestCertificate(pki, dnsName, days));
    if (!material.ok) throw new Error("bad test certificate");
    return store.createVersion(certificate, "upload", material.value, actor);
  };
  for (const name of ["api", "web"]) await store.createCertificate({ name, displayName: name, type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
  await upload("api", "api.example.test", 10); // v1
  await upload("api", "api.example.test", 90); // v2
  await upload("web", "web.example.test", 40); // v1
  await store.deploy("api", "production", 1, actor);
  await store.deploy("api", "staging", 2, actor);
  await store.deploy("web", "production", 1, actor);
  await store.close();
});

describe("certstage expiring", () => {
  it("lists every deployed version inside a duration, soonest first, and exits 1", async () => {
    const month = await expiringJson(["--within", "30d"], 0);
    expect(month.code).toBe(1);
    expect(month.served).toEqual(["api/production/v1"]);
    expect(month.report).toMatchObject({ schemaVersion: 1, within: "30d", expiring: [{ sans: ["api.example.test"], expired: false }] });
    expect(month.report.expiring[0].secondsLeft).toBeGreaterThan(9 * 86_400);
    expect(month.report.expiring[0].secondsLeft).toBeLessThanOrEqual(10 * 86_400 + 60);
    expect((await expiringJson(["--within", "45d"], 0)).served).toEqual(["api/production/v1", "web/production/v1"]);
  });

  it("exits 0 with nothing inside, and says so", async () => {
    const nothing = await expiring(["--within", "5d"], 0);
    expect(nothing).toEqual({ code: 0, stdout: "Nothing deployed expires within 5d.\n", stderr: "" });
    expect((await expiringJson(["--within", "5d"], 0)).report.expiring).toEqual([]);
  });

  it("takes a share of each certificate's own lifetime", async () => {
    // 65 days on: the 90-day version has 25 days left (28 %), the others expired.
    expect((await expiringJson(["--within", "30d", "--environment", "staging"], 65)).served).toEqual(["api/staging/v2"]);
    expect((await expiringJson(["--within", "25%", "--environment", "staging"], 65)).code).toBe(0);
    expect((await expiringJson(["--within", "30%", "--environment", "staging"], 65)).served).toEqual(["api/staging/v2"]);
    // 8 days on: 20 % of api v1's life is left, 80 % of web's: only api is inside 25 %.
    expect((await expiringJson(["--within", "25%"], 8)).served).toEqual(["api/production/v1"]);
  });

  it("keeps naming a version that expired while deployed, in JSON and in text", async () => {
    // Half a day off every whole day: the certificates were made a moment after issuedAt, and
    // X.509 keeps whole seconds, so a whole number of days would sit on the edge of "2 days".
    const { report } = await expiringJson(["--within", "1d", "--environment", "production"], 12.5);
    expect(report).toMatchObject({ environment: "production", expiring: [{ certificate: "api", expired: true, lifetimeLeftPercent: 0 }] });
    expect(report.expiring[0].secondsLeft).toBeLessThan(0);
    const text = await expiring(["--within", "30d"], 12.5);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^2 deployed versions expire within 30d:\nCERTIFICATE +ENVIRONMENT +VERSION +NOT AFTER +LEFT\n/);
    expect(text.stdout).toMatch(/\napi +production +v1 +\S+ +expired 2 days ago\n/);
    expect(text.stdout, text.stdout).toMatch(/\nweb +production +v1 +\S+ +27 days \(68\.\d% of its lifetime\)\n/);
  });

  it("exits 2, never 1, when it cannot tell: a window it cannot read, or none", async () => {
    const bad = await expiring(["--within", "30x"], 0);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("[EXPIRY_WINDOW_INVALID] field '--within': --within '30x': it is neither a duration nor a share of the lifetime. Fix: give a duration such as 30d");
    const missing = await expiring([], 0);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("expiring needs --within");
  });
});
