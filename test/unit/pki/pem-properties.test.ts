/**
 * PEM framing over generated blocks: splitting, re-encoding, truncation.
 *
 * Property                                                                         runs
 *   finds every block, in order, whatever surrounds it and whatever the line ends    100
 *   re-encoding what it split gives the canonical text back                          100
 *   never accepts a block cut anywhere before its END line                           100
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodePem, splitPem } from "../../../provider/pki/pem";

const label = fc.constantFrom("CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY");
const der = fc.uint8Array({ minLength: 1, maxLength: 600 }).map((bytes) => Buffer.from(bytes));
/** Text OpenSSL and humans put between blocks: anything without a dash-fence line. */
const junk = fc.array(fc.string({ unit: fc.constantFrom(..."abcxyz=:,. 0123456789") }), { maxLength: 3 });
const lineEnding = fc.constantFrom("\n", "\r\n");

describe("splitPem properties", () => {
  it("finds every block, in order, whatever surrounds it and whatever the line endings", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(label, der, junk), { minLength: 1, maxLength: 5 }), lineEnding, (blocks, newline) => {
        const text = blocks.map(([name, bytes, before]) => [...before, encodePem(name, bytes)].join("\n")).join("\n").replace(/\n/g, newline);
        const split = splitPem(text, { field: "f" });
        expect(split.map((block) => block.label)).toEqual(blocks.map(([name]) => name));
        split.forEach((block, index) => expect(block.der.equals(blocks[index][1])).toBe(true));
      }),
      { numRuns: 100 },
    );
  });

  it("re-encoding what it split gives the canonical text back", () => {
    fc.assert(
      fc.property(label, der, (name, bytes) => {
        const canonical = encodePem(name, bytes);
        const [block] = splitPem(canonical, { field: "f" });
        expect(encodePem(block.label, block.der)).toBe(canonical);
      }),
      { numRuns: 100 },
    );
  });

  it("never accepts a block cut anywhere before its END line", () => {
    fc.assert(
      fc.property(label, der, fc.nat(), (name, bytes, cut) => {
        const lines = encodePem(name, bytes).trimEnd().split("\n");
        const truncated = lines.slice(0, 1 + (cut % (lines.length - 1))).join("\n");
        expect(() => splitPem(truncated, { field: "f" })).toThrow(/PEM_MALFORMED/);
      }),
      { numRuns: 100 },
    );
  });
});
