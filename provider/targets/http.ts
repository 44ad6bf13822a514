/**
 * The `http` target: a deployment is a request to a certificate platform's API (a definition in
 * `certstage:environments`, or a preset: settings/http-presets.ts). Like every target it swaps
 * the store's link first; when the API then refuses or keeps failing, the link is put back,
 * history records the failed deploy with the API's answer, and the rollout fails with
 * TARGET_HTTP_FAILED naming the environment, the method, the URL, the status and a short excerpt
 * of the answer. The token and the version's key go only into the request's header and body:
 * everything shown is redacted (http-redaction.ts).
 *
 * A failure after a 4xx changed nothing at the API. After a timeout or a 5xx the API may have
 * taken the version anyway; where the API can be read back (`live`, the gcore preset), a refresh
 * shows that as drift, and the next `up` sends the program's version again.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { CertstageError } from "../errors";
import { certificateBlocks } from "../pki/pem";
import { DEFAULT_HTTP_ATTEMPTS, DEFAULT_HTTP_TIMEOUT_MS, type HttpRequestDefinition, type HttpTargetDefinition, type PemPart } from "../settings/http-target";
import { httpRequestsOf } from "../settings/http-presets";
import type { VersionFiles } from "../store";
import { credentialHeader, resolveToken, type SecretSources } from "./http-credentials";
import { multipartBody, multipartContentType, newBoundary, type FormPart } from "./http-multipart";
import { bodyExcerpt, redactor } from "./http-redaction";
import { sendWithRetries, type HttpAnswer, type HttpCall, type RetryWait } from "./http-request";
import { fillTemplate, valueAtPath } from "./http-templates";
import type { DeploymentTarget, TargetContext } from "./target";

export interface HttpTargetOptions {
  readonly secrets?: SecretSources;
  readonly wait?: RetryWait;
}

/** One session of requests: the token and the key known, so every message can hide them. */
interface Session {
  readonly headers: Record<string, string>;
  readonly redact: (text: string) => string;
  readonly extraCaPem?: string;
}

function pemOf(files: VersionFiles, part: PemPart, environment: string): string {
  if (part === "certificate") return files.certificatePem;
  if (part === "chain") return files.chainPem;
  if (part === "fullchain") return files.fullchainPem;
  if (!files.privateKeyPem) {
    throw new CertstageError("TARGET_HTTP_FAILED", `the http target of ${environment} sends the private key, and this version has none`, { field: "certstage:environments", fix: "deploy a version with its key, or remove privateKey from the body" });
  }
  // One form for every key, the one the seeds show ("BEGIN PRIVATE KEY"): PKCS#8.
  return createPrivateKey(files.privateKeyPem).export({ type: "pkcs8", format: "pem" }).toString();
}

function shownUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`;
}

function fixFor(status: number | undefined, failure?: string): string {
  if (failure === "timeout") return "check that the API is up and answers within target.timeoutMs, then run again (a deploy is sent whole again, which the API takes as the same change)";
  if (failure === "connection") return "check the URL, that this machine reaches the API, and caFile for a private CA";
  if (status === 401 || status === 403) return "check the token that target.auth.tokenFrom names (and that it may change this resource), then run again";
  if (status === 404) return "check the URL and its params: the API has no such resource (Apinizer updates a certificate that exists: create it there first)";
  if (status === 409) return "another change of this resource is in progress at the API, or it conflicts with one; run again once it is done";
  if (status !== undefined && (status === 429 || status >= 500)) return "the API kept failing after bounded retries; run again later";
  return "see the API's answer above";
}

export function httpTarget(definition: HttpTargetDefinition, options: HttpTargetOptions = {}): DeploymentTarget {
  const requests = httpRequestsOf(definition);
  const timeoutMs = definition.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const attempts = definition.attempts ?? DEFAULT_HTTP_ATTEMPTS;
  const secrets = options.secrets ?? { env: process.env };

  const valuesOf = (context: TargetContext, version: number | undefined) => ({
    ...requests.params,
    certificate: context.certificate,
    environment: context.environment,
    version: version === undefined ? "" : String(version),
  });

  const open = async (context: TargetContext, keyPem?: string): Promise<Session> => {
    const token = definition.auth ? resolveToken(definition.auth, secrets, context.environment) : undefined;
    const headers: Record<string, string> = { "User-Agent": "certstage" };
    if (definition.auth && token) {
      const [name, value] = credentialHeader(definition.auth, token);
      headers[name] = value;
    }
    let extraCaPem: string | undefined;
    if (definition.caFile) {
      extraCaPem = await readFile(definition.caFile, "utf8").catch((cause) => {
        throw new CertstageError("CONFIG_INVALID", `the caFile of ${context.environment}'s http target, ${definition.caFile}, cannot be read (${(cause as NodeJS.ErrnoException).code}); nothing was changed`, { field: "certstage:environments", fix: "give the path of the PEM file of the CA that issued the API's certificate", cause });
      });
    }
    return { headers, redact: redactor([token, keyPem]), extraCaPem };
  };

  /** Sends one request; resolves with a 2xx answer, else throws TARGET_HTTP_FAILED. */
  const exchange = async (context: TargetContext, session: Session, call: HttpCall): Promise<HttpAnswer> => {
    const result = await sendWithRetries(call, { timeoutMs, attempts, extraCaPem: session.extraCaPem, wait: options.wait });
    if ("answer" in result && result.answer.status >= 200 && result.answer.status <= 299) return result.answer;
    const where = `${context.environment}: ${call.method} ${session.redact(shownUrl(call.url))}`;
    const tries = result.attempts > 1 ? ` after ${result.attempts} attempts` : "";
    if ("failure" in result) {
      throw new CertstageError("TARGET_HTTP_FAILED", `${where} failed${tries}: ${result.detail}`, { resource: context.certificate, field: "certstage:environments", fix: fixFor(undefined, result.failure) });
    }
    const excerpt = bodyExcerpt(result.answer.body, session.redact);
    const gaveUp = result.gaveUp ? `; ${result.gaveUp}` : "";
    throw new CertstageError("TARGET_HTTP_FAILED", `${where} answered HTTP ${result.answer.status}${tries}${excerpt ? `: ${excerpt}` : ""}${gaveUp}`, { resource: context.certificate, field: "certstage:environments", fix: fixFor(result.answer.status) });
  };

  const jsonOf = (context: TargetContext, session: Session, answer: HttpAnswer, call: HttpCall): unknown => {
    try {
      return JSON.parse(answer.body);
    } catch (cause) {
      throw new CertstageError("TARGET_HTTP_FAILED", `${context.environment}: ${call.method} ${session.redact(shownUrl(call.url))} answered HTTP ${answer.status} with no JSON: ${bodyExcerpt(answer.body, session.redact)}`, { resource: context.certificate, field: "certstage:environments", fix: "check that the URL is the API's, not a web page or a proxy's", cause });
    }
  };

  const get = async (context: TargetContext, session: Session, url: string, headers: Readonly<Record<string, string>> | undefined, values: Record<string, string>) => {
    const call: HttpCall = { method: "GET", url: new URL(fillTemplate(url, values, true)), headers: { ...session.headers, ...(headers ?? {}) } };
    return jsonOf(context, session, await exchange(context, session, call), call);
  };

  const callOf = async (context: TargetContext, session: Session, request: HttpRequestDefinition, values: Record<string, string>, files?: VersionFiles): Promise<HttpCall> => {
    const url = new URL(fillTemplate(request.url, values, true));
    const headers: Record<string, string> = { ...session.headers, ...(request.headers ?? {}) };
    const body = request.body;
    if (!body) return { method: request.method, url, headers };
    const pems = Object.entries(body.pem ?? {}).map(([name, part]) => {
      if (!files) throw new Error("an undeploy body cannot carry a version");
      return [name, part, pemOf(files, part, context.environment)] as const;
    });
    const fields = Object.entries(body.fields ?? {}).map(([name, template]) => [name, fillTemplate(template, values)] as const);
    if (body.type === "multipart") {
      const boundary = newBoundary();
      const parts: FormPart[] = [
        ...fields.map(([name, value]) => ({ name, value })),
        ...pems.map(([name, part, content]) => ({ name, filename: `${context.certificate}-${part}.pem`, contentType: "application/octet-stream", content })),
      ];
      return { method: request.method, url, headers: { ...headers, "Content-Type": multipartContentType(boundary) }, body: multipartBody(parts, boundary) };
    }
    let json: Record<string, unknown> = {};
    if (body.base) {
      const answer = await get(context, session, body.base.url, request.headers, values);
      const base = body.base.path ? valueAtPath(answer, body.base.path) : answer;
      if (base === null || typeof base !== "object" || Array.isArray(base)) {
        throw new CertstageError("TARGET_HTTP_FAILED", `${context.environment}: GET ${session.redact(fillTemplate(body.base.url, values, true))} answered no object at ${body.base.path ?? "the top"} to send back`, { resource: context.certificate, field: "certstage:environments", fix: "check the URL and the path of body.base" });
      }
      json = { ...(base as Record<string, unknown>) };
    }
    for (const [name, value] of fields) json[name] = value;
    for (const [name, , content] of pems) json[name] = content;
    const contentType = Object.keys(headers).find((name) => name.toLowerCase() === "content-type");
    return { method: request.method, url, headers: contentType ? headers : { ...headers, "Content-Type": "application/json" }, body: Buffer.from(JSON.stringify(json), "utf8") };
  };

  /** Puts the store's link back, records the failed deploy, and throws `error`. */
  const putBack = async (context: TargetContext, previous: number | undefined, version: number, error: unknown): Promise<never> => {
    if (previous !== undefined) await context.store.deploy(context.certificate, context.environment, previous, context.actor);
    else await context.store.undeploy(context.certificate, context.environment, context.actor);
    const outcome = previous !== undefined ? `version ${previous} was put back` : "nothing was deployed before, so it was undeployed again";
    const problem = error instanceof CertstageError ? error.problem : (error as Error).message;
    await context.store.recordHistory({ actor: context.actor.principal, action: "deploy", certificate: context.certificate, environment: context.environment, ...(previous !== undefined ? { fromVersion: previous } : {}), toVersion: version, result: "failed", detail: `${problem}; ${outcome}` });
    if (error instanceof CertstageError) throw new CertstageError(error.code, `${error.problem}; ${outcome}`, { resource: error.resource, field: error.field, fix: error.fix });
    throw error;
  };

  return {
    async deploy(context, version) {
      const files = await context.store.readVersionFiles(context.certificate, version);
      // The token is looked for before anything changes: a missing one changes nothing.
      const session = await open(context, files.privateKeyPem);
      const previous = await context.store.getDeployment(context.certificate, context.environment);
      const record = await context.store.deploy(context.certificate, context.environment, version, context.actor);
      try {
        const values = valuesOf(context, version);
        await exchange(context, session, await callOf(context, session, requests.deploy, values, files));
      } catch (error) {
        return putBack(context, previous?.version, version, error);
      }
      return record;
    },
    async undeploy(context) {
      // Without an undeploy request, undeploy is the store's alone, and needs no token.
      const session = requests.undeploy ? await open(context) : undefined;
      const previous = await context.store.getDeployment(context.certificate, context.environment);
      await context.store.undeploy(context.certificate, context.environment, context.actor);
      if (!requests.undeploy || !session || !previous) return;
      try {
        await exchange(context, session, await callOf(context, session, requests.undeploy, valuesOf(context, previous.version)));
      } catch (error) {
        await context.store.deploy(context.certificate, context.environment, previous.version, context.actor);
        const problem = error instanceof CertstageError ? error.problem : (error as Error).message;
        await context.store.recordHistory({ actor: context.actor.principal, action: "undeploy", certificate: context.certificate, environment: context.environment, fromVersion: previous.version, result: "failed", detail: `${problem}; version ${previous.version} was put back` });
        throw error;
      }
    },
    ...(requests.live
      ? {
          async live(context: TargetContext) {
            const live = requests.live!;
            const session = await open(context);
            const served = valueAtPath(await get(context, session, live.url, live.headers, valuesOf(context, undefined)), live.path);
            const pem = typeof served === "string" ? certificateBlocks(served)[0] : undefined;
            if (!pem) return { description: `the API serves no certificate at ${live.path}` };
            let fingerprint: string;
            try {
              fingerprint = new X509Certificate(pem).fingerprint256;
            } catch {
              return { description: `the API serves a certificate at ${live.path} that cannot be read` };
            }
            const match = (await context.store.listVersions(context.certificate)).find((record) => record.fingerprintSha256 === fingerprint);
            return match ? { version: match.version, description: `the API serves version ${match.version}` } : { description: `the API serves a certificate that is no version of '${context.certificate}' (sha256 ${fingerprint.slice(0, 23)}…)` };
          },
        }
      : {}),
  };
}
