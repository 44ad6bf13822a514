/**
 * PEM framing (RFC 7468): finding the blocks in a text, refusing truncated or oversized input
 * before any parser sees it, and re-encoding blocks canonically so that whitespace or line-ending
 * differences never count as a different certificate.
 */
import { CertstageError, quoted } from "../errors";

/** One PEM input (a certificate, a key, a whole chain) may not be larger than this. */
export const MAX_PEM_INPUT_BYTES = 256 * 1024;

export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE` or `EC PRIVATE KEY`. */
  readonly label: string;
  /** RFC 1421 headers of legacy encrypted keys (`Proc-Type`, `DEK-Info`), in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly der: Buffer;
}

interface PemContext {
  /** Names the input in error messages, e.g. `upload.certificatePem`. */
  readonly field: string;
}

const BEGIN = /^-----BEGIN ([A-Z0-9][A-Z0-9 ]*[A-Z0-9]|[A-Z0-9])-----$/;
const END = /^-----END ([A-Z0-9][A-Z0-9 ]*[A-Z0-9]|[A-Z0-9])-----$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const HEADER_LINE = /^([A-Za-z0-9-]+):\s*(.*)$/;

/**
 * Splits text into its PEM blocks. Text between blocks is ignored (OpenSSL writes `subject=`
 * lines and `Bag Attributes` there); an unterminated block, a mismatched END label, invalid
 * base64 or text with no block at all is an error naming the field.
 */
export function splitPem(text: string, context: PemContext): PemBlock[] {
  const size = Buffer.byteLength(text, "utf8");
  if (size > MAX_PEM_INPUT_BYTES) {
    throw new CertstageError("PEM_TOO_LARGE", `the input is ${size} bytes; at most ${MAX_PEM_INPUT_BYTES} bytes are accepted`, {
      field: context.field,
      fix: "pass only the certificate, key or chain itself, not a bundle of unrelated files",
    });
  }
  const lines = text.split(/\r?\n|\r/);
  const blocks: PemBlock[] = [];
  let index = 0;
  while (index < lines.length) {
    const begin = BEGIN.exec(lines[index].trim());
    if (!begin) {
      index += 1;
      continue;
    }
    const label = begin[1];
    const startLine = index + 1;
    index += 1;
    const headers: Array<[string, string]> = [];
    const body: string[] = [];
    let ended = false;
    let inHeaders = true;
    while (index < lines.length) {
      const line = lines[index].trim();
      index += 1;
      const end = END.exec(line);
      if (end) {
        if (end[1] !== label) {
          throw malformed(context, `block ${quoted(label)} starting at line ${startLine} ends with END ${quoted(end[1])}`);
        }
        ended = true;
        break;
      }
      if (BEGIN.test(line)) {
        throw malformed(context, `block ${quoted(label)} starting at line ${startLine} has no END line before the next BEGIN`);
      }
      const header = inHeaders ? HEADER_LINE.exec(line) : null;
      if (header) {
        headers.push([header[1], header[2]]);
        continue;
      }
      inHeaders = false;
      if (line === "") continue;
      if (!BASE64_LINE.test(line)) {
        throw malformed(context, `block ${quoted(label)} starting at line ${startLine} contains characters that are not base64 (line ${index})`);
      }
      body.push(line);
    }
    if (!ended) {
      throw malformed(context, `block ${quoted(label)} starting at line ${startLine} is truncated: no END line`);
    }
    const base64 = body.join("");
    if (base64.length === 0 || base64.length % 4 !== 0 || /=[^=]/.test(base64)) {
      throw malformed(context, `block ${quoted(label)} starting at line ${startLine} has a truncated or padded-wrong base64 body`);
    }
    blocks.push({ label, headers, der: Buffer.from(base64, "base64") });
  }
  if (blocks.length === 0) {
    throw malformed(context, "no PEM block found (expected '-----BEGIN …-----')");
  }
  return blocks;
}

/** Canonical PEM: 64-column base64, `\n` line endings, trailing newline. */
export function encodePem(label: string, der: Buffer, headers: ReadonlyArray<readonly [string, string]> = []): string {
  const base64 = der.toString("base64");
  const lines: string[] = [`-----BEGIN ${label}-----`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (headers.length > 0) lines.push("");
  for (let offset = 0; offset < base64.length; offset += 64) lines.push(base64.slice(offset, offset + 64));
  lines.push(`-----END ${label}-----`);
  return `${lines.join("\n")}\n`;
}

/** Requires every block to carry one of the allowed labels. */
export function expectLabels(blocks: PemBlock[], allowed: readonly string[], context: PemContext): void {
  for (const [position, block] of blocks.entries()) {
    if (!allowed.includes(block.label)) {
      throw malformed(
        context,
        `block ${position + 1} is ${quoted(block.label)}, expected ${allowed.map((label) => `'${label}'`).join(" or ")}`,
      );
    }
  }
}

function malformed(context: PemContext, problem: string): CertstageError {
  return new CertstageError("PEM_MALFORMED", problem, {
    field: context.field,
    fix: "pass the PEM text exactly as the CA or OpenSSL wrote it, including the BEGIN and END lines",
  });
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The CERTIFICATE blocks of PEM text certstage made or stored itself (a version's chainPem, a
 * platform's answer), in order and without what lies between them: no checks, since the text has
 * been checked once (splitPem is for input), and nothing more than Node's X509Certificate reads.
 */
export function certificateBlocks(text: string): string[] {
  return text.match(CERTIFICATE_BLOCK) ?? [];
}
