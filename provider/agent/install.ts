/**
 * The agent's directory, in the layout of the `directory` target (published-versions.ts):
 *
 *   <directory>/<certificate>  -> .versions/<certificate>/<n>
 *   <directory>/.versions/<certificate>/<n>/{cert.pem,chain.pem,fullchain.pem,privkey.pem (0600),jwk.json}
 *                                             (+ keystore.p12, as privkey.pem, for versions saved with a keystore)
 *
 * A version is installed as one verified unit: its files are written under a staging name,
 * fsynced, read back and checked (unit-check.ts), and only then renamed into place; the link is
 * switched by one rename. A unit that fails the check is removed and the link keeps pointing at
 * the last good version. The version before the current one stays on disk, so a failed reload can
 * be put back without the store.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { CertstageError } from "../errors";
import type { VersionFiles, VersionRecord } from "../store";
import { NAME_PATTERN } from "../store";
import {
  pointCertificateAt,
  PUBLISHED_FILES,
  PublishedUnit,
  publishedVersionDirectory,
  publishedVersionNumbers,
  publishedVersionOf,
  publishedVersionsOf,
  publishVersion,
  keyFileHas,
  removeAbandonedStaging,
  removePublishedVersions,
} from "../targets/published-versions";
import { versionsToRemove } from "../lifecycle/retention";
import { unitProblems } from "./unit-check";
import type { KeyFileAccess } from "../settings/key-file";

/** PEM files of a version are a few kilobytes; anything larger is not one. */
const MAX_UNIT_FILE_BYTES = 1024 * 1024;

/** Problems that mean the files are not the version (as opposed to its validity, which time changes). */
const VALIDITY_CODES = new Set(["CERTIFICATE_EXPIRED", "CERTIFICATE_NOT_YET_VALID"]);

async function readUnitFile(file: string): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_UNIT_FILE_BYTES) return `(${size} bytes: not a PEM file certstage wrote)`;
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/** The files of a published (or staged) version as they are on disk. */
export async function readUnit(versionDirectory: string): Promise<PublishedUnit> {
  const read = (name: string) => readUnitFile(path.join(versionDirectory, name));
  const [certificatePem, chainPem, fullchainPem, privateKeyPem] = await Promise.all([read(PUBLISHED_FILES.certificate), read(PUBLISHED_FILES.chain), read(PUBLISHED_FILES.fullchain), read(PUBLISHED_FILES.privateKey)]);
  return { certificatePem: certificatePem ?? "", chainPem: chainPem ?? "", fullchainPem: fullchainPem ?? "", ...(privateKeyPem !== undefined ? { privateKeyPem } : {}) };
}

/**
 * A version the agent will not switch to: unfit to serve, or blocked by an entry it did not make.
 * Nothing changed on disk. Any other error of an install (the store unreachable, a full disk) is
 * not about the version, and is retried as it is.
 */
export class UnitRefused extends CertstageError {}

/** One error for a refused unit: the first problem's code, every problem's text. */
function refusal(problems: readonly CertstageError[]): UnitRefused {
  const [first] = problems;
  const codes = problems.length > 1 ? ` (also ${[...new Set(problems.slice(1).map((problem) => problem.code))].join(", ")})` : "";
  return new UnitRefused(first.code, `${problems.map((problem) => problem.problem).join("; ")}${codes}`, { resource: first.resource, field: first.field, fix: first.fix });
}

/** What an entry at `<directory>/<certificate>` is, when the agent did not make it. */
async function foreignEntry(directory: string, certificate: string): Promise<string | undefined> {
  const link = path.join(directory, certificate);
  const stats = await fs.lstat(link).catch(() => undefined);
  if (stats === undefined) return undefined;
  if (stats.isSymbolicLink() && (await publishedVersionOf(directory, certificate)) !== undefined) return undefined;
  return stats.isSymbolicLink() ? `a symbolic link to '${await fs.readlink(link)}'` : stats.isDirectory() ? "a directory" : "a file";
}

export interface InstallVersion {
  readonly directory: string;
  readonly record: VersionRecord;
  /** Reads the version's files from the store; called only when the version is not on disk yet. */
  readonly load: () => Promise<VersionFiles>;
  readonly now: Date;
  /** Called once the unit is on disk and verified, right before the link is switched. */
  readonly beforeSwitch?: () => Promise<void>;
  /** privkey.pem's and keystore.p12's mode and group (--key-mode, --key-group); default 0600. */
  readonly keyFile?: KeyFileAccess;
}

