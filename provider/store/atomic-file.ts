/**
 * Durable file updates for the file store: a reader sees the old bytes or the new bytes, never a
 * torn write, and after the call returns the change survives a crash (the data and the directory
 * entry are both fsynced). A failed write says which file it was writing (`error.path`): Node
 * leaves that out of write(2) and fsync(2) errors, and ENOSPC arrives from exactly those.
 *
 * Every call but fsync(2) is synchronous, behind async functions (see store-fs.ts for why): the
 * opens, writes of a few kilobytes into the page cache, renames and links are over in microseconds,
 * and fsync, which waits for the device, is the one that is awaited.
 */
import { chmodSync, closeSync, fstatSync, ftruncateSync, linkSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { randomHex } from "./lazy-crypto";
import { fsyncDescriptor } from "./store-fs";

/** A name in the same directory, so the final rename never crosses file systems. */
export function temporarySibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomHex(6)}.tmp`);
}

/** `error` with `path` set to the file being written, where the system call did not say it. */
function writing(error: unknown, file: string, always = false): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (errno instanceof Error && typeof errno.code === "string" && (always || errno.path === undefined)) errno.path = file;
  return error;
}

export async function fsyncDirectory(directory: string): Promise<void> {
  const descriptor = openSync(directory, "r");
  try {
    await fsyncDescriptor(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Writes a file's full contents durably; `mode` applies from the first byte (keys are 0600). */
export async function writeFileDurably(file: string, contents: string | Buffer, mode = 0o644): Promise<void> {
  try {
    const descriptor = openSync(file, "wx", mode);
    try {
      writeFileSync(descriptor, contents);
      await fsyncDescriptor(descriptor);
    } finally {
      closeSync(descriptor);
    }
    // The process umask may have narrowed the mode given to open(2); set it exactly.
    chmodSync(file, mode);
  } catch (error) {
    throw writing(error, file);
  }
}

/** A file for writeNewFilesDurably. */
export interface NewFile {
  readonly name: string;
  readonly contents: string | Buffer;
  /** 0o644 unless given (keys are 0o600). */
  readonly mode?: number;
}

/**
 * Writes new files into `directory` (a version's staging directory) as writeFileDurably would,
 * then fsyncs the directory. The files' fsyncs are sent together and awaited as one: each is a
 * wait for the device, and a version's eight files one after another were eight waits.
 */
export async function writeNewFilesDurably(directory: string, files: readonly NewFile[]): Promise<void> {
  const opened: Array<{ file: string; descriptor: number; mode: number }> = [];
  let current = directory;
  try {
    try {
      for (const { name, contents, mode = 0o644 } of files) {
        current = path.join(directory, name);
        const descriptor = openSync(current, "wx", mode);
        opened.push({ file: current, descriptor, mode });
        writeFileSync(descriptor, contents);
      }
      // Every fsync settles before any descriptor is closed (one still in flight on a closed,
      // perhaps reused, descriptor would sync another file); the first failure is the error.
      const synced = await Promise.allSettled(opened.map(({ descriptor }) => fsyncDescriptor(descriptor)));
      const failed = synced.findIndex((outcome) => outcome.status === "rejected");
      if (failed !== -1) {
        current = opened[failed].file;
        throw (synced[failed] as PromiseRejectedResult).reason;
      }
    } finally {
      for (const { descriptor } of opened) closeSync(descriptor);
    }
    // The process umask may have narrowed the modes given to open(2); set them exactly.
    for (const { file, mode } of opened) {
      current = file;
      chmodSync(file, mode);
    }
  } catch (error) {
    throw writing(error, current);
  }
  await fsyncDirectory(directory);
}

/** Replaces `target` with new contents via temp file + fsync + rename. */
export async function replaceFileAtomically(target: string, contents: string | Buffer, mode = 0o644): Promise<void> {
  const temporary = temporarySibling(target);
  try {
    await writeFileDurably(temporary, contents, mode);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    // The temporary name means nothing to the user; the file being replaced does.
    throw writing(error, target, true);
  }
  await fsyncDirectory(path.dirname(target)).catch((error: unknown) => Promise.reject(writing(error, target)));
}

/** Points `link` at `target` in one rename: readers resolve the old or the new target. */
export async function replaceSymlinkAtomically(link: string, target: string): Promise<void> {
  const temporary = temporarySibling(link);
  try {
    symlinkSync(target, temporary);
    renameSync(temporary, link);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw writing(error, link, true);
  }
  await fsyncDirectory(path.dirname(link));
}

/**
 * Appends one line with O_APPEND and fsyncs it, and returns the file's size before, so the line
 * can be taken back with `truncateFile`. A write cut short (a disk that fills mid-line) is taken
 * back here: the file never ends in half a line. Callers hold the store lock, so no other line is
 * appended meanwhile.
 */
export async function appendLineDurably(file: string, line: string): Promise<number> {
  try {
    const descriptor = openSync(file, "a", 0o644);
    try {
      const before = fstatSync(descriptor).size;
      try {
        const bytes = Buffer.from(`${line}\n`);
        for (let written = 0; written < bytes.length; ) written += writeSync(descriptor, bytes, written);
        await fsyncDescriptor(descriptor);
      } catch (error) {
        ftruncateSync(descriptor, before);
        await fsyncDescriptor(descriptor);
        throw error;
      }
      return before;
    } finally {
      closeSync(descriptor);
    }
  } catch (error) {
    throw writing(error, file);
  }
}

/** Cuts `file` back to `size` bytes (taking back appended lines), durably; needs no free space. */
export async function truncateFile(file: string, size: number): Promise<void> {
  const descriptor = openSync(file, "r+");
  try {
    ftruncateSync(descriptor, size);
    await fsyncDescriptor(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** How to put a replaced or removed entry back, or let the kept copy go once the change stands. */
export interface KeptEntry {
  readonly restore: () => Promise<void>;
  readonly discard: () => Promise<void>;
}

/**
 * Keeps what is at `entry` now (a file or a symbolic link, not followed) under a hard link beside
 * it, so a change to `entry` can be undone by one rename(2). Writing the old bytes back instead
 * would need free space, which is what a full disk lacks. A link keeps its mtime, which is when
 * its version was deployed. Where nothing is at `entry`, restoring removes what is there then.
 */
export async function keepEntry(entry: string): Promise<KeptEntry> {
  const kept = `${temporarySibling(entry)}.kept`;
  try {
    linkSync(entry, kept);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw writing(error, entry);
    return {
      restore: async () => {
        rmSync(entry, { force: true });
        await fsyncDirectory(path.dirname(entry));
      },
      discard: async () => undefined,
    };
  }
  return {
    restore: async () => {
      renameSync(kept, entry);
      // rename(2) of one hard link onto another of the same file does nothing and succeeds: when
      // the change never replaced `entry`, the kept name is still there.
      rmSync(kept, { force: true });
      await fsyncDirectory(path.dirname(entry));
    },
    discard: async () => rmSync(kept, { force: true }),
  };
}
