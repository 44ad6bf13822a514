import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCertificateChainPem, parseCertificatePem, ParsedCertificate } from "../../../provider/pki/certificate";
import { analyseChain } from "../../../provider/pki/chain";
import { makeTestChain, temporaryDirectory, TestChain } from "../../support/certificates";

let chain: TestChain;
let other: TestChain;
let leaf: ParsedCertificate;
/** Leaf-first: intermediate 3, 2, 1, root. */
let authorities: ParsedCertificate[];

beforeAll(() => {
  chain = makeTestChain(temporaryDirectory("chain"), 3);
  other = makeTestChain(temporaryDirectory("chain-other"), 1, "other.example.test");
  leaf = parseCertificatePem(chain.leafPem, "c");
  authorities = parseCertificateChainPem([...chain.authorities].reverse().join(""), "chain");
});

const subjects = (certificates: ParsedCertificate[]) => certificates.map((certificate) => certificate.facts.subject);

describe("analyseChain", () => {
  it("accepts a leaf-first chain as is, and knows it ends with the root", () => {
    const analysis = analyseChain(leaf, authorities, "upload.chainPem");
    expect(analysis.problems).toEqual([]);
    expect(analysis.reordered).toBe(false);
    expect(analysis.includesRoot).toBe(true);
    expect(subjects(analysis.ordered)).toEqual(subjects(authorities));
  });

  it("an empty chain and a chain without the root are fine", () => {
    expect(analyseChain(leaf, [], "c")).toMatchObject({ ordered: [], reordered: false, includesRoot: false, problems: [] });
    expect(analyseChain(leaf, authorities.slice(0, 3), "c")).toMatchObject({ reordered: false, includesRoot: false, problems: [] });
  });

  it("property: any order of the chain is put leaf-first, and flagged unless it already was", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }), (order) => {
        const analysis = analyseChain(leaf, order.map((index) => authorities[index]), "c");
        expect(analysis.problems).toEqual([]);
        expect(subjects(analysis.ordered)).toEqual(subjects(authorities));
        expect(analysis.reordered).toBe(order.join() !== "0,1,2,3");
      }),
      { numRuns: 100 },
    );
  });

  it("property: a chain with a gap keeps the linked part and reports the stranded certificates as CHAIN_BROKEN", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), (missing) => {
        const given = authorities.filter((_, index) => index !== missing);
        const analysis = analyseChain(leaf, given, "upload.chainPem");
        expect(subjects(analysis.ordered)).toEqual(subjects(authorities.slice(0, missing)));
        expect(analysis.problems.map((problem) => problem.code)).toEqual(given.slice(missing).map(() => "CHAIN_BROKEN"));
      }),
    );
  });

  it("reports another CA's intermediate as CHAIN_BROKEN and a duplicate as CHAIN_DUPLICATE", () => {
    const unrelated = parseCertificateChainPem(other.authorities[1], "c");
    expect(analyseChain(leaf, [authorities[0], ...unrelated], "upload.chainPem").problems.map((problem) => [problem.code, problem.field])).toEqual([
      ["CHAIN_BROKEN", "upload.chainPem"],
    ]);
    expect(analyseChain(leaf, [authorities[0], authorities[0]], "c").problems.map((problem) => problem.code)).toEqual(["CHAIN_DUPLICATE"]);
  });

  it("reports an issuer with the right name but another key as CHAIN_SIGNATURE_INVALID", () => {
    // The other chain's intermediate 1 is named "chain test intermediate 1", like ours.
    const impostor = parseCertificateChainPem(other.authorities[1], "c")[0];
    const level1Leaf = parseCertificatePem(makeTestChain(temporaryDirectory("chain-short"), 1).leafPem, "c");
    const analysis = analyseChain(level1Leaf, [impostor], "upload.chainPem");
    expect(analysis.problems.map((problem) => problem.code)).toEqual(["CHAIN_SIGNATURE_INVALID"]);
    expect(analysis.problems[0].message).toContain("has the name of the issuer");
  });
});
