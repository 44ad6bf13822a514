/**
 * Where certstage finds a secret that a setting names rather than holds: `certstage:<key>`, a
 * stack config value (set it with `pulumi config set --secret <key> …`), or `env:<NAME>`, an
 * environment variable of the process that needs it. An http target's token (`auth.tokenFrom`)
 * and a manifest version's keystore password (`keystore.passwordFrom`) are named this way, so
 * only the name is ever written down (in certificates.yaml, in a task's copy of the environments)
 * and the value lives in memory where it is used.
 */

/** `certstage:<key>` or `env:<NAME>`. */
export const SECRET_SOURCE = /^(certstage:[A-Za-z][A-Za-z0-9_.-]*|env:[A-Za-z_][A-Za-z0-9_]*)$/;

/** What a source names: a stack config key (without `certstage:`) or an environment variable. */
export type SecretSource = { readonly kind: "config"; readonly key: string } | { readonly kind: "env"; readonly name: string };

export function isSecretSource(value: unknown): value is string {
  return typeof value === "string" && SECRET_SOURCE.test(value);
}

/** The parts of a source that isSecretSource accepts. */
export function secretSourceOf(source: string): SecretSource {
  return source.startsWith("env:") ? { kind: "env", name: source.slice("env:".length) } : { kind: "config", key: source.slice("certstage:".length) };
}

/** Where secrets come from in this process: the stack's configuration (by `certstage:<key>`) and the environment. */
export interface SecretSources {
  readonly config?: (key: string) => string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

/** The value `source` names, trimmed; undefined when it is unset or blank there. */
export function readSecretSource(source: string, sources: SecretSources): string | undefined {
  const named = secretSourceOf(source);
  const value = named.kind === "env" ? (sources.env ?? process.env)[named.name] : sources.config?.(source);
  return value !== undefined && value.trim() !== "" ? value.trim() : undefined;
}
