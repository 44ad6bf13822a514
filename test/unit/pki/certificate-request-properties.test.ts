/**
 * What `generate` hands to the CSR and placeholder builder: a subject a person typed and names to
 * request. Within the schema's bounds, any of them is refused at `check` with the field named, or
 * made into a CSR and a placeholder that say exactly what was asked.
 *
 * Property                                                                        runs
 *   any subject and names: refused naming the SAN, or a CSR and placeholder         100
 *     whose subject and names read back as asked (internationalized ones as A-labels)
 *   what readNameInputs accepts is an IP address or LDH labels                      300
 */
import { isIP } from "node:net";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { aLabelOf, readNameInputs } from "../../../provider/pki/dns-names";
import { generateMethod } from "../../../provider/resources/version-methods/generate";
import type { Store } from "../../../provider/store";
import { outcomeOf, settledOutcome } from "../../support/refusals";

beforeAll(() => x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]));

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const dnsName = fc.tuple(fc.boolean(), fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom("test", "example", "com")).map(([wildcard, labels, tld]) => `${wildcard ? "*." : ""}${[...labels, tld].join(".")}`);
const strayName = fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), fc.constantFrom("ü.test", "a b", "a..b", "-a.test", "a-.test", "*.*.test", "a.*.test", "999.1.1.1", "a\u0000b", ".", "a.test.", `${"a".repeat(64)}.test`, "fe80::1%eth0", "::ffff:1.2.3.4", "0:0:0:0:0:0:0.0.0.0"));
const san = fc.oneof(dnsName, fc.ipV4(), fc.ipV6(), strayName);
/** Text as people type it in a subject field, within the schema's lengths; a leading '#' and quotes included. */
const field = (maxLength: number) => fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength }), fc.constantFrom("#1", "# x", "Example, Inc.", "a+b=c", " padded ", "\\", "\u202e", '"" ', '"', "a\u0000b"));
const subject = fc.record(
  { commonName: field(64), organization: field(64), organizationalUnit: field(64), locality: field(128), state: field(128), country: fc.stringMatching(/^[A-Z]{2}$/) },
  { requiredKeys: ["commonName"] },
);
const ATTRIBUTES = { commonName: "CN", organization: "O", organizationalUnit: "OU", locality: "L", state: "ST", country: "C" } as const;

describe("certificate request properties", () => {
  it("any subject and names are refused naming the SAN, or made into a CSR and placeholder that read back exactly", async () => {
    await fc.assert(
      fc.asyncProperty(subject, fc.uniqueArray(san, { minLength: 1, maxLength: 4 }), async (wanted, sans) => {
        const context = { inputs: { certificate: "api", generate: { keyAlgorithm: "ECDSA-P256" as const, subject: wanted, sans } }, store: {} as Store, certificateType: "server" as const, profile: "public" as const, now: new Date() };
        const examined = await settledOutcome(() => generateMethod.examine(context));
        const problems = examined.accepted!.problems;
        for (const problem of problems) outcomeOf(() => { throw problem; });
        const read = readNameInputs(sans, "generate.sans");
        expect(problems.map((problem) => problem.field)).toEqual(read.problems.map((problem) => problem.field));
        if (problems.length > 0) return;
        const material = await settledOutcome(() => generateMethod.materialize(context));
        const placeholder = new x509.X509Certificate(material.accepted!.certificatePem);
        const request = new x509.Pkcs10CertificateRequest(material.accepted!.csrPem!);
        for (const made of [placeholder, request]) {
          for (const [input, type] of Object.entries(ATTRIBUTES)) {
            const value = wanted[input as keyof typeof ATTRIBUTES];
            // An internationalized host name as CN is written as its A-label, as in the SAN.
            const written = input === "commonName" && value !== undefined ? aLabelOf(value) : value;
            expect(made.subjectName.getField(type)).toEqual(written === undefined ? [] : [written]);
          }
          // By OID: the CSR's extensions are of the copy of @peculiar/x509 the provider loaded.
          const names = new x509.SubjectAlternativeNameExtension(made.getExtension("2.5.29.17")!.rawData).names.toJSON();
          expect(names.map((name) => (name.type === "ip" ? isIP(name.value) !== 0 : name.value))).toEqual(read.names.map((name) => (isIP(name) ? true : name)));
        }
      }),
      { numRuns: 100 },
    );
  });

  it("what readNameInputs accepts is an IP address or LDH labels", () => {
    fc.assert(
      fc.property(san, (name) => {
        const read = readNameInputs([name], "generate.sans");
        if (read.problems.length > 0) return;
        name = read.names[0];
        expect(isIP(name) !== 0 || /^(\*\.)?([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$/.test(name)).toBe(true);
        expect(name.length).toBeLessThanOrEqual(253);
      }),
      { numRuns: 300 },
    );
  });
});
