/**
 * Durations are typed by people (`renewBefore: "30d"`), and every renewal time is computed from
 * them: whatever the text, parseDuration gives a duration a Date can hold, or nothing.
 *
 * Property                                                                 runs
 *   any text: undefined, or a finite duration from 0 to MAX_DURATION_MS     300
 *   well-formed durations: the sum of their parts, unless over the maximum  200
 *   every accepted duration gives valid renewal times for any validity      200
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideRenewal, MAX_DURATION_MS, parseDuration, windowProblems } from "../../../provider/lifecycle/renewal";
import { outcomeOf } from "../../support/refusals";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const unit = fc.constantFrom(...Object.keys(UNIT_MS));
/** Digits as people type them, and as nobody should: hundreds of them, leading zeros. */
const amount = fc.oneof(fc.integer({ min: 0, max: 10_000 }).map(String), fc.stringMatching(/^\d{1,400}(\.\d{1,20})?$/));
const wellFormed = fc.array(fc.tuple(amount, unit), { minLength: 1, maxLength: 6 });
const textLike = fc.oneof(
  wellFormed.map((parts) => parts.map(([digits, letter]) => digits + letter).join("")),
  fc.string({ unit: fc.constantFrom(..."0123456789.smhdwSMHDy -+e\u0661\uff11\u200b\n"), maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer({ min: 1, max: 2500 }).map((repeat) => "1s".repeat(repeat) + " "),
);
/** Validity periods anywhere X.509 times reach (years 0000 to 9999). */
const instant = fc.integer({ min: Date.parse("0000-01-01T00:00:00Z"), max: Date.parse("9999-12-31T23:59:59Z") });

describe("parseDuration properties", () => {
  it("any text gives undefined or a finite duration from 0 to MAX_DURATION_MS", () => {
    fc.assert(
      fc.property(textLike, (text) => {
        expect(text.length).toBeLessThanOrEqual(5001);
        const duration = parseDuration(text);
        if (duration !== undefined) expect(Number.isFinite(duration) && duration >= 0 && duration <= MAX_DURATION_MS).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("a well-formed duration is the sum of its parts, unless that is over the maximum", () => {
    fc.assert(
      fc.property(wellFormed, (parts) => {
        const total = parts.reduce((sum, [digits, letter]) => sum + Number(digits) * UNIT_MS[letter], 0);
        const duration = parseDuration(parts.map(([digits, letter]) => digits + letter).join(""));
        if (total > MAX_DURATION_MS) expect(duration).toBeUndefined();
        else expect(duration).toBeCloseTo(total, 3);
      }),
      { numRuns: 200 },
    );
  });

  it("every accepted duration gives valid renewal times, and window problems as CertstageErrors, for any validity", () => {
    fc.assert(
      fc.property(textLike, instant, instant, instant, (text, from, to, now) => {
        const renewBeforeMs = parseDuration(text);
        if (renewBeforeMs === undefined) return;
        const [notBefore, notAfter] = [new Date(Math.min(from, to)).toISOString(), new Date(Math.max(from, to)).toISOString()];
        const decision = outcomeOf(() => decideRenewal({ notBefore, notAfter, window: { renewBeforeMs }, now: new Date(now) }));
        expect(new Date(decision.accepted!.dueAt).toISOString()).toBe(decision.accepted!.dueAt);
        for (const problem of windowProblems({ renewBeforeMs }, Math.max(from, to) - Math.min(from, to))) outcomeOf(() => { throw problem; });
      }),
      { numRuns: 200 },
    );
  });
});
