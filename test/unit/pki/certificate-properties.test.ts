/**
 * Certificates, chains and whatever arrives in their place (a CSR, a key, nothing at all), made
 * with OpenSSL and then damaged: in the PEM text, in the DER, in the size. Every input is parsed,
 * or refused with a CertstageError that quotes no key; the work a chain costs is counted in
 * signature checks, and no input is larger than LARGEST_INPUT_BYTES.
 *
 * Property                                                                       runs
 *   a certificate damaged in its PEM or its DER: parsed or refused                 300
 *   a chain reordered, thinned, repeated, damaged or foreign: analysed or refused  200
 *     (signature checks at most (certificates + 1)^2)
 *   a whole upload through `check`'s examination and `up`'s materialization        200
 *   an upload with a key of a type certstage does not allow: refused                50
 *   subjectAltName names read back exactly, and messages quoting names and         100
 *     subjects hold no invisible character, whatever the certificate holds
 *   a CSR, a key or a CRL label where a certificate belongs: refused               100
 *   an input over MAX_PEM_INPUT_BYTES: refused with PEM_TOO_LARGE                  100
 */
import { webcrypto, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseCertificateChainPem, parseCertificatePem } from "../../../provider/pki/certificate";
import { analyseChain } from "../../../provider/pki/chain";
import { DER_TAG, encodeElement } from "../../../provider/pki/der";
import { MAX_PEM_INPUT_BYTES, splitPem } from "../../../provider/pki/pem";
import { inspectUpload } from "../../../provider/pki/version-material";
import { uploadMethod } from "../../../provider/resources/version-methods/upload";
import { evaluatePolicies } from "../../../provider/validation/certificate-policy";
import type { Store } from "../../../provider/store";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../../support/certificates";
import { applyPemDamage, LARGEST_INPUT_BYTES, pemDamage } from "../../support/pem-mutations";
import { outcomeOf, settledOutcome } from "../../support/refusals";

let leaf: TestCertificate;
let other: TestCertificate;
let csrPem: string;
let rsaSelfSigned: string;
/** Every private key the inputs are made from: no message may hold any of them. */
let keys: string[];
let certificates: string[];
const oddUploads: Array<{ certificatePem: string; privateKeyPem: string }> = [];

/** Key types the leak scanner cannot read as JWK are left out of `keys`; their refusals still must not crash. */
const genpkey = (...options: string[]) => (keyFile: string) => openssl(["genpkey", ...options, "-out", keyFile]);
const ODD_KEYS: ReadonlyArray<readonly [string, (keyFile: string) => void]> = [
  ["dsa", (keyFile) => (openssl(["dsaparam", "-out", `${keyFile}.params`, "1024"]), openssl(["gendsa", "-out", keyFile, `${keyFile}.params`]))],
  ["rsa-pss", genpkey("-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048")],
  ["brainpool", genpkey("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1")],
  ["explicit-p256", genpkey("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:explicit")],
  ["secp256k1", genpkey("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1")],
  ["ed25519", genpkey("-algorithm", "ED25519")],
  ["ed448", genpkey("-algorithm", "ED448")],
  ["rsa1024", genpkey("-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")],
];

beforeAll(() => {
  const pki = temporaryDirectory("certificate-properties");
  leaf = makeTestCertificate(pki, "api.example.test");
  other = makeTestCertificate(pki, "other.example.test");
  csrPem = openssl(["req", "-new", "-key", path.join(leaf.directory, "key.pem"), "-subj", "/CN=api.example.test"]);
  const rsaKeyFile = path.join(pki, "rsa.key");
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaKeyFile]);
  const rsaKey = readFileSync(rsaKeyFile, "utf8");
  rsaSelfSigned = openssl(["req", "-x509", "-new", "-key", rsaKeyFile, "-subj", "/CN=rsa.example.test", "-days", "30"]);
  keys = [leaf.privateKeyPem, other.privateKeyPem, rsaKey, ...["root.key", "intermediate.key"].map((file) => readFileSync(path.join(pki, "ca", file), "utf8"))];
  certificates = [leaf.certificatePem, other.certificatePem, leaf.chainPem, leaf.rootPem, rsaSelfSigned];
  // Keys certstage does not allow, whose certificates still parse: each must be refused, not crash.
  for (const [kind, generate] of ODD_KEYS) {
    const keyFile = path.join(pki, `${kind}.key`);
    generate(keyFile);
    const certificatePem = openssl(["req", "-x509", "-new", "-key", keyFile, "-subj", `/CN=${kind}.example.test`, "-addext", `subjectAltName=DNS:${kind}.example.test`, "-days", "30"]);
    oddUploads.push({ certificatePem, privateKeyPem: readFileSync(keyFile, "utf8") });
    certificates.push(certificatePem);
  }
});

