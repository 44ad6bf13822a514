/**
 * Whether an agent lags behind its environment, from its report and what the store deploys: it
 * serves another version than the deployed one, or it has not reported for three resync intervals
 * (an agent that stopped, lost its store, or hangs looks exactly like that). An agent that serves
 * nothing of a certificate that is no longer deployed has nothing to lag behind.
 *
 * Pure: takes the report, the deployed version and the time.
 */
import type { AgentReport } from "../store";

/** How often an agent reads everything again by default; here so status can judge lag without loading the agent. */
export const DEFAULT_RESYNC_INTERVAL_MS = 60_000;

/** Missed resyncs after which an agent counts as gone quiet. */
export const QUIET_RESYNCS = 3;

export interface AgentLag {
  readonly lagging: boolean;
  /** Why, in short sentences; empty when it does not lag. */
  readonly reasons: string[];
}

export function agentLag(report: AgentReport, deployedVersion: number | undefined, now: Date, resyncIntervalMs: number): AgentLag {
  const reasons: string[] = [];
  if (report.version !== deployedVersion) {
    const served = report.version === undefined ? "serves none of its versions" : `serves version ${report.version}`;
    reasons.push(deployedVersion === undefined ? `${served}, and nothing is deployed` : `${served}, version ${deployedVersion} is deployed`);
  }
  const silentMs = now.getTime() - Date.parse(report.lastSeen);
  const nothingToFollow = report.version === undefined && deployedVersion === undefined;
  if (!nothingToFollow && silentMs > QUIET_RESYNCS * resyncIntervalMs) reasons.push(`not heard from for ${Math.round(silentMs / 1000)} s (more than ${QUIET_RESYNCS} resyncs)`);
  return { lagging: reasons.length > 0, reasons };
}
