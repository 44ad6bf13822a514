/**
 * The http target against local stand-ins of the APIs the seeds document (Gcore's resource API,
 * Apinizer's management API), listening on 127.0.0.1: every request is checked as the seed gives
 * it, and the APIs answer with their documented responses, with errors (401, 404, 409, 500, 429
 * with Retry-After) and with a hang. On every failure: a clear TARGET_HTTP_FAILED, the previous
 * version still linked in the store, the failed deploy in history, and no token or key in any of
 * it. Retries wait through an injected clock, so nothing here sleeps.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { environmentDefinitionsFrom } from "../../provider/settings/environments";
import type { HttpTargetDefinition } from "../../provider/settings/http-target";
import type { Store } from "../../provider/store";
import { httpTarget } from "../../provider/targets/http";
import type { RetryWait } from "../../provider/targets/http-request";
import { ApinizerEmulator, GcoreEmulator } from "../support/certificate-apis";
import { makeTestCertificate, openssl, storeWithVersions, temporaryDirectory, TestCertificate } from "../support/certificates";
import { expectNoPrivateKeyMaterial } from "../support/secrets";

const actor = { principal: "http-tester" };
const TOKEN = "gc_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
let store: Store;
let leaves: TestCertificate[];
let gcore: GcoreEmulator;
let apinizer: ApinizerEmulator;

/** Records the waits between retries instead of sleeping. */
function recordingWait(): RetryWait & { delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (milliseconds) => void delays.push(milliseconds) };
}

function definition(target: unknown): HttpTargetDefinition {
  return environmentDefinitionsFrom([{ name: "production", target }], "…", "/")[0].target as HttpTargetDefinition;
}

const gcoreTarget = (extra: Record<string, unknown> = {}) =>
  definition({ type: "http", preset: "gcore", params: { baseUrl: `${gcore.url}/ddos`, resourceId: "4711" }, auth: { tokenFrom: ["certstage:gcoreToken", "env:GCORE_TOKEN"] }, ...extra });
