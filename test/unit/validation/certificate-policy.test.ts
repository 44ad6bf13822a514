/**
 * The certificate policies, table-driven over synthetic facts: each row is one rule, one input,
 * and the codes it must produce.
 */
import { describe, expect, it } from "vitest";
import type { CertificateFacts, ParsedCertificate } from "../../../provider/pki/certificate";
import type { ChainAnalysis } from "../../../provider/pki/chain";
import { checkAcknowledgements, evaluatePolicies, nameCovers, PolicySubject } from "../../../provider/validation/certificate-policy";

const NOW = new Date("2026-11-22T12:00:00Z");
const day = 86_400_000;

function certificate(facts: Partial<CertificateFacts>): ParsedCertificate {
  return {
    facts: {
      serial: "01",
      subject: "CN=api.example.test",
      issuer: "CN=intermediate",
      sans: ["api.example.test", "www.example.test"],
      notBefore: new Date(NOW.getTime() - day).toISOString(),
      notAfter: new Date(NOW.getTime() + 89 * day).toISOString(),
      keyAlgorithm: "ECDSA P-256",
      fingerprintSha256: "AA",
      publicKeySha256: "bb",
      isCa: false,
      ...facts,
    },
  } as ParsedCertificate;
}

const soundChain: ChainAnalysis = { ordered: [certificate({ subject: "CN=intermediate", isCa: true })], reordered: false, includesRoot: false, problems: [] };

function subject(overrides: Partial<PolicySubject> = {}): PolicySubject {
  return {
    leaf: certificate({}),
    chain: soundChain,
    certificateType: "server",
    domains: [],
    now: NOW,
    certificateField: "upload.certificatePem",
    chainField: "upload.chainPem",
    ...overrides,
  };
}

const codes = (problems: ReturnType<typeof evaluatePolicies>) => problems.map((problem) => problem.code);

