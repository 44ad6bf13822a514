/**
 * Environment definitions: where each environment's deployments materialise (its target), how a
 * swap is verified, and which environment a version must pass through first. Read from the
 * `certstage:environments` stack setting, and from the copy a standby task keeps; the targets, the
 * rollout and the command line all read them, so they live here rather than with the resources.
 */
import * as path from "node:path";
import { CertstageError, quoted } from "../errors";
import { readDnsName } from "../pki/dns-names";
import { NAME_PATTERN } from "../store";
import { nameInvalid } from "../store/store-errors";
import type { TaskRetention } from "../lifecycle/retention";
import { keyFileAccess, type KeyFileSetting } from "./key-file";
import { finishedTasksProblem, keepVersionsProblem } from "./retention";
import { httpTargetFrom, type HttpTargetDefinition } from "./http-target";

/** Where a deployment materialises, beyond the store's own environment links. */
export type TargetDefinition =
  | {
      readonly type: "directory";
      readonly reload?: readonly string[];
      readonly reloadTimeoutMs?: number;
      /** Also publish into this directory (`<path>/<name>` -> the version's files); relative to the Pulumi project. */
      readonly path?: string;
      /** With `path`: published versions kept besides the served one and those still needed (default 3, settings/retention.ts). */
      readonly keepVersions?: number;
      /** With `path`: the published privkey.pem's (and keystore.p12's) group and mode (settings/key-file.ts), e.g. {"group": "ssl-cert", "mode": "0640"}. */
      readonly keyFile?: KeyFileSetting;
    }
  | { readonly type: "haproxy"; readonly socket: string; readonly certificatePath: string }
  /** A request to a certificate platform's API (settings/http-target.ts), or a preset for one. */
  | HttpTargetDefinition;

export interface VerificationDefinition {
  /** `host:port` endpoints that terminate TLS with this environment's certificate. */
  readonly endpoints?: readonly string[];
  /**
   * Wait for the environment's live agents (`certstage agent`): the swap counts as verified once
   * every one of them reports the new version, and serves it where it checks what it serves.
   */
  readonly agents?: AgentVerificationDefinition;
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

export interface AgentVerificationDefinition {
  /** How many live agents must report; fewer is a failed verification (default 1). */
  readonly minimum?: number;
  /** An agent whose last report is older than this is not live and is not waited for (default 180000: three resyncs). */
  readonly liveWithinMs?: number;
}

export const DEFAULT_AGENT_MINIMUM = 1;
export const DEFAULT_AGENT_LIVE_WITHIN_MS = 180_000;

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
  /** How long finished standby tasks of this environment stay (defaults in settings/retention.ts). */
  readonly finishedTasks?: Partial<TaskRetention>;
}

/**
 * Checks environment definitions (parsed JSON): the stack setting, or the copy a standby task
 * keeps. `shown` is how the value appears in messages. A directory target's relative `path` is
 * made absolute against `baseDirectory`, so a task's copy means the same wherever it runs.
 */
export function environmentDefinitionsFrom(parsed: unknown, shown: string = JSON.stringify(parsed) ?? String(parsed), baseDirectory: string = process.cwd()): EnvironmentDefinition[] {
  const invalid: Invalid = (problem) =>
    new CertstageError("CONFIG_INVALID", `${problem} in ${quoted(shown)}`, {
      field: SETTING,
      fix: `set a JSON list of names or of {"name", "target", "verify", "promotion"} objects, e.g. '["staging","production"]'`,
    });
  if (!Array.isArray(parsed) || parsed.length === 0) throw invalid("not a list of environments");
  const definitions = parsed.map((entry) => definitionFrom(entry, invalid, baseDirectory));
  for (const [index, definition] of definitions.entries()) {
    if (definitions.findIndex((other) => other.name === definition.name) !== index) throw invalid(`environment '${definition.name}' is defined twice`);
    if (definition.promotion && !definitions.some((other) => other.name === definition.promotion!.requires)) {
      throw invalid(`environment '${definition.name}' requires ${quoted(definition.promotion.requires)}, which is not defined`);
    }
  }
  for (const definition of definitions) {
    // Each environment would wait for the next to go first: no version could reach any of them.
    const chain = [definition.name];
    for (let requires = definition.promotion?.requires; requires !== undefined; requires = definitions.find((other) => other.name === requires)?.promotion?.requires) {
      if (chain.includes(requires)) throw invalid(`environments ${[...chain, requires].map((name) => `'${name}'`).join(" -> ")} require each other, so no version could be deployed to them`);
      chain.push(requires);
    }
  }
  return definitions;
}

type Invalid = (problem: string) => CertstageError;

