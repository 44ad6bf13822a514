/**
 * An inter-process lock for the file store, without native code. A process prepares a directory
 * holding `owner.json` (who it is) under a private name and renames it to the lock name; rename(2)
 * of a directory onto an existing non-empty one fails, so exactly one process wins, and a visible
 * lock always says who holds it. A lock whose holder process is gone (same host) is broken, so a
 * `kill -9` during `pulumi up` never wedges the store.
 *
 * Within one process (the Pulumi provider runs many resource operations concurrently) callers
 * queue on a promise chain first, so the file lock is only contended between processes, and a
 * process with callers queued keeps the lock from one to the next (HOLD_LIMIT_MS).
 */
import * as os from "node:os";
import * as path from "node:path";
import { CertstageError } from "../errors";
import { randomHex } from "./lazy-crypto";
import * as storeFs from "./store-fs";

export interface LockOptions {
  /** Give up after this long; the error names the holder. */
  readonly timeoutMs?: number;
  /** A lock held this long by a process on another host is considered abandoned. */
  readonly foreignStaleAfterMs?: number;
  /** How long this process may keep the lock for the callers queued in it (HOLD_LIMIT_MS). */
  readonly holdLimitMs?: number;
}

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
  readonly token: string;
}

/**
 * How long this process keeps the file lock from one of its callers to the next. Callers queued
 * behind a finished one run without releasing and taking the lock again in between, which was
 * most of a locked change's cost (five or six filesystem calls, each awaiting its turn on a busy
 * event loop) and, since the queue runs one change at a time, the provider's critical path. The
 * lock is released whenever the queue empties, and at least this often, so another process
 * waiting for the store gets its turn (YIELD_MS).
 */
const HOLD_LIMIT_MS = 1_000;

/**
 * How long this process waits before taking the lock again, after letting it go at the hold limit
 * while another process was waiting for it: longer than a waiter's longest pause between tries
 * (acquire's delay tops out at 100 ms, plus as much again at random). Taken again at once, the
 * lock would be free for microseconds, and a waiter would almost never find it free: it would
 * wait until this process ran out of changes, or give up with STORE_LOCKED.
 */
const YIELD_MS = 250;

/** This process's callers of one lock: a promise chain, and the file lock while it holds it across them. */
interface ProcessQueue {
  tail: Promise<unknown>;
  /** Callers queued or running. */
  waiting: number;
  /** The file lock's token while this process holds it. */
  token?: string;
  heldSince: number;
  /** Not before this time is the lock taken again (YIELD_MS). */
  yieldUntil: number;
}

const inProcessQueues = new Map<string, ProcessQueue>();

export async function withFileLock<T>(lockDirectory: string, action: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const own = inProcessQueues.get(lockDirectory) ?? { tail: Promise.resolve(), waiting: 0, heldSince: 0, yieldUntil: 0 };
  inProcessQueues.set(lockDirectory, own);
  own.waiting += 1;
  const run = own.tail.catch(() => undefined).then(async () => {
    try {
      if (own.token === undefined) {
        const pause = own.yieldUntil - Date.now();
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        own.token = await acquire(lockDirectory, options);
        own.heldSince = Date.now();
      }
      return await action();
    } finally {
      own.waiting -= 1;
      // The last caller (or one past the hold limit) releases before its promise settles, so a
      // caller that awaited its change finds the lock gone.
      if (own.token !== undefined && (own.waiting === 0 || Date.now() - own.heldSince >= (options.holdLimitMs ?? HOLD_LIMIT_MS))) {
        const token = own.token;
        own.token = undefined;
        if (own.waiting > 0 && (await othersWaiting(lockDirectory))) own.yieldUntil = Date.now() + YIELD_MS;
        await release(lockDirectory, token);
      }
    }
  });
  own.tail = run;
  try {
    return await run;
  } finally {
    if (own.waiting === 0 && inProcessQueues.get(lockDirectory) === own) inProcessQueues.delete(lockDirectory);
  }
}

