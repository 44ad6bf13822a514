/**
 * `certstage history`: what happened to each environment, who did it and when, from the store's
 * append-only history (the seeds' "deployment history" per environment).
 *
 * History is the one record that grows with every change (100,000 lines is a few years of a
 * platform's certificates), so the command writes each line as the store's stream yields it:
 * memory stays at one chunk of output whatever the length, and a reader piping into `head` sees
 * the first lines at once. The output is the same bytes as formatting the whole list would give.
 */
import type { HistoryEntry } from "../store";
import { historyTaskAction } from "../store/store-rules";

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

/** Output is gathered into chunks of about this many characters: one write per line would cost more than the line. */
const CHUNK_CHARACTERS = 64 * 1024;

/** JSON is made this many entries at a time: few enough to keep memory flat, enough that one stringify serves many. */
const JSON_BATCH_ENTRIES = 256;

const JSON_OPENING = '{\n  "history": [\n';
const JSON_CLOSING = "\n  ]\n}";

/**
 * Entries as they sit in `JSON.stringify({ history: entries }, null, 2)`: that text for the batch
 * alone, without its opening and closing. So the stream's bytes are the whole list's by
 * construction, and each entry is indented by the stringify itself; indenting each entry's own
 * stringify with a replace over its text cost half of the command's time.
 */
function jsonOfBatch(batch: readonly HistoryEntry[]): string {
  const text = JSON.stringify({ history: batch.map(historyOutputOf) }, null, 2);
  return text.slice(JSON_OPENING.length, text.length - JSON_CLOSING.length);
}

/**
 * Writes the entries as they come, as text (formatHistory's lines) or as JSON (the bytes of
 * `JSON.stringify({ history: entries.map(historyOutputOf) }, null, 2)`), waiting whenever
 * `output` asks to (write() returning false) so a slow reader holds the store's stream back
 * instead of filling memory.
 */
export async function writeHistory(entries: AsyncIterable<HistoryEntry>, json: boolean, output: NodeJS.WritableStream): Promise<void> {
  let chunk = "";
  let count = 0;
  let batch: HistoryEntry[] = [];
  const flush = async () => {
    if (chunk === "") return;
    const ready = output.write(chunk);
    chunk = "";
    if (!ready) await new Promise<void>((resolve) => output.once("drain", resolve));
  };
  const takeBatch = () => {
    if (batch.length === 0) return;
    chunk += `${count === batch.length ? JSON_OPENING : ",\n"}${jsonOfBatch(batch)}`;
    batch = [];
  };
  for await (const entry of entries) {
    count += 1;
    if (json) {
      batch.push(entry);
      if (batch.length === JSON_BATCH_ENTRIES) takeBatch();
    } else chunk += `${formatHistoryLine(entry)}\n`;
    if (chunk.length >= CHUNK_CHARACTERS) await flush();
  }
  if (json) {
    takeBatch();
    chunk += count === 0 ? '{\n  "history": []\n}\n' : `${JSON_CLOSING}\n`;
  } else if (count === 0) chunk += "No history.\n";
  await flush();
}