const DEFINITION_MEMBERS = ["name", "target", "verify", "promotion", "finishedTasks"];
const TARGET_MEMBERS = { directory: ["type", "reload", "reloadTimeoutMs", "path", "keepVersions", "keyFile"], haproxy: ["type", "socket", "certificatePath"] };
const VERIFY_MEMBERS = ["endpoints", "agents", "serverName", "timeoutMs", "settleMs"];
const AGENT_MEMBERS = ["minimum", "liveWithinMs"];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A string a program can be given as an argument or a path: not empty, no NUL. */
function isUsableString(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "" && !value.includes("\u0000");
}

/** A misspelt member would otherwise be ignored in silence: `verfiy` would turn verification off. */
function unknownMember(object: Record<string, unknown>, known: readonly string[]): string | undefined {
  return Object.keys(object).find((key) => !known.includes(key));
}

function definitionFrom(entry: unknown, invalid: Invalid, baseDirectory: string): EnvironmentDefinition {
  const object = typeof entry === "string" ? { name: entry } : entry;
  if (!isObject(object) || typeof object.name !== "string") throw invalid(`environment ${quoted(JSON.stringify(entry) ?? String(entry))} has no name`);
  const name = object.name;
  if (!NAME_PATTERN.test(name)) throw nameInvalid("environment", name, SETTING);
  const problem = (text: string) => invalid(`environment '${name}': ${text}`);
  const extra = unknownMember(object, DEFINITION_MEMBERS);
  if (extra !== undefined) throw problem(`${quoted(extra)} is not a setting of an environment (${DEFINITION_MEMBERS.join(", ")})`);
  const target = targetFrom(object.target ?? { type: "directory" }, problem, baseDirectory);
  // The group must exist where the key is written, which is where the stack's settings are read.
  if (target.type === "directory" && target.keyFile) keyFileAccess(target.keyFile, `${SETTING} (environment '${name}', target.keyFile)`);
  const verify = object.verify === undefined ? undefined : verificationFrom(object.verify, problem);
  if (object.promotion !== undefined && !(isObject(object.promotion) && typeof object.promotion.requires === "string" && unknownMember(object.promotion, ["requires"]) === undefined)) {
    throw problem(`promotion must be {"requires": "<environment>"}`);
  }
  if (isObject(object.promotion) && object.promotion.requires === name) throw problem("it cannot require itself");
  const promotion = object.promotion as EnvironmentDefinition["promotion"];
  const tasksProblem = finishedTasksProblem(object.finishedTasks);
  if (tasksProblem) throw problem(tasksProblem);
  const finishedTasks = object.finishedTasks as EnvironmentDefinition["finishedTasks"];
  return {
    name,
    target,
    ...(verify ? { verify } : {}),
    ...(promotion ? { promotion: { requires: promotion.requires } } : {}),
    ...(finishedTasks ? { finishedTasks: { ...finishedTasks } } : {}),
  };
}

function targetFrom(target: unknown, problem: Invalid, baseDirectory: string): TargetDefinition {
  if (!isObject(target) || (target.type !== "directory" && target.type !== "haproxy" && target.type !== "http")) throw problem("target type must be directory, haproxy or http");
  if (target.type === "http") return httpTargetFrom(target, problem, baseDirectory);
  const extra = unknownMember(target, TARGET_MEMBERS[target.type]);
  if (extra !== undefined) throw problem(`${quoted(extra)} is not a setting of a ${target.type} target (${TARGET_MEMBERS[target.type].join(", ")})`);
  if (target.type === "haproxy") {
    if (!isUsableString(target.socket) || !isUsableString(target.certificatePath)) throw problem("an haproxy target needs socket and certificatePath");
    return { type: "haproxy", socket: target.socket, certificatePath: target.certificatePath };
  }
  if (target.reload !== undefined && (!Array.isArray(target.reload) || target.reload.length === 0 || !target.reload.every(isUsableString))) {
    throw problem(`reload must be a command as a list, e.g. ["nginx", "-s", "reload"]`);
  }
  if (target.reloadTimeoutMs !== undefined && !(Number.isInteger(target.reloadTimeoutMs) && (target.reloadTimeoutMs as number) >= 100 && (target.reloadTimeoutMs as number) <= 600_000)) {
    throw problem("reloadTimeoutMs must be a whole number of milliseconds from 100 to 600000");
  }
  if (target.path !== undefined && !isUsableString(target.path)) throw problem(`path must be a directory, e.g. "/etc/nginx/certs"`);
  const keepProblem = keepVersionsProblem(target.keepVersions);
  if (keepProblem) throw problem(keepProblem);
  if (target.keepVersions !== undefined && target.path === undefined) throw problem("target.keepVersions applies to the versions published under path: set path too, or remove keepVersions");
  if (target.keyFile !== undefined) {
    if (!isObject(target.keyFile) || unknownMember(target.keyFile, ["group", "mode"]) !== undefined || Object.keys(target.keyFile).length === 0) throw problem(`target.keyFile must be {"group": "<group>", "mode": "0640"} (either or both)`);
    // The store's own copy stays its owner's: servers that read as another user read the published copy.
    if (target.path === undefined) throw problem("target.keyFile applies to the key published under path: set path too (servers then read <path>/<certificate>/privkey.pem), or remove keyFile");
  }
  return {
    type: "directory",
    ...(target.reload !== undefined ? { reload: target.reload as string[] } : {}),
    ...(target.reloadTimeoutMs !== undefined ? { reloadTimeoutMs: target.reloadTimeoutMs as number } : {}),
    ...(target.path !== undefined ? { path: path.resolve(baseDirectory, target.path) } : {}),
    ...(target.keepVersions !== undefined ? { keepVersions: target.keepVersions as number } : {}),
    ...(target.keyFile !== undefined ? { keyFile: { ...(target.keyFile as KeyFileSetting) } } : {}),
  };
}

