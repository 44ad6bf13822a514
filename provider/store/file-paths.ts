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
 *
 * The reads are synchronous system calls behind async methods. Each is a lookup or a read of a few
 * kilobytes on a local filesystem, over in microseconds; sent through the thread pool (fs.promises)
 * the round trip cost many times the call, and `certstage status` of 10,000 versions makes some
 * 40,000 of them. Writes are synchronous calls too (store-fs.ts, atomic-file.ts), all but fsync(2),
 * which waits for the disk.
 */
import { closeSync, constants, Dirent, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, Stats } from "node:fs";
import * as path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { CertstageError } from "../errors";

/** certificate.json, version.json, a task: certstage writes a few kilobytes; anything larger is not its file. */
export const MAX_RECORD_BYTES = 1024 * 1024;

type Kind = "file" | "directory";

const REPAIR = "remove what is there and restore it from a backup of the store; certstage makes every file and directory itself, and the only links are environments/<env>/<certificate>";

function describe(stats: Stats | Dirent): string {
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

/**
 * Refuses what is at `current` unless it is a `wanted` (never a link: certstage does not follow
 * one). Synchronous, like the lookups before it: status makes some 40,000 of these checks, and
 * a promise for each cost more than the check.
 */
function refuseUnlessKind(current: string, found: Stats | Dirent, wanted: Kind): void {
  const keeps = wanted === "file" ? "a file" : "a directory";
  if (found.isSymbolicLink()) throw storeCorrupt(`${current} is a symbolic link to ${linkTarget(current)}, where the store keeps ${keeps}; certstage does not follow it`);
  if (wanted === "directory" ? !found.isDirectory() : !found.isFile()) throw storeCorrupt(`${current} is ${describe(found)}, where the store keeps ${keeps}`);
}

/**
 * Opens a file of the store for reading, never through a link (O_NOFOLLOW) and never blocking on
 * a FIFO (O_NONBLOCK: opening one for reading would otherwise wait for a writer forever), and
 * refuses what is not a plain file. Undefined when it does not exist; the caller closes it.
 */
function openStoreFile(file: string): { descriptor: number; stats: Stats } | undefined {
  let descriptor: number;
  try {
    descriptor = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw storeCorrupt(`${file} is a symbolic link to ${linkTarget(file)}, where the store keeps a file; certstage does not follow it`);
    throw error;
  }
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) throw storeCorrupt(`${file} is ${describe(stats)}, where the store keeps a file`);
    return { descriptor, stats };
  } catch (error) {
    closeSync(descriptor);
    throw error;
  }
}

/**
 * The file's text, read in as few calls as its size allows (one, for the small records of a
 * store) instead of readFile's second fstat and chunked reads. Files of the store are replaced
 * by rename, never rewritten in place; history.jsonl only grows, and reading up to the size it had
 * when opened gives whole lines but perhaps the last (which historyFrom skips as torn). Should the
 * file have grown since the fstat, what was appended is read too.
 */
