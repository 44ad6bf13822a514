/**
 * Durable file updates for the file store: a reader sees the old bytes or the new bytes, never a
 * torn write, and after the call returns the change survives a crash (the data and the directory
 * entry are both fsynced).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";

/** A name in the same directory, so the final rename never crosses file systems. */
export function temporarySibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
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
  const handle = await fs.open(file, "wx", mode);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The process umask may have narrowed the mode given to open(2); set it exactly.
  await fs.chmod(file, mode);
}

/** Replaces `target` with new contents via temp file + fsync + rename. */
export async function replaceFileAtomically(target: string, contents: string | Buffer, mode = 0o644): Promise<void> {
  const temporary = temporarySibling(target);
  try {
    await writeFileDurably(temporary, contents, mode);
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await fsyncDirectory(path.dirname(target));
}

/** Points `link` at `target` in one rename: readers resolve the old or the new target. */
export async function replaceSymlinkAtomically(link: string, target: string): Promise<void> {
  const temporary = temporarySibling(link);
  await fs.symlink(target, temporary);
  try {
    await fs.rename(temporary, link);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await fsyncDirectory(path.dirname(link));
}

/** Appends one line with O_APPEND and fsyncs it. */
export async function appendLineDurably(file: string, line: string): Promise<void> {
  const handle = await fs.open(file, "a", 0o644);
  try {
    await handle.write(`${line}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
