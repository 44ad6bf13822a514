/**
 * The edge agent: follows an environment of a store, keeps its certificates in a directory as
 * verified units, reloads the servers, and reports what they serve.
 */
export { agentSettings, defaultAgentId, DEFAULT_POLL_INTERVAL_MS, DEFAULT_RESYNC_INTERVAL_MS, runAgentOnce, startAgent, type AgentOptions } from "./agent";
export { followEnvironment, syncOnce, type FollowingAgent, type FollowTiming } from "./follow";
export { agentLag, QUIET_RESYNCS, type AgentLag } from "./lag";
export { DEFAULT_COALESCING, type CoalescingTiming } from "./pass-scheduler";
export type { ReloadCommands } from "./reloader";
export type { ServeCheck } from "./report";
export type { PassOutcome } from "./sync";
