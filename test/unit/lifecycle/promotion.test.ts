import { describe, expect, it } from "vitest";
import { promotionProblems } from "../../../provider/lifecycle/promotion";

const rule = { requires: "staging" };

describe("promotion rule", () => {
  it.each([
    ["no rule: anything goes", undefined, [], []],
    ["deployed and verified in staging", rule, [{ environment: "staging", version: 2, verified: true }], []],
    ["deployed in staging, verification failed", rule, [{ environment: "staging", version: 2, verified: false }], ["PROMOTION_REFUSED"]],
    ["only another version reached staging", rule, [{ environment: "staging", version: 1, verified: true }], ["PROMOTION_REFUSED"]],
    ["never staged", rule, [{ environment: "qa", version: 2, verified: true }], ["PROMOTION_REFUSED"]],
    ["a rollback to a version production served and verified before", rule, [{ environment: "production", version: 2, verified: true }], []],
    ["production served it before, but its verification failed", rule, [{ environment: "production", version: 2, verified: false }], ["PROMOTION_REFUSED"]],
  ])("%s", (_name, promotion, facts, codes) => {
    expect(promotionProblems("api", "production", 2, promotion, facts).map((problem) => problem.code)).toEqual(codes);
  });

  it("says which environment to deploy to first", () => {
    const [problem] = promotionProblems("api", "production", 2, rule, []);
    expect(problem.message).toBe(
      "[PROMOTION_REFUSED] field 'version': version 2 of 'api' was never deployed to staging; production only takes versions promoted from staging. Fix: deploy version 2 to staging first (and let its verification pass), then to production",
    );
  });
});
