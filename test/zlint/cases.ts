/**
 * The generated cases of the zlint tier: certificates crafted for one property each, sound ones
 * among them, each a certificate a user could upload. Names are under example.com, a real top
 * level domain, so that zlint's lints of the IANA root zone stay quiet about names certstage
 * cannot judge (see coverage.ts). One case, MD5, is made with OpenSSL: WebCrypto cannot sign it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { describeCertificate, ParsedCertificate } from "../../provider/pki/certificate";
import { EKU_CLIENT_AUTH as CLIENT_AUTH, EKU_SERVER_AUTH as SERVER_AUTH } from "../../provider/pki/certificate-extensions";
import { craftCertificate, CraftOptions, testAuthorities } from "../support/crafted-certificates";

const DAY = 86_400_000;

export interface ZlintCase {
  readonly name: string;
  readonly leaf: ParsedCertificate;
  /** Intermediates, leaf-first. */
  readonly chain: ParsedCertificate[];
}

const validFor = (days: number, from = Date.now() - DAY) => ({ notBefore: new Date(from), notAfter: new Date(from + days * DAY - 1000) });

/** Each row: a name and the crafted leaf; all are signed by the test intermediate unless said. */
export const CRAFTED: ReadonlyArray<readonly [string, CraftOptions]> = [
  ["sound ECDSA P-256", {}],
  ["sound ECDSA P-384", { key: "P-384" }],
  ["sound RSA 2048", { key: "RSA-2048", keyUsage: ["digitalSignature", "keyEncipherment"] }],
  ["sound, serverAuth and clientAuth", { extendedKeyUsage: [SERVER_AUTH, CLIENT_AUTH] }],
  ["sound wildcard", { sans: ["*.example.com", "example.com"] }],
  ["sound internationalized name (A-label)", { sans: ["xn--bcher-kva.example.com"] }],
  ["sound IP address and name", { sans: ["api.example.com", "192.0.2.10"] }],
  ["sound, 200 days", validFor(200)],
  ["201 days", validFor(201)],
  ["398 days", validFor(398)],
  ["399 days", validFor(399)],
  ["826 days", validFor(826)],
  ["RSA 1024", { key: "RSA-1024", keyUsage: ["digitalSignature", "keyEncipherment"] }],
  ["ECDSA P-521", { key: "P-521" }],
  ["no subjectAltName", { sans: null, commonName: "api.example.com" }],
  ["subjectAltName with only an empty list", { sans: [] }],
  ["UTF-8 dNSName", { sans: ["api.example.com"], rawDnsNames: [Buffer.from("bücher.example.com")] }],
  ["wildcard not whole left-most label", { sans: ["a*.example.com"] }],
  ["two wildcards", { sans: ["*.*.example.com"] }],
  ["wildcard in a middle label", { sans: ["www.*.example.com"] }],
  ["bare wildcard", { sans: ["*"] }],
  ["empty label", { sans: ["api..example.com"] }],
  ["leading dot", { sans: [".example.com"] }],
  ["64-character label", { sans: [`${"a".repeat(64)}.example.com`] }],
  ["underscore", { sans: ["_acme.example.com"] }],
  ["hyphen at a label's start", { sans: ["-api.example.com"] }],
  ["reserved '--' label", { sans: ["ab--cd.example.com"] }],
  ["A-label that does not decode", { sans: ["xn--zz.example.com"] }],
  ["space in a name", { sans: ["api example.com"] }],
  ["EKU clientAuth only", { extendedKeyUsage: [CLIENT_AUTH] }],
  ["no EKU", { extendedKeyUsage: null }],
  ["EKU with code signing", { extendedKeyUsage: [SERVER_AUTH, "1.3.6.1.5.5.7.3.3"] }],
  ["EKU anyExtendedKeyUsage", { extendedKeyUsage: ["2.5.29.37.0"] }],
  ["EKU with e-mail protection", { extendedKeyUsage: [SERVER_AUTH, "1.3.6.1.5.5.7.3.4"] }],
  ["ECDSA with keyEncipherment", { keyUsage: ["digitalSignature", "keyEncipherment"] }],
  ["ECDSA without digitalSignature", { keyUsage: ["keyAgreement"] }],
  ["RSA with keyAgreement", { key: "RSA-2048", keyUsage: ["digitalSignature", "keyAgreement"] }],
  ["leaf with keyCertSign", { keyUsage: ["digitalSignature", "keyCertSign"] }],
  ["RSA keyEncipherment only", { key: "RSA-2048", keyUsage: ["keyEncipherment"] }],
  ["no keyUsage", { keyUsage: null }],
  ["signed with SHA-1", { signatureHash: "SHA-1" }],
  ["signed with SHA-384", { signatureHash: "SHA-384" }],
];

let built: Promise<ZlintCase[]> | undefined;

export function zlintCases(): Promise<ZlintCase[]> {
  built ??= (async () => {
    const { intermediate } = await testAuthorities();
    const cases: ZlintCase[] = [];
    for (const [name, options] of CRAFTED) cases.push({ name, leaf: (await craftCertificate(options)).parsed, chain: [intermediate.parsed] });
    cases.push({ name: "signed with MD5", leaf: md5Signed(), chain: [] });
    return cases;
  })();
  return built;
}

/** A leaf signed with md5WithRSAEncryption by a throwaway RSA CA, made with `openssl x509 -req -md5`. */
function md5Signed(): ParsedCertificate {
  const work = mkdtempSync(path.join(os.tmpdir(), "certstage-md5-"));
  try {
    const run = (args: string[]) => execFileSync("openssl", args, { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    writeFileSync(path.join(work, "ext.cnf"), "[ ext ]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:api.example.com\n");
    run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=md5 test CA"]);
    run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-subj", "/CN=api.example.com", "-out", "leaf.csr"]);
    run(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x1f2e3d", "-days", "30", "-md5", "-extfile", "ext.cnf", "-extensions", "ext", "-out", "leaf.pem"]);
    const pem = readFileSync(path.join(work, "leaf.pem"), "utf8");
    const x509 = new X509Certificate(pem);
    return { x509, pem, facts: describeCertificate(x509) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A case where certstage reports a code and no zlint lint of it fires, and why certstage is right to. */
export interface Stricter {
  readonly case: string;
  readonly code: string;
  readonly profiles: readonly ("public" | "private")[];
  readonly reason: string;
}

export const STRICTER: readonly Stricter[] = [
  {
    case: "ECDSA P-521",
    code: "KEY_ALGORITHM_NOT_ALLOWED",
    profiles: ["public", "private"],
    reason: "the Baseline Requirements allow P-521 and zlint passes it, but Mozilla's root store policy (§5.1) takes only P-256 and P-384 keys; certstage keeps to what every client accepts",
  },
  {
    case: "hyphen at a label's start",
    code: "DNS_NAME_INVALID",
    profiles: ["public", "private"],
    reason: "RFC 5280 §4.2.1.6 requires the preferred name syntax of RFC 1034 §3.5, where a label starts and ends with a letter or digit; zlint's lints check which characters a label holds, not where its hyphens are",
  },
];
