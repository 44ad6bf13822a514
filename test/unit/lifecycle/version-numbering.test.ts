import { describe, expect, it } from "vitest";
import { nextVersionNumber } from "../../../provider/lifecycle/version-numbering";

describe("nextVersionNumber", () => {
  it.each([
    ["the first version", 0, [], 1],
    ["after three versions", 3, [1, 2, 3], 4],
    ["after versions were deleted, numbers are not reused", 5, [2], 6],
    ["a record behind the directories (restored backup) never hands out a taken number", 2, [1, 2, 3, 4], 5],
    ["garbage in the record is ignored", Number.NaN, [1], 2],
  ])("%s", (_name, lastIssued, existing, expected) => {
    expect(nextVersionNumber(lastIssued, existing)).toBe(expected);
  });
});
