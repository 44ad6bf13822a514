/**
 * `certstage history`: what happened to each environment, who did it and when, from the store's
 * append-only history (the seeds' "deployment history" per environment).
 *
 * History is the one record that grows with every change (100,000 lines is a few years of a
 * platform's certificates), so the command writes each line as the store's stream yields it:
 * memory stays at one chunk of output whatever the length, and a reader piping into `head` sees
 * the first lines at once. The output is the same bytes as formatting the whole list would give
 * (json-list-output.ts).
 */
import type { HistoryEntry } from "../store";
import { historyTaskAction } from "../store/store-rules";
import { ChunkedOutput, JsonListWriter } from "./json-list-output";

export function formatHistory(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return "No history.\n";
  return `${entries.map(formatHistoryLine).join("\n")}\n`;
}

function formatHistoryLine(entry: HistoryEntry): string {
  const where = entry.environment ? `${entry.environment.padEnd(12)}` : "".padEnd(12);
  const detail = entry.detail ? `  ${entry.detail}` : "";
  // At least one space after the change, as long as `v12 -> undeploy` runs.
  return `${entry.at}  ${where}${entry.certificate.padEnd(16)}${entry.action.padEnd(20)}${`${changeOf(entry)} `.padEnd(14)}${entry.actor}  ${entry.result}${detail}`;
}

/**
 * The versions an entry moves between. A standby undeploy's task entries name only what the
 * environment served: shown as a lone `v1` they read as a swap to v1, so they say `v1 -> undeploy`,
 * as `tasks list` does.
 */
function changeOf(entry: HistoryEntry): string {
  const from = entry.fromVersion === undefined ? undefined : `v${entry.fromVersion}`;
  if (historyTaskAction(entry) === "undeploy") return `${from ?? "none"} -> undeploy`;
  const to = entry.toVersion === undefined ? undefined : `v${entry.toVersion}`;
  return from !== undefined && to !== undefined ? `${from} -> ${to}` : (to ?? from ?? "");
}

/**
 * An entry as `history --json` prints it: the store's fields, and for a task's entries what the
 * task does (`taskAction`: `deploy` or `undeploy`), which the store's record says only by having
 * a toVersion or not.
 */
export function historyOutputOf(entry: HistoryEntry): HistoryEntry & { readonly taskAction?: "deploy" | "undeploy" } {
  const taskAction = historyTaskAction(entry);
  if (taskAction === undefined) return entry;
  const { at, actor, action, ...rest } = entry;
  return { at, actor, action, taskAction, ...rest };
}

/** JSON is made this many entries at a time (JsonListWriter). */
const JSON_BATCH_ENTRIES = 256;

/**
 * Writes the entries as they come, a batch at a time (Store.streamHistory), as text
 * (formatHistory's lines) or as JSON (the bytes of `JSON.stringify({ history:
 * entries.map(historyOutputOf) }, null, 2)`), waiting whenever `output` asks to (write()
 * returning false) so a slow reader holds the store's stream back instead of filling memory.
 */
export async function writeHistory(batches: AsyncIterable<readonly HistoryEntry[]>, json: boolean, output: NodeJS.WritableStream): Promise<void> {
  if (json) {
    const writer = new JsonListWriter("history", output, JSON_BATCH_ENTRIES);
    for await (const batch of batches) {
      for (const entry of batch) {
        writer.add(historyOutputOf(entry));
        if (writer.full) await writer.flush();
      }
    }
    return writer.end();
  }
  const out = new ChunkedOutput(output);
  let count = 0;
  for await (const batch of batches) {
    for (const entry of batch) {
      out.add(`${formatHistoryLine(entry)}\n`);
      if (out.full) await out.flush();
    }
    count += batch.length;
  }
  if (count === 0) out.add("No history.\n");
  await out.flush();
}
