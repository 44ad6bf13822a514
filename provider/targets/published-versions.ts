/**
 * A directory servers read certificates from, laid out like the store's environments, shared by
 * the `directory` target (its `path`) and `certstage agent`:
 *
 *   <directory>/.versions/<certificate>/<n>/{cert.pem,chain.pem,fullchain.pem,privkey.pem (0600, or keyFile's),jwk.json}
 *                                             (+ keystore.p12, with privkey.pem's mode and group, for versions saved with a keystore)
 *   <directory>/<certificate>  -> .versions/<certificate>/<n>
 *
 * A version's files are written once under a staging name on the same filesystem, fsynced, and
 * renamed into place, so a version directory appears whole or not at all; `<directory>/<certificate>`
 * is a symlink swapped by one rename(2), so a server that opens `<certificate>/fullchain.pem`
 * gets the old version or the new one, never a mix. Servers must be given the directory (or a
 * directory mount), not a single-file bind mount: a rename gives the path a new inode, which a
 * file bind mount never sees.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fsyncDirectory, replaceSymlinkAtomically, writeFileDurably } from "../store/atomic-file";
import { processIsAlive, withFileLock } from "../store/file-lock";
import type { VersionFiles } from "../store";
import { PRIVATE_KEY_MODE, type KeyFileAccess } from "../settings/key-file";

/** File names inside a published version; servers are configured with these. */
export const PUBLISHED_FILES = {
  certificate: "cert.pem",
  chain: "chain.pem",
  fullchain: "fullchain.pem",
  privateKey: "privkey.pem",
  jwk: "jwk.json",
  /** Only for versions saved with a keystore: it holds the key, so it is written as privkey.pem is. */
  keystore: "keystore.p12",
} as const;

/** The files that hold the private key, and so take the key file's mode and group. */
const KEY_FILES = [PUBLISHED_FILES.privateKey, PUBLISHED_FILES.keystore] as const;

const VERSIONS = ".versions";

/**
 * What a published version holds: the version's PEM files, its keystore (base64, as the store
 * reads it) when it was saved with one, and its public JWK if wanted.
 */
export interface PublishedUnit extends Pick<VersionFiles, "certificatePem" | "chainPem" | "fullchainPem" | "privateKeyPem" | "pkcs12"> {
  readonly jwkJson?: string;
}

export interface PublishOptions {
  /**
   * Called with the staged directory once its files are written and fsynced, before it is renamed
   * into place: a throw refuses the unit, which is then removed, and nothing else changes.
   */
  readonly verify?: (stagedDirectory: string) => Promise<void>;
  /** Whether a version directory published earlier may stay as it is (default: it holds fullchain.pem). */
  readonly reusable?: (publishedDirectory: string) => Promise<boolean>;
  /** privkey.pem's and keystore.p12's mode and group (settings/key-file.ts); default 0600 and the writer's group. */
  readonly keyFile?: KeyFileAccess;
}

export function publishedVersionDirectory(directory: string, certificate: string, version: number): string {
  return path.join(directory, VERSIONS, certificate, String(version));
}

/** Where the versions of `certificate` are kept, under the published directory. */
export function publishedVersionsOf(directory: string, certificate: string): string {
  return path.join(directory, VERSIONS, certificate);
}

