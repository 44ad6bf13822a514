/**
 * The certificate policies, table-driven over real certificates crafted for one defect each
 * (test/support/crafted-certificates.ts): each row is one rule, one input, the profile, and the
 * codes it must produce there.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ParsedCertificate } from "../../../provider/pki/certificate";
import { EKU_CLIENT_AUTH as CLIENT_AUTH, EKU_SERVER_AUTH as SERVER_AUTH } from "../../../provider/pki/certificate-extensions";
import type { ChainAnalysis } from "../../../provider/pki/chain";
import { checkAcknowledgements, evaluatePolicies, nameCovers, PolicySubject } from "../../../provider/validation/certificate-policy";
import { lifetimeLimit } from "../../../provider/validation/policies/lifetime";
import type { ValidationProfile } from "../../../provider/validation/profiles";
import { craftCertificate, CraftOptions, testAuthorities } from "../../support/crafted-certificates";

const DAY = 86_400_000;
const NOW = new Date();
let intermediate: ParsedCertificate;

beforeAll(async () => {
  intermediate = (await testAuthorities()).intermediate.parsed;
});

const chainOf = (...ordered: ParsedCertificate[]): ChainAnalysis => ({ ordered, reordered: false, includesRoot: false, problems: [] });

async function subject(leaf: CraftOptions, overrides: Partial<PolicySubject> = {}): Promise<PolicySubject> {
  return {
    leaf: (await craftCertificate(leaf)).parsed,
    chain: chainOf(intermediate),
    certificateType: "server",
    profile: "public",
    domains: [],
    now: NOW,
    certificateField: "upload.certificatePem",
    chainField: "upload.chainPem",
    ...overrides,
  };
}

const codes = (problems: ReturnType<typeof evaluatePolicies>) => problems.map((problem) => problem.code);
const days = (count: number, from = NOW.getTime() - DAY) => ({ notBefore: new Date(from), notAfter: new Date(from + count * DAY - 1000) });
const CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

describe("certificate policies", () => {
  it.each<[string, CraftOptions, Partial<PolicySubject>, { public: string[]; private: string[] }]>([
    ["a sound server certificate", {}, {}, { public: [], private: [] }],
    ["expired", { notBefore: new Date(NOW.getTime() - 10 * DAY), notAfter: new Date(NOW.getTime() - 1000) }, {}, { public: ["CERTIFICATE_EXPIRED"], private: ["CERTIFICATE_EXPIRED"] }],
    ["not yet valid", { notBefore: new Date(NOW.getTime() + DAY), notAfter: new Date(NOW.getTime() + 30 * DAY) }, {}, { public: ["CERTIFICATE_NOT_YET_VALID"], private: ["CERTIFICATE_NOT_YET_VALID"] }],
    ["RSA 1024", { key: "RSA-1024", keyUsage: ["digitalSignature", "keyEncipherment"] }, {}, { public: ["KEY_TOO_WEAK"], private: ["KEY_TOO_WEAK"] }],
    ["RSA 2048", { key: "RSA-2048", keyUsage: ["digitalSignature", "keyEncipherment"] }, {}, { public: [], private: [] }],
    ["ECDSA P-384", { key: "P-384" }, {}, { public: [], private: [] }],
    ["ECDSA P-521", { key: "P-521" }, {}, { public: ["KEY_ALGORITHM_NOT_ALLOWED"], private: ["KEY_ALGORITHM_NOT_ALLOWED"] }],
    ["Ed25519", { key: "Ed25519" }, {}, { public: ["KEY_ALGORITHM_NOT_ALLOWED"], private: ["KEY_ALGORITHM_NOT_ALLOWED"] }],
    ["a CA certificate as a server certificate", { isCa: true, sans: ["api.example.com"], extendedKeyUsage: [SERVER_AUTH], keyUsage: ["digitalSignature", "keyCertSign"] }, {}, { public: ["CA_TYPE_MISMATCH"], private: ["CA_TYPE_MISMATCH"] }],
    ["a server certificate as a CA certificate", {}, { certificateType: "ca" }, { public: ["CA_TYPE_MISMATCH"], private: ["CA_TYPE_MISMATCH"] }],
    ["a long-lived CA certificate", { isCa: true, ...days(1500) }, { certificateType: "ca" }, { public: [], private: [] }],
    ["declared domains covered, one by a wildcard", { sans: ["api.example.com", "*.wild.example.com"] }, { domains: ["api.example.com", "x.wild.example.com"] }, { public: [], private: [] }],
    ["a declared domain not covered", {}, { domains: ["api.example.com", "admin.example.com"] }, { public: ["DOMAIN_NOT_COVERED"], private: ["DOMAIN_NOT_COVERED"] }],
    ["a declared domain in U-labels, covered by its A-label", { sans: ["xn--bcher-kva.example"] }, { domains: ["bücher.example"] }, { public: [], private: [] }],
    ["no subjectAltName (only a CN)", { sans: null, commonName: "api.example.com" }, {}, { public: ["SAN_MISSING"], private: ["SAN_MISSING"] }],
    ["a subjectAltName with a public IP address only", { sans: ["8.8.4.4"] }, {}, { public: [], private: [] }],
    ["a private IP address", { sans: ["api.example.com", "10.1.2.3"] }, {}, { public: ["IP_ADDRESS_RESERVED"], private: [] }],
    ["a documentation IP address", { sans: ["192.0.2.10"] }, {}, { public: ["IP_ADDRESS_RESERVED"], private: [] }],
    ["a SAN written as UTF-8, not IA5", { sans: [], rawDnsNames: [Buffer.from("bücher.example.com")] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["a wildcard that is not the whole left-most label", { sans: ["api.example.com", "a*.example.com"] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["two wildcards", { sans: ["*.*.example.com"] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["an empty label", { sans: ["api..example.com"] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["a 64-character label", { sans: [`${"a".repeat(64)}.example.com`] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["an underscore", { sans: ["_acme.example.com"] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["an A-label whose Punycode does not decode", { sans: ["xn--zz.example.com"] }, {}, { public: ["DNS_NAME_INVALID"], private: ["DNS_NAME_INVALID"] }],
    ["a valid A-label", { sans: ["xn--bcher-kva.example.com"] }, {}, { public: [], private: [] }],
    ["extendedKeyUsage without serverAuth", { extendedKeyUsage: [CLIENT_AUTH] }, {}, { public: ["SERVER_AUTH_NOT_ALLOWED"], private: ["SERVER_AUTH_NOT_ALLOWED"] }],
    ["no extendedKeyUsage", { extendedKeyUsage: null }, {}, { public: ["EXTENDED_KEY_USAGE_INVALID"], private: [] }],
    ["extendedKeyUsage with code signing", { extendedKeyUsage: [SERVER_AUTH, CODE_SIGNING] }, {}, { public: ["EXTENDED_KEY_USAGE_INVALID"], private: [] }],
    ["serverAuth and clientAuth", { extendedKeyUsage: [SERVER_AUTH, CLIENT_AUTH] }, {}, { public: [], private: [] }],
    ["an ECDSA key that may encipher", { keyUsage: ["digitalSignature", "keyEncipherment"] }, {}, { public: ["KEY_USAGE_INVALID"], private: ["KEY_USAGE_INVALID"] }],
    ["an ECDSA key without digitalSignature", { keyUsage: ["keyAgreement"] }, {}, { public: ["KEY_USAGE_INVALID"], private: ["KEY_USAGE_INVALID"] }],
    ["an RSA key that agrees keys", { key: "RSA-2048", keyUsage: ["digitalSignature", "keyAgreement"] }, {}, { public: ["KEY_USAGE_INVALID"], private: ["KEY_USAGE_INVALID"] }],
    ["a leaf that may sign certificates", { keyUsage: ["digitalSignature", "keyCertSign"] }, {}, { public: ["KEY_USAGE_INVALID"], private: ["KEY_USAGE_INVALID"] }],
    ["no keyUsage", { keyUsage: null }, {}, { public: [], private: [] }],
    ["signed with SHA-1", { signatureHash: "SHA-1" }, {}, { public: ["SIGNATURE_ALGORITHM_WEAK"], private: ["SIGNATURE_ALGORITHM_WEAK"] }],
    ["200 days from 2026-11 (the limit is 200)", days(200), {}, { public: [], private: [] }],
    ["201 days from 2026-11", days(201), {}, { public: ["LIFETIME_TOO_LONG"], private: [] }],
    ["825 days (private's limit)", days(825), {}, { public: ["LIFETIME_TOO_LONG"], private: [] }],
    ["826 days", days(826), {}, { public: ["LIFETIME_TOO_LONG"], private: ["LIFETIME_TOO_LONG"] }],
    ["production's names kept", {}, { productionSans: ["api.example.com"] }, { public: [], private: [] }],
    ["a production name dropped", {}, { productionSans: ["api.example.com", "old.example.com"] }, { public: ["SANS_REMOVED"], private: ["SANS_REMOVED"] }],
  ])("%s", async (_name, leaf, overrides, expected) => {
    for (const profile of ["public", "private"] as const) {
      expect(codes(evaluatePolicies(await subject(leaf, { ...overrides, profile }), [])), profile).toEqual(expected[profile]);
    }
  });

  it("chains: out of order, with the root, signed with SHA-1, or expiring before the leaf", async () => {
    const { root } = await testAuthorities();
    const base = await subject({});
    expect(codes(evaluatePolicies({ ...base, chain: { ...chainOf(intermediate, root.parsed), reordered: true, includesRoot: true } }, []))).toEqual(["CHAIN_ORDER", "CHAIN_INCLUDES_ROOT"]);
    const weakIntermediate = await craftCertificate({ commonName: "weak intermediate", isCa: true, sans: null, issuer: root, signatureHash: "SHA-1", ...days(1000) });
    const weakLeaf = await craftCertificate({ issuer: weakIntermediate });
    expect(codes(evaluatePolicies({ ...base, leaf: weakLeaf.parsed, chain: chainOf(weakIntermediate.parsed) }, []))).toEqual(["SIGNATURE_ALGORITHM_WEAK"]);
    const shortIntermediate = await craftCertificate({ commonName: "short intermediate", isCa: true, sans: null, issuer: root, ...days(30) });
    const outlived = await craftCertificate({ issuer: shortIntermediate, ...days(90) });
    const problems = evaluatePolicies({ ...base, leaf: outlived.parsed, chain: chainOf(shortIntermediate.parsed) }, []);
    expect(codes(problems)).toEqual(["CHAIN_EXPIRES_BEFORE_LEAF"]);
    expect(problems[0].message).toMatch(/'CN=short intermediate' expires at .+, before the certificate/);
    expect(codes(evaluatePolicies({ ...base, leaf: outlived.parsed, chain: chainOf(shortIntermediate.parsed) }, ["CHAIN_EXPIRES_BEFORE_LEAF"]))).toEqual([]);
  });

  it("every problem names its field and says how to fix it", async () => {
    const problems = evaluatePolicies(await subject({ key: "RSA-1024", keyUsage: ["digitalSignature", "keyCertSign"], isCa: true, sans: ["api.example.com"], extendedKeyUsage: [SERVER_AUTH] }, { domains: ["nope.example.com"] }), []);
    expect(codes(problems)).toEqual(["KEY_TOO_WEAK", "CA_TYPE_MISMATCH", "DOMAIN_NOT_COVERED"]);
    expect(problems.map((problem) => problem.field)).toEqual(["upload.certificatePem", "upload.certificatePem", "domains"]);
    expect(problems.every((problem) => /Fix: .+/.test(problem.message))).toBe(true);
  });

  it("the lifetime message names the limit, its rule and its date", async () => {
    const [problem] = evaluatePolicies(await subject(days(300)), []);
    expect(problem.message).toMatch(/^\[LIFETIME_TOO_LONG\] field 'upload\.certificatePem': the certificate is valid for 300 days from \d{4}-\d\d-\d\d; the limit is 200 days \(CA\/B Forum SC-081v3 for certificates issued from 2026-03-15\)\. Fix: ask the CA for a certificate valid for at most 200 days/);
  });

  it("acknowledged warnings pass; acknowledged errors do not; what is a warning depends on the profile", async () => {
    const { root } = await testAuthorities();
    const warned = { ...(await subject({})), chain: { ...chainOf(intermediate, root.parsed), includesRoot: true, reordered: true } };
    expect(codes(evaluatePolicies(warned, ["CHAIN_INCLUDES_ROOT"]))).toEqual(["CHAIN_ORDER"]);
    expect(codes(evaluatePolicies(warned, ["CHAIN_INCLUDES_ROOT", "CHAIN_ORDER"]))).toEqual([]);
    const long = await subject(days(900));
    expect(codes(evaluatePolicies(long, ["LIFETIME_TOO_LONG"]))).toEqual(["LIFETIME_TOO_LONG"]);
    expect(codes(evaluatePolicies({ ...long, profile: "private" }, ["LIFETIME_TOO_LONG"]))).toEqual([]);
    expect(codes(checkAcknowledgements(["CERTIFICATE_EXPIRED", "LIFETIME_TOO_LONG", "NO_SUCH_CODE"], "public"))).toEqual(["ACKNOWLEDGE_INVALID"]);
    expect(checkAcknowledgements(["LIFETIME_TOO_LONG"], "public")[0].message).toMatch(/LIFETIME_TOO_LONG cannot be acknowledged under the public profile.*set its profile to "private", where LIFETIME_TOO_LONG is a warning/);
    expect(checkAcknowledgements(["LIFETIME_TOO_LONG", "KEY_USAGE_INVALID"], "private")).toEqual([]);
  });
});

describe("lifetime limits (SC-081v3 for public, Apple's 825 days for private)", () => {
  it.each<[ValidationProfile, string, number]>([
    ["public", "2025-06-01T00:00:00Z", 398],
    ["public", "2026-03-14T23:59:59Z", 398],
    ["public", "2026-03-15T00:00:00Z", 200],
    ["public", "2027-03-15T00:00:00Z", 100],
    ["public", "2029-03-14T23:59:59Z", 100],
    ["public", "2029-03-15T00:00:00Z", 47],
    ["private", "2030-01-01T00:00:00Z", 825],
  ])("%s, issued %s: %d days", (profile, notBefore, expected) => {
    expect(lifetimeLimit(profile, notBefore).days).toBe(expected);
  });
});

describe("nameCovers (RFC 6125 wildcards, names in either form)", () => {
  it.each([
    ["api.example.test", "api.example.test", true],
    ["API.example.test", "api.EXAMPLE.test", true],
    ["*.example.test", "api.example.test", true],
    ["*.example.test", "a.b.example.test", false],
    ["*.example.test", "example.test", false],
    ["api.example.test", "*.example.test", false],
    ["*.example.test", "*.example.test", true],
    ["xn--bcher-kva.example", "bücher.example", true],
    ["*.xn--bcher-kva.example", "www.bücher.example", true],
  ])("%s covers %s: %s", (san, name, expected) => {
    expect(nameCovers(san, name)).toBe(expected);
  });
});
