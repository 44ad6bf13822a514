/**
 * Damage to PEM text and to the DER inside it, as arbitraries over real material: what a bad
 * copy-paste, a truncated download, a hostile file or a confused tool produces. Each damage is a
 * plain value (kind, position, bytes) so fast-check can shrink a failure to the one change that
 * matters; `applyPemDamage` turns it into text.
 */
import fc from "fast-check";
import { encodePem, MAX_PEM_INPUT_BYTES } from "../../provider/pki/pem";

/** The largest input the properties make: just over the limit, so the size check is crossed too. */
export const LARGEST_INPUT_BYTES = MAX_PEM_INPUT_BYTES + 64 * 1024;

/** Labels a block may wrongly carry. */
const LABELS = ["CERTIFICATE", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "EC PARAMETERS", "CERTIFICATE REQUEST", "X509 CRL", "PUBLIC KEY", "TRUSTED CERTIFICATE", "PKCS7", "A"];

/** Characters people and tools slip into text: invisible ones, look-alikes, line ends, NUL. */
const STRAY = ["\u200b", "\u200d", "\ufeff", "\u00a0", "\uff21", "\u0410", "\r", "\r\n", "\t", " ", "\u0000", "-", "=", "==", "*", "\\", "ü", "😀", "-----"];

interface Tlv {
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first length byte. */
  readonly lengthAt: number;
  /** Offset of the first value byte. */
  readonly valueAt: number;
  readonly end: number;
}

/** The TLV headers of well-formed DER, depth first, so a damage can hit a real length field. */
export function derHeaders(der: Uint8Array, from = 0, to = der.length, found: Tlv[] = []): Tlv[] {
  let offset = from;
  while (offset + 2 <= to) {
    const start = offset;
    const tag = der[offset];
    offset += 1;
    const first = der[offset];
    const lengthAt = offset;
    offset += 1;
    let length = first;
    if (first & 0x80) {
      const count = first & 0x7f;
      if (count === 0 || count > 4 || offset + count > to) return found;
      length = 0;
      for (let index = 0; index < count; index += 1) length = length * 256 + der[offset + index];
      offset += count;
    }
    if (offset + length > to) return found;
    found.push({ start, lengthAt, valueAt: offset, end: offset + length });
    // Constructed values (SEQUENCE, SET, context tags) hold more TLVs; BIT and OCTET STRINGs often do.
    if (tag & 0x20) derHeaders(der, offset, offset + length, found);
    offset += length;
  }
  return found;
}

export type DerDamage =
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "length"; readonly header: number; readonly length: readonly number[] }
  | { readonly kind: "time"; readonly which: number; readonly characters: string }
  | { readonly kind: "trailing"; readonly bytes: Uint8Array }
  | { readonly kind: "random"; readonly bytes: Uint8Array };

export const derDamage: fc.Arbitrary<DerDamage> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.constantFrom(0x00, 0xff, 0x80, 0x30, 0x02, 0x05, 0x7f) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  // Lengths that claim gigabytes, indefinite BER lengths, zero, and one too many.
  fc.record({ kind: fc.constant("length" as const), header: fc.nat(), length: fc.constantFrom([0x84, 0xff, 0xff, 0xff, 0xff], [0x84, 0x7f, 0xff, 0xff, 0xff], [0x80], [0x00], [0x81, 0xff], [0x88, 1, 0, 0, 0, 0, 0, 0, 0], [0xff]) }),
  // A validity time (UTCTime or GeneralizedTime) rewritten: 31 February, hour 25, year 0, letters.
  fc.record({ kind: fc.constant("time" as const), which: fc.nat(), characters: fc.string({ unit: fc.constantFrom(..."0123456789Z+-.a "), minLength: 1, maxLength: 15 }) }),
  fc.record({ kind: fc.constant("trailing" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 600 }) }),
);

export function applyDerDamage(der: Uint8Array, damage: DerDamage): Buffer {
  const bytes = Buffer.from(der);
  const at = (position: number, extra = 0) => position % (bytes.length + extra);
  switch (damage.kind) {
    case "truncate":
      return bytes.subarray(0, at(damage.at));
    case "flip":
      bytes[at(damage.at)] ^= 1 << damage.bit;
      return bytes;
    case "set":
      bytes[at(damage.at)] = damage.value;
      return bytes;
    case "insert":
      return Buffer.concat([bytes.subarray(0, at(damage.at, 1)), damage.bytes, bytes.subarray(at(damage.at, 1))]);
    case "length": {
      const headers = derHeaders(bytes);
      if (headers.length === 0) return bytes;
      const header = headers[damage.header % headers.length];
      const lengthEnd = header.valueAt;
      return Buffer.concat([bytes.subarray(0, header.lengthAt), Buffer.from(damage.length), bytes.subarray(lengthEnd)]);
    }
    case "time": {
      const times = derHeaders(bytes).filter((header) => bytes[header.start] === 0x17 || bytes[header.start] === 0x18);
      if (times.length === 0) return bytes;
      const time = times[damage.which % times.length];
      const characters = Buffer.from(damage.characters.padEnd(time.end - time.valueAt, "0").slice(0, time.end - time.valueAt), "latin1");
      characters.copy(bytes, time.valueAt);
      return bytes;
    }
    case "trailing":
      return Buffer.concat([bytes, damage.bytes]);
    case "random":
      return Buffer.from(damage.bytes);
  }
}

