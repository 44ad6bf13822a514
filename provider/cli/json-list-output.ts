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
 * Writes `{ "<key>": [ ...items ] }` as `JSON.stringify(…, null, 2)` followed by a newline would,
 * an item at a time (add, synchronous) with a flush whenever enough has gathered: `batchItems`
 * items per stringify, few enough to keep memory flat, enough that one stringify serves many.
 */
export class JsonListWriter {
  private readonly opening: string;
  private readonly closing = "\n  ]\n}";
  private readonly out: ChunkedOutput;
  private batch: unknown[] = [];
  private written = 0;

  constructor(
    private readonly key: string,
    output: NodeJS.WritableStream,
    private readonly batchItems: number,
  ) {
    this.opening = `{\n  ${JSON.stringify(key)}: [\n`;
    this.out = new ChunkedOutput(output);
  }

  /** Adds one item (as it should appear in the output). */
  add(item: unknown): void {
    this.batch.push(item);
    if (this.batch.length === this.batchItems) this.takeBatch();
  }

  /** Whether enough output has gathered to be written (then await flush). */
  get full(): boolean {
    return this.out.full;
  }

  flush(): Promise<void> {
    return this.out.flush();
  }

  /** The rest, and the document's end. */
  async end(): Promise<void> {
    this.takeBatch();
    this.out.add(this.written === 0 ? `${JSON.stringify({ [this.key]: [] }, null, 2)}\n` : `${this.closing}\n`);
    await this.out.flush();
  }

  private takeBatch(): void {
    if (this.batch.length === 0) return;
    const text = JSON.stringify({ [this.key]: this.batch }, null, 2);
    this.out.add(`${this.written === 0 ? this.opening : ",\n"}${text.slice(this.opening.length, text.length - this.closing.length)}`);
    this.written += this.batch.length;
    this.batch = [];
  }
}

/** JsonListWriter over items as they come. */
export async function writeJsonList<T>(key: string, items: AsyncIterable<T> | Iterable<T>, output: NodeJS.WritableStream, options: { readonly batchItems: number }): Promise<void> {
  const writer = new JsonListWriter(key, output, options.batchItems);
  for await (const item of items) {
    writer.add(item);
    if (writer.full) await writer.flush();
  }
  await writer.end();
}
