/**
 * certstage against zlint, the linter CAs run before they issue, over the crafted cases
 * (cases.ts) and every certificate of the bad-input corpus (scripts/make-bad-input-corpus.sh).
 * zlint runs every lint once per certificate. The lints that apply to a profile are all of them
 * for `public`, and the RFC ones (RFC 5280, 3279, 5480, 5891) for `private`. Then, per profile and
 * certificate:
 *
 * - every applicable lint that fires is covered (COVERAGE: certstage reports its code under that
 *   profile) or left out with a reason (NOT_COVERED); none is unaccounted for;
 * - every covered code certstage reports is backed by one of its lints firing (of any source: a
 *   private CA's certificate is still judged by what clients enforce), or is a declared case where
 *   certstage is stricter than zlint, with the reason (STRICTER in cases.ts); no declaration is
 *   stale.
 *
 * The README's table is this file's COVERAGE and NOT_COVERED, checked here.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parseVersionParts } from "../../provider/pki/version-material";
import { evaluatePolicies } from "../../provider/validation/certificate-policy";
import { POLICY_SEVERITIES, ValidationProfile } from "../../provider/validation/profiles";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { STRICTER, ZlintCase, zlintCases } from "./cases";
import { COVERAGE, NOT_COVERED, renderCoverageTable } from "./coverage";
import { firedLints, lintSources, runZlint, ZlintVerdict } from "./zlint";

const RFC_SOURCES = ["RFC5280", "RFC3279", "RFC5480", "RFC5891"];
const PROFILES: ReadonlyArray<{ profile: ValidationProfile; sources?: string[] }> = [{ profile: "public" }, { profile: "private", sources: RFC_SOURCES }];
let verdicts: ZlintVerdict[];
let sourceOf: Map<string, string>;

interface Case extends ZlintCase {
  readonly certificateType: "server" | "ca";
}

let cases: Case[];

/** The corpus's certificates that parse (the others are refused before any rule runs). */
function corpusCases(): Case[] {
  const directory = temporaryDirectory("zlint-corpus");
  execFileSync("bash", [path.join(REPO_ROOT, "scripts", "make-bad-input-corpus.sh"), directory], { stdio: "pipe" });
  const found: Case[] = [];
  for (const name of readdirSync(path.join(directory, "cases")).sort()) {
    const folder = path.join(directory, "cases", name);
    const described = JSON.parse(readFileSync(path.join(folder, "case.json"), "utf8")) as { certificateType: "server" | "ca" };
    const read = (file: string) => (existsSync(path.join(folder, file)) ? readFileSync(path.join(folder, file), "utf8") : undefined);
    const certificatePem = read("cert.pem");
    if (certificatePem === undefined || Buffer.byteLength(certificatePem) > 200_000) continue;
    const parsed = parseVersionParts({ certificatePem, chainPem: read("chain.pem") }, { certificate: "c", privateKey: "k", chain: "ch" });
    if (!parsed.ok) continue;
    found.push({ name: `corpus: ${name}`, leaf: parsed.value.leaf, chain: parsed.value.chain.ordered, certificateType: described.certificateType });
  }
  return found;
}

beforeAll(async () => {
  cases = [...(await zlintCases()).map((crafted) => ({ ...crafted, certificateType: "server" as const })), ...corpusCases()];
  verdicts = runZlint(inject("zlintBinDirectory"), cases.map((item) => item.leaf.pem));
  sourceOf = lintSources(inject("zlintBinDirectory"));
});

const coveredCode = new Map(COVERAGE.flatMap((entry) => entry.lints.map((lint) => [lint, entry.code] as const)));
const coveredCodes = new Set(COVERAGE.map((entry) => entry.code as string));

function certstageCodes(item: Case, profile: ValidationProfile): string[] {
  const subject = {
    leaf: item.leaf,
    chain: { ordered: item.chain, reordered: false, includesRoot: false, problems: [] },
    certificateType: item.certificateType,
    profile,
    domains: [],
    now: new Date(),
    certificateField: "certificatePem",
    chainField: "chainPem",
  };
  return [...new Set(evaluatePolicies(subject, []).map((problem) => problem.code as string))];
}