async function holdsFullchain(versionDirectory: string): Promise<boolean> {
  try {
    await fs.access(path.join(versionDirectory, PUBLISHED_FILES.fullchain));
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the published files that hold the key (privkey.pem, keystore.p12) have the access asked
 * for: a version published before the environment's keyFile changed is published again rather
 * than kept with the old mode or group.
 */
export async function keyFileHas(versionDirectory: string, access: KeyFileAccess): Promise<boolean> {
  for (const name of KEY_FILES) {
    const stats = await fs.lstat(path.join(versionDirectory, name)).catch(() => undefined);
    if (stats !== undefined && ((stats.mode & 0o777) !== access.mode || (access.gid !== undefined && stats.gid !== access.gid))) return false;
  }
  return true;
}

/** Writes a file that holds the key with `access`: the mode set exactly (not narrowed by the umask), the group given before anyone can open it. */
async function writeKeyFile(file: string, contents: string | Buffer, access: KeyFileAccess): Promise<void> {
  // Written 0600 first, so the key is never readable by a group it does not belong to yet.
  await writeFileDurably(file, contents, PRIVATE_KEY_MODE);
  if (access.gid !== undefined) await fs.chown(file, -1, access.gid);
  if (access.mode !== PRIVATE_KEY_MODE) await fs.chmod(file, access.mode);
}

async function exists(entry: string): Promise<boolean> {
  return fs.lstat(entry).then(
    () => true,
    () => false,
  );
}

/**
 * Writes a version's files under `<directory>/.versions/<certificate>/<n>/` once, whole or not at
 * all, and returns that directory. `load` is called only when the version is not published yet,
 * or when its published directory holds no keystore.p12: only the store knows whether the version
 * has one, and a copy published before keystores were is published again with it.
 */
export async function publishVersion(directory: string, certificate: string, version: number, load: () => Promise<PublishedUnit>, options: PublishOptions = {}): Promise<string> {
  const versionDirectory = publishedVersionDirectory(directory, certificate, version);
  const published = await exists(versionDirectory);
  // Versions never change: what was published once is still right, unless the caller says otherwise.
  const keyFile = options.keyFile ?? { mode: PRIVATE_KEY_MODE };
  let unit: PublishedUnit | undefined;
  if (published && (await (options.reusable ?? holdsFullchain)(versionDirectory)) && (await keyFileHas(versionDirectory, keyFile))) {
    if (await exists(path.join(versionDirectory, PUBLISHED_FILES.keystore))) return versionDirectory;
    unit = await load();
    if (unit.pkcs12 === undefined) return versionDirectory;
  }
  unit ??= await load();
  // The pid in the name tells an abandoned staging directory (its writer died) from one being written.
  const staging = path.join(path.dirname(versionDirectory), `.${version}.${process.pid}.${randomBytes(6).toString("hex")}.partial`);
  // Readable parents (a server that drops privileges reads through them), a private staging directory until it is whole.
  await fs.mkdir(path.dirname(versionDirectory), { recursive: true, mode: 0o755 });
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    await writeFileDurably(path.join(staging, PUBLISHED_FILES.certificate), unit.certificatePem);
    await writeFileDurably(path.join(staging, PUBLISHED_FILES.chain), unit.chainPem);
    await writeFileDurably(path.join(staging, PUBLISHED_FILES.fullchain), unit.fullchainPem);
    if (unit.privateKeyPem !== undefined) await writeKeyFile(path.join(staging, PUBLISHED_FILES.privateKey), unit.privateKeyPem, keyFile);
    // A version without a keystore gets none: the link swap then leaves no earlier version's keystore.p12 served.
    if (unit.pkcs12 !== undefined) await writeKeyFile(path.join(staging, PUBLISHED_FILES.keystore), Buffer.from(unit.pkcs12, "base64"), keyFile);
    if (unit.jwkJson !== undefined) await writeFileDurably(path.join(staging, PUBLISHED_FILES.jwk), unit.jwkJson);
    await fsyncDirectory(staging);
    await options.verify?.(staging);
    await fs.chmod(staging, 0o755);
    // A directory published earlier that may not stay is moved aside first: rename(2) cannot replace a non-empty directory.
    if (published) await fs.rename(versionDirectory, path.join(path.dirname(versionDirectory), `.${version}.${process.pid}.${randomBytes(6).toString("hex")}.stale`));
    await fs.rename(staging, versionDirectory);
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    // Another process published the same version first; its copy is identical.
    if ((error as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  await fsyncDirectory(path.dirname(versionDirectory));
  return versionDirectory;
}

/** Points `<directory>/<certificate>` at a published version in one rename, or removes it (`undefined`). */
export async function pointCertificateAt(directory: string, certificate: string, versionDirectory: string | undefined): Promise<void> {
  const link = path.join(directory, certificate);
  if (versionDirectory === undefined) {
    await fs.rm(link, { force: true });
    await fsyncDirectory(directory);
    return;
  }
  await replaceSymlinkAtomically(link, path.relative(directory, versionDirectory));
}

/**
 * The version `<directory>/<certificate>` points at; undefined when there is no such link, or the
 * entry there is not one this code made (a file, a directory, a link elsewhere).
 */
export async function publishedVersionOf(directory: string, certificate: string): Promise<number | undefined> {
  let target: string;
  try {
    target = await fs.readlink(path.join(directory, certificate));
  } catch {
    return undefined;
  }
  const match = new RegExp(`^\\${VERSIONS}/${certificate.replace(/[.]/g, "\\.")}/([1-9][0-9]{0,8})$`).exec(target);
  return match ? Number(match[1]) : undefined;
}

/**
 * Removes what killed writers left under `<directory>/.versions/<certificate>/`: staging
 * directories whose writer process is gone, and versions moved aside.
 */
export async function removeAbandonedStaging(directory: string, certificate: string): Promise<void> {
  const versions = publishedVersionsOf(directory, certificate);
  const entries = await fs.readdir(versions).catch(() => [] as string[]);
  for (const entry of entries) {
    const staging = /^\.\d+\.(\d+)\.[0-9a-f]+\.(partial|stale)$/.exec(entry);
    if (!staging) continue;
    const writer = Number(staging[1]);
    if (staging[2] === "stale" || writer === process.pid || !processIsAlive(writer)) await fs.rm(path.join(versions, entry), { recursive: true, force: true });
  }
}

/** The whole versions published for `certificate`, by number (staging and moved-aside entries are not). */
export async function publishedVersionNumbers(directory: string, certificate: string): Promise<number[]> {
  const entries = await fs.readdir(publishedVersionsOf(directory, certificate)).catch(() => [] as string[]);
  return entries.filter((entry) => /^[1-9][0-9]{0,8}$/.test(entry)).map(Number);
}

/**
 * Removes published versions of `certificate` (retention, after the link was swapped). Each is
 * renamed aside first, so a removal cut short by a kill leaves no half version under its number
 * (removeAbandonedStaging clears what is left aside). The version the link points at is skipped
 * whatever the caller chose, read again right before each removal. Returns what was removed.
 */
export async function removePublishedVersions(directory: string, certificate: string, versions: readonly number[]): Promise<number[]> {
  const versionsDirectory = publishedVersionsOf(directory, certificate);
  const removed: number[] = [];
  for (const version of versions) {
    if ((await publishedVersionOf(directory, certificate)) === version) continue;
    const aside = path.join(versionsDirectory, `.${version}.${process.pid}.${randomBytes(6).toString("hex")}.stale`);
    try {
      await fs.rename(publishedVersionDirectory(directory, certificate, version), aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    await fsyncDirectory(versionsDirectory);
    await fs.rm(aside, { recursive: true, force: true });
    removed.push(version);
  }
  return removed;
}

/**
 * Runs `action` holding the lock of `<directory>/.versions/<certificate>`: publishing and pointing
 * the link, and choosing what to prune, never interleave between two processes (a prune that read
 * the link before another swap could remove the version just swapped in).
 */
export async function withPublishedVersionsLock<T>(directory: string, certificate: string, action: () => Promise<T>): Promise<T> {
  const versions = path.join(directory, VERSIONS);
  await fs.mkdir(versions, { recursive: true, mode: 0o755 });
  return withFileLock(path.join(versions, `.${certificate}.lock`), action);
}
