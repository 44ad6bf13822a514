/**
 * Agent reports on the file driver: `<root>/agents/<agentId>.json`, one file per agent holding its
 * report for each certificate, replaced whole; what else is in that directory is not an agent; a
 * damaged, misplaced or planted file is refused as STORE_CORRUPT; and reports add no history.
 */
import { promises as fs, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentReport } from "../../provider/store";
import { createFileStore } from "../../provider/store/drivers/file";
import { temporaryDirectory } from "../support/certificates";
import { certstageRefusalOf } from "../support/refusals";

const report = (agentId: string, certificate: string, changes: Partial<AgentReport> = {}): AgentReport => ({ agentId, host: "edge.test", environment: "production", certificate, version: 3, lastSeen: "2026-12-01T10:00:00.000Z", ...changes });

const refusal = certstageRefusalOf;

describe("agent reports in the file store", () => {
  it("keeps one file per agent, replaced whole, and appends no history", async () => {
    const root = temporaryDirectory("agent-reports");
    const store = createFileStore({ root });
    await store.putAgentReport(report("edge-1", "web"));
    await store.putAgentReport(report("edge-1", "api"));
    await store.putAgentReport(report("edge-2", "api", { lastError: "reload failed" }));
    expect(readdirSync(path.join(root, "agents")).sort()).toEqual(["edge-1.json", "edge-2.json"]);
    const file = JSON.parse(readFileSync(path.join(root, "agents", "edge-1.json"), "utf8"));
    expect(file).toEqual({ format: 1, agentId: "edge-1", reports: [report("edge-1", "api"), report("edge-1", "web")] });
    expect(await store.readHistory()).toEqual([]);
    await fs.rm(root, { recursive: true, force: true });
  });

  it("skips what is not an agent's file, and refuses a damaged, misplaced or planted one", async () => {
    const root = temporaryDirectory("agent-reports-damage");
    const store = createFileStore({ root });
    await store.putAgentReport(report("edge-1", "api"));
    const agents = path.join(root, "agents");
    writeFileSync(path.join(agents, ".edge-1.json.123.abc.tmp"), "{");
    writeFileSync(path.join(agents, "README"), "not an agent");
    expect(await store.listAgentReports()).toEqual([report("edge-1", "api")]);

    writeFileSync(path.join(agents, "edge-2.json"), '{"format":1,"agentId":"edge-2","reports":[');
    expect((await refusal(store.listAgentReports())).message).toMatch(/\[STORE_CORRUPT\] .*agents\/edge-2\.json is not valid JSON/);

    writeFileSync(path.join(agents, "edge-2.json"), JSON.stringify({ format: 1, agentId: "edge-2", reports: [report("edge-1", "db")] }));
    expect((await refusal(store.listAgentReports())).message).toContain("holds a report of agent \"edge-1\", but its place in the store is agent \"edge-2\"");

    await fs.rm(path.join(agents, "edge-2.json"));
    symlinkSync("/etc/hostname", path.join(agents, "edge-2.json"));
    expect((await refusal(store.listAgentReports())).code).toBe("STORE_CORRUPT");
    expect((await refusal(store.putAgentReport(report("edge-2", "api")))).code).toBe("STORE_CORRUPT");
    await fs.rm(root, { recursive: true, force: true });
  });
});
