/**
 * The token of an http target, found where its definition says (settings/secret-source.ts):
 * `certstage:<key>`, a stack config value (set it with `pulumi config set --secret`), which the
 * provider reads from the configuration Pulumi hands it; or `env:<NAME>`, an environment variable. A list is tried in
 * order: `certstage tasks run` has no stack configuration, so a definition that standby tasks
 * run names an environment variable too (`["certstage:gcoreToken", "env:GCORE_TOKEN"]`).
 * Only the names are ever stored (a task's copy of the environments); the value lives in memory
 * for the request and is redacted from anything shown.
 */
import { CertstageError } from "../errors";
import type { HttpAuthDefinition } from "../settings/http-target";
import { readSecretSource, type SecretSources } from "../settings/secret-source";

export type { SecretSources };

export function resolveToken(auth: HttpAuthDefinition, sources: SecretSources, environment: string): string {
  for (const source of auth.tokenFrom) {
    const value = readSecretSource(source, sources);
    if (value !== undefined) return value;
  }
  const runner = sources.config ? "" : " (certstage tasks run has no stack configuration: name an env: source too)";
  throw new CertstageError("TARGET_CREDENTIAL_MISSING", `the http target of ${environment} found no token in ${auth.tokenFrom.join(", ")}${runner}; nothing was changed`, {
    field: "certstage:environments",
    fix: `set it: pulumi config set --secret ${auth.tokenFrom.find((source) => source.startsWith("certstage:")) ?? "certstage:apiToken"} <token>, or export ${auth.tokenFrom.find((source) => source.startsWith("env:"))?.slice(4) ?? "the environment variable"} where certstage runs`,
  });
}

/** The header that carries the token. */
export function credentialHeader(auth: HttpAuthDefinition, token: string): [string, string] {
  const header = auth.header ?? "Authorization";
  const scheme = auth.scheme ?? (header.toLowerCase() === "authorization" ? "Bearer" : undefined);
  return [header, scheme ? `${scheme} ${token}` : token];
}
