/**
 * One pass of the agent: read which version the store deploys in the environment for each
 * certificate it follows, make the directory hold exactly that (install what differs, remove
 * what is no longer deployed), reload the servers once if anything changed on disk, and report
 * what is served.
 *
 * - A version that fails its check (unit-check.ts) is refused: the last good version keeps
 *   serving, the failure is reported, and the version is tried again only at the next full resync
 *   (versions never change, but the clock does, and a "not yet valid" one becomes valid).
 * - A configuration check that fails after the switch puts the versions the servers had loaded
 *   back, so the disk never holds what the servers would refuse to load.
 * - The store is read, never trusted blindly: a store that holds no store at all (unmounted,
 *   emptied) or another store than before is refused before anything is removed.
 * - A kill at any point leaves the directory whole (one rename per switch), and a marker written
 *   before the first switch of a pass makes the next start reload what a killed pass switched but
 *   never reloaded.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { CertstageError } from "../errors";
import type { Store, VersionRecord } from "../store";
import { AGENT_ERROR_LIMIT } from "../store/agent-reports";
import { fsyncDirectory, replaceFileAtomically } from "../store/atomic-file";
import { certificatesOnDisk, installedUnitIntact, installedVersions, installVersion, pruneVersions, removeCertificate, restoreVersion, UnitRefused } from "./install";
import type { PassKind } from "./pass-scheduler";
import type { KeyFileAccess } from "../settings/key-file";
import { removeAbandonedStaging } from "../targets/published-versions";
import { ReloadCommands, ReloadFailure, reloadServers, reloadsServers } from "./reloader";
import { pushToHaproxy } from "./haproxy-socket";
import { observeServed, ServeCheck } from "./report";

export interface AgentSettings {
  readonly store: Store;
  readonly environment: string;
  /** Absolute; made by the caller. */
  readonly directory: string;
  /** privkey.pem's and keystore.p12's mode and group; default 0600, the agent's group. */
  readonly keyFile?: KeyFileAccess;
  /** Only these certificates; undefined: every certificate deployed in the environment. */
  readonly certificates?: readonly string[];
  readonly agentId: string;
  readonly host: string;
  readonly reload: ReloadCommands;
  readonly serveCheck?: ServeCheck;
  /** One line per change or failure; never key material. */
  readonly log: (line: string) => void;
  readonly now: () => Date;
}

/** What a pass leaves for the next one. */
export class AgentState {
  storeIdentity: string | undefined;
  /** Versions refused until the next full resync, per certificate. */
  readonly refused = new Map<string, number>();
  /** The last problem of each certificate's install, until it installs. */
  readonly problems = new Map<string, string>();
  /** The version served before the current one, kept on disk as the last good. */
  readonly previous = new Map<string, number>();
  /** Changed on disk, not yet reloaded (a failed reload, or a pass killed before its reload). */
  reloadPending = false;
  reloadProblem: string | undefined;

  /** The state a starting agent knows: whether a killed pass left a reload to do. */
  static async load(directory: string): Promise<AgentState> {
    const state = new AgentState();
    state.reloadPending = await fs.access(reloadMarker(directory)).then(
      () => true,
      () => false,
    );
    return state;
  }
}

export interface PassOutcome {
  readonly reloaded: boolean;
  /** certificate -> deployed version, as the pass read it. */
  readonly deployments: ReadonlyMap<string, number>;
  /** Every followed certificate is installed (and served, where checked) at its deployed version, and nothing failed. */
  readonly converged: boolean;
}

interface Change {
  readonly certificate: string;
  readonly from?: number;
  readonly to?: number;
}

const reloadMarker = (directory: string) => path.join(directory, ".reload-pending");

/** The environment's deployments that this agent follows, certificate -> version. */
export async function deployedVersions(store: Store, environment: string, certificates: readonly string[] | undefined): Promise<Map<string, number>> {
  const deployed = new Map<string, number>();
  for (const deployment of await store.listDeployments()) {
    if (deployment.environment !== environment) continue;
    if (certificates !== undefined && !certificates.includes(deployment.certificate)) continue;
    deployed.set(deployment.certificate, deployment.version);
  }
  return deployed;
}

/** Refuses a store that holds nothing, or not the store of the last pass: removing everything would follow. */
async function requireSameStore(store: Store, state: AgentState): Promise<void> {
  const identity = await store.identity();
  if (identity === undefined) {
    throw new CertstageError("STORE_MISMATCH", `${store.description} holds no store (missing, empty, or not mounted); the agent changes nothing until it does`, {
      field: "--store",
      fix: "point --store at the store the environment is deployed from, or mount it",
    });
  }
  if (state.storeIdentity !== undefined && identity.id !== state.storeIdentity) {
    throw new CertstageError("STORE_MISMATCH", `${store.description} now holds store ${identity.id}, not store ${state.storeIdentity} this agent followed; the agent changes nothing`, {
      field: "--store",
      fix: "restore the store the agent followed, or restart the agent to follow this one",
    });
  }
  state.storeIdentity = identity.id;
}

