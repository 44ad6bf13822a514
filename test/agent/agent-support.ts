/**
 * What the agent tests share: a store holding certificate `api` with fresh versions (a file store
 * here, a PostgreSQL one in postgres-agent-support.ts), the real `certstage` CLI run as a child
 * process (the agent as it runs on an edge server), waiting on what can be observed (a file, a
 * report, a handshake) with a bound that only catches a hang, and reading the agent's directory
 * straight from disk.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { lstatSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { expect, inject } from "vitest";
import type { VersionMaterial } from "../../provider/pki/version-material";
import type { AgentReport, Store } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestMaterials, REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { withParentDeathSignal } from "../support/processes";
import { type NginxServer, startNginx } from "../support/tls-servers";

export const SERVER_NAME = "api.example.test";
export const actor = { principal: "agent-test@ci" };
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");

/** How long a wait may take before the test calls it a hang: never a speed requirement. */
export const HANG_BOUND_MS = 60_000;

/** What the agent tests need of a store holding certificate `api`, whichever driver keeps it. */
export interface StoreFixture {
  /** What `--store` names: the file store's directory, or a `postgres://` URL. */
  readonly location: string;
  /** What a `certstage` child process needs besides `--store` (a database login and the store key; nothing for a file store). */
  readonly env: NodeJS.ProcessEnv;
  /** The owner's view of the store (a runner of team-edge on postgres). */
  readonly store: Store;
  /** The agent's directory (servers read `<directory>/api/fullchain.pem`). */
  readonly directory: string;
  readonly workspace: string;
  /** Materials of versions 1..n (index 0 is version 1). */
  readonly materials: VersionMaterial[];
  fingerprintOf(version: number): string;
  deploy(version: number): Promise<void>;
}

export interface AgentFixture extends StoreFixture {
  /** The file store's directory (what `location` names). */
  readonly storeRoot: string;
}

export interface FixtureOptions {
  /** Versions that hold the key of another version (see agentFixture). */
  readonly mismatched?: readonly number[];
}

/**
 * A file store with certificate `api` and `versions` versions, all for api.example.test. The
 * versions listed in `mismatched` hold the key of another version: a store row damaged, or a
 * buggy writer; the agent must refuse them.
 */
export async function agentFixture(name: string, versions: number, options: FixtureOptions = {}): Promise<AgentFixture> {
  const workspace = temporaryDirectory(`agent-${name}`);
  const storeRoot = path.join(workspace, "store");
  const fixture = await populateFixture({ workspace, store: createFileStore({ root: storeRoot }), location: storeRoot, env: {} }, versions, options);
  return { ...fixture, storeRoot };
}

/** Creates certificate `api` (owned by team-edge) with `versions` fresh versions in `target.store`. */
export async function populateFixture(
  target: { readonly workspace: string; readonly store: Store; readonly location: string; readonly env: NodeJS.ProcessEnv },
  versions: number,
  options: FixtureOptions = {},
): Promise<StoreFixture> {
  const { workspace, store } = target;
  const materials = makeTestMaterials(path.join(workspace, "pki"), Array.from({ length: versions }, () => SERVER_NAME));
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
  for (const [index, material] of materials.entries()) {
    const version = index + 1;
    const saved = options.mismatched?.includes(version) ? { ...material, privateKeyPem: materials[(index + 1) % materials.length].privateKeyPem } : material;
    await store.createVersion("api", "upload", saved, actor);
  }
  return {
    location: target.location,
    env: target.env,
    store,
    directory: path.join(workspace, "edge"),
    workspace,
    materials,
    fingerprintOf: (version) => materials[version - 1].facts.fingerprintSha256,
    deploy: async (version) => {
      await store.deploy("api", "production", version, actor);
    },
  };
}

/**
 * Polls `probe` until it returns something other than undefined; fails after the hang bound,
 * saying what it waited for, and with `context()` (say, the servers' logs) when given.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, boundMs = HANG_BOUND_MS, context?: () => string): Promise<T> {
  const deadline = Date.now() + boundMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: still not so after ${boundMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ""}${context ? `\n${context()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `certstage <args>` as a user runs it. */