async function acquire(lockDirectory: string, options: LockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const token = randomHex(12);
  let delayMs = 5;
  const owner: LockOwner = { pid: process.pid, hostname: os.hostname(), acquiredAt: "", token };
  const candidate = transientName(lockDirectory, "acquire", token);
  await storeFs.mkdir(candidate);
  try {
    for (;;) {
      const ownerFile = path.join(candidate, "owner.json");
      await storeFs.writeFile(ownerFile, JSON.stringify({ ...owner, acquiredAt: new Date().toISOString() })).catch((error: NodeJS.ErrnoException) => {
        error.path ??= ownerFile; // write(2) errors (ENOSPC) come without it, and the user is told what could not be written
        throw error;
      });
      try {
        await storeFs.rename(candidate, lockDirectory);
        await sweepTransients(lockDirectory);
        return token;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EEXIST" && code !== "ENOTEMPTY" && code !== "EISDIR") throw error;
      }
      const holder = await readOwner(lockDirectory);
      if (await isAbandoned(lockDirectory, holder, options)) {
        await breakLock(lockDirectory, holder);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder ? `process ${holder.pid} on ${holder.hostname} since ${holder.acquiredAt}` : "an unknown process";
        throw new CertstageError("STORE_LOCKED", `the store lock ${lockDirectory} has been held by ${who} for more than ${timeoutMs} ms`, {
          fix: "wait for the other certstage or pulumi process to finish; if none is running, remove the lock directory",
        });
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs + Math.random() * delayMs));
      delayMs = Math.min(delayMs * 2, 100);
    }
  } finally {
    await storeFs.rm(candidate, { recursive: true, force: true });
  }
}

/** Private names next to the lock: `<lock>.<purpose>.<pid>.<token>`. */
function transientName(lockDirectory: string, purpose: "acquire" | "abandoned" | "released", token: string): string {
  return `${lockDirectory}.${purpose}.${process.pid}.${token}`;
}

/** Whether a live process other than this one is trying to take the lock (its acquire's private directory is there). */
async function othersWaiting(lockDirectory: string): Promise<boolean> {
  const prefix = `${path.basename(lockDirectory)}.acquire.`;
  const entries = await storeFs.readdir(path.dirname(lockDirectory)).catch(() => [] as string[]);
  return entries.some((entry) => {
    if (!entry.startsWith(prefix)) return false;
    const pid = Number(entry.slice(prefix.length).split(".")[0]);
    return Number.isInteger(pid) && pid !== process.pid && processIsAlive(pid);
  });
}

/** Removes transient directories left by processes killed mid-acquire or mid-release. */
async function sweepTransients(lockDirectory: string): Promise<void> {
  const prefix = `${path.basename(lockDirectory)}.`;
  const entries = await storeFs.readdir(path.dirname(lockDirectory)).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split(".")[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processIsAlive(pid)) {
      await storeFs.rm(path.join(path.dirname(lockDirectory), entry), { recursive: true, force: true });
    }
  }
}

async function readOwner(lockDirectory: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await storeFs.readFile(path.join(lockDirectory, "owner.json"), "utf8")) as LockOwner;
  } catch {
    return undefined; // Not written yet, or the lock was just released.
  }
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isAbandoned(lockDirectory: string, holder: LockOwner | undefined, options: LockOptions): Promise<boolean> {
  if (holder === undefined) {
    // Locks appear with owner.json inside, so usually this lock was released as we looked. An
    // unreadable owner that persists (an unsynced file after a power cut) is abandoned.
    const stats = await storeFs.stat(lockDirectory).catch(() => undefined);
    return stats !== undefined && Date.now() - stats.mtimeMs > 30_000;
  }
  if (holder.hostname === os.hostname()) return !processIsAlive(holder.pid);
  return Date.now() - Date.parse(holder.acquiredAt) > (options.foreignStaleAfterMs ?? 10 * 60_000);
}

/**
 * Moves the abandoned lock aside before deleting it. If, between our look and the move, another
 * process broke it and took a fresh lock, we moved the wrong one: put it back.
 */
async function breakLock(lockDirectory: string, judged: LockOwner | undefined): Promise<void> {
  const aside = transientName(lockDirectory, "abandoned", randomHex(6));
  try {
    await storeFs.rename(lockDirectory, aside);
  } catch {
    return; // Someone else broke or released it first.
  }
  const moved = await readOwner(aside);
  if (moved !== undefined && moved.token !== judged?.token) {
    await storeFs.rename(aside, lockDirectory).catch(() => undefined);
    return;
  }
  await storeFs.rm(aside, { recursive: true, force: true });
}

async function release(lockDirectory: string, token: string): Promise<void> {
  const owner = await readOwner(lockDirectory);
  if (owner?.token !== token) return; // Broken by someone who judged us dead; nothing of ours to remove.
  const aside = transientName(lockDirectory, "released", token);
  await storeFs.rename(lockDirectory, aside);
  await storeFs.rm(aside, { recursive: true, force: true });
}
