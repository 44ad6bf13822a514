/**
 * Environment definitions: where each environment's deployments materialise (its target), how a
 * swap is verified, and which environment a version must pass through first. Read from the
 * `certstage:environments` stack setting, and from the copy a standby task keeps; the targets, the
 * rollout and the command line all read them, so they live here rather than with the resources.
 */
import * as path from "node:path";
import { CertstageError, quoted } from "../errors";
import { NAME_PATTERN } from "../store";
import { nameInvalid } from "../store/store-errors";

/** Where a deployment materialises, beyond the store's own environment links. */
export type TargetDefinition =
  | {
      readonly type: "directory";
      readonly reload?: readonly string[];
      readonly reloadTimeoutMs?: number;
      /** Also publish into this directory (`<path>/<name>` -> the version's files); relative to the Pulumi project. */
      readonly path?: string;
    }
  | { readonly type: "haproxy"; readonly socket: string; readonly certificatePath: string };

export interface VerificationDefinition {
  /** `host:port` endpoints that terminate TLS with this environment's certificate. */
  readonly endpoints: readonly string[];
  /** SNI name to ask for; default: the certificate's first SAN. */
  readonly serverName?: string;
  /** The whole verification, the settle period included (default 30000). */
  readonly timeoutMs?: number;
  /**
   * How long consecutive handshakes must all get the new leaf before the swap counts as verified
   * (default 1000). nginx starts its new workers about 100 ms before it stops the old ones; a
   * server that swaps in one step (HAProxy's runtime API) is verified as soon as the period ends.
   */
  readonly settleMs?: number;
}

export const DEFAULT_VERIFY_TIMEOUT_MS = 30_000;
export const DEFAULT_VERIFY_SETTLE_MS = 1000;

/** What is wrong with a verification's timing, or undefined: a settle period the timeout leaves no room for can never pass. */
export function verificationTimingProblem(verify: Pick<VerificationDefinition, "timeoutMs" | "settleMs">): string | undefined {
  const timeoutMs = verify.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const settleMs = verify.settleMs ?? DEFAULT_VERIFY_SETTLE_MS;
  for (const [name, value, minimum, maximum] of [["timeoutMs", verify.timeoutMs, 100, 600_000], ["settleMs", verify.settleMs, 0, 60_000]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= minimum && value <= maximum)) return `verify.${name} must be a whole number of milliseconds from ${minimum} to ${maximum}`;
  }
  if (settleMs >= timeoutMs) return `verify.settleMs (${settleMs} ms) must be shorter than verify.timeoutMs (${timeoutMs} ms), or no verification can pass`;
  return undefined;
}

const SETTING = "certstage:environments";

/** One environment, as `certstage:environments` defines it. */
export interface EnvironmentDefinition {
  readonly name: string;
  readonly target: TargetDefinition;
  readonly verify?: VerificationDefinition;
  /** Versions must have been deployed (and verified) here first, e.g. production requires staging. */
  readonly promotion?: { readonly requires: string };
}

/**
 * Checks environment definitions (parsed JSON): the stack setting, or the copy a standby task
 * keeps. `shown` is how the value appears in messages. A directory target's relative `path` is
 * made absolute against `baseDirectory`, so a task's copy means the same wherever it runs.
 */
export function environmentDefinitionsFrom(parsed: unknown, shown: string = JSON.stringify(parsed), baseDirectory: string = process.cwd()): EnvironmentDefinition[] {
  const invalid = (problem: string) =>
    new CertstageError("CONFIG_INVALID", `${problem} in ${quoted(shown)}`, {
      field: SETTING,
      fix: `set a JSON list of names or of {"name", "target", "verify", "promotion"} objects, e.g. '["staging","production"]'`,
    });
  if (!Array.isArray(parsed) || parsed.length === 0) throw invalid("not a list of environments");
  const definitions = parsed.map((entry): EnvironmentDefinition => {
    const object = (typeof entry === "string" ? { name: entry } : entry) as Partial<EnvironmentDefinition> | null;
    if (!object || typeof object.name !== "string") throw invalid(`environment ${quoted(JSON.stringify(entry) ?? String(entry))} has no name`);
    if (!NAME_PATTERN.test(object.name)) throw nameInvalid("environment", object.name, SETTING);
    const target = object.target ?? { type: "directory" };
    if (target.type === "haproxy" && (!target.socket || !target.certificatePath)) throw invalid(`environment '${object.name}': an haproxy target needs socket and certificatePath`);
    if (target.type === "directory" && target.reload !== undefined && (!Array.isArray(target.reload) || target.reload.length === 0)) {
      throw invalid(`environment '${object.name}': reload must be a command as a list, e.g. ["nginx", "-s", "reload"]`);
    }
    if (target.type !== "directory" && target.type !== "haproxy") throw invalid(`environment '${object.name}': target type must be directory or haproxy`);
    if (target.type === "directory" && target.path !== undefined && (typeof target.path !== "string" || target.path.trim() === "")) {
      throw invalid(`environment '${object.name}': path must be a directory, e.g. "/etc/nginx/certs"`);
    }
    const resolvedTarget = target.type === "directory" && target.path !== undefined ? { ...target, path: path.resolve(baseDirectory, target.path) } : target;
    const verify = object.verify;
    if (verify !== undefined && (!Array.isArray(verify.endpoints) || verify.endpoints.length === 0 || !verify.endpoints.every((endpoint) => /^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(String(endpoint))))) {
      throw invalid(`environment '${object.name}': verify.endpoints must be a list of "host:port", e.g. ["127.0.0.1:8443"]`);
    }
    const timing = verify === undefined ? undefined : verificationTimingProblem(verify);
    if (timing) throw invalid(`environment '${object.name}': ${timing}`);
    return { name: object.name, target: resolvedTarget, ...(verify ? { verify } : {}), ...(object.promotion ? { promotion: object.promotion } : {}) };
  });
  for (const definition of definitions) {
    if (definition.promotion && !definitions.some((other) => other.name === definition.promotion!.requires)) {
      throw invalid(`environment '${definition.name}' requires '${definition.promotion.requires}', which is not defined`);
    }
  }
  return definitions;
}
