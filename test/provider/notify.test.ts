/**
 * `certstage notify` as the nightly rotation runs it: the built command against a file store and a
 * chat webhook on 127.0.0.1 (test/support/webhook-server.ts), with CERTSTAGE_NOW moving the clock.
 * One message per band and version, nothing sent twice, a 500 retried, a webhook that is down
 * failing the run with exit 1 and the next run delivering, failures of tasks announced; the
 * webhook's secret path and the private keys appear nowhere.
 */
import Ajv from "ajv";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseWebhook, postWebhookMessage } from "../../provider/cli/webhook";
import { isCertstageError } from "../../provider/errors";
import { inspectUpload } from "../../provider/pki/version-material";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { startWebhookServer, type WebhookServer } from "../support/webhook-server";

const DAY = 86_400_000;
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const actor = { principal: "alice" };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let storeRoot: string;
let issuedAt: number;
let keys: string[];
let webhook: WebhookServer;
/** Everything every run printed, for the "never printed" checks. */
let printed: string[];

function notify(args: string[], options: { daysLater?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, CERTSTAGE_STORE: storeRoot, CERTSTAGE_PRINCIPAL: "ci", ...options.env };
  delete env.CERTSTAGE_NOTIFY_WEBHOOK;
  if (options.env?.CERTSTAGE_NOTIFY_WEBHOOK) env.CERTSTAGE_NOTIFY_WEBHOOK = options.env.CERTSTAGE_NOTIFY_WEBHOOK;
  if (options.daysLater !== undefined) env.CERTSTAGE_NOW = new Date(issuedAt + options.daysLater * DAY).toISOString();
  else delete env.CERTSTAGE_NOW;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "notify", ...args], { env }, (error, stdout, stderr) => {
      printed.push(stdout, stderr);
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const validate = new Ajv({ strict: true, allErrors: true, formats: { "date-time": (text: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text) } }).compile(
  JSON.parse(readFileSync(path.join(REPO_ROOT, "schema", "notify-report.schema.json"), "utf8")) as object,
);

const noticed = (server: WebhookServer = webhook) => server.messages.map((message) => `${message.certificate} ${message.environment} v${message.version} ${message.band ?? message.kind}`).sort();

beforeEach(async () => {
  printed = [];
  storeRoot = temporaryDirectory("notify");
  const store = createFileStore({ root: storeRoot });
  const pki = temporaryDirectory("notify-pki");
  issuedAt = Date.now();
  keys = [];
  const upload = async (certificate: string, dnsName: string, days: number) => {
    const made = makeTestCertificate(pki, dnsName, days);
    keys.push(made.privateKeyPem);
    const material = inspectUpload(made);
    if (!material.ok) throw new Error("bad test certificate");
    return store.createVersion(certificate, "upload", material.value, actor);
  };
  for (const name of ["api", "web"]) await store.createCertificate({ name, displayName: name, type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
  await upload("api", "api.example.test", 30); // v1
  await upload("web", "web.example.test", 365); // v1
  await store.deploy("api", "production", 1, actor);
  await store.deploy("api", "staging", 1, actor);
  await store.deploy("web", "production", 1, actor);
  await store.close();
  webhook = await startWebhookServer();
});

afterEach(async () => {
  await webhook.stop();
  const all = [...printed, JSON.stringify(webhook.messages), existsSync(path.join(storeRoot, "notifications.json")) ? readFileSync(path.join(storeRoot, "notifications.json"), "utf8") : ""].join("\n");
  // The secret path, and its token on its own, appear in nothing certstage printed or wrote.
  expect(all).not.toContain(webhook.secretPath);
  expect(all).not.toContain("xoxb-not-a-real-token");
  expectNoPrivateKeyMaterial(all, keys, "certstage notify's output, messages and records");
});

describe("certstage notify", () => {
  it("sends one message per band and version, with the fields a chat and a script need, and nothing again on the next run", async () => {
    // Half a day off a whole day: X.509 keeps whole seconds, so 25 days on would sit on the edge of "5 days left".
    const first = await notify(["--webhook", webhook.url], { daysLater: 25.5 });
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(noticed()).toEqual(["api production v1 7d", "api staging v1 7d"]);
    const origin = new URL(webhook.url).origin;
    expect(first.stdout).toContain(`Posted 2 of 2 notices to ${origin}.`);
    for (const message of webhook.messages) {
      expect(message).toMatchObject({ kind: "expiry", certificate: "api", version: 1, band: "7d", daysLeft: 4, expired: false, key: `expiry:api:${message.environment}:v1:7d`, source: "certstage" });
      expect(message.text).toEqual(expect.stringContaining("certificate api in"));
      expect(message.text).toMatch(/expires in 4 days, at \S+Z \(entered the 7d band\)/);
      expect(Date.parse(String(message.notAfter)) - issuedAt).toBeGreaterThan(29 * DAY);
    }
    expect(webhook.requests.every((request) => request.contentType === "application/json")).toBe(true);

    const again = await notify(["--webhook", webhook.url], { daysLater: 26 });
    expect(again).toEqual({ code: 0, stdout: "Nothing to notify: no deployed version entered a band (30d, 14d, 7d, 1d) and no failure is new.\n", stderr: "" });
    expect(webhook.messages).toHaveLength(2);

    // Four and a half days on: one day left, the next band, once each.
    expect((await notify(["--webhook", webhook.url], { daysLater: 29.5 })).code).toBe(0);
    expect(noticed()).toEqual(["api production v1 1d", "api production v1 7d", "api staging v1 1d", "api staging v1 7d"]);
  });

  it("takes the webhook from CERTSTAGE_NOTIFY_WEBHOOK, the flag winning; --environment and --bands narrow and change the bands", async () => {
    const other = await startWebhookServer("/hooks/other-secret-path");
    try {
      expect((await notify(["--environment", "staging"], { daysLater: 25, env: { CERTSTAGE_NOTIFY_WEBHOOK: webhook.url } })).code).toBe(0);
      expect(noticed()).toEqual(["api staging v1 7d"]);
      // 10 % of web's 365 days is 36.5 days: 300 days on, web is inside it; 50 % of api's 30 days too (25 days on).
      expect((await notify(["--webhook", webhook.url, "--bands", "50%,10%", "--environment", "production"], { daysLater: 25, env: { CERTSTAGE_NOTIFY_WEBHOOK: other.url } })).code).toBe(0);
      expect(other.messages).toEqual([]);
      expect(noticed()).toEqual(["api production v1 50%", "api staging v1 7d"]);
    } finally {
      await other.stop();
      expect(printed.join("\n")).not.toContain("other-secret-path");
    }
  });

  it("retries a 500 and delivers, each notice once", async () => {
    webhook.answers = [500, 503];
    const run = await notify(["--webhook", webhook.url, "--json"], { daysLater: 25 });
    expect(run.code).toBe(0);
    expect(webhook.requests.map((request) => request.status)).toEqual([500, 503, 200, 200]);
    expect(noticed()).toEqual(["api production v1 7d", "api staging v1 7d"]);
    const report = JSON.parse(run.stdout);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report).toMatchObject({ schemaVersion: 1, webhook: new URL(webhook.url).origin, bands: ["30d", "14d", "7d", "1d"] });
    expect(report.notices.map((notice: { outcome: string }) => notice.outcome)).toEqual(["sent", "sent"]);
  });

  it("a webhook that is down fails the run with exit 1 and a clear error naming only its scheme and host; the next run delivers", async () => {
    const downUrl = webhook.url;
    await webhook.stop();
    const down = await notify(["--webhook", downUrl], { daysLater: 25 });
    expect(down.code).toBe(1);
    const origin = new URL(downUrl).origin;
    expect(down.stdout).toContain(`[NOTIFY_SEND_FAILED] field '--webhook': posting to the webhook at ${origin} failed after 3 attempts: the connection was refused (ECONNREFUSED)`);
    expect(down.stdout).toContain("2 not delivered; the next run of certstage notify sends them.");
    const failedJson = await notify(["--webhook", downUrl, "--json"], { daysLater: 25 });
    expect(failedJson.code).toBe(1);
    const report = JSON.parse(failedJson.stdout);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.notices.map((notice: { outcome: string }) => notice.outcome)).toEqual(["failed", "not-attempted"]);

    webhook = await startWebhookServer();
    const next = await notify(["--webhook", webhook.url], { daysLater: 25.1 });
    expect(next.code).toBe(0);
    expect(noticed()).toEqual(["api production v1 7d", "api staging v1 7d"]);
  });

  it("a 404 is not retried: the URL is wrong, exit 1 at once", async () => {
    const wrong = webhook.url.replace("xoxb-not-a-real-token-123456", "xoxb-not-a-real-token-999999");
    const run = await notify(["--webhook", wrong], { daysLater: 25 });
    expect(run.code).toBe(1);
    expect(webhook.requests.map((request) => request.status)).toEqual([404]);
    expect(run.stdout).toContain("failed after 1 attempt: it answered HTTP 404");
    expect(run.stdout).not.toContain("999999");
  });

  it("announces a failed standby task once, naming the certificate", async () => {
    const store = createFileStore({ root: storeRoot });
    const task = await store.queueTask({ certificate: "web", environment: "production", version: 1, environments: [] }, actor);
    await store.claimTask(task.id, actor);
    await store.finishTask(task.id, { state: "failed", detail: "verification saw another certificate" }, actor);
    await store.close();
    // Now: the 30-day api certificate is inside its 30d band too; the failure comes first.
    const run = await notify(["--webhook", webhook.url, "--json"]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.notices.map((notice: { message: unknown }) => notice.message)).toEqual(webhook.messages);
    expect(noticed()).toEqual(["api production v1 30d", "api staging v1 30d", "web production v1 failure"]);
    expect(webhook.messages[0]).toMatchObject({ kind: "failure", action: "task.run", certificate: "web", environment: "production", version: 1 });
    expect(webhook.messages[0].text).toMatch(/^certstage: A standby deployment task failed for certificate web in production \(version 1\) at \S+: task \S+: verification saw another certificate\./);
    expect((await notify(["--webhook", webhook.url])).code).toBe(0);
    expect(webhook.messages).toHaveLength(3);
  });

  it("exits 2 on what it cannot run with, printing no secret of the URL and sending nothing", async () => {
    const missing = await notify([], { daysLater: 25 });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("[NOTIFY_WEBHOOK_MISSING]");
    const plain = await notify(["--webhook", "http://hooks.example.test/services/T1/B2/plain-secret-token"], { daysLater: 25 });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("[NOTIFY_WEBHOOK_INVALID] field '--webhook': --webhook is plain HTTP to http://hooks.example.test; the webhook's path is a secret and must travel over HTTPS");
    const garbled = await notify(["--webhook", "hooks.example.test/services/garbled-secret-token"], { daysLater: 25 });
    expect(garbled.stderr).toContain("[NOTIFY_WEBHOOK_INVALID] field '--webhook': --webhook is not a URL");
    const envGarbled = await notify([], { daysLater: 25, env: { CERTSTAGE_NOTIFY_WEBHOOK: "ftp://hooks.example.test/env-secret-token" } });
    expect(envGarbled.stderr).toContain("field 'CERTSTAGE_NOTIFY_WEBHOOK': CERTSTAGE_NOTIFY_WEBHOOK is a ftp URL");
    const bands = await notify(["--webhook", webhook.url, "--bands", "30d,,7d"], { daysLater: 25 });
    expect(bands.code).toBe(2);
    expect(bands.stderr).toContain("[NOTIFY_BANDS_INVALID] field '--bands'");
    const unknown = await notify(["--webhook", webhook.url, "--whatever"], { daysLater: 25 });
    expect(unknown.code).toBe(2);
    for (const run of [plain, garbled, envGarbled, unknown]) expect(run.stderr).not.toMatch(/secret-token|xoxb/);
    expect(webhook.requests).toEqual([]);
  });
});

describe("posting to the webhook", () => {
  it("waits 0.25 s, then 1 s, between three attempts, names only the scheme and host, and refuses user info", async () => {
    webhook.answers = [503, 503, 503];
    const waits: number[] = [];
    let thrown: unknown;
    try {
      await postWebhookMessage(parseWebhook(webhook.url, "--webhook"), { text: "hello" }, { sleep: async (milliseconds) => void waits.push(milliseconds) });
    } catch (error) {
      thrown = error;
    }
    expect(waits).toEqual([250, 1000]);
    expect(isCertstageError(thrown, "NOTIFY_SEND_FAILED")).toBe(true);
    const message = (thrown as Error).message;
    printed.push(message);
    expect(message).toContain(`posting to the webhook at ${new URL(webhook.url).origin} failed after 3 attempts: it answered HTTP 503`);
    // A URL with a user name or password is refused before any request, without showing them.
    const withUser = webhook.url.replace("http://", "http://someone:hunter2@");
    let refused: unknown;
    try {
      parseWebhook(withUser, "--webhook");
    } catch (error) {
      refused = error;
    }
    expect(isCertstageError(refused, "NOTIFY_WEBHOOK_INVALID")).toBe(true);
    expect((refused as Error).message).toContain(`--webhook holds a user name or password (${new URL(webhook.url).origin})`);
    expect((refused as Error).message).not.toMatch(/hunter2|someone/);
    expect(webhook.requests).toHaveLength(3);
  });
});
