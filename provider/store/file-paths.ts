/**
 * Paths inside the file store, taken only as certstage made them. The one kind of symbolic link
 * in a store is `environments/<env>/<certificate>`, which certstage writes itself; any other link
 * (a version directory pointing at /etc, a certificate directory pointing at another store, a task
 * file pointing at a secret) was planted, and following it would read or write outside the store.
 * So every path is checked component by component below the root before it is used, files are
 * opened with O_NOFOLLOW, and what is not a plain file or directory (a FIFO would block a read
 * forever) is refused. All refusals are STORE_CORRUPT, naming the path and what was found there.
 *
 * The root itself may be a link (`/srv/certs -> /data/certs`): that choice is the operator's.
 */
import { constants, promises as fs, Stats } from "node:fs";
import * as path from "node:path";
import { CertstageError } from "../errors";

/** certificate.json, version.json, a task: certstage writes a few kilobytes; anything larger is not its file. */
export const MAX_RECORD_BYTES = 1024 * 1024;

type Kind = "file" | "directory";

const REPAIR = "remove what is there and restore it from a backup of the store; certstage makes every file and directory itself, and the only links are environments/<env>/<certificate>";

function describe(stats: Stats): string {
  if (stats.isSymbolicLink()) return "a symbolic link";
  if (stats.isDirectory()) return "a directory";
  if (stats.isFile()) return "a file";
  if (stats.isFIFO()) return "a named pipe";
  if (stats.isSocket()) return "a socket";
  return "a device";
}

export function storeCorrupt(problem: string, fix: string = REPAIR): CertstageError {
  return new CertstageError("STORE_CORRUPT", problem, { fix });
}

async function lstatIfPresent(file: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** What a planted link points at, for the message (never followed). */
async function linkTarget(link: string): Promise<string> {
  return fs.readlink(link).then(
    (target) => `'${target}'`,
    () => "an unreadable target",
  );
}

export class StorePaths {
  constructor(readonly root: string) {}

  /**
   * Refuses `target` when a component below the root is a link, or not a directory where one
   * belongs, or the target itself is a link or not of `kind`. Missing components are fine: the
   * caller creates or reports them.
   */
  async check(target: string, kind: Kind): Promise<void> {
    const relative = path.relative(this.root, target);
    if (relative.startsWith("..") || path.isAbsolute(relative)) throw storeCorrupt(`${target} is outside the store ${this.root}`);
    const segments = relative === "" ? [] : relative.split(path.sep);
    let current = this.root;
    for (const [index, segment] of segments.entries()) {
      current = path.join(current, segment);
      const stats = await lstatIfPresent(current);
      if (stats === undefined) return;
      const wanted: Kind = index === segments.length - 1 ? kind : "directory";
      if (stats.isSymbolicLink()) throw storeCorrupt(`${current} is a symbolic link to ${await linkTarget(current)}, where the store keeps ${wanted === "file" ? "a file" : "a directory"}; certstage does not follow it`);
      if (wanted === "directory" ? !stats.isDirectory() : !stats.isFile()) throw storeCorrupt(`${current} is ${describe(stats)}, where the store keeps ${wanted === "file" ? "a file" : "a directory"}`);
    }
  }

  /** A file's text, or undefined when it does not exist. */
  async readFile(file: string, maxBytes?: number): Promise<string | undefined> {
    await this.check(path.dirname(file), "directory");
    let handle: fs.FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      if (code === "ELOOP") throw storeCorrupt(`${file} is a symbolic link to ${await linkTarget(file)}, where the store keeps a file; certstage does not follow it`);
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw storeCorrupt(`${file} is ${describe(stats)}, where the store keeps a file`);
      if (maxBytes !== undefined && stats.size > maxBytes) throw storeCorrupt(`${file} is ${stats.size} bytes; certstage writes such files at a few kilobytes and reads at most ${maxBytes}`);
      return await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  }

  /** A directory's entries, or none when it does not exist. */
  async list(directory: string): Promise<string[]> {
    await this.check(directory, "directory");
    try {
      return await fs.readdir(directory);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      throw error;
    }
  }

  /** Where a link certstage keeps points, or undefined when there is none; anything but a link there is refused. */
  async readLink(link: string): Promise<{ readonly target: string; readonly changedAt: Date } | undefined> {
    await this.check(path.dirname(link), "directory");
    const stats = await lstatIfPresent(link);
    if (stats === undefined) return undefined;
    if (!stats.isSymbolicLink()) throw storeCorrupt(`${link} is ${describe(stats)}, where the store keeps a link to a version`, "remove it and deploy the version again with `pulumi up`");
    return { target: await fs.readlink(link), changedAt: stats.mtime };
  }

  /** Like lstat: whether anything is at `file`, without following it. */
  async exists(file: string): Promise<boolean> {
    return (await lstatIfPresent(file)) !== undefined;
  }
}
