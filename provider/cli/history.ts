/**
 * `certstage history`: what happened to each environment, who did it and when, from the store's
 * append-only history (the seeds' "deployment history" per environment).
 */
import type { HistoryEntry } from "../store";

export function formatHistory(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return "No history.\n";
  const lines = entries.map((entry) => {
    const where = entry.environment ? `${entry.environment.padEnd(12)}` : "".padEnd(12);
    const change =
      entry.fromVersion !== undefined && entry.toVersion !== undefined
        ? `v${entry.fromVersion} -> v${entry.toVersion}`
        : entry.toVersion !== undefined
          ? `v${entry.toVersion}`
          : entry.fromVersion !== undefined
            ? `v${entry.fromVersion}`
            : "";
    const detail = entry.detail ? `  ${entry.detail}` : "";
    return `${entry.at}  ${where}${entry.certificate.padEnd(16)}${entry.action.padEnd(20)}${change.padEnd(14)}${entry.actor}  ${entry.result}${detail}`;
  });
  return `${lines.join("\n")}\n`;
}