describe("certificate policies", () => {
  it.each<[string, Partial<PolicySubject>, string[]]>([
    ["a sound server certificate", {}, []],
    ["expired", { leaf: certificate({ notAfter: new Date(NOW.getTime() - 1000).toISOString() }) }, ["CERTIFICATE_EXPIRED"]],
    ["not yet valid", { leaf: certificate({ notBefore: new Date(NOW.getTime() + day).toISOString() }) }, ["CERTIFICATE_NOT_YET_VALID"]],
    ["RSA 1024", { leaf: certificate({ keyAlgorithm: "RSA 1024" }) }, ["KEY_TOO_WEAK"]],
    ["RSA 2048", { leaf: certificate({ keyAlgorithm: "RSA 2048" }) }, []],
    ["ECDSA P-384", { leaf: certificate({ keyAlgorithm: "ECDSA P-384" }) }, []],
    ["ECDSA P-521", { leaf: certificate({ keyAlgorithm: "ECDSA P-521" }) }, ["KEY_ALGORITHM_NOT_ALLOWED"]],
    ["secp256k1", { leaf: certificate({ keyAlgorithm: "ECDSA secp256k1" }) }, ["KEY_ALGORITHM_NOT_ALLOWED"]],
    ["Ed25519", { leaf: certificate({ keyAlgorithm: "Ed25519" }) }, ["KEY_ALGORITHM_NOT_ALLOWED"]],
    ["a CA certificate as a server certificate", { leaf: certificate({ isCa: true }) }, ["CA_TYPE_MISMATCH"]],
    ["a server certificate as a CA certificate", { certificateType: "ca" }, ["CA_TYPE_MISMATCH"]],
    ["a long-lived CA certificate", { certificateType: "ca", leaf: certificate({ isCa: true, notAfter: new Date(NOW.getTime() + 3650 * day).toISOString() }) }, []],
    ["declared domains covered, one by a wildcard", { domains: ["api.example.test", "x.wild.test"], leaf: certificate({ sans: ["api.example.test", "*.wild.test"] }) }, []],
    ["a declared domain not covered", { domains: ["api.example.test", "admin.example.test"] }, ["DOMAIN_NOT_COVERED"]],
    ["397 days", { leaf: certificate({ notAfter: new Date(NOW.getTime() + 396 * day).toISOString() }) }, []],
    ["398 days", { leaf: certificate({ notAfter: new Date(NOW.getTime() + 397 * day).toISOString() }) }, ["LIFETIME_TOO_LONG"]],
    ["a reordered chain", { chain: { ...soundChain, reordered: true } }, ["CHAIN_ORDER"]],
    ["a chain ending with the root", { chain: { ...soundChain, includesRoot: true } }, ["CHAIN_INCLUDES_ROOT"]],
    ["production's names kept", { productionSans: ["api.example.test"] }, []],
    ["a production name dropped", { productionSans: ["api.example.test", "old.example.test"] }, ["SANS_REMOVED"]],
  ])("%s -> %j", (_name, overrides, expected) => {
    expect(codes(evaluatePolicies(subject(overrides), []))).toEqual(expected);
  });

  it("every problem names its field and says how to fix it", () => {
    const problems = evaluatePolicies(
      subject({ leaf: certificate({ keyAlgorithm: "RSA 1024", isCa: true }), domains: ["nope.test"], chain: { ...soundChain, includesRoot: true } }),
      [],
    );
    expect(codes(problems)).toEqual(["KEY_TOO_WEAK", "CA_TYPE_MISMATCH", "DOMAIN_NOT_COVERED", "CHAIN_INCLUDES_ROOT"]);
    expect(problems.map((problem) => problem.field)).toEqual(["upload.certificatePem", "upload.certificatePem", "domains", "upload.chainPem"]);
    expect(problems.every((problem) => /Fix: .+/.test(problem.message))).toBe(true);
  });

  it("acknowledged warnings pass; acknowledged errors do not", () => {
    const warned = subject({ chain: { ...soundChain, includesRoot: true, reordered: true } });
    expect(codes(evaluatePolicies(warned, ["CHAIN_INCLUDES_ROOT"]))).toEqual(["CHAIN_ORDER"]);
    expect(codes(evaluatePolicies(warned, ["CHAIN_INCLUDES_ROOT", "CHAIN_ORDER"]))).toEqual([]);
    const expired = subject({ leaf: certificate({ notAfter: new Date(NOW.getTime() - 1000).toISOString() }) });
    expect(codes(evaluatePolicies(expired, ["CERTIFICATE_EXPIRED"]))).toEqual(["CERTIFICATE_EXPIRED"]);
    expect(codes(checkAcknowledgements(["CERTIFICATE_EXPIRED", "LIFETIME_TOO_LONG", "NO_SUCH_CODE"]))).toEqual(["ACKNOWLEDGE_INVALID"]);
    expect(checkAcknowledgements(["CERTIFICATE_EXPIRED", "NO_SUCH_CODE"])[0].message).toContain("CERTIFICATE_EXPIRED, NO_SUCH_CODE cannot be acknowledged");
  });

  it("gives the same verdict for the same input and clock", () => {
    const input = subject({ domains: ["admin.example.test"], productionSans: ["old.example.test"] });
    expect(evaluatePolicies(input, []).map((problem) => problem.message)).toEqual(evaluatePolicies(input, []).map((problem) => problem.message));
  });
});

describe("nameCovers (RFC 6125 wildcards)", () => {
  it.each([
    ["api.example.test", "api.example.test", true],
    ["API.example.test", "api.EXAMPLE.test", true],
    ["*.example.test", "api.example.test", true],
    ["*.example.test", "a.b.example.test", false],
    ["*.example.test", "example.test", false],
    ["api.example.test", "*.example.test", false],
    ["*.example.test", "*.example.test", true],
  ])("%s covers %s: %s", (san, name, expected) => {
    expect(nameCovers(san, name)).toBe(expected);
  });
});
