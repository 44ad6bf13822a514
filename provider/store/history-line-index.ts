/**
 * Where each certificate's lines are in the file store's history.jsonl, for the part of the file
 * this process has read. A read of one certificate's history (the promotion check every deployment
 * to an environment with a rule makes, the ownership checks) then reads those lines and what was
 * appended since, instead of the whole file, which holds every change to every certificate: in
 * `pulumi up` of 1,000 certificates the provider read the whole of a growing history once per
 * production deployment, a cost that grew with the square of the stack.
 *
 * The index lives in memory, one per Store, and is only ever a shortcut: history.jsonl is the
 * record. Before each use it checks that the last line it indexed is still where it was (as
 * releases.json's record does); history cut back (a change undone) or restored from a backup is
 * indexed again from its start. A line that is not a JSON object with a string `certificate`
 * (damaged, torn) is kept apart and handed to every certificate's read, which judges it as a
 * whole-file read would have. The unterminated last line of a file (a write cut short, or one
 * under way) is not indexed, and is handed on like those.
 */
import type { StorePaths } from "./file-paths";

/** A line as the reader gets it: its text and its number in the file (for error messages). */
export interface IndexedLine {
  readonly line: string;
  readonly lineNumber: number;
}

/** Flat triples per line: start byte, end byte (before the newline), line number. */
type Positions = number[];

interface Indexed {
  /** Bytes of history.jsonl indexed: complete lines only. */
  bytes: number;
  lines: number;
  /** The last indexed line, which must still end at `bytes`. */
  lastLine: string;
  readonly byCertificate: Map<string, Positions>;
  /** Lines without a certificate the index could read. */
  readonly unassigned: Positions;
  /** The unterminated text after `bytes`, if any, as last read. */
  tail?: IndexedLine;
}

const NEWLINE = 0x0a;

export class HistoryLineIndex {
  private indexed?: Indexed;
  private updating?: Promise<Indexed>;

  constructor(
    private readonly paths: StorePaths,
    private readonly file: string,
  ) {}

  /** Every line that may be `certificate`'s, in the order of the file. */
  async linesOf(certificate: string): Promise<IndexedLine[]> {
    // Concurrent readers share one update: two reading the same tail would index it twice.
    const indexed = await (this.updating ??= this.update().finally(() => (this.updating = undefined)));
    // Taken before any await: a later update adds to the index in place.
    const positions = mergeInFileOrder(indexed.byCertificate.get(certificate) ?? [], indexed.unassigned);
    const tail = indexed.tail;
    const texts = await this.paths.readSlices(this.file, pairsOf(positions));
    // The file was indexed a moment ago; should it have gone since, there is nothing to read.
    if (texts === undefined) return [];
    const lines = texts.map((line, index) => ({ line, lineNumber: positions[index * 3 + 2] }));
    if (tail !== undefined) lines.push(tail);
    return lines;
  }

  private async update(): Promise<Indexed> {
    let indexed = this.indexed;
    if (indexed !== undefined && !(await this.stillHolds(indexed))) indexed = undefined;
    indexed ??= { bytes: 0, lines: 0, lastLine: "", byCertificate: new Map(), unassigned: [] };
    indexed.tail = undefined;
    let position = indexed.bytes;
    // The start of a line that began in an earlier chunk (chunks are reused: copied).
    let carried = Buffer.alloc(0);
    for await (const chunk of this.paths.readChunks(this.file, 256 * 1024, indexed.bytes)) {
      let from = 0;
      for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
        const bytes = carried.length > 0 ? Buffer.concat([carried, chunk.subarray(from, newline)]) : chunk.subarray(from, newline);
        carried = Buffer.alloc(0);
        const start = position;
        position += bytes.length + 1;
        indexed.lines += 1;
        const line = bytes.toString("utf8");
        const certificate = certificateOf(line);
        const positions = certificate === undefined ? indexed.unassigned : (indexed.byCertificate.get(certificate) ?? setNew(indexed.byCertificate, certificate));
        positions.push(start, start + bytes.length, indexed.lines);
        indexed.bytes = position;
        indexed.lastLine = line;
        from = newline + 1;
      }
      if (from < chunk.length) carried = Buffer.concat([carried, chunk.subarray(from)]);
    }
    if (carried.length > 0) indexed.tail = { line: carried.toString("utf8"), lineNumber: indexed.lines + 1 };
    this.indexed = indexed;
    return indexed;
  }

  /** Whether the last indexed line is still where it was: the file was only appended to since. */
  private async stillHolds(indexed: Indexed): Promise<boolean> {
    if (indexed.lines === 0) return true;
    const end = indexed.bytes - 1;
    const start = end - Buffer.byteLength(indexed.lastLine);
    // The line, and the newline after it.
    const [found] = (await this.paths.readSlices(this.file, [[start, end + 1]])) ?? [];
    return found === `${indexed.lastLine}\n`;
  }
}

function setNew(map: Map<string, Positions>, certificate: string): Positions {
  const positions: Positions = [];
  map.set(certificate, positions);
  return positions;
}

const CERTIFICATE_KEY = '"certificate":"';

/**
 * The certificate a history line names, if it is a JSON object with a string `certificate`.
 * certstage writes the name as it is (names have no character JSON escapes), so the name is read
 * straight after the key when the key is there once and the value has no escape; otherwise the
 * line is parsed (a tenth of the cost, for the hundreds of thousands of lines of a long history).
 * Inside a JSON string a quote is escaped, so the key can only match a key.
 */
function certificateOf(line: string): string | undefined {
  const key = line.indexOf(CERTIFICATE_KEY);
  if (key !== -1 && line.indexOf(CERTIFICATE_KEY, key + 1) === -1) {
    const start = key + CERTIFICATE_KEY.length;
    const end = line.indexOf('"', start);
    const name = end === -1 ? undefined : line.slice(start, end);
    if (name !== undefined && !name.includes("\\")) return name;
  }
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === "object" && parsed !== null && typeof (parsed as { certificate?: unknown }).certificate === "string") return (parsed as { certificate: string }).certificate;
  } catch {
    // Damaged or torn: unassigned.
  }
  return undefined;
}

/** A new list of both lists' lines, in file order. */
function mergeInFileOrder(a: Positions, b: Positions): Positions {
  if (b.length === 0) return a.slice();
  if (a.length === 0) return b.slice();
  const merged: Positions = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const takeA = j >= b.length || (i < a.length && a[i] < b[j]);
    const source = takeA ? a : b;
    const at = takeA ? i : j;
    merged.push(source[at], source[at + 1], source[at + 2]);
    if (takeA) i += 3;
    else j += 3;
  }
  return merged;
}

function pairsOf(positions: Positions): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let index = 0; index < positions.length; index += 3) pairs.push([positions[index], positions[index + 1]]);
  return pairs;
}
