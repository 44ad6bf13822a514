/**
 * The `http` target's definition: a deployment is an HTTP request to a certificate platform's
 * API (and undeploy another), described in `certstage:environments`, or a preset that knows one
 * API (settings/http-presets.ts). Checked here, where every other target is, so a mistake fails
 * at preview with the member named, and nothing is sent.
 *
 * Credentials are never part of a definition, only where to find them (`auth.tokenFrom`): a
 * standby task keeps a copy of its environments on disk, and that copy must hold no secret.
 */
import * as path from "node:path";
import { quoted } from "../errors";
import { apiUrlProblem } from "./api-url";
import { HTTP_PRESETS, HttpPresetName, presetProblem } from "./http-presets";
import { isSecretSource } from "./secret-source";

/** What part of a version a body field carries. `privateKey` is always PKCS#8 (`BEGIN PRIVATE KEY`). */
export const PEM_PARTS = ["certificate", "chain", "fullchain", "privateKey"] as const;
export type PemPart = (typeof PEM_PARTS)[number];

export const HTTP_METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"] as const;

/** Placeholders every template may use, besides the target's `params`. */
export const BUILT_IN_PLACEHOLDERS = ["certificate", "environment", "version"] as const;

export interface HttpBodyDefinition {
  /** `json`: one JSON object; `multipart`: multipart/form-data, PEMs as files. */
  readonly type: "json" | "multipart";
  /** Field name -> the part of the version it carries. */
  readonly pem?: Readonly<Record<string, PemPart>>;
  /** Field name -> a text template (`{certificate}`, `{version}`, params). */
  readonly fields?: Readonly<Record<string, string>>;
  /**
   * json only, for APIs that take the whole resource back (read-modify-write): the body starts
   * from the JSON a GET of `url` answers (at `path`), and `pem` and `fields` are set into it.
   */
  readonly base?: { readonly url: string; readonly path?: string };
}

export interface HttpRequestDefinition {
  readonly method: (typeof HTTP_METHODS)[number];
  /** A URL template; placeholders are percent-encoded where they land. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: HttpBodyDefinition;
}

/** Drift: a GET whose JSON holds, at `path`, the certificate the platform serves (PEM). */
export interface HttpLiveDefinition {
  readonly url: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpAuthDefinition {
  /** Where the token is, tried in order: `certstage:<key>` (a stack config secret) or `env:<NAME>`. */
  readonly tokenFrom: readonly string[];
  /** Default `Authorization`. */
  readonly header?: string;
  /** Put before the token; default `Bearer` for the Authorization header, nothing for another. */
  readonly scheme?: string;
}

export interface HttpTargetDefinition {
  readonly type: "http";
  readonly preset?: HttpPresetName;
  /** Template values (generic), or the preset's settings. */
  readonly params?: Readonly<Record<string, string | boolean | readonly string[]>>;
  readonly deploy?: HttpRequestDefinition;
  /** Without it, undeploy only removes the store's link. */
  readonly undeploy?: HttpRequestDefinition;
  readonly live?: HttpLiveDefinition;
  readonly auth?: HttpAuthDefinition;
  /** One attempt of one request (default 30000). */
  readonly timeoutMs?: number;
  /** Attempts of a request that fails with 429, 5xx, a timeout or a dropped connection (default 4). */
  readonly attempts?: number;
  /** An extra CA (PEM file) trusted for the API's TLS, besides the system's; absolute once read. */
  readonly caFile?: string;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
export const DEFAULT_HTTP_ATTEMPTS = 4;

const HTTP_MEMBERS = ["type", "preset", "params", "deploy", "undeploy", "live", "auth", "timeoutMs", "attempts", "caFile"];
const REQUEST_MEMBERS = ["method", "url", "headers", "body"];
const BODY_MEMBERS = ["type", "pem", "fields", "base"];
const LIVE_MEMBERS = ["url", "path", "headers"];
const AUTH_MEMBERS = ["tokenFrom", "header", "scheme"];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

type Problem = (text: string) => Error;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function unknownMember(object: Record<string, unknown>, known: readonly string[]): string | undefined {
  return Object.keys(object).find((key) => !known.includes(key));
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "" && !/[\u0000-\u001f\u007f]/.test(value);
}

/** The placeholders of a template that are not known, or a sentence when a brace is unmatched. */
function templateProblem(template: string, known: readonly string[], where: string): string | undefined {
  const unknown = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]).filter((name) => !known.includes(name));
  if (unknown.length > 0) return `${where} uses ${quoted(`{${unknown[0]}}`)}, which is none of ${known.map((name) => `{${name}}`).join(", ")}`;
  if (/[{}]/.test(template.replace(PLACEHOLDER, ""))) return `${where} has an unmatched brace`;
  return undefined;
}

function headersFrom(headers: unknown, where: string, problem: Problem): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  if (!isObject(headers) || !Object.values(headers).every((value) => typeof value === "string")) throw problem(`${where} must be an object of header names and text values`);
  for (const name of Object.keys(headers)) {
    if (!HEADER_NAME.test(name)) throw problem(`${where}: ${quoted(name)} is not a header name`);
    // A literal credential would sit in the stack's plain config and in every standby task's copy.
    if (/^(authorization|proxy-authorization|cookie)$/i.test(name)) throw problem(`${where}: ${name} cannot be written in the definition; give auth.tokenFrom, which names a secret`);
    if (/^(content-length|host|transfer-encoding)$/i.test(name)) throw problem(`${where}: ${name} is set by certstage`);
    if (/[\r\n]/.test(headers[name] as string)) throw problem(`${where}: the value of ${name} holds a line break`);
  }
  return headers as Record<string, string>;
}

