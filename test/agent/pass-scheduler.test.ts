/**
 * How requests become passes (pass-scheduler.ts), on vitest's fake clock: a burst is one pass, a
 * stream that never pauses is still served, reloads are spaced, a full request outranks a change.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PassKind, PassScheduler } from "../../provider/agent/pass-scheduler";

const timing = { quietMs: 200, maxWaitMs: 2000, spacingMs: 2000 };

let passes: Array<{ kind: PassKind; at: number }>;
let scheduler: PassScheduler;
let reloads: boolean;

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  passes = [];
  reloads = true;
  scheduler = new PassScheduler(async (kind) => {
    passes.push({ kind, at: Date.now() });
    return { reloaded: reloads };
  }, timing);
});
afterEach(async () => {
  await scheduler.stop();
  vi.useRealTimers();
});

describe("pass scheduler", () => {
  it("runs the first pass at once when asked to", async () => {
    scheduler.request("full", { immediate: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(passes).toEqual([{ kind: "full", at: 0 }]);
  });

  it("merges 100 requests within a second into at most 2 passes, and at least one after the last", async () => {
    for (let request = 0; request < 100; request += 1) {
      scheduler.request("change");
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(passes.length).toBeLessThanOrEqual(2);
    expect(passes.at(-1)!.at).toBeGreaterThanOrEqual(990);
  });

  it("waits for a quiet window, but no longer than the maximum wait of a stream that never pauses", async () => {
    scheduler.request("change");
    await vi.advanceTimersByTimeAsync(199);
    expect(passes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(passes).toEqual([{ kind: "change", at: 200 }]);

    // Spaced from that reload, then a stream every 100 ms: served at the maximum wait from its first request.
    await vi.advanceTimersByTimeAsync(5000);
    const start = Date.now();
    for (let tick = 0; tick < 40; tick += 1) {
      scheduler.request("change");
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(passes.map((pass) => pass.at - start).filter((at) => at >= 0)[0]).toBe(2000);
  });

  it("spaces passes after a reload, not after a pass that reloaded nothing", async () => {
    reloads = false;
    scheduler.request("change");
    await vi.advanceTimersByTimeAsync(200);
    scheduler.request("change");
    await vi.advanceTimersByTimeAsync(200);
    expect(passes.map((pass) => pass.at)).toEqual([200, 400]);
    reloads = true;
    scheduler.request("change");
    await vi.advanceTimersByTimeAsync(200);
    scheduler.request("change");
    await vi.advanceTimersByTimeAsync(200);
    expect(passes.map((pass) => pass.at)).toEqual([200, 400, 600]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(passes.map((pass) => pass.at)).toEqual([200, 400, 600, 2600]);
  });

  it("merges a change into a full request as full, and a request during a pass into the next pass", async () => {
    let release: () => void = () => undefined;
    const slow = new PassScheduler(async (kind) => {
      passes.push({ kind, at: Date.now() });
      if (passes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return { reloaded: false };
    }, timing);
    slow.request("change", { immediate: true });
    await vi.advanceTimersByTimeAsync(0);
    slow.request("change");
    slow.request("full");
    slow.request("change");
    await vi.advanceTimersByTimeAsync(1000);
    expect(passes).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(passes.map((pass) => pass.kind)).toEqual(["change", "full"]);
    const idle = slow.whenIdle();
    await vi.advanceTimersByTimeAsync(0);
    await idle;
    await slow.stop();
  });

  it("keeps going after a pass that throws, and runs nothing once stopped", async () => {
    const failing = new PassScheduler(async (kind) => {
      passes.push({ kind, at: Date.now() });
      throw new Error("store down");
    }, timing);
    failing.request("full", { immediate: true });
    await vi.advanceTimersByTimeAsync(0);
    failing.request("full");
    await vi.advanceTimersByTimeAsync(200);
    expect(passes).toHaveLength(2);
    await failing.stop();
    failing.request("full", { immediate: true });
    await vi.advanceTimersByTimeAsync(5000);
    expect(passes).toHaveLength(2);
  });
});
