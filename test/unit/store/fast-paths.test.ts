/**
 * The file store's cheaper checks say exactly what the slower ones said: the time check's
 * ISO fast path accepts nothing Date.parse refuses, the path check's string slicing refuses what
 * path.relative refused, and code-point order is one order whatever the locale.
 *
 * Property                                                                       runs
 *   isTime agrees with Date.parse for ISO-shaped text, in range or not               2000
 *   isTime agrees with Date.parse for any text                                        500
 *   StorePaths.check refuses any path with `..` that leads outside the store          300
 */
import { mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareText } from "../../../provider/code-point-order";
import { StorePaths } from "../../../provider/store/file-paths";
import { isTime } from "../../../provider/store/file-records";
import { temporaryDirectory } from "../../support/certificates";
import { settledOutcome } from "../../support/refusals";

const digits = (count: number) => fc.stringMatching(new RegExp(`^[0-9]{${count}}$`));
/** Text shaped like toISOString's, with every field free to be out of range. */
const isoShaped = fc
  .tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), fc.option(fc.stringMatching(/^[0-9]{1,4}$/), { nil: undefined }))
  .map(([year, month, day, hour, minute, second, fraction]) => `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction === undefined ? "" : `.${fraction}`}Z`);

describe("isTime, the file store's time check", () => {
  it("agrees with Date.parse for ISO-shaped text, in range or not", () => {
    fc.assert(
      fc.property(isoShaped, (text) => {
        expect(isTime(text)).toBe(!Number.isNaN(Date.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with Date.parse for any text, and refuses what is not text", () => {
    fc.assert(fc.property(fc.string(), (text) => {
        expect(isTime(text)).toBe(!Number.isNaN(Date.parse(text)));
      }), { numRuns: 500 });
    for (const text of ["2026-13-01T00:00:00.000Z", "2026-12-04T23:59:60Z", "2026-00-10T00:00:00Z", ""]) expect(isTime(text)).toBe(false);
    for (const text of ["2026-12-04T10:00:00.123Z", "2026-12-04T10:00:00Z", "Fri, 04 Dec 2026 10:00:00 GMT"]) expect(isTime(text)).toBe(true);
    for (const value of [undefined, null, 0, Date.now(), {}, []]) expect(isTime(value)).toBe(false);
  });
});

describe("StorePaths.check, the file store's path check", () => {
  it("refuses any path whose `..` leads outside the store, as path.relative decided", async () => {
    const root = path.join(temporaryDirectory("fast-paths"), "store");
    mkdirSync(path.join(root, "certificates", "api"), { recursive: true });
    const paths = new StorePaths(root);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("certificates", "api", "..", ".", "versions"), { minLength: 1, maxLength: 6 }), async (segments) => {
        const target = `${root}/${segments.join("/")}`;
        const relative = path.relative(root, path.normalize(target));
        const outside = relative.startsWith("..") || path.isAbsolute(relative);
        const outcome = await settledOutcome(() => paths.check(target, "directory"));
        if (outside) expect(outcome).toMatchObject({ refused: { code: "STORE_CORRUPT", message: expect.stringContaining("is outside the store") } });
        else expect(outcome).toEqual({ accepted: undefined });
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a planted link below a root given with a trailing separator", async () => {
    const parent = temporaryDirectory("fast-paths-link");
    const root = path.join(parent, "store");
    mkdirSync(path.join(root, "certificates"), { recursive: true });
    mkdirSync(path.join(parent, "elsewhere"));
    symlinkSync(path.join(parent, "elsewhere"), path.join(root, "certificates", "api"));
    const outcome = await settledOutcome(() => new StorePaths(`${root}/`).check(path.join(root, "certificates", "api", "versions"), "directory"));
    expect(outcome).toMatchObject({ refused: { code: "STORE_CORRUPT", message: expect.stringContaining(`${path.join(root, "certificates", "api")} is a symbolic link to '${path.join(parent, "elsewhere")}'`) } });
  });
});

describe("compareText, the order of names, times and task ids", () => {
  it("is code-point order: uppercase before lowercase, digits before letters, whatever the locale", () => {
    expect(["b", "a", "B", "A", "10", "9", "a-b", "a_b"].sort(compareText)).toEqual(["10", "9", "A", "B", "a", "a-b", "a_b", "b"]);
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
      expect(Math.sign(compareText(a, b))).toBe(a < b ? -1 : a === b ? 0 : 1);
    }));
  });
});
