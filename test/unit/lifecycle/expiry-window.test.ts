import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isCertstageError } from "../../../provider/errors";
import { isInsideWindow, parseExpiryWindow, windowLengthMs } from "../../../provider/lifecycle/expiry-window";

const DAY = 86_400_000;
const validity = (notBefore: number, notAfter: number) => ({ notBefore: new Date(notBefore).toISOString(), notAfter: new Date(notAfter).toISOString() });

describe("the window of certstage expiring", () => {
  it("reads durations and shares of the lifetime", () => {
    expect(parseExpiryWindow("30d")).toEqual({ text: "30d", durationMs: 30 * DAY });
    expect(parseExpiryWindow(" 1d12h ")).toEqual({ text: "1d12h", durationMs: 1.5 * DAY });
    expect(parseExpiryWindow("2w")).toEqual({ text: "2w", durationMs: 14 * DAY });
    expect(parseExpiryWindow("33%")).toEqual({ text: "33%", lifetimePercent: 33 });
    expect(parseExpiryWindow("12.5%")).toEqual({ text: "12.5%", lifetimePercent: 12.5 });
    expect(parseExpiryWindow("100%")).toEqual({ text: "100%", lifetimePercent: 100 });
  });

  it.each(["30", "30x", "", "0d", "0%", "101%", "-1d", "33 %", "%", "1e3d"])("refuses %j with EXPIRY_WINDOW_INVALID, naming the field and the fix", (text) => {
    let thrown: unknown;
    try {
      parseExpiryWindow(text);
    } catch (error) {
      thrown = error;
    }
    expect(isCertstageError(thrown, "EXPIRY_WINDOW_INVALID")).toBe(true);
    const error = thrown as Error & { field?: string; fix?: string };
    expect(error.field).toBe("--within");
    expect(error.message).toContain("--within");
    expect(error.fix).toMatch(/30d.*33%/);
  });

  it("includes notAfter exactly at the window's edge, and an expired certificate always", () => {
    const start = Date.parse("2026-10-01T00:00:00Z");
    const facts = validity(start, start + 90 * DAY);
    const window = parseExpiryWindow("30d");
    expect(isInsideWindow(window, facts, new Date(start + 60 * DAY))).toBe(true);
    expect(isInsideWindow(window, facts, new Date(start + 60 * DAY - 1))).toBe(false);
    expect(isInsideWindow(parseExpiryWindow("1%"), facts, new Date(start + 91 * DAY))).toBe(true);
  });

  it("measures a share against each certificate's own lifetime", () => {
    const start = Date.parse("2026-10-01T00:00:00Z");
    const window = parseExpiryWindow("33%");
    expect(windowLengthMs(window, validity(start, start + 47 * DAY))).toBeCloseTo(0.33 * 47 * DAY);
    expect(windowLengthMs(window, validity(start, start + 90 * DAY))).toBeCloseTo(0.33 * 90 * DAY);
    // Both have 20 days left: 22 % of a 90-day lifetime is inside 33 %, 43 % of a 47-day one is not.
    const now = new Date(start + 70 * DAY);
    expect(isInsideWindow(window, validity(start, start + 90 * DAY), now)).toBe(true);
    expect(isInsideWindow(window, validity(start + 43 * DAY, start + 90 * DAY), now)).toBe(false);
  });

  it("holds a certificate inside a share exactly when the share of its lifetime left is at most that", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 100 }), fc.double({ min: -0.5, max: 1.5, noNaN: true }), (lifetimeDays, percent, elapsed) => {
        const start = Date.parse("2026-01-01T00:00:00Z");
        const lifetime = lifetimeDays * DAY;
        const now = new Date(start + Math.round(elapsed * lifetime));
        const left = (start + lifetime - now.getTime()) / lifetime;
        expect(isInsideWindow(parseExpiryWindow(`${percent}%`), validity(start, start + lifetime), now)).toBe(left <= percent / 100 + 1e-12);
      }),
    );
  });
});