function readToSize(descriptor: number, size: number, encoding: BufferEncoding): string {
  // One byte more than the size: a read that fills it says the file grew, and reading goes on.
  let buffer = Buffer.allocUnsafe(size + 1);
  let filled = 0;
  for (;;) {
    const bytesRead = readSync(descriptor, buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
    if (filled < buffer.length) {
      if (filled >= size) break;
      continue;
    }
    const larger = Buffer.allocUnsafe(buffer.length * 2);
    buffer.copy(larger, 0, 0, filled);
    buffer = larger;
  }
  return buffer.toString(encoding, 0, filled);
}

function lstatIfPresent(file: string): Stats | undefined {
  try {
    // throwIfNoEntry: a missing file is an answer, not an exception (whose stack cost more than the call).
    return lstatSync(file, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** What a planted link points at, for the message (never followed). */
function linkTarget(link: string): string {
  try {
    return `'${readlinkSync(link)}'`;
  } catch {
    return "an unreadable target";
  }
}

export class StorePaths {
  constructor(readonly root: string) {}

  /**
   * Refuses `target` when a component below the root is a link, or not a directory where one
   * belongs, or the target itself is a link or not of `kind`. Missing components are fine: the
   * caller creates or reports them.
   *
   * `checked` is for one listing that checks many paths under the same directories (every
   * deployment of an environment, every version of a certificate): directories found fine are
   * added to it and not looked at again within that listing.
   */
  async check(target: string, kind: Kind, checked?: Set<string>): Promise<void> {
    if (checked !== undefined) {
      // A path joins `checked` only once every component up to it was found fine, so below a
      // checked directory only the last component is left: a listing's 1,000 links and version
      // directories each cost one lstat, not a walk from the root.
      if (kind === "directory" && checked.has(target)) return;
      const separator = target.lastIndexOf(path.sep);
      const last = target.slice(separator + 1);
      if (separator > 0 && last !== "" && last !== "." && last !== ".." && checked.has(target.slice(0, separator))) {
        const stats = lstatIfPresent(target);
        if (stats === undefined) return;
        refuseUnlessKind(target, stats, kind);
        if (kind === "directory") checked.add(target);
        return;
      }
    }
    const segments = this.segmentsBelowRoot(target);
    // Built as the target was: the root, then each component after a separator.
    let current = this.root.endsWith(path.sep) ? this.root.slice(0, -1) : this.root;
    for (let index = 0; index < segments.length; index += 1) {
      current += path.sep + segments[index];
      const wanted = index === segments.length - 1 ? kind : "directory";
      if (wanted === "directory" && checked?.has(current)) continue;
      const stats = lstatIfPresent(current);
      if (stats === undefined) return;
      refuseUnlessKind(current, stats, wanted);
      if (wanted === "directory") checked?.add(current);
    }
  }

  /**
   * The components of `target` below the root. The store's own paths are path.join()s below the
   * root, so they are a slice of the string: path.relative and a path.join per component (which
   * normalize again) were much of status's time. A path with an empty, `.` or `..` component goes
   * the long way, and one that leads outside the store is refused.
   */
  private segmentsBelowRoot(target: string): string[] {
    if (target === this.root) return [];
    const prefix = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    if (target.startsWith(prefix)) {
      const segments = target.slice(prefix.length).split(path.sep);
      if (segments.every((segment) => segment !== "" && segment !== "." && segment !== "..")) return segments;
    }
    const relative = path.relative(this.root, target);
    if (relative.startsWith("..") || path.isAbsolute(relative)) throw storeCorrupt(`${target} is outside the store ${this.root}`);
    return relative === "" ? [] : relative.split(path.sep);
  }

  /**
   * The entries of a directory with what each is, or none when it does not exist: the directory's
   * path is checked as check() does, and each entry's kind comes with readdir, so a caller going
   * through many entries checks each with checkEntry() at no extra system call.
   */
  async listEntries(directory: string, checked?: Set<string>): Promise<Dirent[]> {
    await this.check(directory, "directory", checked);
    try {
      return readdirSync(directory, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      throw error;
    }
  }

  /**
   * check() for one entry that listEntries() returned, whose directory it has checked: refuses a
   * link or the wrong kind there. Only a filesystem that does not report kinds in readdir costs
   * an lstat here.
   */
  async checkEntry(directory: string, entry: Dirent, kind: Kind): Promise<void> {
    // The entry's path only for a refusal or an lstat: status checks 10,000 entries that pass.
    if (kind === "directory" ? entry.isDirectory() : entry.isFile()) return;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory() || entry.isFile() || entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) {
      refuseUnlessKind(full, entry, kind);
      return;
    }
    const stats = lstatIfPresent(full);
    if (stats !== undefined) refuseUnlessKind(full, stats, kind);
  }

  /** A file's text (or, with "base64", its bytes as base64), or undefined when it does not exist. */
  async readFile(file: string, maxBytes?: number, encoding: "utf8" | "base64" = "utf8"): Promise<string | undefined> {
    await this.check(path.dirname(file), "directory");
    return this.readFileInCheckedDirectory(file, maxBytes, encoding);
  }

  /**
   * readFile() of a file whose directory the caller has just checked (check(), listEntries() and
   * checkEntry()): the file itself is still opened without following a link and refused unless it
   * is a plain file.
   */
  async readFileInCheckedDirectory(file: string, maxBytes?: number, encoding: "utf8" | "base64" = "utf8"): Promise<string | undefined> {
    const opened = openStoreFile(file);
    if (opened === undefined) return undefined;
    const { descriptor, stats } = opened;
    try {
      if (maxBytes !== undefined && stats.size > maxBytes) throw storeCorrupt(`${file} is ${stats.size} bytes; certstage writes such files at a few kilobytes and reads at most ${maxBytes}`);
      return readToSize(descriptor, stats.size, encoding);
    } finally {
      closeSync(descriptor);
    }
  }

  /**
   * The lines of a file, a chunk at a time (each yield the whole lines of about `chunkBytes` read;
   * the last, unterminated line comes last), for a file too large to hold whole: history.jsonl.
   * Read as readChunks reads. `start` is a byte offset to begin at (the start of a line).
   */
  async *readLines(file: string, chunkBytes = 64 * 1024, start = 0): AsyncGenerator<string[]> {
    // A UTF-8 character cut by a chunk's end is completed by the next chunk, not mangled.
    const decoder = new StringDecoder("utf8");
    let rest = "";
    for await (const chunk of this.readChunks(file, chunkBytes, start)) {
      const lines = (rest + decoder.write(chunk)).split("\n");
      rest = lines.pop()!;
      if (lines.length > 0) yield lines;
    }
    rest += decoder.end();
    if (rest !== "") yield [rest];
  }

  /**
   * A file's bytes from `start` to its end, about `chunkBytes` at a time (each chunk is only valid
   * until the next is asked for: the buffer is reused). Opened as readFile() opens, and read until
   * the end, so what is appended meanwhile is read too. Nothing when the file does not exist.
   * Stopping early closes the file.
   */
  async *readChunks(file: string, chunkBytes = 64 * 1024, start = 0): AsyncGenerator<Buffer> {
    await this.check(path.dirname(file), "directory");
    const opened = openStoreFile(file);
    if (opened === undefined) return;
    const { descriptor } = opened;
    try {
      const buffer = Buffer.allocUnsafe(chunkBytes);
      for (let position = start; ; ) {
        const bytesRead = readSync(descriptor, buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      closeSync(descriptor);
    }
  }

  /**
   * The text of each byte range [start, end) of a file, read as readFile() opens it: the lines a
   * HistoryLineIndex found. A range past the end gives what is there (less, or ""). Undefined
   * when the file does not exist.
   */
  async readSlices(file: string, slices: ReadonlyArray<readonly [number, number]>): Promise<string[] | undefined> {
    await this.check(path.dirname(file), "directory");
    const opened = openStoreFile(file);
    if (opened === undefined) return undefined;
    const { descriptor } = opened;
    try {
      return slices.map(([start, end]) => {
        const buffer = Buffer.allocUnsafe(end - start);
        let filled = 0;
        while (filled < buffer.length) {
          const bytesRead = readSync(descriptor, buffer, filled, buffer.length - filled, start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.toString("utf8", 0, filled);
      });
    } finally {
      closeSync(descriptor);
    }
  }

  /** A directory's entries, or none when it does not exist. */
  async list(directory: string): Promise<string[]> {
    await this.check(directory, "directory");
    try {
      return readdirSync(directory);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      throw error;
    }
  }

  /** Where a link certstage keeps points, or undefined when there is none; anything but a link there is refused. */
  async readLink(link: string, checked?: Set<string>): Promise<{ readonly target: string; readonly changedAt: Date } | undefined> {
    await this.check(path.dirname(link), "directory", checked);
    const stats = lstatIfPresent(link);
    if (stats === undefined) return undefined;
    if (!stats.isSymbolicLink()) throw storeCorrupt(`${link} is ${describe(stats)}, where the store keeps a link to a version`, "remove it and deploy the version again with `pulumi up`");
    return { target: readlinkSync(link), changedAt: stats.mtime };
  }

  /** Like lstat: whether anything is at `file`, without following it. */
  async exists(file: string): Promise<boolean> {
    return lstatIfPresent(file) !== undefined;
  }
}
