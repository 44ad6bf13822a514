/**
 * The checks every driver applies to an agent report before saving it, so a report means the same
 * whatever the driver: names that can be store paths, a version number, an ISO time, and a
 * one-line error short enough to show in `certstage agents`.
 */
import { CertstageError, quoted } from "../errors";
import { AGENT_ID_PATTERN, NAME_PATTERN, NAME_RULE, type AgentReport, type AgentReportFilter } from "./store";
import { nameInvalid } from "./store-errors";

/** Longest `lastError` a store keeps; the agent cuts its messages to this. */
export const AGENT_ERROR_LIMIT = 1000;

const FINGERPRINT = /^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$/;
/** What a host name or address may look like in a report: printable ASCII, no spaces. */
const HOST = /^[\x21-\x7e]{1,255}$/;

export function agentIdInvalid(agentId: string): CertstageError {
  return new CertstageError("NAME_INVALID", `agent id ${quoted(agentId)} is not allowed`, { field: "agentId", fix: NAME_RULE });
}

function reportInvalid(report: AgentReport, problem: string): CertstageError {
  return new CertstageError("INPUT_SCHEMA", `the report of agent ${quoted(String(report.agentId))} for '${report.certificate}' in '${report.environment}' ${problem}`, {
    resource: String(report.certificate),
    fix: "this is a fault of the agent that sent it; upgrade certstage on that machine",
  });
}

/** The report as a driver saves it: checked, with only the members it has (no `undefined`). */
export function checkedAgentReport(report: AgentReport): AgentReport {
  if (typeof report.agentId !== "string" || !AGENT_ID_PATTERN.test(report.agentId)) throw agentIdInvalid(String(report.agentId));
  if (typeof report.environment !== "string" || !NAME_PATTERN.test(report.environment)) throw nameInvalid("environment", String(report.environment), "environment");
  if (typeof report.certificate !== "string" || !NAME_PATTERN.test(report.certificate)) throw nameInvalid("certificate", String(report.certificate), "certificate");
  if (typeof report.host !== "string" || !HOST.test(report.host)) throw reportInvalid(report, "has a host that is not a host name");
  if (report.version !== undefined && !(Number.isSafeInteger(report.version) && report.version >= 1)) throw reportInvalid(report, "has a version that is not a version number");
  if (report.servedFingerprintSha256 !== undefined && !FINGERPRINT.test(report.servedFingerprintSha256)) throw reportInvalid(report, "has a served fingerprint that is not a SHA-256 fingerprint");
  if (typeof report.lastSeen !== "string" || Number.isNaN(Date.parse(report.lastSeen))) throw reportInvalid(report, "has a lastSeen that is not an ISO time");
  if (report.lastError !== undefined && (typeof report.lastError !== "string" || report.lastError.length > AGENT_ERROR_LIMIT)) {
    throw reportInvalid(report, `has a lastError that is not a line of at most ${AGENT_ERROR_LIMIT} characters`);
  }
  return {
    agentId: report.agentId,
    host: report.host,
    environment: report.environment,
    certificate: report.certificate,
    ...(report.version !== undefined ? { version: report.version } : {}),
    ...(report.servedFingerprintSha256 !== undefined ? { servedFingerprintSha256: report.servedFingerprintSha256 } : {}),
    lastSeen: new Date(Date.parse(report.lastSeen)).toISOString(),
    ...(report.lastError !== undefined ? { lastError: report.lastError } : {}),
  };
}

/** A filter naming what no report can hold is a typo worth saying, not an empty answer. */
export function checkAgentReportFilter(filter: AgentReportFilter): void {
  if (filter.environment !== undefined && !NAME_PATTERN.test(filter.environment)) throw nameInvalid("environment", filter.environment, "environment");
  if (filter.certificate !== undefined && !NAME_PATTERN.test(filter.certificate)) throw nameInvalid("certificate", filter.certificate, "certificate");
}

export function matchesAgentReportFilter(report: AgentReport, filter: AgentReportFilter): boolean {
  return (filter.environment === undefined || report.environment === filter.environment) && (filter.certificate === undefined || report.certificate === filter.certificate);
}

/**
 * The order `listAgentReports` returns: agent, environment, certificate, each by code point (the
 * names are ASCII; SQL gets the same order with `COLLATE "C"`).
 */
export function compareAgentReports(a: AgentReport, b: AgentReport): number {
  const byCodePoint = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return byCodePoint(a.agentId, b.agentId) || byCodePoint(a.environment, b.environment) || byCodePoint(a.certificate, b.certificate);
}
