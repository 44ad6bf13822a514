/**
 * Presets of the `http` target for the certificate platforms the seeds document. Each turns a
 * few settings into the generic requests (settings/http-target.ts), so every preset goes through
 * the same sending, retrying, redacting and putting back as a hand-written definition.
 *
 * - `gcore` (seed 004, renewing a custom certificate of a protected resource): `GET
 *   {base}/resources/<id>` answers `{"resource": {...}}`; the resource goes back whole with `PUT
 *   {base}/resources/<id>`, `service_ssl_crt` and `service_ssl_key` replaced, as
 *   `application/json`, with the bearer token. A PUT of the whole resource is idempotent: sent
 *   twice, it leaves the same resource. The same GET tells which certificate is served (drift).
 *   The seed documents no removal, so undeploy only removes the store's link.
 * - `apinizer` (seed 002, Update Certificate): `PUT
 *   {base}/apiops/projects/{project}/certificates/{name}/`, multipart/form-data with every form
 *   field (`alias`, `certificateDescription`, `environmentList`, and the certificate as the file
 *   `pemEncodedFile`), plus `?updateReferencedJwks=true&updateScope=…` when JWKs made from the
 *   certificate must follow. Apinizer replaces the certificate by the one sent and deploys it to
 *   the listed environments, so a repeated PUT leaves the same certificate: idempotent. The
 *   certificate must exist in Apinizer first (the update of a missing one is a 404). Apinizer
 *   keeps a certificate, not its key: no key is sent. No read or removal is documented there.
 */
import { apiUrlProblem } from "./api-url";
import type { HttpLiveDefinition, HttpRequestDefinition, HttpTargetDefinition } from "./http-target";

export const HTTP_PRESETS = {
  gcore: { required: ["baseUrl", "resourceId"], optional: [] },
  apinizer: { required: ["baseUrl", "project"], optional: ["name", "alias", "description", "environmentList", "updateReferencedJwks", "updateScope"] },
} as const;

export type HttpPresetName = keyof typeof HTTP_PRESETS;

export const APINIZER_UPDATE_SCOPES = ["SAME_PROJECT", "ALL_PROJECTS"] as const;

/** The requests an http target makes, with the values its templates may use. */
export interface HttpRequests {
  readonly deploy: HttpRequestDefinition;
  readonly undeploy?: HttpRequestDefinition;
  readonly live?: HttpLiveDefinition;
  readonly params: Readonly<Record<string, string>>;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "" && !/[\u0000-\u001f\u007f]/.test(value);
}

/** What is wrong with a preset's params, or undefined. */
export function presetProblem(preset: HttpPresetName, params: Readonly<Record<string, unknown>>): string | undefined {
  const { required, optional } = HTTP_PRESETS[preset];
  const known: readonly string[] = [...required, ...optional];
  const extra = Object.keys(params).find((name) => !known.includes(name));
  if (extra !== undefined) return `"${extra}" is not a setting of the ${preset} preset (${known.join(", ")})`;
  const missing = required.find((name) => params[name] === undefined);
  if (missing !== undefined) return `the ${preset} preset needs target.params.${missing}`;
  for (const name of known) {
    const value = params[name];
    if (value === undefined || name === "updateReferencedJwks" || name === "environmentList") continue;
    if (!isText(value)) return `target.params.${name} must be text`;
  }
  const baseUrl = params.baseUrl as string;
  if (/[{}?#]/.test(baseUrl)) return "target.params.baseUrl must be the API's base URL, with no query and no braces";
  const urlProblem = apiUrlProblem(baseUrl, "target.params.baseUrl");
  if (urlProblem) return urlProblem;
  if (preset === "apinizer") {
    const environments = params.environmentList;
    if (environments !== undefined && !(isText(environments) || (Array.isArray(environments) && environments.length > 0 && environments.every(isText)))) {
      return `target.params.environmentList must be Apinizer's environments, e.g. "production,staging" or ["production", "staging"]`;
    }
    if (params.updateReferencedJwks !== undefined && typeof params.updateReferencedJwks !== "boolean") return "target.params.updateReferencedJwks must be true or false";
    if (params.updateScope !== undefined && !(APINIZER_UPDATE_SCOPES as readonly unknown[]).includes(params.updateScope)) return `target.params.updateScope must be ${APINIZER_UPDATE_SCOPES.join(" or ")}`;
    if (params.updateReferencedJwks === true && params.updateScope === undefined) return `target.params.updateReferencedJwks needs updateScope (${APINIZER_UPDATE_SCOPES.join(" or ")}), as Apinizer requires`;
    if (params.updateScope !== undefined && params.updateReferencedJwks !== true) return "target.params.updateScope only applies with \"updateReferencedJwks\": true";
  }
  return undefined;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

function gcoreRequests(params: Readonly<Record<string, string>>): Omit<HttpRequests, "params"> {
  const resource = `${withoutTrailingSlash(params.baseUrl)}/resources/{resourceId}`;
  const headers = { "Content-Type": "application/json" };
  return {
    deploy: { method: "PUT", url: resource, headers, body: { type: "json", base: { url: resource, path: "resource" }, pem: { service_ssl_crt: "fullchain", service_ssl_key: "privateKey" } } },
    live: { url: resource, path: "resource.service_ssl_crt", headers },
  };
}

function apinizerRequests(params: Readonly<Record<string, string>>): Omit<HttpRequests, "params"> {
  const name = params.name !== undefined ? "{name}" : "{certificate}";
  const query = params.updateReferencedJwks === "true" ? "?updateReferencedJwks=true&updateScope={updateScope}" : "";
  return {
    deploy: {
      method: "PUT",
      url: `${withoutTrailingSlash(params.baseUrl)}/apiops/projects/{project}/certificates/${name}/${query}`,
      body: {
        type: "multipart",
        fields: {
          alias: params.alias !== undefined ? "{alias}" : "{certificate}",
          certificateDescription: params.description !== undefined ? "{description}" : "certstage: {certificate} version {version}",
          environmentList: params.environmentList !== undefined ? "{environmentList}" : "{environment}",
        },
        pem: { pemEncodedFile: "certificate" },
      },
    },
  };
}

/** The requests of a definition: its own, or its preset's. */
export function httpRequestsOf(definition: HttpTargetDefinition): HttpRequests {
  const params = Object.fromEntries(Object.entries(definition.params ?? {}).map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : String(value)]));
  if (definition.preset === "gcore") return { ...gcoreRequests(params), params };
  if (definition.preset === "apinizer") return { ...apinizerRequests(params), params };
  return { deploy: definition.deploy!, ...(definition.undeploy ? { undeploy: definition.undeploy } : {}), ...(definition.live ? { live: definition.live } : {}), params };
}
