/**
 * The filesystem calls the file store changes itself and takes its lock with: synchronous system
 * calls behind promises, as its reads are (file-paths.ts), except fsync(2).
 *
 * Why: a rename, mkdir or unlink on a local filesystem is over in microseconds, but the same call
 * through the thread pool (fs.promises) is answered only on a later turn of the event loop. In the
 * Pulumi provider that loop is busy with every other resource's work, while the store's changes
 * run one at a time under its lock; a change of some thirty awaited calls took about 10 ms, nearly
 * all of it waiting for turns, and that chain of changes was the provider's critical path (pulumi
 * up of 100 certificates x 3 environments). A promise of a synchronous call is settled at once:
 * awaiting it runs no other work in between.
 *
 * fsync(2) stays asynchronous: it waits for the device, which on a network volume takes
 * milliseconds, and the rest of the process can use the loop meanwhile.
 */
import { fsync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type MakeDirectoryOptions, type RmOptions, type Stats } from "node:fs";

export async function mkdir(directory: string, options: MakeDirectoryOptions & { recursive: true }): Promise<string | undefined>;
export async function mkdir(directory: string, options?: MakeDirectoryOptions): Promise<void>;
export async function mkdir(directory: string, options?: MakeDirectoryOptions): Promise<string | undefined | void> {
  return mkdirSync(directory, options);
}

export async function rename(from: string, to: string): Promise<void> {
  renameSync(from, to);
}

export async function rm(target: string, options?: RmOptions): Promise<void> {
  rmSync(target, options);
}

export async function stat(target: string): Promise<Stats> {
  return statSync(target);
}

export async function readdir(directory: string): Promise<string[]> {
  return readdirSync(directory);
}

export async function readFile(file: string, encoding: BufferEncoding): Promise<string> {
  return readFileSync(file, encoding);
}

/** A new small file (the lock's owner.json), not fsynced: see writeFileDurably for records. */
export async function writeFile(file: string, contents: string): Promise<void> {
  writeFileSync(file, contents);
}

/** fsync(2) of an open descriptor, through the thread pool: the one call here that waits for the disk. */
export function fsyncDescriptor(descriptor: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(descriptor, (error) => (error ? reject(error) : resolve())));
}
