/**
 * The file store's own JSON, read back. Each file is checked for the shape certstage writes, and
 * for naming what its place in the store says it names (version.json in `versions/3` is version
 * 3), so a file damaged by a crash, a disk or a hand edit is refused as STORE_CORRUPT, naming the
 * file and the member, instead of turning up later as a TypeError wherever it was read.
 */
import { CertstageError, quoted } from "../errors";
import { NAME_PATTERN } from "./store";
import type { AcmeOrderInFlight, AcmeRenewalRecord, CertificateRecord, DeploymentTask, HistoryEntry, StoreIdentity, VersionRecord, VersionSummary } from "./store";

/** The format this certstage writes; a file of another was written by another certstage. */
export const STORE_FORMAT = 1;

export interface CertificateFile extends CertificateRecord {
  readonly format: number;
  /** Set when deleted: the record stays so version numbers are never reused. */
  readonly deletedAt?: string;
}

type Check = (value: unknown) => boolean;

/**
 * The checks that are one `typeof` test, by the type they test: object() and listOf() make that
 * test themselves instead of calling the check, a call for each of status's 170,000 members.
 */
const TYPE_TESTED = new Map<Check, "string" | "boolean">();

function typeTest(type: "string" | "boolean"): Check {
  const check: Check = (value) => typeof value === type;
  TYPE_TESTED.set(check, type);
  return check;
}

const text = typeTest("string");
const name: Check = (value) => typeof value === "string" && NAME_PATTERN.test(value);
/**
 * What toISOString writes, with every field in range: a subset of what Date.parse accepts, and
 * tested first because it is several times cheaper (status checks some 40,000 times). Anything
 * else is still whatever Date.parse reads.
 */
const ISO_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,3})?Z$/;
export const isTime = (value: unknown): boolean => typeof value === "string" && (ISO_TIME.test(value) || !Number.isNaN(Date.parse(value)));
const time: Check = isTime;
const flag = typeTest("boolean");
const count = (minimum: number): Check => (value) => Number.isSafeInteger(value) && (value as number) >= minimum;
const oneOf = (...allowed: readonly string[]): Check => (value) => typeof value === "string" && allowed.includes(value);
// Plain loops rather than every() with a destructuring callback: status checks some 170,000
// members of 10,000 version summaries, and the callbacks were half of the check's cost.
const listOf = (item: Check): Check => {
  const type = TYPE_TESTED.get(item);
  return (value) => {
    if (!Array.isArray(value)) return false;
    for (let index = 0; index < value.length; index += 1) if (type !== undefined ? typeof value[index] !== type : !item(value[index])) return false;
    return true;
  };
};
const optional = (check: Check): Check => (value) => value === undefined || check(value);
const object = (shape: Record<string, Check>): Check => {
  const keys = Object.keys(shape);
  const checks = keys.map((key) => shape[key]);
  const types = checks.map((check) => TYPE_TESTED.get(check));
  return (value) => {
    if (!isObject(value)) return false;
    for (let index = 0; index < keys.length; index += 1) {
      const member = value[keys[index]];
      const type = types[index];
      if (type !== undefined ? typeof member !== type : !checks[index](member)) return false;
    }
    return true;
  };
};

const ORIGIN: Check = optional(object({ urn: text, inputs: text }));

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const CERTIFICATE: Record<string, Check> = {
  format: optional(count(0)),
  name,
  displayName: text,
  type: oneOf("server", "ca"),
  owner: text,
  shareWith: listOf(text),
  description: text,
  lastVersion: count(0),
  createdAt: time,
  updatedAt: time,
  deletedAt: optional(time),
  origin: ORIGIN,
};

const VERSION: Record<string, Check> = {
  format: optional(count(0)),
  certificate: name,
  version: count(1),
  method: oneOf("upload", "generate", "signed", "acme"),
  serial: text,
  subject: text,
  issuer: text,
  sans: listOf(text),
  notBefore: time,
  notAfter: time,
  keyAlgorithm: text,
  fingerprintSha256: text,
  publicKeySha256: text,
  isCa: flag,
  chainFingerprints: listOf(text),
  jwk: object({ kty: text, kid: text, x5c: listOf(text) }),
  createdAt: time,
  createdBy: text,
  origin: ORIGIN,
};

const IDENTITY: Record<string, Check> = { format: count(1), id: (value) => typeof value === "string" && /^[0-9a-f-]{36}$/.test(value), createdAt: time };

const HISTORY: Record<string, Check> = {
  at: time,
  actor: text,
  action: oneOf("certificate.create", "certificate.update", "certificate.delete", "version.create", "version.delete", "version.release", "version.remove", "deploy", "rollback", "undeploy", "verify", "task.queue", "task.run", "task.cancel", "acme.order"),
  certificate: name,
  environment: optional(name),
  fromVersion: optional(count(1)),
  toVersion: optional(count(1)),
  result: oneOf("ok", "failed"),
  detail: optional(text),
};

