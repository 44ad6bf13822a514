import { describe, expect, it } from "vitest";
import { chooseRenewalTime, decideRenewal, formatDuration, parseDuration, renewBeforeMs, windowProblems } from "../../../provider/lifecycle/renewal";

const DAY = 86_400_000;
const issued = "2026-11-01T00:00:00.000Z";
const ninetyDays = "2027-01-30T00:00:00.000Z";

describe("parseDuration", () => {
  it.each([
    ["30d", 30 * DAY],
    ["720h", 30 * DAY],
    ["1h30m", 90 * 60_000],
    ["90s", 90_000],
    ["2w", 14 * DAY],
    ["thirty days", undefined],
    ["30", undefined],
    ["", undefined],
  ])("%s -> %s", (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });
});

describe("renewal window", () => {
  it.each([
    ["default for a 90-day certificate: a third of the lifetime", {}, 90 * DAY, 30 * DAY],
    ["default for a 10-day certificate: half of the lifetime", {}, 10 * DAY, 5 * DAY],
    ["default for a 5-minute certificate: half", {}, 300_000, 150_000],
    ["renewBefore", { renewBeforeMs: 7 * DAY }, 90 * DAY, 7 * DAY],
    ["renewBeforePercent", { renewBeforePercent: 50 }, 90 * DAY, 45 * DAY],
  ])("%s", (_name, window, lifetime, expected) => {
    expect(renewBeforeMs(window, lifetime)).toBe(expected);
  });

  it.each([
    ["a sound window", { renewBeforeMs: 30 * DAY }, 90 * DAY, []],
    ["renewBefore as long as the lifetime: due at issuance, a renewal loop", { renewBeforeMs: 90 * DAY }, 90 * DAY, ["RENEWAL_WINDOW_INVALID"]],
    ["renewBefore with the lifetime not known yet", { renewBeforeMs: 400 * DAY }, undefined, []],
    ["percent 100", { renewBeforePercent: 100 }, undefined, ["RENEWAL_WINDOW_INVALID"]],
    ["percent 0", { renewBeforePercent: 0 }, undefined, ["RENEWAL_WINDOW_INVALID"]],
    ["both set", { renewBeforeMs: DAY, renewBeforePercent: 10 }, undefined, ["RENEWAL_WINDOW_INVALID"]],
  ])("%s", (_name, window, lifetime, codes) => {
    expect(windowProblems(window, lifetime).map((problem) => problem.code)).toEqual(codes);
  });
});

describe("decideRenewal", () => {
  it("is not due before the window and says when it will be", () => {
    const decision = decideRenewal({ notBefore: issued, notAfter: ninetyDays, window: {}, now: new Date("2026-12-15T00:00:00Z") });
    expect(decision).toEqual({ due: false, dueAt: "2026-12-31T00:00:00.000Z", reason: "not due until 2026-12-31T00:00:00.000Z: expires 2027-01-30, 46 days left, window 30 days" });
  });

  it("is due inside the window and says why, as the preview shows it", () => {
    const decision = decideRenewal({ notBefore: issued, notAfter: ninetyDays, window: {}, now: new Date("2027-01-18T00:00:00Z") });
    expect(decision.due).toBe(true);
    expect(decision.reason).toBe("renewal due: expires 2027-01-30, 12 days left, window 30 days");
  });

  it("follows the time chosen in the CA's ARI window over its own window", () => {
    const early = decideRenewal({ notBefore: issued, notAfter: ninetyDays, window: {}, ariRenewalTime: "2026-12-01T00:00:00.000Z", now: new Date("2026-12-02T00:00:00Z") });
    expect(early.due).toBe(true);
    expect(early.reason).toContain("the CA's renewal window (ARI) suggests 2026-12-01T00:00:00.000Z");
    expect(decideRenewal({ notBefore: issued, notAfter: ninetyDays, window: {}, ariRenewalTime: "2027-01-20T00:00:00.000Z", now: new Date("2027-01-18T00:00:00Z") }).due).toBe(false);
  });

  it("says an expired certificate expired", () => {
    expect(decideRenewal({ notBefore: issued, notAfter: ninetyDays, window: {}, now: new Date("2027-02-01T00:00:00Z") }).reason).toMatch(/^renewal due: expired 2027-01-30/);
  });
});

describe("chooseRenewalTime", () => {
  it("stays inside the suggested window and is repeatable for the same draw", () => {
    const window = { start: "2027-01-01T00:00:00Z", end: "2027-01-03T00:00:00Z" };
    expect(chooseRenewalTime(window, 0)).toBe("2027-01-01T00:00:00.000Z");
    expect(chooseRenewalTime(window, 0.5)).toBe("2027-01-02T00:00:00.000Z");
    expect(Date.parse(chooseRenewalTime(window, 0.9999999))).toBeLessThan(Date.parse(window.end));
    expect(chooseRenewalTime(window, 0.25)).toBe(chooseRenewalTime(window, 0.25));
  });
});

describe("formatDuration", () => {
  it.each([
    [12 * DAY + 5000, "12 days"],
    [DAY, "24 hours"],
    [90 * 60_000, "90 minutes"],
    [59_000, "59 seconds"],
  ])("%s ms -> %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
