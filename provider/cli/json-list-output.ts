/**
 * Long JSON documents of one list (`{ "history": [...] }`, `{ "certificates": [...] }`), written
 * as their items come instead of as one string: `history` reads 100,000 lines as a stream, and
 * `status` prints 10,000 versions (about 5 MB), which as one string waited for the whole
 * stringify before the first byte reached the reader, and then held the pipe for the rest.
 *
 * The bytes are those of `JSON.stringify({ [key]: items }, null, 2)` by construction: each batch
 * is stringified inside the same wrapper and the wrapper is cut off again, so the stringify itself
 * indents every item (indenting each item's own stringify with a replace over its text cost half
 * of `history`'s time).
 */

/** Output is gathered into chunks of about this many characters: one write per item would cost more than the item. */
const CHUNK_CHARACTERS = 64 * 1024;

/**
 * Writes text in chunks of about CHUNK_CHARACTERS, waiting whenever `output` asks to (write()
 * returning false), so a slow reader holds the producer back instead of filling memory.
 */
export class ChunkedOutput {
  private chunk = "";

  constructor(private readonly output: NodeJS.WritableStream) {}

  /** Adds text to the chunk being gathered (synchronous: a line costs no promise). */
  add(text: string): void {
    this.chunk += text;
  }

  /** Whether the gathered chunk is long enough to be written (then call flush). */
  get full(): boolean {
    return this.chunk.length >= CHUNK_CHARACTERS;
  }

  /** Writes whatever is gathered. */
  async flush(): Promise<void> {
    if (this.chunk === "") return;
    const ready = this.output.write(this.chunk);
    this.chunk = "";
    if (!ready) await new Promise<void>((resolve) => this.output.once("drain", resolve));
  }
}

/**
 * Writes `{ "<key>": [ ...items ] }` as `JSON.stringify(…, null, 2)` followed by a newline would
 * (of each item as `outputOf` gives it), `batchItems` items per stringify: few enough to keep
 * memory flat, enough that one stringify serves many.
 */
export async function writeJsonList<T>(
  key: string,
  items: AsyncIterable<T> | Iterable<T>,
  output: NodeJS.WritableStream,
  options: { readonly batchItems: number; readonly outputOf?: (item: T) => unknown },
): Promise<void> {
  const opening = `{\n  ${JSON.stringify(key)}: [\n`;
  const closing = "\n  ]\n}";
  const out = new ChunkedOutput(output);
  let batch: unknown[] = [];
  let written = 0;
  const takeBatch = () => {
    if (batch.length === 0) return;
    const text = JSON.stringify({ [key]: batch }, null, 2);
    out.add(`${written === 0 ? opening : ",\n"}${text.slice(opening.length, text.length - closing.length)}`);
    written += batch.length;
    batch = [];
  };
  const outputOf = options.outputOf;
  for await (const item of items) {
    batch.push(outputOf === undefined ? item : outputOf(item));
    if (batch.length === options.batchItems) {
      takeBatch();
      if (out.full) await out.flush();
    }
  }
  takeBatch();
  out.add(written === 0 ? `${JSON.stringify({ [key]: [] }, null, 2)}\n` : `${closing}\n`);
  await out.flush();
}