const apinizerTarget = (params: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  definition({ type: "http", preset: "apinizer", params: { baseUrl: apinizer.url, project: "MyProject", name: "my-certificate", ...params }, auth: { tokenFrom: "env:APINIZER_TOKEN" }, ...extra });

const config = (key: string) => (key === "certstage:gcoreToken" ? TOKEN : undefined);
const context = (environment = "production") => ({ store, certificate: "api", environment, actor });

/** Everything a failure shows: the error, and every history line of the environment. */
async function shownText(error: unknown, environment = "production"): Promise<string> {
  return `${(error as Error).message}\n${JSON.stringify(await store.readHistory({ environment }))}`;
}

async function expectNoSecrets(text: string): Promise<void> {
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(TOKEN.slice(3, 20));
  expectNoPrivateKeyMaterial(text, leaves.map((leaf) => leaf.privateKeyPem), "the error and history");
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("the deploy succeeded");
}

beforeAll(async () => {
  const pki = temporaryDirectory("http-target-pki");
  leaves = [makeTestCertificate(pki), makeTestCertificate(pki), makeTestCertificate(pki)];
  store = await storeWithVersions(temporaryDirectory("http-target-store"), leaves, actor);
  gcore = await new GcoreEmulator(TOKEN, "/ddos", "4711").start();
  apinizer = await new ApinizerEmulator(TOKEN, "MyProject", ["my-certificate"]).start();
});
afterAll(async () => {
  await gcore?.stop();
  await apinizer?.stop();
});
afterEach(() => {
  expect(gcore.violations).toEqual([]);
  expect(apinizer.violations).toEqual([]);
  gcore.requests.length = 0;
  apinizer.requests.length = 0;
  gcore.failures.length = 0;
  apinizer.failures.length = 0;
});

describe("the gcore preset (seed 004)", () => {
  it("GETs the resource and PUTs it back with service_ssl_crt and service_ssl_key, with the bearer token", async () => {
    const target = httpTarget(gcoreTarget(), { secrets: { config, env: {} } });
    await target.deploy(context(), 1);
    expect(gcore.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["GET /ddos/resources/4711", "PUT /ddos/resources/4711"]);
    expect(gcore.requests.every((request) => request.headers.authorization === `Bearer ${TOKEN}` && request.headers["content-type"] === "application/json")).toBe(true);
    expect(gcore.resource.service_ssl_crt).toBe(leaves[0].certificatePem + leaves[0].chainPem);
    expect(createPrivateKey(gcore.resource.service_ssl_key as string).export({ format: "jwk" })).toEqual(createPrivateKey(leaves[0].privateKeyPem).export({ format: "jwk" }));
    expect(gcore.resource).toMatchObject({ id: 4711, name: "api.example.test", origins: [{ host: "10.0.0.5", port: 443 }], waf: { enabled: true } });
    expect((await store.getDeployment("api", "production"))?.version).toBe(1);
  });

  it("live reads the served certificate back and names its version, or says it is none", async () => {
    const target = httpTarget(gcoreTarget(), { secrets: { config, env: {} } });
    await target.deploy(context(), 2);
    expect(await target.live!(context())).toEqual({ version: 2, description: "the API serves version 2" });
    const stranger = makeTestCertificate(temporaryDirectory("http-stranger-pki"));
    gcore.resource = { ...gcore.resource, service_ssl_crt: stranger.certificatePem };
    const seen = await target.live!(context());
    expect(seen.version).toBeUndefined();
    expect(seen.description).toBe(`the API serves a certificate that is no version of 'api' (sha256 ${new X509Certificate(stranger.certificatePem).fingerprint256.slice(0, 23)}…)`);
    gcore.resource = { ...gcore.resource, service_ssl_crt: "" };
    expect(await target.live!(context())).toEqual({ description: "the API serves no certificate at resource.service_ssl_crt" });
    await target.deploy(context(), 2);
  });

  it("a 500, then success: the PUT is retried after the backoff and the deploy succeeds", async () => {
    const wait = recordingWait();
    const target = httpTarget(gcoreTarget(), { secrets: { config, env: {} }, wait });
    // The GET answers normally; the first PUT gets a 500, the second a 429 asking for 2 s.
    gcore.failures.push({ method: "PUT", status: 500, body: { error: "Internal Server Error" } }, { method: "PUT", status: 429, body: { error: "Too Many Requests" }, headers: { "Retry-After": "2" } });
    await target.deploy(context(), 3);
    expect(gcore.requests.map((request) => request.method)).toEqual(["GET", "PUT", "PUT", "PUT"]);
    expect(wait.delays).toEqual([500, 2000]);
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
    expect(gcore.resource.service_ssl_crt).toBe(leaves[2].certificatePem + leaves[2].chainPem);
  });

  it("a 401 is not retried: the deploy fails clearly, version 3 stays linked, history records it, no token or key shown", async () => {
    const wait = recordingWait();
    const target = httpTarget(gcoreTarget(), { secrets: { config: () => "wrong-token-000000000000", env: {} }, wait });
    const error = await failure(target.deploy(context(), 1));
    expect(error.message).toBe(
      `[TARGET_HTTP_FAILED] resource 'api', field 'certstage:environments': production: GET ${gcore.url}/ddos/resources/4711 answered HTTP 401: {"error":"Unauthorized"}; version 3 was put back. Fix: check the token that target.auth.tokenFrom names (and that it may change this resource), then run again`,
    );
    expect(wait.delays).toEqual([]);
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
    const history = await store.readHistory({ environment: "production" });
    expect(history.at(-1)).toMatchObject({ action: "deploy", fromVersion: 3, toVersion: 1, result: "failed", detail: expect.stringContaining("answered HTTP 401") });
    expect(history.at(-1)!.detail).toMatch(/; version 3 was put back$/);
    await expectNoSecrets(await shownText(error));
  });

  it("an answer that echoes the token and the key is redacted before it is shown", async () => {
    const target = httpTarget(gcoreTarget(), { secrets: { config, env: {} }, wait: recordingWait() });
    // The GET is answered normally; the PUT's answer quotes what it was sent.
    gcore.failures.push({ method: "PUT", status: 409, body: { error: `conflict: Bearer ${TOKEN}`, sent: { service_ssl_key: leaves[1].privateKeyPem } } });
    const error = await failure(target.deploy(context(), 2));
    expect(error.message).toMatch(/^\[TARGET_HTTP_FAILED\] resource 'api', field 'certstage:environments': production: PUT http:\/\/127\.0\.0\.1:\d+\/ddos\/resources\/4711 answered HTTP 409: \{"error":"conflict: Bearer \*\*\*","sent":\{"service_ssl_key":"\[private key\]\\n"\}\}; version 3 was put back\. Fix: another change of this resource is in progress/);
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
    await expectNoSecrets(await shownText(error));
  });

  it("500 on every attempt: bounded attempts, then a failure saying how many", async () => {
    const wait = recordingWait();
    const target = httpTarget(gcoreTarget({ attempts: 3 }), { secrets: { config, env: {} }, wait });
    gcore.failures.push(...Array.from({ length: 3 }, () => ({ status: 500, body: { error: "Internal Server Error" } })));
    const error = await failure(target.deploy(context(), 1));
    expect(error.message).toContain(`production: GET ${gcore.url}/ddos/resources/4711 answered HTTP 500 after 3 attempts: {"error":"Internal Server Error"}; version 3 was put back. Fix: the API kept failing after bounded retries; run again later`);
    expect(wait.delays).toEqual([500, 1000]);
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
  });

  it("a hang: each attempt times out, and the deploy fails naming the timeout", async () => {
    const wait = recordingWait();
    const target = httpTarget(gcoreTarget({ attempts: 2, timeoutMs: 300 }), { secrets: { config, env: {} }, wait });
    gcore.failures.push({ hang: true }, { hang: true });
    const error = await failure(target.deploy(context(), 1));
    expect(error.message).toBe(
      `[TARGET_HTTP_FAILED] resource 'api', field 'certstage:environments': production: GET ${gcore.url}/ddos/resources/4711 failed after 2 attempts: no answer within 300 ms; version 3 was put back. Fix: check that the API is up and answers within target.timeoutMs, then run again (a deploy is sent whole again, which the API takes as the same change)`,
    );
    expect(wait.delays).toEqual([500]);
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
    expect((await store.readHistory({ environment: "production" })).at(-1)).toMatchObject({ result: "failed", toVersion: 1 });
  });

  it("no token anywhere: nothing is sent and nothing changes", async () => {
    const target = httpTarget(gcoreTarget(), { secrets: { env: {} } });
    const before = (await store.readHistory({ environment: "production" })).length;
    await expect(target.deploy(context(), 1)).rejects.toThrow(
      "[TARGET_CREDENTIAL_MISSING] field 'certstage:environments': the http target of production found no token in certstage:gcoreToken, env:GCORE_TOKEN (certstage tasks run has no stack configuration: name an env: source too); nothing was changed. Fix: set it: pulumi config set --secret certstage:gcoreToken <token>, or export GCORE_TOKEN where certstage runs",
    );
    expect(gcore.requests).toEqual([]);
    expect((await store.getDeployment("api", "production"))?.version).toBe(3);
    expect((await store.readHistory({ environment: "production" })).length).toBe(before);
    // The environment variable is the runner's source.
    await httpTarget(gcoreTarget(), { secrets: { env: { GCORE_TOKEN: TOKEN } } }).deploy(context(), 3);
  });

  it("over HTTPS, the API's private CA is trusted through caFile, and refused without it", async () => {
    const pki = temporaryDirectory("http-api-tls");
    const key = path.join(pki, "api.key");
    const cert = path.join(pki, "api.pem");
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=certificate api", "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1"]);
    const secure = await new GcoreEmulator(TOKEN, "/ddos", "4711", { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") }).start();
    try {
      const over = (extra: Record<string, unknown>) => definition({ type: "http", preset: "gcore", params: { baseUrl: `${secure.url}/ddos`, resourceId: "4711" }, auth: { tokenFrom: "env:GCORE_TOKEN" }, attempts: 1, ...extra });
      const secrets = { env: { GCORE_TOKEN: TOKEN } };
      const error = await failure(httpTarget(over({}), { secrets }).deploy(context("edge"), 1));
      expect(error.message).toMatch(/^\[TARGET_HTTP_FAILED\] resource 'api', field 'certstage:environments': edge: GET https:\/\/127\.0\.0\.1:\d+\/ddos\/resources\/4711 failed: the API's TLS certificate was not trusted \([A-Z_]+\); give caFile for a private CA; nothing was deployed before, so it was undeployed again\./);
      expect(await store.getDeployment("api", "edge")).toBeUndefined();
      await httpTarget(over({ caFile: cert }), { secrets }).deploy(context("edge"), 1);
      expect(secure.resource.service_ssl_crt).toBe(leaves[0].certificatePem + leaves[0].chainPem);
      expect((await store.getDeployment("api", "edge"))?.version).toBe(1);
      expect(secure.violations).toEqual([]);
    } finally {
      await secure.stop();
    }
  });
});

describe("the apinizer preset (seed 002)", () => {
  const environment = "production";

  it("PUTs the certificate as multipart with every form field, and no key", async () => {
    const target = httpTarget(apinizerTarget({ environmentList: ["production", "staging"] }), { secrets: { env: { APINIZER_TOKEN: TOKEN } } });
    await target.deploy(context(), 1);
    expect(apinizer.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["PUT /apiops/projects/MyProject/certificates/my-certificate/"]);
    expect(apinizer.requests[0].query).toEqual({});
    expect(apinizer.requests[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(apinizer.certificates.get("my-certificate")).toEqual({ alias: "api", certificateDescription: "certstage: api version 1", environmentList: "production,staging", pem: leaves[0].certificatePem, filename: "api-certificate.pem", query: {} });
    expect((await store.getDeployment("api", environment))?.version).toBe(1);
  });

  it("with updateReferencedJwks, the query asks for the JWKs to follow in the scope given", async () => {
    const target = httpTarget(apinizerTarget({ updateReferencedJwks: true, updateScope: "SAME_PROJECT", alias: "updated-cert-alias", description: "Updated SSL certificate" }), { secrets: { env: { APINIZER_TOKEN: TOKEN } } });
    await target.deploy(context(), 2);
    expect(apinizer.requests[0].query).toEqual({ updateReferencedJwks: "true", updateScope: "SAME_PROJECT" });
    expect(apinizer.certificates.get("my-certificate")).toMatchObject({ alias: "updated-cert-alias", certificateDescription: "Updated SSL certificate", environmentList: "production", pem: leaves[1].certificatePem });
  });

  it("a certificate Apinizer does not have is a 404: not retried, version 2 stays, history records it", async () => {
    const wait = recordingWait();
    const target = httpTarget(apinizerTarget({ name: "missing-certificate" }), { secrets: { env: { APINIZER_TOKEN: TOKEN } }, wait });
    const error = await failure(target.deploy(context(), 3));
    expect(error.message).toBe(
      `[TARGET_HTTP_FAILED] resource 'api', field 'certstage:environments': production: PUT ${apinizer.url}/apiops/projects/MyProject/certificates/missing-certificate/ answered HTTP 404: {"error":"Not found","message":"Certificate missing-certificate not found in project MyProject"}; version 2 was put back. Fix: check the URL and its params: the API has no such resource (Apinizer updates a certificate that exists: create it there first)`,
    );
    expect(wait.delays).toEqual([]);
    expect((await store.getDeployment("api", environment))?.version).toBe(2);
    expect((await store.readHistory({ environment })).at(-1)).toMatchObject({ action: "deploy", fromVersion: 2, toVersion: 3, result: "failed" });
    await expectNoSecrets(await shownText(error));
  });

  it("a 500 then success: the same multipart body is sent again", async () => {
    const wait = recordingWait();
    const target = httpTarget(apinizerTarget(), { secrets: { env: { APINIZER_TOKEN: TOKEN } }, wait });
    apinizer.failures.push({ status: 500, body: { error: "Internal Server Error" } });
    await target.deploy(context(), 3);
    expect(apinizer.requests.length).toBe(2);
    expect(apinizer.requests[1].body).toBe(apinizer.requests[0].body);
    expect(wait.delays).toEqual([500]);
    expect(apinizer.certificates.get("my-certificate")?.pem).toBe(leaves[2].certificatePem);
  });

  it("undeploy without an undeploy request only unlinks the store, and needs no token", async () => {
    await httpTarget(apinizerTarget(), { secrets: { env: {} } }).undeploy(context());
    expect(await store.getDeployment("api", environment)).toBeUndefined();
    expect(apinizer.requests).toEqual([]);
  });
});

describe("a generic definition", () => {
  it("a JSON body with the PEMs in named fields, headers and params, and an undeploy request", async () => {
    const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
    const { createServer } = await import("node:http");
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        seen.push({ method: request.method!, url: request.url!, headers: request.headers, body });
        response.writeHead(request.method === "DELETE" ? 204 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const target = httpTarget(
        definition({
          type: "http",
          params: { zone: "eu west" },
          deploy: { method: "POST", url: `${base}/zones/{zone}/certificates/{certificate}?env={environment}`, headers: { Accept: "application/json" }, body: { type: "json", pem: { cert: "certificate", chain: "chain", key: "privateKey" }, fields: { label: "{certificate} v{version}" } } },
          undeploy: { method: "DELETE", url: `${base}/zones/{zone}/certificates/{certificate}?env={environment}` },
          auth: { tokenFrom: "env:API_KEY", header: "X-API-Key" },
        }),
        { secrets: { env: { API_KEY: TOKEN } } },
      );
      await target.deploy(context("qa"), 2);
      await target.undeploy(context("qa"));
      expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(["POST /zones/eu%20west/certificates/api?env=qa", "DELETE /zones/eu%20west/certificates/api?env=qa"]);
      expect(seen[0].headers).toMatchObject({ "x-api-key": TOKEN, accept: "application/json", "content-type": "application/json" });
      expect(seen[0].headers.authorization).toBeUndefined();
      const sent = JSON.parse(seen[0].body);
      expect(Object.keys(sent)).toEqual(["label", "cert", "chain", "key"]);
      expect(sent).toMatchObject({ label: "api v2", cert: leaves[1].certificatePem, chain: leaves[1].chainPem });
      expect(sent.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(seen[1].body).toBe("");
      expect(await store.getDeployment("api", "qa")).toBeUndefined();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
