/**
 * Durable file updates for the file store: a reader sees the old bytes or the new bytes, never a
 * torn write, and after the call returns the change survives a crash (the data and the directory
 * entry are both fsynced). A failed write says which file it was writing (`error.path`): Node
 * leaves that out of write(2) and fsync(2) errors, and ENOSPC arrives from exactly those.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomHex } from "./lazy-crypto";

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
  const handle = await fs.open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file's full contents durably; `mode` applies from the first byte (keys are 0600). */
export async function writeFileDurably(file: string, contents: string | Buffer, mode = 0o644): Promise<void> {
  try {
    const handle = await fs.open(file, "wx", mode);
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The process umask may have narrowed the mode given to open(2); set it exactly.
    await fs.chmod(file, mode);
  } catch (error) {
    throw writing(error, file);
  }
}

/** Replaces `target` with new contents via temp file + fsync + rename. */
export async function replaceFileAtomically(target: string, contents: string | Buffer, mode = 0o644): Promise<void> {
  const temporary = temporarySibling(target);
  try {
    await writeFileDurably(temporary, contents, mode);
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    // The temporary name means nothing to the user; the file being replaced does.
    throw writing(error, target, true);
  }
  await fsyncDirectory(path.dirname(target)).catch((error: unknown) => Promise.reject(writing(error, target)));
}

/** Points `link` at `target` in one rename: readers resolve the old or the new target. */
export async function replaceSymlinkAtomically(link: string, target: string): Promise<void> {
  const temporary = temporarySibling(link);
  try {
    await fs.symlink(target, temporary);
    await fs.rename(temporary, link);
  } catch (error) {
    await fs.rm(temporary, { force: true });
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
    const handle = await fs.open(file, "a", 0o644);
    try {
      const before = (await handle.stat()).size;
      try {
        const bytes = Buffer.from(`${line}\n`);
        for (let written = 0; written < bytes.length; ) written += (await handle.write(bytes, written)).bytesWritten;
        await handle.sync();
      } catch (error) {
        await handle.truncate(before);
        await handle.sync();
        throw error;
      }
      return before;
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw writing(error, file);
  }
}

/** Cuts `file` back to `size` bytes (taking back appended lines), durably; needs no free space. */
export async function truncateFile(file: string, size: number): Promise<void> {
  const handle = await fs.open(file, "r+");
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
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
    await fs.link(entry, kept);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw writing(error, entry);
    return {
      restore: async () => {
        await fs.rm(entry, { force: true });
        await fsyncDirectory(path.dirname(entry));
      },
      discard: async () => undefined,
    };
  }
  return {
    restore: async () => {
      await fs.rename(kept, entry);
      // rename(2) of one hard link onto another of the same file does nothing and succeeds: when
      // the change never replaced `entry`, the kept name is still there.
      await fs.rm(kept, { force: true });
      await fsyncDirectory(path.dirname(entry));
    },
    discard: () => fs.rm(kept, { force: true }),
  };
}
