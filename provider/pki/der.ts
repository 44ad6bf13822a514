/**
 * Just enough DER (ITU-T X.690) to look at a structure before OpenSSL does (the key derivation
 * parameters of an encrypted key, the parameters of a public key) and to write a distinguished
 * name without any text syntax in the way. Reading is strict DER, every length checked against
 * the bytes there, so damaged input gives `undefined`, never an exception or a read past the end.
 * (OpenSSL also takes BER; what this cannot read is refused.)
 */

export interface DerElement {
  readonly tag: number;
  /** The contents, a view into the input. */
  readonly value: Buffer;
  /** Offset just past this element in the buffer it was read from. */
  readonly end: number;
}

export const DER_TAG = { integer: 0x02, octetString: 0x04, objectIdentifier: 0x06, utf8String: 0x0c, printableString: 0x13, sequence: 0x30, set: 0x31 } as const;

/** One element: `tag`, the definite length of `contents`, then `contents`. */
export function encodeElement(tag: number, ...contents: Buffer[]): Buffer {
  const value = Buffer.concat(contents);
  const lengthBytes: number[] = [];
  for (let length = value.length; length > 0; length = Math.floor(length / 256)) lengthBytes.unshift(length % 256);
  const length = value.length < 0x80 ? [value.length] : [0x80 | lengthBytes.length, ...lengthBytes];
  return Buffer.concat([Buffer.from([tag, ...length]), value]);
}

/** The element at `offset`, or undefined when its header or length does not fit the bytes. */
export function readElement(bytes: Buffer, offset = 0): DerElement | undefined {
  if (offset + 2 > bytes.length) return undefined;
  const tag = bytes[offset];
  // High tag numbers (0x1f) never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = bytes[offset + 1];
  let position = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is BER's indefinite length; more than four length bytes is more than any input here.
    if (count === 0 || count > 4 || position + count > bytes.length) return undefined;
    length = 0;
    for (let index = 0; index < count; index += 1) length = length * 256 + bytes[position + index];
    position += count;
  }
  if (position + length > bytes.length) return undefined;
  return { tag, value: bytes.subarray(position, position + length), end: position + length };
}

/** The elements of a constructed value (a SEQUENCE's contents), or undefined if any is damaged. */
export function readChildren(value: Buffer): DerElement[] | undefined {
  const children: DerElement[] = [];
  for (let offset = 0; offset < value.length; ) {
    const child = readElement(value, offset);
    if (!child) return undefined;
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** A SEQUENCE's children, when `element` is one. */
export function sequenceChildren(element: DerElement | undefined): DerElement[] | undefined {
  return element?.tag === DER_TAG.sequence ? readChildren(element.value) : undefined;
}

/** A non-negative INTEGER as a number, or undefined when it is not one or exceeds 2^53. */
export function integerValue(element: DerElement | undefined): number | undefined {
  if (element?.tag !== DER_TAG.integer || element.value.length === 0 || element.value[0] & 0x80) return undefined;
  let value = 0;
  for (const byte of element.value) {
    value = value * 256 + byte;
    if (value > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return value;
}

/** An OBJECT IDENTIFIER in dotted form, or undefined when it is not one. */
export function objectIdentifier(element: DerElement | undefined): string | undefined {
  if (element?.tag !== DER_TAG.objectIdentifier || element.value.length === 0) return undefined;
  const arcs: number[] = [];
  let arc = 0;
  for (const [index, byte] of element.value.entries()) {
    arc = arc * 128 + (byte & 0x7f);
    if (arc > Number.MAX_SAFE_INTEGER) return undefined;
    if (byte & 0x80) {
      if (index === element.value.length - 1) return undefined;
      continue;
    }
    arcs.push(arc);
    arc = 0;
  }
  const [first, ...rest] = arcs;
  const split = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...split, ...rest].join(".");
}