function verificationFrom(verify: unknown, problem: Invalid): VerificationDefinition {
  const endpointsProblem = `verify.endpoints must be a list of "host:port", e.g. ["127.0.0.1:8443"]`;
  if (!isObject(verify)) throw problem(endpointsProblem);
  const extra = unknownMember(verify, VERIFY_MEMBERS);
  if (extra !== undefined) throw problem(`${quoted(extra)} is not a setting of verify (${VERIFY_MEMBERS.join(", ")})`);
  if (verify.endpoints === undefined && verify.agents === undefined) throw problem(`verify needs endpoints, agents or both, e.g. {"endpoints": ["127.0.0.1:8443"]} or {"agents": {}}`);
  if (verify.endpoints !== undefined) {
    if (!Array.isArray(verify.endpoints) || verify.endpoints.length === 0) throw problem(endpointsProblem);
    const badEndpoint = verify.endpoints.map((endpoint) => endpointProblem(endpoint)).find((found) => found !== undefined);
    if (badEndpoint !== undefined) throw problem(badEndpoint === "form" ? endpointsProblem : `verify.endpoints: ${badEndpoint}`);
  }
  const agentsProblem = agentVerificationProblem(verify.agents);
  if (agentsProblem) throw problem(agentsProblem);
  if (verify.serverName !== undefined && !isUsableString(verify.serverName)) throw problem("verify.serverName must be a host name, e.g. \"api.example.com\"");
  const serverName = verify.serverName === undefined ? undefined : readDnsName(verify.serverName as string);
  if (serverName && !serverName.ok) throw problem(`verify.serverName ${quoted(verify.serverName as string)} is not a host name (${serverName.problem})`);
  const timing = verificationTimingProblem(verify as Pick<VerificationDefinition, "timeoutMs" | "settleMs">);
  if (timing) throw problem(timing);
  return verify as unknown as VerificationDefinition;
}

/** What is wrong with `verify.agents`, or undefined (also when it is absent). */
export function agentVerificationProblem(agents: unknown): string | undefined {
  if (agents === undefined) return undefined;
  if (!isObject(agents)) return `verify.agents must be an object, e.g. {} or {"minimum": 3}`;
  const extra = unknownMember(agents, AGENT_MEMBERS);
  if (extra !== undefined) return `${quoted(extra)} is not a setting of verify.agents (${AGENT_MEMBERS.join(", ")})`;
  if (agents.minimum !== undefined && !(Number.isInteger(agents.minimum) && (agents.minimum as number) >= 1 && (agents.minimum as number) <= 10_000)) return "verify.agents.minimum must be a whole number from 1 to 10000";
  if (agents.liveWithinMs !== undefined && !(Number.isInteger(agents.liveWithinMs) && (agents.liveWithinMs as number) >= 1000 && (agents.liveWithinMs as number) <= 86_400_000)) {
    return "verify.agents.liveWithinMs must be a whole number of milliseconds from 1000 to 86400000";
  }
  return undefined;
}

/**
 * What is wrong with a verification endpoint: "form" when it is not `host:port`, a sentence when
 * its port cannot be connected to; undefined when it is fine.
 */
export function endpointProblem(endpoint: unknown): string | undefined {
  if (typeof endpoint !== "string" || !/^(\[[^\]\s\u0000-\u001f]+\]|[^:\s\u0000-\u001f\u007f]+):\d{1,5}$/.test(endpoint)) return "form";
  const port = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
  return port >= 1 && port <= 65_535 ? undefined : `${quoted(endpoint)} has port ${port}; ports are 1 to 65535`;
}