function checkedUrl(url: unknown, known: readonly string[], where: string, problem: Problem): string {
  if (!isText(url)) throw problem(`${where} must be a URL template, e.g. "https://api.example.com/certificates/{certificate}"`);
  const template = templateProblem(url, known, where);
  if (template) throw problem(template);
  const urlProblem = apiUrlProblem(url.replace(PLACEHOLDER, "x"), where);
  if (urlProblem) throw problem(urlProblem);
  return url;
}

function bodyFrom(body: unknown, method: string, known: readonly string[], where: string, problem: Problem): HttpBodyDefinition {
  if (!isObject(body) || (body.type !== "json" && body.type !== "multipart")) throw problem(`${where}.type must be json or multipart`);
  const extra = unknownMember(body, BODY_MEMBERS);
  if (extra !== undefined) throw problem(`${where}: ${quoted(extra)} is not a setting of a body (${BODY_MEMBERS.join(", ")})`);
  if (method === "GET" || method === "DELETE") throw problem(`${where}: a ${method} request has no body`);
  if (body.pem !== undefined && !(isObject(body.pem) && Object.values(body.pem).every((part) => (PEM_PARTS as readonly unknown[]).includes(part)))) {
    throw problem(`${where}.pem must map field names to one of ${PEM_PARTS.join(", ")}, e.g. {"certificate": "fullchain", "key": "privateKey"}`);
  }
  if (body.fields !== undefined && !(isObject(body.fields) && Object.values(body.fields).every((value) => typeof value === "string"))) throw problem(`${where}.fields must map field names to text templates`);
  for (const [name, template] of Object.entries((body.fields ?? {}) as Record<string, string>)) {
    const found = templateProblem(template, known, `${where}.fields.${name}`);
    if (found) throw problem(found);
  }
  const names = [...Object.keys(body.pem ?? {}), ...Object.keys(body.fields ?? {})];
  if (names.length === 0 && body.base === undefined) throw problem(`${where} carries nothing: give pem (and fields)`);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw problem(`${where}: field ${quoted(twice)} is in both pem and fields`);
  let base: HttpBodyDefinition["base"];
  if (body.base !== undefined) {
    if (body.type !== "json" || !isObject(body.base) || unknownMember(body.base, ["url", "path"]) !== undefined || (body.base.path !== undefined && typeof body.base.path !== "string")) {
      throw problem(`${where}.base is a json body's {"url", "path"}: the GET whose JSON the body starts from`);
    }
    base = { url: checkedUrl(body.base.url, known, `${where}.base.url`, problem), ...(body.base.path !== undefined ? { path: body.base.path } : {}) };
  }
  return {
    type: body.type,
    ...(body.pem !== undefined ? { pem: { ...(body.pem as Record<string, PemPart>) } } : {}),
    ...(body.fields !== undefined ? { fields: { ...(body.fields as Record<string, string>) } } : {}),
    ...(base ? { base } : {}),
  };
}