const TASK: Record<string, Check> = {
  id: text,
  certificate: name,
  environment: name,
  // Absent in tasks written before undeploy tasks existed: those are swaps.
  action: optional(oneOf("deploy", "undeploy")),
  version: optional(count(1)),
  fromVersion: optional(count(1)),
  notBefore: optional(time),
  createdAt: time,
  createdBy: text,
  state: oneOf("pending", "running", "done", "failed", "cancelled"),
  environments: listOf(isObject),
  runner: optional(object({ principal: text, host: text, pid: count(1) })),
  startedAt: optional(time),
  finishedAt: optional(time),
  finishedBy: optional(text),
  detail: optional(text),
};

const RENEWAL: Record<string, Check> = {
  certificate: name,
  version: count(1),
  directoryUrl: text,
  notBefore: time,
  notAfter: time,
  ariCertificateId: optional(text),
  issuedAt: time,
  renewalDueAt: optional(time),
};

const ACCOUNT: Record<string, Check> = { directoryUrl: text, accountUrl: optional(text) };

const ORDER: Record<string, Check> = { certificate: name, directoryUrl: text, orderUrl: text, accountUrl: text, origin: ORIGIN, createdAt: time };

function corrupt(file: string, problem: string): CertstageError {
  return new CertstageError("STORE_CORRUPT", `${file} ${problem}`, {
    fix: "restore the file from a backup of the store (certstage writes it whole, by rename, so a damaged one was changed by something else)",
  });
}

/** Parses `contents` as the record `shape` describes; `expected` are members its place in the store fixes. */
function recordFrom<T>(contents: string, file: string, shape: Record<string, Check>, expected: Record<string, unknown> = {}): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(contents);
  } catch {
    throw corrupt(file, "is not valid JSON");
  }
  return checked<T>(parsed, file, shape, expected);
}

/** A shape's members as a list, made once per shape: status checks every version.json against one. */
const shapeMembers = new WeakMap<Record<string, Check>, ReadonlyArray<readonly [string, Check]>>();

function membersOf(shape: Record<string, Check>): ReadonlyArray<readonly [string, Check]> {
  let members = shapeMembers.get(shape);
  if (members === undefined) {
    members = Object.entries(shape);
    shapeMembers.set(shape, members);
  }
  return members;
}

function checked<T>(parsed: unknown, file: string, shape: Record<string, Check>, expected: Record<string, unknown> = {}): T {
  if (!isObject(parsed)) throw corrupt(file, `holds ${parsed === null ? "null" : Array.isArray(parsed) ? "a list" : `a ${typeof parsed}`}, not a record`);
  for (const [key, check] of membersOf(shape)) {
    if (!check(parsed[key])) throw corrupt(file, parsed[key] === undefined ? `has no '${key}'` : `has a '${key}' that is not what certstage writes there`);
  }
  if (typeof parsed.format === "number" && parsed.format !== STORE_FORMAT) throw corrupt(file, `is in store format ${parsed.format}; this certstage reads format ${STORE_FORMAT} (upgrade certstage to read it)`);
  for (const key in expected) {
    if (parsed[key] !== expected[key]) throw corrupt(file, `names ${key} ${quoted(String(parsed[key]))}, but its place in the store is ${key} ${quoted(String(expected[key]))}`);
  }
  return parsed as T;
}

export const certificateFileFrom = (contents: string, file: string, certificate: string) => recordFrom<CertificateFile>(contents, file, CERTIFICATE, { name: certificate });

export const versionFileFrom = (contents: string, file: string, certificate: string, version: number) =>
  recordFrom<VersionRecord & { format?: number }>(contents, file, VERSION, { certificate, version });

/** `certificates/<name>/versions.json`: the summaries of a certificate's versions (see drivers/file.ts). */
export const VERSION_INDEX_FILE = "versions.json";

/** About 600 bytes a version: room for some 100,000 versions of one certificate. */
export const MAX_VERSION_INDEX_BYTES = 64 * 1024 * 1024;

const { jwk: _jwk, chainFingerprints: _chainFingerprints, format: _format, ...VERSION_SUMMARY } = VERSION;
const VERSION_INDEX: Record<string, Check> = { format: count(1), certificate: name, versions: listOf(object(VERSION_SUMMARY)) };

export function versionIndexFrom(contents: string, file: string, certificate: string): { versions: VersionSummary[] } {
  try {
    const index = recordFrom<{ versions: VersionSummary[] }>(contents, file, VERSION_INDEX, { certificate });
    const stranger = index.versions.find((summary) => summary.certificate !== certificate);
    if (stranger) throw corrupt(file, `summarizes a version of ${quoted(stranger.certificate)}, but its place in the store is certificate ${quoted(certificate)}`);
    return index;
  } catch (error) {
    if (!(error instanceof CertstageError)) throw error;
    // Only a summary of the version directories beside it: nothing is lost by making it again.
    throw new CertstageError("STORE_CORRUPT", error.problem, { fix: `remove ${file}: it only summarizes the version directories in versions/, and certstage writes it again with the next version it saves` });
  }
}

/**
 * `releases.json`: the versions history.jsonl records as released, by certificate, as of its
 * first `historyBytes` bytes (`historyLines` lines), whose last line is `lastLine` (see drivers/file.ts).
 */