/**
 * Makes `<directory>/<certificate>` serve the version: publishes it as a verified unit (or reuses
 * the one on disk if it still checks out) and switches the link. Throws the unit's problems as a
 * CertstageError, having changed nothing, when it is unfit to serve.
 */
export async function installVersion({ directory, record, load, now, beforeSwitch, keyFile }: InstallVersion): Promise<void> {
  const { certificate, version } = record;
  const foreign = await foreignEntry(directory, certificate);
  if (foreign !== undefined) {
    throw new UnitRefused("CONFIG_INVALID", `${path.join(directory, certificate)} is ${foreign}, which certstage did not make; the agent does not replace it`, {
      resource: certificate,
      field: "--directory",
      fix: "give the agent a directory of its own (servers read <directory>/<certificate>/fullchain.pem), or move that entry away",
    });
  }
  const check = async (versionDirectory: string) => {
    const problems = unitProblems(await readUnit(versionDirectory), record, now);
    if (problems.length > 0) throw refusal(problems);
  };
  await removeAbandonedStaging(directory, certificate);
  const versionDirectory = await publishVersion(directory, certificate, version, async () => ({ ...(await load()), jwkJson: `${JSON.stringify(record.jwk, null, 2)}\n` }), {
    verify: check,
    // A version on disk is reused only if it is still that version, whole (a hand edit, a disk error).
    reusable: async (published) => unitProblems(await readUnit(published), record, now).length === 0,
    ...(keyFile ? { keyFile } : {}),
  });
  await beforeSwitch?.();
  await pointCertificateAt(directory, certificate, versionDirectory);
}

/**
 * Whether the version the link serves is still the version the store describes: its files were
 * not changed or damaged since. Its validity is not judged here: an expired version that is
 * deployed is still what the environment serves.
 */
export async function installedUnitIntact(directory: string, record: VersionRecord, now: Date, keyFile?: KeyFileAccess): Promise<boolean> {
  const versionDirectory = publishedVersionDirectory(directory, record.certificate, record.version);
  const problems = unitProblems(await readUnit(versionDirectory), record, now);
  // A key left with another mode or group than the agent now sets is installed again.
  return problems.every((problem) => VALIDITY_CODES.has(problem.code)) && (keyFile === undefined || (await keyFileHas(versionDirectory, keyFile)));
}

/** Points the certificate back at a version still on disk (after a failed configuration check), or removes the link. */
export async function restoreVersion(directory: string, certificate: string, version: number | undefined): Promise<void> {
  await pointCertificateAt(directory, certificate, version === undefined ? undefined : publishedVersionDirectory(directory, certificate, version));
}

export async function removeCertificate(directory: string, certificate: string): Promise<void> {
  await pointCertificateAt(directory, certificate, undefined);
}

/** certificate -> version, for every link the agent made in `directory`. */
export async function installedVersions(directory: string): Promise<Map<string, number>> {
  const installed = new Map<string, number>();
  for (const entry of (await fs.readdir(directory)).filter((name) => NAME_PATTERN.test(name)).sort()) {
    const version = await publishedVersionOf(directory, entry);
    if (version !== undefined) installed.set(entry, version);
  }
  return installed;
}

/**
 * Removes the versions of `certificate` that are neither served now nor the last good one before
 * it (the retention rule of lifecycle/retention.ts with no others kept: the agent follows the
 * store, which holds every version); with nothing to keep, the certificate's whole `.versions`
 * directory.
 */
export async function pruneVersions(directory: string, certificate: string, keep: ReadonlySet<number>): Promise<void> {
  if (keep.size === 0) {
    await fs.rm(publishedVersionsOf(directory, certificate), { recursive: true, force: true });
    return;
  }
  await removeAbandonedStaging(directory, certificate);
  const served = await publishedVersionOf(directory, certificate);
  await removePublishedVersions(directory, certificate, versionsToRemove(await publishedVersionNumbers(directory, certificate), { served, needed: keep, keepOthers: 0 }));
}

/** Certificates with versions on disk under `.versions` (installed or left from an earlier run). */
export async function certificatesOnDisk(directory: string): Promise<string[]> {
  return (await fs.readdir(path.join(directory, ".versions")).catch(() => [] as string[])).filter((name) => NAME_PATTERN.test(name)).sort();
}
