/**
 * `http` targets in `certstage:environments`: what a definition may say, what each refusal names,
 * the presets' settings, and that a parsed definition parses again to itself (a standby task
 * keeps the parsed copy and reads it back), holding no secret, only where to find one.
 */
import { describe, expect, it } from "vitest";
import { environmentDefinitionsFrom } from "../../../provider/settings/environments";
import { httpRequestsOf } from "../../../provider/settings/http-presets";
import type { HttpTargetDefinition } from "../../../provider/settings/http-target";

const parse = (target: unknown) => environmentDefinitionsFrom([{ name: "production", target }], "…", "/project")[0].target as HttpTargetDefinition;
const refusal = (target: unknown) => {
  try {
    parse(target);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("accepted");
};

const generic = {
  type: "http",
  params: { zone: "eu-1" },
  deploy: { method: "PUT", url: "https://certs.example.com/zones/{zone}/certificates/{certificate}", headers: { Accept: "application/json" }, body: { type: "json", pem: { cert: "fullchain", key: "privateKey" }, fields: { label: "{certificate} v{version}" } } },
  undeploy: { method: "DELETE", url: "https://certs.example.com/zones/{zone}/certificates/{certificate}" },
  live: { url: "https://certs.example.com/zones/{zone}/certificates/{certificate}", path: "data.cert" },
  auth: { tokenFrom: ["certstage:certsToken", "env:CERTS_TOKEN"] },
  timeoutMs: 5000,
  attempts: 3,
  caFile: "ca/internal.pem",
};

describe("http target definitions", () => {
  it("a generic definition is kept as written, caFile made absolute, and parses again to itself", () => {
    const parsed = parse(generic);
    expect(parsed).toEqual({ ...generic, caFile: "/project/ca/internal.pem" });
    expect(parse(parsed)).toEqual(parsed);
    expect(parse({ ...generic, auth: { tokenFrom: "env:CERTS_TOKEN" } }).auth).toEqual({ tokenFrom: ["env:CERTS_TOKEN"] });
  });

  it.each([
    [{ ...generic, deploy: undefined }, "an http target needs deploy"],
    [{ ...generic, retries: 3 }, `"retries" is not a setting of an http target`],
    [{ ...generic, deploy: { ...generic.deploy, url: "http://certs.example.com/{certificate}" } }, "target.deploy.url is plain http to certs.example.com; tokens and private keys travel only over https"],
    [{ ...generic, deploy: { ...generic.deploy, url: "https://certs.example.com/{cert}" } }, `target.deploy.url uses "{cert}", which is none of {certificate}, {environment}, {version}, {zone}`],
    [{ ...generic, deploy: { ...generic.deploy, url: "https://user:pw@certs.example.com/" } }, "target.deploy.url holds a user name or password"],
    [{ ...generic, deploy: { ...generic.deploy, headers: { Authorization: "Bearer abc" } } }, "target.deploy.headers: Authorization cannot be written in the definition; give auth.tokenFrom"],
    [{ ...generic, deploy: { ...generic.deploy, method: "GET" } }, "a GET request has no body"],
    [{ ...generic, deploy: { ...generic.deploy, body: { type: "json", pem: { cert: "key" } } } }, "target.deploy.body.pem must map field names to one of certificate, chain, fullchain, privateKey"],
    [{ ...generic, deploy: { ...generic.deploy, body: { type: "xml" } } }, "target.deploy.body.type must be json or multipart"],
    [{ ...generic, deploy: { ...generic.deploy, body: { type: "multipart", pem: { f: "certificate" }, base: { url: "https://x.example/" } } } }, "target.deploy.body.base is a json body's"],
    [{ ...generic, auth: { token: "abc" } }, `auth must be {"tokenFrom": "certstage:apiToken"}`],
    [{ ...generic, auth: { tokenFrom: "abc123" } }, `auth must be {"tokenFrom": "certstage:apiToken"}`],
    [{ ...generic, attempts: 0 }, "target.attempts must be a whole number from 1 to 10"],
    [{ ...generic, timeoutMs: 50 }, "target.timeoutMs must be a whole number of milliseconds from 100 to 600000"],
    [{ ...generic, params: { version: "x" } }, `target.params: "version" cannot be a placeholder name`],
    [{ type: "http", preset: "gcore", params: { baseUrl: "https://api.example.com/ddos" } }, "the gcore API takes a bearer token: set target.auth"],
    [{ type: "http", preset: "gcore", auth: { tokenFrom: "env:T" }, params: { baseUrl: "https://api.example.com/ddos" } }, "the gcore preset needs target.params.resourceId"],
    [{ type: "http", preset: "gcore", auth: { tokenFrom: "env:T" }, params: { baseUrl: "https://api.example.com", resourceId: "1" }, deploy: generic.deploy }, "the gcore preset defines deploy itself"],
    [{ type: "http", preset: "akamai", auth: { tokenFrom: "env:T" } }, "target.preset must be one of gcore, apinizer"],
    [{ type: "http", preset: "apinizer", auth: { tokenFrom: "env:T" }, params: { baseUrl: "https://apinizer.example", project: "P", updateReferencedJwks: true } }, "target.params.updateReferencedJwks needs updateScope (SAME_PROJECT or ALL_PROJECTS), as Apinizer requires"],
    [{ type: "http", preset: "apinizer", auth: { tokenFrom: "env:T" }, params: { baseUrl: "https://apinizer.example", project: "P", updateScope: "SAME_PROJECT" } }, `target.params.updateScope only applies with "updateReferencedJwks": true`],
    [{ type: "http", preset: "apinizer", auth: { tokenFrom: "env:T" }, params: { baseUrl: "https://apinizer.example", project: "P", updateReferencedJwks: true, updateScope: "EVERYWHERE" } }, "target.params.updateScope must be SAME_PROJECT or ALL_PROJECTS"],
    [{ type: "http", preset: "apinizer", auth: { tokenFrom: "env:T" }, params: { baseUrl: "http://apinizer.example", project: "P" } }, "target.params.baseUrl is plain http to apinizer.example"],
  ])("refuses %j", (target, expected) => {
    const message = refusal(target);
    expect(message).toMatch(/^\[CONFIG_INVALID\] field 'certstage:environments': environment 'production': /);
    expect(message).toContain(expected);
  });

  it("gcore: GET the resource, PUT it back with service_ssl_crt and service_ssl_key, and read it for drift", () => {
    const requests = httpRequestsOf(parse({ type: "http", preset: "gcore", auth: { tokenFrom: "certstage:gcoreToken" }, params: { baseUrl: "https://api.example.com/ddos/", resourceId: "4711" } }));
    expect(requests.deploy).toEqual({
      method: "PUT",
      url: "https://api.example.com/ddos/resources/{resourceId}",
      headers: { "Content-Type": "application/json" },
      body: { type: "json", base: { url: "https://api.example.com/ddos/resources/{resourceId}", path: "resource" }, pem: { service_ssl_crt: "fullchain", service_ssl_key: "privateKey" } },
    });
    expect(requests.live).toEqual({ url: "https://api.example.com/ddos/resources/{resourceId}", path: "resource.service_ssl_crt", headers: { "Content-Type": "application/json" } });
    expect(requests.undeploy).toBeUndefined();
  });

  it("apinizer: the multipart PUT with every form field, and the JWK query when asked", () => {
    const plain = httpRequestsOf(parse({ type: "http", preset: "apinizer", auth: { tokenFrom: "env:APINIZER_TOKEN" }, params: { baseUrl: "https://demo.apinizer.com", project: "MyProject" } }));
    expect(plain.deploy).toEqual({
      method: "PUT",
      url: "https://demo.apinizer.com/apiops/projects/{project}/certificates/{certificate}/",
      body: { type: "multipart", fields: { alias: "{certificate}", certificateDescription: "certstage: {certificate} version {version}", environmentList: "{environment}" }, pem: { pemEncodedFile: "certificate" } },
    });
    const jwks = httpRequestsOf(parse({ type: "http", preset: "apinizer", auth: { tokenFrom: "env:T" }, params: { baseUrl: "https://demo.apinizer.com", project: "MyProject", name: "my-certificate", alias: "a", description: "d", environmentList: ["production", "staging"], updateReferencedJwks: true, updateScope: "SAME_PROJECT" } }));
    expect(jwks.deploy.url).toBe("https://demo.apinizer.com/apiops/projects/{project}/certificates/{name}/?updateReferencedJwks=true&updateScope={updateScope}");
    expect(jwks.deploy.body?.fields).toEqual({ alias: "{alias}", certificateDescription: "{description}", environmentList: "{environmentList}" });
    expect(jwks.params).toMatchObject({ environmentList: "production,staging", updateReferencedJwks: "true", updateScope: "SAME_PROJECT" });
  });
});