const versionLabel = (version: number | undefined) => (version === undefined ? "nothing" : `v${version}`);

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > AGENT_ERROR_LIMIT ? `${line.slice(0, AGENT_ERROR_LIMIT - 1)}…` : line;
}

export async function runPass(settings: AgentSettings, state: AgentState, kind: PassKind): Promise<PassOutcome> {
  const { store, directory, environment, log } = settings;
  const now = settings.now();
  await requireSameStore(store, state);
  const desired = await deployedVersions(store, environment, settings.certificates);
  const before = await installedVersions(directory);
  const follows = (name: string) => settings.certificates === undefined || settings.certificates.includes(name);
  const names = [...new Set([...desired.keys(), ...[...before.keys()].filter(follows)])].sort();
  const reloading = reloadsServers(settings.reload);
  const pendingBefore = state.reloadPending;
  const changes: Change[] = [];
  const records = new Map<string, VersionRecord>();

  const beforeSwitch = async () => {
    if (!reloading || state.reloadPending) return;
    await replaceFileAtomically(reloadMarker(directory), `${process.pid}\n`);
    state.reloadPending = true;
  };

  try {
    for (const name of names) {
      const want = desired.get(name);
      const have = before.get(name);
      if (want === undefined) {
        state.refused.delete(name);
        state.problems.delete(name);
        if (have === undefined) continue;
        await beforeSwitch();
        await removeCertificate(directory, name);
        changes.push({ certificate: name, from: have });
        log(`remove ${name} ${versionLabel(have)}: no longer deployed in ${environment}`);
        continue;
      }
      const record = await store.getVersion(name, want);
      if (record === undefined) {
        state.problems.set(name, `version ${want} is deployed but the store has no record of it`);
        continue;
      }
      records.set(name, record);
      if (have === want && (kind === "change" || (await installedUnitIntact(directory, record, now, settings.keyFile)))) {
        // Served as deployed (a refused version was replaced by a deploy of this one, say): nothing is owed for it.
        state.refused.delete(name);
        state.problems.delete(name);
        continue;
      }
      if (kind === "change" && state.refused.get(name) === want) continue;
      try {
        await installVersion({ directory, record, load: () => store.readVersionFiles(name, want), now, beforeSwitch, ...(settings.keyFile ? { keyFile: settings.keyFile } : {}) });
      } catch (error) {
        if (!(error instanceof UnitRefused)) throw error;
        state.refused.set(name, want);
        const problem = `version ${want} refused: ${error.message}; still serving ${versionLabel(have)}`;
        state.problems.set(name, problem);
        log(`refuse ${name} v${want}: ${oneLine(error.message)}; still serving ${versionLabel(have)}`);
        continue;
      }
      state.refused.delete(name);
      state.problems.delete(name);
      changes.push({ certificate: name, from: have, to: want });
      log(have === want ? `reinstall ${name} v${want}: its files on disk had changed` : `install ${name} v${want} (was ${versionLabel(have)})`);
    }
  } catch (error) {
    // What was switched before the failure still needs its reload; the marker says so too.
    if (changes.length > 0 && reloading) state.reloadPending = true;
    throw error;
  }

  const reloaded = await reloadIfNeeded(settings, state, changes, pendingBefore);
  for (const change of changes) if (change.from !== undefined && change.to !== undefined && change.from !== change.to) state.previous.set(change.certificate, change.from);
  const after = await installedVersions(directory);
  if (!state.reloadPending) await pruneDirectory(settings, state, after, names);

  const converged = await report(settings, state, names, after, records, reloaded, kind);
  return { reloaded, deployments: desired, converged: converged && !state.reloadPending };
}

