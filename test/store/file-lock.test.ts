import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { withFileLock } from "../../provider/store/file-lock";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";

/** The token of the lock as its holder wrote it (owner.json), read from inside a locked action. */
function holderToken(lock: string): string {
  return (JSON.parse(readFileSync(path.join(lock, "owner.json"), "utf8")) as { token: string }).token;
}

/** `count` callers queued at once on `lock`; what each saw while it ran. */
async function queuedCallers(lock: string, count: number, options: { holdLimitMs?: number; failing?: number } = {}) {
  let running = 0;
  let mostAtOnce = 0;
  const tokens: string[] = [];
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, (_, index) =>
      withFileLock(
        lock,
        async () => {
          running += 1;
          mostAtOnce = Math.max(mostAtOnce, running);
          tokens.push(holderToken(lock));
          // Yield to the event loop, as a store change does while it waits for the disk.
          await new Promise((resolve) => setImmediate(resolve));
          running -= 1;
          if (index === options.failing) throw new Error(`caller ${index} failed`);
          return index;
        },
        options.holdLimitMs === undefined ? {} : { holdLimitMs: options.holdLimitMs },
      ),
    ),
  );
  return { outcomes, tokens, mostAtOnce };
}

describe("the file store's lock within one process", () => {
  it("runs queued callers one at a time under one acquisition of the lock, and the last one releases it", async () => {
    const lock = path.join(temporaryDirectory("file-lock"), ".lock");
    const { outcomes, tokens, mostAtOnce } = await queuedCallers(lock, 12);
    expect(outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : outcome.reason))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(mostAtOnce).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it("takes the lock anew for each caller once the hold limit is reached, so other processes get their turn", async () => {
    const lock = path.join(temporaryDirectory("file-lock"), ".lock");
    const { tokens, mostAtOnce } = await queuedCallers(lock, 5, { holdLimitMs: 0 });
    expect(mostAtOnce).toBe(1);
    expect(new Set(tokens).size).toBe(5);
    expect(existsSync(lock)).toBe(false);
  });

  it("passes the lock on past a caller that fails, and a caller that comes after the queue emptied takes it again", async () => {
    const lock = path.join(temporaryDirectory("file-lock"), ".lock");
    const { outcomes, tokens } = await queuedCallers(lock, 4, { failing: 1 });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error("caller 1 failed"));
    expect(new Set(tokens).size).toBe(1);
    expect(existsSync(lock)).toBe(false);
    const later = await withFileLock(lock, async () => holderToken(lock));
    expect(later).not.toBe(tokens[0]);
    expect(existsSync(lock)).toBe(false);
  });

  it("lets a process waiting for the lock in, though the process holding it never runs out of changes", async () => {
    const lock = path.join(temporaryDirectory("file-lock"), ".lock");
    const holder = spawn(process.execPath, [path.join(__dirname, "lock-holder-worker.cjs"), path.join(REPO_ROOT, "dist"), lock], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("holding") && resolve());
        holder.on("exit", (code) => reject(new Error(`the holder exited (${code}) before it held the lock`)));
      });
      // Its 100,000 changes take at least 100 s; this caller gets its turn at the holder's next
      // hold limit, long before its own timeout.
      const owner = await withFileLock(lock, async () => {
        expect(holder.exitCode).toBeNull();
        return readFileSync(path.join(lock, "owner.json"), "utf8");
      }, { timeoutMs: 20_000 });
      expect(JSON.parse(owner)).toMatchObject({ pid: process.pid });
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