export type PemDamage =
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "drop-line"; readonly line: number }
  | { readonly kind: "repeat-line"; readonly line: number }
  | { readonly kind: "stray"; readonly at: number; readonly text: string }
  | { readonly kind: "base64"; readonly at: number; readonly character: string }
  | { readonly kind: "relabel"; readonly label: string; readonly which: "both" | "begin" | "end" }
  | { readonly kind: "header"; readonly line: string }
  | { readonly kind: "extra-block"; readonly block: string; readonly before: boolean }
  | { readonly kind: "line-ends"; readonly ending: string; readonly indent: string }
  | { readonly kind: "der-as-text" }
  | { readonly kind: "unarmored" }
  | { readonly kind: "oversize"; readonly filler: string }
  | { readonly kind: "der"; readonly damage: DerDamage };

/** Damage to PEM text; `extraBlocks` are other real blocks (a key, a CSR) to add to it. */
export function pemDamage(extraBlocks: readonly string[]): fc.Arbitrary<PemDamage> {
  return fc.oneof(
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("drop-line" as const), line: fc.nat() }),
    fc.record({ kind: fc.constant("repeat-line" as const), line: fc.nat() }),
    fc.record({ kind: fc.constant("stray" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...STRAY), fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 })) }),
    fc.record({ kind: fc.constant("base64" as const), at: fc.nat(), character: fc.constantFrom("A", "/", "+", "=", "_", "-", "!", ".", " ", "\u00e9") }),
    fc.record({ kind: fc.constant("relabel" as const), label: fc.oneof(fc.constantFrom(...LABELS), fc.stringMatching(/^[A-Z0-9][A-Z0-9 ]{0,30}[A-Z0-9]$/), fc.constantFrom("certificate", "CERTIFICATE ", " CERTIFICATE", "CERTIFICATE\u200b")), which: fc.constantFrom("both" as const, "begin" as const, "end" as const) }),
    fc.record({ kind: fc.constant("header" as const), line: fc.constantFrom("Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF", "DEK-Info: NONSENSE,zz", "Comment: hello", "X: ", "Proc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,0011223344556677") }),
    fc.record({ kind: fc.constant("extra-block" as const), block: fc.constantFrom(...extraBlocks, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"), before: fc.boolean() }),
    fc.record({ kind: fc.constant("line-ends" as const), ending: fc.constantFrom("\r\n", "\r", "\n\n", "\u2028"), indent: fc.constantFrom("", "  ", "\t") }),
    fc.record({ kind: fc.constant("der-as-text" as const) }),
    fc.record({ kind: fc.constant("unarmored" as const) }),
    fc.record({ kind: fc.constant("oversize" as const), filler: fc.constantFrom("junk line between blocks\n", "subject=CN = x\n") }),
    fc.record({ kind: fc.constant("der" as const), damage: derDamage }),
  );
}

/** `pem` (one block, canonical) after `damage`. */
export function applyPemDamage(pem: string, damage: PemDamage): string {
  const lines = pem.trimEnd().split("\n");
  const label = /^-----BEGIN (.+)-----$/.exec(lines[0])?.[1] ?? "CERTIFICATE";
  const headerLines = lines.slice(1).filter((line) => line.includes(":"));
  const body = lines.slice(1 + headerLines.length + (headerLines.length > 0 ? 1 : 0), -1).join("");
  const der = Buffer.from(body, "base64");
  const headers = headerLines.map((line): [string, string] => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]);
  switch (damage.kind) {
    case "truncate":
      return pem.slice(0, damage.at % (pem.length + 1));
    case "drop-line":
      return lines.filter((_, index) => index !== damage.line % lines.length).join("\n");
    case "repeat-line": {
      const index = damage.line % lines.length;
      return [...lines.slice(0, index + 1), lines[index], ...lines.slice(index + 1)].join("\n");
    }
    case "stray": {
      const at = damage.at % (pem.length + 1);
      return pem.slice(0, at) + damage.text + pem.slice(at);
    }
    case "base64": {
      // A position inside the body, not in the BEGIN or END line.
      const bodyStart = pem.indexOf("\n") + 1;
      const bodyEnd = pem.lastIndexOf("-----END");
      const at = bodyStart + (damage.at % Math.max(1, bodyEnd - bodyStart));
      return pem.slice(0, at) + damage.character + pem.slice(at + 1);
    }
    case "relabel": {
      const begin = damage.which === "end" ? label : damage.label;
      const end = damage.which === "begin" ? label : damage.label;
      return [`-----BEGIN ${begin}-----`, ...lines.slice(1, -1), `-----END ${end}-----`].join("\n");
    }
    case "header":
      return [lines[0], ...damage.line.split("\n"), ...(headerLines.length === 0 ? [""] : []), ...lines.slice(1)].join("\n");
    case "extra-block":
      return damage.before ? damage.block + pem : pem + damage.block;
    case "line-ends":
      return lines.map((line) => damage.indent + line).join(damage.ending);
    case "der-as-text":
      return der.toString("latin1");
    case "unarmored":
      return body;
    case "oversize": {
      const copies = Math.ceil((MAX_PEM_INPUT_BYTES + 1 - pem.length) / damage.filler.length);
      return damage.filler.repeat(Math.max(copies, 1)) + pem;
    }
    case "der":
      return encodePem(label, applyDerDamage(der, damage.damage), headers);
  }
}
