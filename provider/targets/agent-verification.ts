/**
 * Verification by the environment's agents: after a swap, wait until every live agent (one that
 * reported within `liveWithinMs`) reports the new version of the certificate, and serves it where
 * it checks what it serves (its report then carries the served leaf's fingerprint). An agent
 * that reported nothing for this certificate yet but is live in the environment is waited for
 * too: it is about to install it. Reports are read from the store, so this works from any runner.
 */
import { DEFAULT_AGENT_LIVE_WITHIN_MS, DEFAULT_AGENT_MINIMUM, type AgentVerificationDefinition } from "../settings/environments";
import type { AgentReport, Store } from "../store";

export interface AgentWait {
  readonly certificate: string;
  readonly environment: string;
  readonly version: number;
  /** The version's leaf fingerprint, which an agent's served fingerprint must equal. */
  readonly fingerprintSha256: string;
}

export interface AgentVerificationResult {
  readonly ok: boolean;
  /** Per agent id: what it reports for this certificate now ("v3 served", "v2", "nothing yet"). */
  readonly agents: Record<string, string>;
  /** Set when too few agents were live for the verification to mean anything. */
  readonly tooFew?: { readonly live: number; readonly minimum: number };
}

/** Between two reads of the reports; agents report within a second of a change (LISTEN), so a short pause. */
const POLL_MS = 200;

export async function waitForAgents(store: Store, wait: AgentWait, definition: AgentVerificationDefinition, timeoutMs: number, clock: () => number = Date.now): Promise<AgentVerificationResult> {
  const minimum = definition.minimum ?? DEFAULT_AGENT_MINIMUM;
  const liveWithinMs = definition.liveWithinMs ?? DEFAULT_AGENT_LIVE_WITHIN_MS;
  const deadline = clock() + timeoutMs;
  for (;;) {
    const result = judge(await store.listAgentReports({ environment: wait.environment }), wait, minimum, liveWithinMs, clock());
    if (result.ok || clock() >= deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - clock()))));
  }
}

/** Pure: whether these reports verify the swap. */
export function judge(reports: readonly AgentReport[], wait: AgentWait, minimum: number, liveWithinMs: number, now: number): AgentVerificationResult {
  const liveAgents = new Set(reports.filter((report) => now - Date.parse(report.lastSeen) <= liveWithinMs).map((report) => report.agentId));
  const agents: Record<string, string> = {};
  let allServe = true;
  for (const agentId of [...liveAgents].sort()) {
    const report = reports.find((candidate) => candidate.agentId === agentId && candidate.certificate === wait.certificate);
    const serves = report?.version === wait.version && (report.servedFingerprintSha256 === undefined || report.servedFingerprintSha256 === wait.fingerprintSha256) && report.lastError === undefined;
    allServe &&= serves;
    agents[agentId] = !report || report.version === undefined ? "nothing yet" : `v${report.version}${serves ? (report.servedFingerprintSha256 ? " served" : " installed") : report.lastError ? ` (${report.lastError})` : report.version === wait.version ? " (another leaf served)" : ""}`;
  }
  if (liveAgents.size < minimum) return { ok: false, agents, tooFew: { live: liveAgents.size, minimum } };
  return { ok: allServe, agents };
}

export function describeAgents(result: AgentVerificationResult): string {
  const each = Object.entries(result.agents).map(([agentId, seen]) => `${agentId}: ${seen}`);
  const few = result.tooFew ? `${result.tooFew.live} live agent(s), ${result.tooFew.minimum} required` : "";
  return [few, ...each].filter((part) => part !== "").join("; ") || "no live agent";
}
