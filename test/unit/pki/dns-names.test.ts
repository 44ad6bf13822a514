/**
 * DNS names in and out of A-label form: what certstage accepts where names enter, how it writes
 * them into certificates, and how it compares them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aLabelOf, aLabelProblem, comparableName, describeName, readDnsName, readNameInputs, unicodeForm } from "../../../provider/pki/dns-names";

describe("readDnsName", () => {
  it.each([
    ["api.example.com", "api.example.com", "api.example.com"],
    ["API.Example.COM", "api.example.com", "api.example.com"],
    ["bücher.example", "xn--bcher-kva.example", "bücher.example"],
    ["*.bücher.example", "*.xn--bcher-kva.example", "*.bücher.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"],
    ["例え.テスト", "xn--r8jz45g.xn--zckzah", "例え.テスト"],
    // UTS #46 maps what a browser maps: full-width letters, upper case.
    ["ａｐｉ.example", "api.example", "api.example"],
  ])("%s -> %s (%s)", (input, aLabel, unicode) => {
    expect(readDnsName(input)).toEqual({ ok: true, aLabel, unicode });
  });

  it.each([
    ["", "the name is empty"],
    ["api..example.com", "label 2 is empty (two dots in a row)"],
    [".example.com", "the name starts with a dot"],
    ["example.com.", "the name ends with a dot"],
    ["*.*.example.com", "'*': a wildcard may only be the whole left-most label"],
    ["www.*.example.com", "'*': a wildcard may only be the whole left-most label"],
    ["a*.example.com", "'a*': a wildcard must be the whole left-most label, as in *.example.com"],
    ["*", "a wildcard needs a domain after it, e.g. *.example.com"],
    [`${"a".repeat(64)}.example.com`, "is 64 characters long; at most 63 are allowed"],
    [`${"a.".repeat(127)}com`, "the name is 257 characters long; at most 253 are allowed"],
    ["_acme.example.com", "label '_acme' may hold only letters, digits and inner hyphens"],
    ["-api.example.com", "label '-api' may hold only letters, digits and inner hyphens"],
    ["ab--cd.example.com", "has '--' in the third and fourth places"],
    ["xn--zz.example.com", "is not a valid A-label"],
    ["ex ample.com", "a space or a control character"],
    ["api\u0000.example.com", "a space or a control character"],
    ["\u200d.example", "cannot be converted to an A-label"],
  ])("refuses %j: %s", (input, problem) => {
    const reading = readDnsName(input);
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.problem).toContain(problem);
  });

  it("any text is read or refused, never thrown on; what it accepts is an A-label name that reads back the same", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 80 }), fc.domain()), (text) => {
        const reading = readDnsName(text);
        if (!reading.ok) return typeof reading.problem === "string" && reading.problem.length > 0;
        return /^[\x21-\x7e]+$/.test(reading.aLabel) && aLabelProblem(reading.aLabel) === undefined && readDnsName(reading.aLabel).ok && (readDnsName(reading.aLabel) as { aLabel: string }).aLabel === reading.aLabel;
      }),
      { numRuns: 500 },
    );
  });
});

describe("names as inputs", () => {
  it("converts internationalized names to A-labels, keeps ASCII names and IP addresses as written, and names each bad one", () => {
    const read = readNameInputs(["API.example.com", "bücher.example", "192.0.2.1", "bad..name"], "generate.sans");
    expect(read.names).toEqual(["API.example.com", "xn--bcher-kva.example", "192.0.2.1", "bad..name"]);
    expect(read.problems.map((problem) => problem.message)).toEqual([
      "[DNS_NAME_INVALID] field 'generate.sans.3': \"bad..name\": label 2 is empty (two dots in a row). Fix: write a host name (letters, digits and inner hyphens; an internationalized name in either form), a wildcard only as the whole left-most label, or an IP address",
    ]);
  });

  it("compares and shows names in both forms", () => {
    expect(comparableName("Bücher.Example")).toBe("xn--bcher-kva.example");
    expect(comparableName("192.0.2.1")).toBe("192.0.2.1");
    expect(describeName("xn--bcher-kva.example")).toBe("xn--bcher-kva.example (bücher.example)");
    expect(describeName("api.example.com")).toBe("api.example.com");
    expect(unicodeForm("*.xn--bcher-kva.example")).toBe("*.bücher.example");
    expect(aLabelOf("bücher.example")).toBe("xn--bcher-kva.example");
    expect(aLabelOf("API.example.com")).toBe("API.example.com");
  });
});
