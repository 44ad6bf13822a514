/** When `certstage agents` calls an agent lagging (lag.ts is pure: report, deployed version, time). */
import { describe, expect, it } from "vitest";
import { agentLag } from "../../provider/agent/lag";
import type { AgentReport } from "../../provider/store";

const now = new Date("2026-12-01T12:00:00.000Z");
const minute = 60_000;
const report = (changes: Partial<AgentReport>): AgentReport => ({ agentId: "edge-1", host: "edge-1", environment: "production", certificate: "api", version: 2, lastSeen: "2026-12-01T11:59:30.000Z", ...changes });

describe("agent lag", () => {
  it.each<[string, Partial<AgentReport>, number | undefined, string[]]>([
    ["serves the deployed version, seen recently", {}, 2, []],
    ["serves an older version", { version: 1 }, 2, ["serves version 1, version 2 is deployed"]],
    ["serves none of its versions", { version: undefined }, 2, ["serves none of its versions, version 2 is deployed"]],
    ["serves a version of a certificate no longer deployed", {}, undefined, ["serves version 2, and nothing is deployed"]],
    ["serves nothing of a certificate no longer deployed, long ago", { version: undefined, lastSeen: "2026-11-01T00:00:00.000Z" }, undefined, []],
    ["not heard from for more than 3 resyncs", { lastSeen: "2026-12-01T11:56:59.000Z" }, 2, ["not heard from for 181 s (more than 3 resyncs)"]],
    ["heard from exactly 3 resyncs ago", { lastSeen: "2026-12-01T11:57:00.000Z" }, 2, []],
  ])("%s", (_case, changes, deployed, reasons) => {
    expect(agentLag(report(changes), deployed, now, minute)).toEqual({ lagging: reasons.length > 0, reasons });
  });
});
