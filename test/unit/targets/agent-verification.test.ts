import { describe, expect, it } from "vitest";
import { environmentDefinitionsFrom } from "../../../provider/settings/environments";
import type { AgentReport } from "../../../provider/store";
import { describeAgents, judge } from "../../../provider/targets/agent-verification";

const NOW = Date.parse("2026-12-02T10:00:00.000Z");
const V3 = "AA:".repeat(31) + "AA";
const V2 = "BB:".repeat(31) + "BB";
const wait = { certificate: "api", environment: "production", version: 3, fingerprintSha256: V3 };
const report = (agentId: string, changes: Partial<AgentReport> = {}): AgentReport => ({
  agentId,
  host: `${agentId}.test`,
  environment: "production",
  certificate: "api",
  version: 3,
  servedFingerprintSha256: V3,
  lastSeen: new Date(NOW - 1000).toISOString(),
  ...changes,
});

describe("verification by the environment's agents", () => {
  it("passes when every live agent serves the new version", () => {
    const result = judge([report("edge-1"), report("edge-2")], wait, 2, 180_000, NOW);
    expect(result).toEqual({ ok: true, agents: { "edge-1": "v3 served", "edge-2": "v3 served" } });
  });

  it("waits for an agent that still serves the old leaf, has not installed it yet, or failed to", () => {
    const result = judge([report("edge-1"), report("edge-2", { version: 2, servedFingerprintSha256: V2 }), report("edge-3", { certificate: "web" }), report("edge-4", { lastError: "[KEY_MISMATCH] version 3 refused" })], wait, 1, 180_000, NOW);
    expect(result.ok).toBe(false);
    expect(result.agents).toEqual({ "edge-1": "v3 served", "edge-2": "v2", "edge-3": "nothing yet", "edge-4": "v3 ([KEY_MISMATCH] version 3 refused)" });
  });

  it("does not wait for an agent silent for longer than liveWithinMs, and fails when too few are live", () => {
    const silent = report("edge-2", { version: 1, lastSeen: new Date(NOW - 200_000).toISOString() });
    expect(judge([report("edge-1"), silent], wait, 1, 180_000, NOW).ok).toBe(true);
    const tooFew = judge([report("edge-1"), silent], wait, 2, 180_000, NOW);
    expect(tooFew).toMatchObject({ ok: false, tooFew: { live: 1, minimum: 2 } });
    expect(describeAgents(tooFew)).toBe("1 live agent(s), 2 required; edge-1: v3 served");
    expect(describeAgents(judge([], wait, 1, 180_000, NOW))).toBe("0 live agent(s), 1 required");
  });

  it("takes an installed version as served from an agent that does not check what it serves", () => {
    expect(judge([report("edge-1", { servedFingerprintSha256: undefined })], wait, 1, 180_000, NOW)).toEqual({ ok: true, agents: { "edge-1": "v3 installed" } });
    expect(judge([report("edge-1", { servedFingerprintSha256: V2 })], wait, 1, 180_000, NOW).agents["edge-1"]).toBe("v3 (another leaf served)");
  });

  it("is configured per environment, refusing what could never mean anything", () => {
    const [production] = environmentDefinitionsFrom([{ name: "production", verify: { agents: { minimum: 3 } } }]);
    expect(production.verify).toEqual({ agents: { minimum: 3 } });
    expect(() => environmentDefinitionsFrom([{ name: "production", verify: {} }])).toThrow(/verify needs endpoints, agents or both/);
    expect(() => environmentDefinitionsFrom([{ name: "production", verify: { agents: { minimum: 0 } } }])).toThrow(/verify.agents.minimum must be a whole number from 1/);
    expect(() => environmentDefinitionsFrom([{ name: "production", verify: { agents: { wait: true } } }])).toThrow(/"wait" is not a setting of verify.agents/);
  });
});