export const RELEASES_FILE = "releases.json";

export interface ReleasesFile {
  readonly format: number;
  readonly historyBytes: number;
  readonly historyLines: number;
  readonly lastLine: string;
  readonly released: Record<string, number[]>;
}

const versionNumbers = listOf(count(1));

const RELEASES: Record<string, Check> = {
  format: count(1),
  historyBytes: count(1),
  historyLines: count(1),
  lastLine: text,
  released: (value) => {
    if (!isObject(value)) return false;
    for (const certificate in value) if (!NAME_PATTERN.test(certificate) || !versionNumbers(value[certificate])) return false;
    return true;
  },
};

export function releasesFileFrom(contents: string, file: string): ReleasesFile {
  try {
    return recordFrom<ReleasesFile>(contents, file, RELEASES);
  } catch (error) {
    if (!(error instanceof CertstageError)) throw error;
    // Only a summary of history.jsonl: nothing is lost by making it again.
    throw new CertstageError("STORE_CORRUPT", error.problem, { fix: `remove ${file}: it only summarizes the releases in history.jsonl, and certstage writes it again with the next release` });
  }
}

export function taskFileFrom(contents: string, file: string, id: string): DeploymentTask {
  const task = recordFrom<DeploymentTask>(contents, file, TASK, { id });
  // A swap names its version, an undeploy none.
  if ((task.action === "undeploy") !== (task.version === undefined)) throw corrupt(file, task.action === "undeploy" ? "is an undeploy task with a 'version'" : "has no 'version'");
  return task;
}

export const renewalFileFrom = (contents: string, file: string, certificate: string) => recordFrom<AcmeRenewalRecord>(contents, file, RENEWAL, { certificate });

export const identityFileFrom = (contents: string, file: string) => recordFrom<StoreIdentity & { format: number }>(contents, file, IDENTITY);

export const orderFileFrom = (contents: string, file: string, certificate: string) => recordFrom<Omit<AcmeOrderInFlight, "certificateKeyPem">>(contents, file, ORDER, { certificate });

export const accountFileFrom = (contents: string, file: string) => recordFrom<{ directoryUrl: string; accountUrl?: string }>(contents, file, ACCOUNT);

/**
 * The entries of history.jsonl. A line that is not JSON was torn by a crash mid-append (the lines
 * around it are whole) and is skipped; a line that is JSON but not an entry was changed by
 * something else and is refused, with its line number.
 */
export function historyFrom(contents: string, file: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const [index, line] of contents.split("\n").entries()) {
    const entry = historyLineFrom(line, file, index + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** One line of history.jsonl (historyFrom's rules): undefined for a blank or torn line. */
export function historyLineFrom(line: string, file: string, lineNumber: number): HistoryEntry | undefined {
  if (line.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  return checked<HistoryEntry>(parsed, `${file} line ${lineNumber}`, HISTORY);
}

// ---- agent reports (`certstage agent`) ---------------------------------------------------------
// Kept in one section, imports included, apart from the records above.

import type { AgentReport } from "./store";

/** `agents/<agentId>.json`: one file per agent, holding its report for every certificate it follows. */
export interface AgentFile {
  readonly format: number;
  readonly agentId: string;
  readonly reports: AgentReport[];
}

const AGENT_REPORT: Record<string, Check> = {
  agentId: name,
  host: text,
  environment: name,
  certificate: name,
  version: optional(count(1)),
  servedFingerprintSha256: optional(text),
  lastSeen: time,
  lastError: optional(text),
};

const AGENT: Record<string, Check> = { format: count(1), agentId: name, reports: listOf(object(AGENT_REPORT)) };

export function agentFileFrom(contents: string, file: string, agentId: string): AgentFile {
  const record = recordFrom<AgentFile>(contents, file, AGENT, { agentId });
  // A report filed under another agent's name would be shown as this agent's.
  const foreign = record.reports.find((report) => report.agentId !== agentId);
  if (foreign) throw corrupt(file, `holds a report of agent ${quoted(foreign.agentId)}, but its place in the store is agent ${quoted(agentId)}`);
  return record;
}

// ---- notifications (`certstage notify`) --------------------------------------------------------

import type { NotificationRecord } from "./store";

/** `notifications.json`: every notice sent, being sent, or that failed, in one small file. */
export interface NotificationsFile {
  readonly format: number;
  readonly notifications: NotificationRecord[];
}

const NOTIFICATION: Record<string, Check> = {
  key: text,
  certificate: name,
  environment: optional(name),
  state: oneOf("claimed", "sent", "failed"),
  attempts: count(0),
  claimedAt: time,
  claimedBy: text,
  claimId: text,
  sentAt: optional(time),
  lastError: optional(text),
};

const NOTIFICATIONS: Record<string, Check> = { format: count(1), notifications: listOf(object(NOTIFICATION)) };

export function notificationsFileFrom(contents: string, file: string): NotificationsFile {
  return recordFrom<NotificationsFile>(contents, file, NOTIFICATIONS);
}