/** Reloads once when the pass changed the disk (or a reload is owed); puts things back when the check fails. */
async function reloadIfNeeded(settings: AgentSettings, state: AgentState, changes: readonly Change[], pendingBefore: boolean): Promise<boolean> {
  const { directory, log } = settings;
  if (!reloadsServers(settings.reload)) return false;
  if (changes.length === 0 && !state.reloadPending) {
    // The disk holds what the servers loaded: an earlier failure is over.
    state.reloadProblem = undefined;
    return false;
  }
  const what = changes.length > 0 ? changes.map((change) => `${change.certificate} ${versionLabel(change.to)}`).join(", ") : "a reload owed by an earlier pass";
  const { haproxy } = settings.reload;
  // A reload owed by an earlier pass may be for any certificate: HAProxy gets all of them again.
  const pushed = changes.length > 0 ? changes.filter((change) => change.to !== undefined).map((change) => change.certificate) : [...(await installedVersions(directory)).keys()].filter((name) => settings.certificates === undefined || settings.certificates.includes(name));
  try {
    await reloadServers(settings.reload, async () => {
      if (haproxy) for (const certificate of pushed) await pushToHaproxy(haproxy, directory, certificate);
    });
  } catch (error) {
    if (!(error instanceof ReloadFailure)) throw error;
    const problem = oneLine(error.message);
    if (error.step === "reload") {
      state.reloadPending = true;
      state.reloadProblem = problem;
      log(`reload failed for ${what}: ${problem}; the files stay, reloading again at the next pass`);
      return false;
    }
    // The servers would refuse these files: put back what they loaded last, and refuse the versions until the next resync.
    for (const change of [...changes].reverse()) {
      await restoreVersion(directory, change.certificate, change.from);
      if (change.to !== undefined) state.refused.set(change.certificate, change.to);
      const what = change.to === undefined ? "its removal" : `version ${change.to}`;
      state.problems.set(change.certificate, `${what} put back: ${problem}; still serving ${versionLabel(change.from)}`);
    }
    state.reloadPending = pendingBefore;
    // Said per certificate where the check refused changes; said for all when it refused a reload owed.
    state.reloadProblem = changes.length === 0 ? problem : undefined;
    if (!pendingBefore) await clearReloadMarker(directory);
    log(`check failed for ${what}: ${problem}; put back ${changes.map((change) => `${change.certificate} ${versionLabel(change.from)}`).join(", ") || "nothing"}`);
    return false;
  }
  state.reloadPending = false;
  state.reloadProblem = undefined;
  await clearReloadMarker(directory);
  log(`reload for ${what}`);
  return true;
}

async function clearReloadMarker(directory: string): Promise<void> {
  await fs.rm(reloadMarker(directory), { force: true });
  await fsyncDirectory(directory);
}

/** Keeps, per certificate, the version served and the last good one before it; removes the rest. */
async function pruneDirectory(settings: AgentSettings, state: AgentState, installed: ReadonlyMap<string, number>, followed: readonly string[]): Promise<void> {
  const follows = (name: string) => settings.certificates === undefined ? true : settings.certificates.includes(name);
  const onDisk = (await certificatesOnDisk(settings.directory)).filter(follows);
  for (const name of [...new Set([...followed, ...onDisk])]) {
    const current = installed.get(name);
    if (current === undefined) {
      state.previous.delete(name);
      await pruneVersions(settings.directory, name, new Set());
      continue;
    }
    const previous = state.previous.get(name);
    // After a restart the last good version is not known: keep every version until the next change says.
    if (previous !== undefined) await pruneVersions(settings.directory, name, new Set([current, previous]));
    else await removeAbandonedStaging(settings.directory, name);
  }
}

/** Reports each followed certificate; returns whether all of them serve their deployed version without a problem. */
async function report(settings: AgentSettings, state: AgentState, names: readonly string[], installed: ReadonlyMap<string, number>, records: Map<string, VersionRecord>, reloaded: boolean, kind: PassKind): Promise<boolean> {
  const { store } = settings;
  const reported = [...new Set([...names, ...(settings.certificates ?? [])])].sort();
  let converged = true;
  for (const name of reported) {
    const version = installed.get(name);
    let record = version === undefined ? undefined : records.get(name);
    if (version !== undefined && record?.version !== version) record = await store.getVersion(name, version);
    let observation = await observeServed(store, settings.serveCheck, record, reloaded);
    const { haproxy } = settings.reload;
    if (haproxy && kind === "full" && record && observation.servedFingerprintSha256 !== undefined && observation.servedFingerprintSha256 !== record.fingerprintSha256) {
      // HAProxy keeps a pushed certificate in memory only: a restarted one serves its crt file again.
      try {
        await pushToHaproxy(haproxy, settings.directory, name);
        settings.log(`push ${name} v${record.version} to HAProxy again: it served ${observation.version === undefined ? "another certificate" : `v${observation.version}`}`);
        observation = await observeServed(store, settings.serveCheck, record, true);
      } catch (error) {
        if (!(error instanceof ReloadFailure)) throw error;
        observation = { ...observation, problem: `${observation.problem}; pushing it again failed: ${oneLine(error.message)}` };
      }
    }
    const deployed = records.get(name)?.version;
    const notDeployed = settings.certificates?.includes(name) && !records.has(name) && !state.problems.has(name) ? `not deployed in ${settings.environment}` : undefined;
    const problems = [state.problems.get(name), state.reloadProblem, observation.problem, notDeployed].filter((problem): problem is string => problem !== undefined);
    if (problems.length > 0 || observation.version !== deployed) converged = false;
    await store.putAgentReport({
      agentId: settings.agentId,
      host: settings.host,
      environment: settings.environment,
      certificate: name,
      ...(observation.version !== undefined ? { version: observation.version } : {}),
      ...(observation.servedFingerprintSha256 !== undefined ? { servedFingerprintSha256: observation.servedFingerprintSha256 } : {}),
      lastSeen: settings.now().toISOString(),
      ...(problems.length > 0 ? { lastError: oneLine(problems.join("; ")) } : {}),
    });
  }
  return converged;
}