export function certstage(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: HANG_BOUND_MS }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface AgentProcess {
  readonly child: ChildProcess;
  /** Everything it logged so far (stderr). */
  log(): string;
  /** Resolves with the log once a line matches. */
  waitForLog(pattern: RegExp, what?: string): Promise<string>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `certstage agent <args>` as a long-running process (dies with the test worker). */
export function spawnAgent(args: readonly string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const [program, programArgs] = withParentDeathSignal(process.execPath, [CLI, "agent", ...args]);
  const child = spawn(program, programArgs, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let log = "";
  child.stdout!.on("data", (chunk) => (log += String(chunk)));
  child.stderr!.on("data", (chunk) => (log += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return {
    child,
    log: () => log,
    waitForLog: (pattern, what) =>
      waitFor(what ?? `agent log line ${pattern}`, () => {
        if (pattern.test(log)) return log;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}):\n${log}`);
        return undefined;
      }).catch((error: Error) => {
        // What it did log instead is what explains a wait that never ended.
        throw new Error(`${error.message}\nagent log:\n${log}`);
      }),
    stop: async () => {
      child.kill("SIGTERM");
      return (await exited).code;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    exited,
  };
}

/** The version `<directory>/api` links to, or undefined. */
export function linkedVersion(directory: string, certificate = "api"): number | undefined {
  const link = path.join(directory, certificate);
  if (!lstatOrUndefined(link)?.isSymbolicLink()) return undefined;
  const match = /^\.versions\/[a-z0-9._-]+\/(\d+)$/.exec(readlinkSync(link));
  return match ? Number(match[1]) : undefined;
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/**
 * `<directory>/<certificate>` resolves to a whole version: cert, chain, fullchain = cert + chain,
 * a key (0600) that belongs to the certificate, and a certificate that is one of the store's
 * versions. Returns that version.
 */
export function expectWholeVersion(directory: string, fingerprints: readonly string[], where: string, certificate = "api"): number {
  const version = linkedVersion(directory, certificate);
  expect(version, `${where}: ${certificate} links to a version`).toBeDefined();
  const resolved = realpathSync(path.join(directory, certificate));
  const read = (file: string) => readFileSync(path.join(resolved, file), "utf8");
  expect(read("fullchain.pem"), `${where}: fullchain.pem`).toBe(read("cert.pem") + read("chain.pem"));
  const leaf = new X509Certificate(read("cert.pem"));
  expect(leaf.checkPrivateKey(createPrivateKey(read("privkey.pem"))), `${where}: the key matches the certificate`).toBe(true);
  expect(lstatSync(path.join(resolved, "privkey.pem")).mode & 0o777, `${where}: privkey.pem is 0600`).toBe(0o600);
  expect(leaf.fingerprint256, `${where}: the certificate is version ${version}`).toBe(fingerprints[version! - 1]);
  return version!;
}

/** The report of `agentId` for api, once it satisfies `condition`. */
export function reportOnceSo(store: Store, agentId: string, what: string, condition: (report: AgentReport) => boolean): Promise<AgentReport> {
  return waitFor(`the report of ${agentId}: ${what}`, async () => (await store.listAgentReports({ certificate: "api" })).find((report) => report.agentId === agentId && condition(report)));
}

/** The command lines a test gives the agent for an nginx started by tls-servers.ts. */
export function nginxCommands(reloadCommand: readonly string[]): { readonly check: string; readonly reload: string } {
  // reloadCommand is `<nginx> -p … -e … -c <conf> -s reload`; the same instance checks with -t.
  const instance = reloadCommand.slice(0, -2);
  return { check: JSON.stringify([...instance, "-t", "-q"]), reload: JSON.stringify(reloadCommand) };
}

/** nginx serving api.example.test from `<directory>/api/{fullchain,privkey}.pem` (the agent's layout). */
export function startNginxOn(directory: string): Promise<NginxServer> {
  return startNginx({ certificateFile: path.join(directory, "api", "fullchain.pem"), keyFile: path.join(directory, "api", "privkey.pem"), binary: inject("tlsServerBinaries").nginx });
}