function requestFrom(request: unknown, known: readonly string[], where: string, problem: Problem): HttpRequestDefinition {
  if (!isObject(request)) throw problem(`${where} must be {"method", "url", "headers", "body"}`);
  const extra = unknownMember(request, REQUEST_MEMBERS);
  if (extra !== undefined) throw problem(`${where}: ${quoted(extra)} is not a setting of a request (${REQUEST_MEMBERS.join(", ")})`);
  if (!(HTTP_METHODS as readonly unknown[]).includes(request.method)) throw problem(`${where}.method must be one of ${HTTP_METHODS.join(", ")}`);
  const method = request.method as HttpRequestDefinition["method"];
  const url = checkedUrl(request.url, known, `${where}.url`, problem);
  const headers = headersFrom(request.headers, `${where}.headers`, problem);
  const body = request.body === undefined ? undefined : bodyFrom(request.body, method, known, `${where}.body`, problem);
  if (body?.type === "multipart" && headers && Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) throw problem(`${where}.headers: Content-Type of a multipart body is set by certstage (it carries the boundary)`);
  return { method, url, ...(headers ? { headers } : {}), ...(body ? { body } : {}) };
}

function authFrom(auth: unknown, problem: Problem): HttpAuthDefinition {
  const example = `auth must be {"tokenFrom": "certstage:apiToken"} (a stack config secret) or {"tokenFrom": "env:API_TOKEN"}, optionally a list of both, and "header"/"scheme"`;
  if (!isObject(auth) || unknownMember(auth, AUTH_MEMBERS) !== undefined) throw problem(example);
  const sources = typeof auth.tokenFrom === "string" ? [auth.tokenFrom] : auth.tokenFrom;
  if (!Array.isArray(sources) || sources.length === 0 || !sources.every((source) => isSecretSource(source))) throw problem(example);
  if (auth.header !== undefined && !(typeof auth.header === "string" && HEADER_NAME.test(auth.header))) throw problem("auth.header must be a header name, e.g. \"X-API-Key\"");
  if (auth.scheme !== undefined && !(typeof auth.scheme === "string" && /^[A-Za-z0-9._~+/-]+$/.test(auth.scheme))) throw problem("auth.scheme must be one word, e.g. \"Bearer\"");
  return { tokenFrom: [...sources] as string[], ...(auth.header !== undefined ? { header: auth.header as string } : {}), ...(auth.scheme !== undefined ? { scheme: auth.scheme as string } : {}) };
}

function wholeNumber(value: unknown, minimum: number, maximum: number): boolean {
  return Number.isInteger(value) && (value as number) >= minimum && (value as number) <= maximum;
}