describe("certstage and zlint agree", () => {
  it("the corpus is large enough to mean something", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(PROFILES)("$profile profile: every fired lint is covered or left out for a reason, and every covered code is backed by a lint or a declared stricter rule", ({ profile, sources }) => {
    const applies = (lint: string) => sources === undefined || sources.includes(sourceOf.get(lint) ?? "");
    const disagreements: string[] = [];
    const unaccounted = new Set<string>();
    const usedDeclarations = new Set<string>();
    const tally = new Map<string, { both: number; stricter: number }>();
    let notCoveredFirings = 0;
    let unreadable = 0;
    for (const [index, item] of cases.entries()) {
      const verdict = verdicts[index];
      if ("unreadable" in verdict) {
        // zlint's X.509 parser refuses some keys outright (secp256k1): certstage must refuse them too.
        if (!certstageCodes(item, profile).some((code) => code === "KEY_ALGORITHM_NOT_ALLOWED" || code === "KEY_TOO_WEAK")) disagreements.push(`${item.name}: zlint cannot read it (${verdict.unreadable}), but certstage accepts its key`);
        unreadable += 1;
        continue;
      }
      const fired = firedLints(verdict.results);
      const reported = certstageCodes(item, profile);
      for (const lint of fired.filter(applies)) {
        const code = coveredCode.get(lint);
        if (code) {
          if (!reported.includes(code)) disagreements.push(`${item.name}: zlint ${lint} fired, certstage did not report ${code} (it reported ${reported.join(", ") || "nothing"})`);
        } else if (NOT_COVERED.some((entry) => entry.lints.test(lint))) {
          notCoveredFirings += 1;
        } else {
          unaccounted.add(lint);
        }
      }
      for (const code of reported.filter((candidate) => coveredCodes.has(candidate))) {
        const backing = COVERAGE.find((entry) => entry.code === code)!.lints.filter((lint) => fired.includes(lint));
        const counts = tally.get(code) ?? { both: 0, stricter: 0 };
        tally.set(code, counts);
        if (backing.length > 0) {
          counts.both += 1;
          continue;
        }
        const declared = STRICTER.find((entry) => entry.case === item.name && entry.code === code && entry.profiles.includes(profile));
        if (declared) {
          usedDeclarations.add(`${declared.case}/${declared.code}/${profile}`);
          counts.stricter += 1;
        } else {
          disagreements.push(`${item.name}: certstage reported ${code}, but none of its lints fired (zlint: ${fired.join(", ") || "nothing"})`);
        }
      }
    }
    const stale = STRICTER.filter((entry) => entry.profiles.includes(profile) && !usedDeclarations.has(`${entry.case}/${entry.code}/${profile}`)).map((entry) => `${entry.case}/${entry.code}`);
    console.log(
      `${profile}: ${cases.length} certificates (${unreadable} zlint cannot read), ${notCoveredFirings} firings of lints left out; per code (both report / certstage stricter):\n` +
        [...tally].map(([code, counts]) => `  ${code}: ${counts.both} / ${counts.stricter}`).join("\n"),
    );
    expect(disagreements).toEqual([]);
    expect([...unaccounted].sort()).toEqual([]);
    expect(stale).toEqual([]);
  });

  it("a certificate certstage refuses as no TLS server certificate (SERVER_AUTH_NOT_ALLOWED) is none to zlint either: none of its CA/B Forum lints applies", () => {
    const refused = cases.filter((item) => certstageCodes(item, "public").includes("SERVER_AUTH_NOT_ALLOWED"));
    expect(refused.length).toBeGreaterThan(0);
    for (const item of refused) {
      const verdict = verdicts[cases.indexOf(item)];
      if ("unreadable" in verdict) throw new Error(`${item.name}: zlint cannot read it`);
      const applied = Object.entries(verdict.results).filter(([lint, result]) => sourceOf.get(lint) === "CABF_BR" && result.result !== "NA").map(([lint]) => lint);
      expect(applied, item.name).toEqual([]);
    }
  });

  it("`generate` writes internationalized names as zlint wants them: A-labels in the SAN and the CN, no DNS lint fires", async () => {
    const { generatePrivateKey } = await import("../../provider/pki/key-generation");
    const { createRequestAndPlaceholder } = await import("../../provider/pki/certificate-request");
    const { certificateNames } = await import("../../provider/resources/version-methods/generate");
    const names = certificateNames({ keyAlgorithm: "ECDSA-P256", subject: { commonName: "bücher.example.com" }, sans: ["bücher.example.com", "*.bücher.example.com"] });
    expect(names.problems).toEqual([]);
    const { placeholderCertificatePem } = await createRequestAndPlaceholder(await generatePrivateKey("ECDSA-P256"), "ECDSA-P256", { commonName: names.commonName }, names.sans, new Date());
    const [verdict] = runZlint(inject("zlintBinDirectory"), [placeholderCertificatePem]);
    if ("unreadable" in verdict) throw new Error(verdict.unreadable);
    const dnsLints = COVERAGE.find((entry) => entry.code === "DNS_NAME_INVALID")!.lints;
    expect(firedLints(verdict.results).filter((lint) => dnsLints.includes(lint) || /common_name/.test(lint) && lint !== "w_subject_common_name_included")).toEqual([]);
  });

  it("every lint named in the table exists in this zlint, and every covered code is a certstage rule", () => {
    const sources = lintSources(inject("zlintBinDirectory"));
    expect(COVERAGE.flatMap((entry) => entry.lints).filter((lint) => !sources.has(lint))).toEqual([]);
    expect(COVERAGE.map((entry) => entry.code).filter((code) => !(code in POLICY_SEVERITIES))).toEqual([]);
  });

  it("the README's table is this coverage table", () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const section = /<!-- zlint-coverage:start -->\n([\s\S]*?)\n<!-- zlint-coverage:end -->/.exec(readme)?.[1];
    expect(section, "README.md has the zlint coverage table between its markers").toBe(renderCoverageTable());
  });
});