afterEach(() => vi.restoreAllMocks());

const blocks = () => [csrPem, leaf.privateKeyPem, other.certificatePem];
const bounded = (text: string) => expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LARGEST_INPUT_BYTES);
const someCertificate = fc.nat().map((index) => certificates[index % certificates.length]);

describe("certificate properties", () => {
  it("a certificate damaged in its PEM or its DER is parsed, or refused", () => {
    fc.assert(
      fc.property(someCertificate, pemDamage(blocks()), (pem, damage) => {
        const text = applyPemDamage(pem, damage);
        bounded(text);
        const outcome = outcomeOf(() => parseCertificatePem(text, "upload.certificatePem"), keys);
        if (outcome.refused) expect(outcome.refused.field).toBe("upload.certificatePem");
        // What is accepted is a certificate whose facts are all there, dates included.
        else for (const date of [outcome.accepted.facts.notBefore, outcome.accepted.facts.notAfter]) expect(new Date(date).toISOString()).toBe(date);
      }),
      { numRuns: 300 },
    );
  });

  it("a chain reordered, thinned, repeated, damaged or foreign is analysed or refused, with bounded signature checks", () => {
    const chainCertificates = () => [leaf.chainPem, leaf.rootPem, other.certificatePem, rsaSelfSigned, leaf.certificatePem];
    // Oversized inputs have their own property; here each part stays small so the chain can be long.
    const damage = pemDamage(blocks()).filter((candidate) => candidate.kind !== "oversize");
    const chain = fc.array(fc.tuple(fc.nat(), fc.option(damage, { freq: 3, nil: undefined })), { maxLength: 8 });
    const verify = vi.spyOn(X509Certificate.prototype, "verify");
    fc.assert(
      fc.property(chain, (picks) => {
        const text = picks.map(([index, damage]) => {
          const pem = chainCertificates()[index % chainCertificates().length];
          return damage ? applyPemDamage(pem, damage) : pem;
        }).join("");
        bounded(text);
        const parsedLeaf = parseCertificatePem(leaf.certificatePem, "upload.certificatePem");
        const parsedChain = outcomeOf(() => parseCertificateChainPem(text, "upload.chainPem"), keys);
        if (parsedChain.refused) return;
        verify.mockClear();
        const analysis = outcomeOf(() => analyseChain(parsedLeaf, parsedChain.accepted, "upload.chainPem"), keys);
        expect(verify.mock.calls.length).toBeLessThanOrEqual((parsedChain.accepted.length + 1) ** 2);
        for (const problem of analysis.accepted?.problems ?? []) outcomeOf(() => { throw problem; }, keys);
      }),
      { numRuns: 200 },
    );
  });

  it("a whole upload goes through check's examination and up's materialization, or is refused", async () => {
    const store = {} as Store;
    const part = (pems: () => string[]) => fc.tuple(fc.nat(), fc.option(pemDamage(blocks()), { freq: 2, nil: undefined })).map(([index, damage]) => {
      const pem = pems()[index % pems().length];
      return damage ? applyPemDamage(pem, damage) : pem;
    });
    const upload = fc.record(
      { certificatePem: part(() => certificates), privateKeyPem: part(() => keys), chainPem: part(() => [leaf.chainPem, leaf.chainPem + leaf.rootPem, other.chainPem, ""]), passphrase: fc.constantFrom("", "secret") },
      { requiredKeys: ["certificatePem"] },
    );
    await fc.assert(
      fc.asyncProperty(upload, fc.constantFrom("server" as const, "ca" as const, undefined), async (input, certificateType) => {
        bounded(input.certificatePem);
        const context = { inputs: { certificate: "api", upload: input, domains: ["api.example.test"] }, store, certificateType, profile: "public" as const, now: new Date() };
        const examined = await settledOutcome(() => uploadMethod.examine(context), keys);
        for (const problem of examined.accepted?.problems ?? []) outcomeOf(() => { throw problem; }, keys);
        if (examined.accepted?.problems.length === 0 && certificateType !== undefined) {
          const material = await settledOutcome(() => uploadMethod.materialize(context), keys);
          if (material.accepted) expect(material.accepted.privateKeyPem ?? "").toMatch(/^(-----BEGIN PRIVATE KEY-----\n|)/);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("an upload with a key of any type certstage does not allow is refused, by check and by inspectUpload", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom("server" as const, "ca" as const), async (index, certificateType) => {
        const upload = oddUploads[index % oddUploads.length];
        const context = { inputs: { certificate: "api", upload }, store: {} as Store, certificateType, profile: "public" as const, now: new Date() };
        const examined = await settledOutcome(() => uploadMethod.examine(context), keys);
        expect(examined.accepted?.problems.map((problem) => problem.code)).toEqual(expect.arrayContaining([expect.stringMatching(/^KEY_(ALGORITHM_NOT_ALLOWED|TOO_WEAK)$/)]));
        const inspected = outcomeOf(() => inspectUpload(upload), keys);
        for (const problem of inspected.accepted?.ok === false ? inspected.accepted.problems : []) outcomeOf(() => { throw problem; }, keys);
      }),
      { numRuns: 50 },
    );
  });

  it("subjectAltName names read back exactly, and messages show names and subjects without invisible characters", async () => {
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const signer = await webcrypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
    // IA5String, the type of a dNSName: ASCII, control characters and all.
    const ascii = fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((code) => String.fromCharCode(code)), maxLength: 12 });
    const tricky = fc.constantFrom("a\\", "\\", '"', 'x", DNS:evil.test', "a, b", "a:b", "", "*.example.test");
    const commonName = fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }), fc.constantFrom("api\u202eved", "a\u200db", "a\u0000b", "\u0085", '""', "#1", "certstage test intermediate CA"));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(ascii, tricky), { minLength: 1, maxLength: 4 }), commonName, async (names, cn) => {
        const certificate = await x509.X509CertificateGenerator.createSelfSigned({
          serialNumber: "01",
          // As DER: @peculiar/x509's JSON and text names parse their values ('#' as hex, quotes).
          name: new x509.Name(encodeElement(DER_TAG.sequence, encodeElement(DER_TAG.set, encodeElement(DER_TAG.sequence, encodeElement(DER_TAG.objectIdentifier, Buffer.from([0x55, 0x04, 0x03])), encodeElement(DER_TAG.utf8String, Buffer.from(cn)))))),
          notBefore: new Date("2026-01-01T00:00:00Z"),
          notAfter: new Date("2026-03-01T00:00:00Z"),
          signingAlgorithm: algorithm,
          keys: signer,
          extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: "dns" as const, value })))],
        });
        const outcome = outcomeOf(() => parseCertificatePem(certificate.toString("pem"), "upload.certificatePem"), keys);
        expect(outcome.accepted?.facts.sans).toEqual(names);
        // Its names and subject reach messages: a domain it does not cover, an impostor in a chain.
        const parsed = outcome.accepted!;
        const chain = analyseChain(parseCertificatePem(leaf.certificatePem, "c"), [parsed], "upload.chainPem");
        const subject = { leaf: parsed, chain, certificateType: "server" as const, domains: ["api.example.test"], productionSans: ["api.example.test"], now: new Date("2026-02-01T00:00:00Z"), certificateField: "c", chainField: "upload.chainPem" };
        for (const problem of [...chain.problems, ...evaluatePolicies(subject, [])]) outcomeOf(() => { throw problem; }, keys);
      }),
      { numRuns: 100 },
    );
  });

  it("a CSR, a key or another label where a certificate belongs is refused (or, cut to nothing, an empty chain)", () => {
    fc.assert(
      fc.property(fc.constantFrom(() => csrPem, () => leaf.privateKeyPem, () => csrPem.replace(/CERTIFICATE REQUEST/g, "X509 CRL")), fc.option(pemDamage([]), { nil: undefined }), (pem, damage) => {
        const text = damage ? applyPemDamage(pem(), damage) : pem();
        for (const parse of [() => [parseCertificatePem(text, "f")], () => parseCertificateChainPem(text, "f")]) {
          const outcome = outcomeOf(parse, keys);
          // Relabelled as CERTIFICATE it may get past the label, never past X.509 parsing; cut to
          // nothing, it is an empty chain.
          if (outcome.accepted) expect([text.trim(), outcome.accepted]).toEqual(["", []]);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("an input over MAX_PEM_INPUT_BYTES is refused with PEM_TOO_LARGE, whatever it holds", () => {
    fc.assert(
      fc.property(someCertificate, fc.integer({ min: 1, max: 60 * 1024 }), fc.constantFrom(" ", "\n", "A", "é"), (pem, over, filler) => {
        const text = pem + filler.repeat(Math.ceil((MAX_PEM_INPUT_BYTES - pem.length + over) / Buffer.byteLength(filler)));
        bounded(text);
        for (const parse of [() => splitPem(text, { field: "f" }).length, () => parseCertificatePem(text, "f").facts, () => parseCertificateChainPem(text, "f").length]) {
          expect(outcomeOf<unknown>(parse, keys).refused?.code).toBe("PEM_TOO_LARGE");
        }
      }),
      { numRuns: 100 },
    );
  });
});
