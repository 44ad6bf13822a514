/** `up` keeps a queued standby undeploy that waits for the same time, however the time is written. */
import { describe, expect, it } from "vitest";
import { keepsQueuedUndeploy } from "../../../provider/lifecycle/queued-undeploy";

describe("keepsQueuedUndeploy", () => {
  it("keeps an undeploy waiting for the same instant, or for none when none is asked", () => {
    expect(keepsQueuedUndeploy(undefined, undefined)).toBe(true);
    expect(keepsQueuedUndeploy("2026-12-05T10:00:00.000Z", "2026-12-05T10:00:00Z")).toBe(true);
    expect(keepsQueuedUndeploy("2026-12-05T10:00:00.000Z", "2026-12-05T11:00:00+01:00")).toBe(true);
  });

  it("queues again when the time changes, appears or goes", () => {
    expect(keepsQueuedUndeploy("2026-12-05T10:00:00.000Z", "2026-12-05T10:00:01.000Z")).toBe(false);
    expect(keepsQueuedUndeploy(undefined, "2026-12-05T10:00:00.000Z")).toBe(false);
    expect(keepsQueuedUndeploy("2026-12-05T10:00:00.000Z", undefined)).toBe(false);
  });
});