/** Checks an `http` target (parsed JSON); `problem` prefixes the environment. */
export function httpTargetFrom(target: Record<string, unknown>, problem: Problem, baseDirectory: string): HttpTargetDefinition {
  const extra = unknownMember(target, HTTP_MEMBERS);
  if (extra !== undefined) throw problem(`${quoted(extra)} is not a setting of an http target (${HTTP_MEMBERS.join(", ")})`);
  if (target.timeoutMs !== undefined && !wholeNumber(target.timeoutMs, 100, 600_000)) throw problem("target.timeoutMs must be a whole number of milliseconds from 100 to 600000");
  if (target.attempts !== undefined && !wholeNumber(target.attempts, 1, 10)) throw problem("target.attempts must be a whole number from 1 to 10");
  if (target.caFile !== undefined && !isText(target.caFile)) throw problem(`target.caFile must be a PEM file, e.g. "/etc/ssl/internal-ca.pem"`);
  const auth = target.auth === undefined ? undefined : authFrom(target.auth, problem);
  if (target.params !== undefined && !isObject(target.params)) throw problem("target.params must be an object");
  const params = target.params as Record<string, string | boolean | string[]> | undefined;
  const common = {
    type: "http" as const,
    ...(auth ? { auth } : {}),
    ...(target.timeoutMs !== undefined ? { timeoutMs: target.timeoutMs as number } : {}),
    ...(target.attempts !== undefined ? { attempts: target.attempts as number } : {}),
    ...(target.caFile !== undefined ? { caFile: path.resolve(baseDirectory, target.caFile as string) } : {}),
  };

  if (target.preset !== undefined) {
    if (typeof target.preset !== "string" || !Object.hasOwn(HTTP_PRESETS, target.preset)) throw problem(`target.preset must be one of ${Object.keys(HTTP_PRESETS).join(", ")}`);
    const preset = target.preset as HttpPresetName;
    const own = ["deploy", "undeploy", "live"].find((member) => target[member] !== undefined);
    if (own) throw problem(`the ${preset} preset defines ${own} itself: remove target.${own}, or the preset`);
    if (!auth) throw problem(`the ${preset} API takes a bearer token: set target.auth, e.g. {"tokenFrom": "certstage:${preset}Token"}`);
    const found = presetProblem(preset, params ?? {});
    if (found) throw problem(found);
    return { ...common, preset, params: { ...params } };
  }

  if (params !== undefined) {
    for (const [name, value] of Object.entries(params)) {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || (BUILT_IN_PLACEHOLDERS as readonly string[]).includes(name)) throw problem(`target.params: ${quoted(name)} cannot be a placeholder name (letters, digits, _; not ${BUILT_IN_PLACEHOLDERS.join(", ")})`);
      if (typeof value !== "string") throw problem(`target.params.${name} must be text`);
    }
  }
  const known = [...BUILT_IN_PLACEHOLDERS, ...Object.keys(params ?? {})];
  if (target.deploy === undefined) throw problem(`an http target needs deploy (the request that makes the platform serve a version), or a preset (${Object.keys(HTTP_PRESETS).join(", ")})`);
  const deploy = requestFrom(target.deploy, known, "target.deploy", problem);
  if (deploy.method === "GET") throw problem("target.deploy.method cannot be GET: a deploy changes what the platform serves");
  if (!deploy.body) throw problem("target.deploy needs a body that carries the version (body.pem)");
  const undeploy = target.undeploy === undefined ? undefined : requestFrom(target.undeploy, known, "target.undeploy", problem);
  let live: HttpLiveDefinition | undefined;
  if (target.live !== undefined) {
    if (!isObject(target.live) || unknownMember(target.live, LIVE_MEMBERS) !== undefined || !isText(target.live.path)) throw problem(`target.live must be {"url", "path", "headers"}: a GET and where its JSON holds the served certificate, e.g. "data.certificate"`);
    const headers = headersFrom(target.live.headers, "target.live.headers", problem);
    live = { url: checkedUrl(target.live.url, known, "target.live.url", problem), path: target.live.path, ...(headers ? { headers } : {}) };
  }
  return { ...common, ...(params ? { params: { ...params } } : {}), deploy, ...(undeploy ? { undeploy } : {}), ...(live ? { live } : {}) };
}
