/**
 * `certstage agent`: makes an edge server follow its environment. It keeps, in a directory of its
 * own, the layout of the store's environments (`<directory>/<certificate>/fullchain.pem`,
 * `privkey.pem` 0600, `keystore.p12` for versions saved with a keystore, …), installs each deployed version as one verified unit, reloads the
 * servers once per burst of changes after a configuration check, and reports what it serves.
 *
 * This file checks the settings (a wrong one is a configuration error, the only reason the agent
 * stops on its own) and starts it; follow.ts keeps it running, sync.ts does each pass.
 */
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CertstageError } from "../errors";
import { AGENT_ID_PATTERN, NAME_PATTERN, type Store } from "../store";
import { agentIdInvalid } from "../store/agent-reports";
import { nameInvalid } from "../store/store-errors";
import { keyFileAccess, type KeyFileSetting } from "../settings/key-file";
import { followEnvironment, FollowingAgent, FollowTiming, syncOnce } from "./follow";
import type { CoalescingTiming } from "./pass-scheduler";
import type { ReloadCommands } from "./reloader";
import type { ServeCheck } from "./report";
import type { AgentSettings, PassOutcome } from "./sync";

import { DEFAULT_RESYNC_INTERVAL_MS } from "./lag";

export { DEFAULT_RESYNC_INTERVAL_MS };
export const DEFAULT_POLL_INTERVAL_MS = 2000;

export interface AgentOptions {
  readonly store: Store;
  readonly environment: string;
  /** Where the certificates are kept; made if missing. */
  readonly directory: string;
  /** Only these certificates (default: every certificate deployed in the environment). */
  readonly certificates?: readonly string[];
  /** Default: this machine's host name, made to fit AGENT_ID_PATTERN. */
  readonly agentId?: string;
  readonly reload?: ReloadCommands;
  /** A local address serving the certificates, for the handshake that finds what is served. */
  readonly serveCheck?: ServeCheck;
  /** The installed privkey.pem's and keystore.p12's group and mode (--key-group, --key-mode); default 0600. */
  readonly keyFile?: KeyFileSetting;
  readonly resyncIntervalMs?: number;
  readonly pollIntervalMs?: number;
  readonly coalescing?: CoalescingTiming;
  /** Default: one line to stderr with the time. */
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
}

function configInvalid(field: string, problem: string, fix: string): CertstageError {
  return new CertstageError("CONFIG_INVALID", problem, { field, fix });
}

/** The host name as an agent id: lower-case, other characters as '-', cut to 64. */
export function defaultAgentId(hostname: string = os.hostname()): string | undefined {
  const id = hostname
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/\.\.+/g, ".")
    .slice(0, 64)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return AGENT_ID_PATTERN.test(id) ? id : undefined;
}

export function stderrLog(environment: string): (line: string) => void {
  return (line) => process.stderr.write(`${new Date().toISOString()} certstage agent ${environment}: ${line}\n`);
}

/** Checks every setting and makes the directory; throws CONFIG_INVALID / NAME_INVALID naming the flag. */
export async function agentSettings(options: AgentOptions): Promise<AgentSettings & { readonly timing: FollowTiming }> {
  if (!NAME_PATTERN.test(options.environment)) throw nameInvalid("environment", options.environment, "--environment");
  for (const certificate of options.certificates ?? []) if (!NAME_PATTERN.test(certificate)) throw nameInvalid("certificate", certificate, "--certificate");
  const agentId = options.agentId ?? defaultAgentId();
  if (agentId === undefined) throw configInvalid("--agent-id", `the host name ${JSON.stringify(os.hostname())} cannot be an agent id`, "give one with --agent-id (1-64 lower-case letters, digits, '.', '_' or '-')");
  if (!AGENT_ID_PATTERN.test(agentId)) throw agentIdInvalid(agentId);
  const resyncIntervalMs = options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!(resyncIntervalMs >= 1000)) throw configInvalid("--resync-interval", `a resync interval of ${resyncIntervalMs} ms is too short`, "use 1s or more (the default is 60s)");
  if (!(pollIntervalMs >= 10)) throw configInvalid("--poll-interval", `a poll interval of ${pollIntervalMs} ms is too short`, "use 10ms or more (the default is 2s)");
  for (const [field, command] of [["--check", options.reload?.check], ["--reload", options.reload?.reload]] as const) {
    if (command === undefined) continue;
    if (command.length === 0 || command.some((word) => word === "" || word.includes("\u0000"))) throw configInvalid(field, `${field} names no command`, `give the program and its arguments, e.g. ${field} "nginx ${field === "--check" ? "-t" : "-s reload"}"`);
    await requireProgram(field, command[0]);
  }
  const haproxy = options.reload?.haproxy;
  if (haproxy !== undefined && !haproxy.certificatePath.includes("{certificate}") && options.certificates?.length !== 1) {
    throw configInvalid("--haproxy-crt", `--haproxy-crt '${haproxy.certificatePath}' names one crt file, and the agent may follow several certificates`, "put {certificate} in it (e.g. '/etc/haproxy/certs/{certificate}.pem'), or follow one certificate with --certificate");
  }
  const keyFile = options.keyFile === undefined ? undefined : keyFileAccess(options.keyFile, options.keyFile.group !== undefined ? "--key-group" : "--key-mode");
  const directory = path.resolve(options.directory);
  await prepareDirectory(directory);
  return {
    store: options.store,
    environment: options.environment,
    directory,
    ...(options.certificates !== undefined ? { certificates: [...new Set(options.certificates)].sort() } : {}),
    agentId,
    host: os.hostname(),
    reload: options.reload ?? {},
    ...(options.serveCheck !== undefined ? { serveCheck: options.serveCheck } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    log: options.log ?? stderrLog(options.environment),
    now: options.now ?? (() => new Date()),
    timing: { resyncIntervalMs, pollIntervalMs, ...(options.coalescing ? { coalescing: options.coalescing } : {}) },
  };
}

/** A program that cannot run would fail every reload: say so at start, as a configuration error. */
async function requireProgram(field: string, program: string): Promise<void> {
  const candidates = program.includes("/") ? [path.resolve(program)] : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((directory) => path.join(directory, program));
  for (const candidate of candidates) {
    const runnable = await fs.access(candidate, fs.constants.X_OK).then(
      () => true,
      () => false,
    );
    if (runnable) return;
  }
  throw configInvalid(field, `the program '${program}' of ${field} cannot be run (${program.includes("/") ? "no such executable file" : "not found in PATH"})`, "give the full path of the program, e.g. /usr/sbin/nginx");
}

async function prepareDirectory(directory: string): Promise<void> {
  try {
    await fs.mkdir(directory, { recursive: true, mode: 0o755 });
    await fs.access(directory, fs.constants.W_OK | fs.constants.X_OK);
    if (!(await fs.stat(directory)).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (cause) {
    throw new CertstageError("CONFIG_INVALID", `the agent cannot keep certificates in ${directory} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, {
      field: "--directory",
      fix: "give a directory this user may write (the agent makes it if missing), on the filesystem the servers read",
      cause,
    });
  }
}

/** Starts following; runs until `stop()`. */
export async function startAgent(options: AgentOptions): Promise<FollowingAgent> {
  const { timing, ...settings } = await agentSettings(options);
  return followEnvironment(settings, timing);
}

/** One full pass (`--once`): installs, reloads and reports, then returns what it found. */
export async function runAgentOnce(options: AgentOptions): Promise<PassOutcome> {
  const { timing: _timing, ...settings } = await agentSettings(options);
  return syncOnce(settings);
}
