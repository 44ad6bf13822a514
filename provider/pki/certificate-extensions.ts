/**
 * The parts of a certificate that validation judges and Node's X509Certificate does not expose:
 * key usage bits, extended key usages, the raw subjectAltName entries (to see a dNSName that is
 * not ASCII), and the signature algorithm. Extensions are read with @peculiar/x509; the signature
 * algorithm is read from the DER directly (der.ts), because a library that maps it to WebCrypto
 * cannot name the algorithms that matter most here (MD5, MD2).
 */
import type { X509Certificate } from "node:crypto";
import { objectIdentifier, readElement, sequenceChildren } from "./der";

export interface CertificateExtensions {
  /** keyUsage bit names (RFC 5280 §4.2.1.3), or undefined when the extension is absent. */
  readonly keyUsage?: readonly KeyUsageName[];
  /** extendedKeyUsage OIDs (RFC 5280 §4.2.1.12), or undefined when the extension is absent. */
  readonly extendedKeyUsage?: readonly string[];
  /** subjectAltName present at all (it may still hold no DNS name or IP address). */
  readonly hasSubjectAltName: boolean;
  /** dNSName entries as stored: a character above U+007F means the bytes were not IA5 (ASCII). */
  readonly dnsNames: readonly string[];
  /** The signature algorithm's OID, and its name when certstage knows it. */
  readonly signatureAlgorithm: { readonly oid: string; readonly name: string };
}

export type KeyUsageName = "digitalSignature" | "nonRepudiation" | "keyEncipherment" | "dataEncipherment" | "keyAgreement" | "keyCertSign" | "cRLSign" | "encipherOnly" | "decipherOnly";

const KEY_USAGE_BITS: ReadonlyArray<[number, KeyUsageName]> = [
  [1, "digitalSignature"],
  [2, "nonRepudiation"],
  [4, "keyEncipherment"],
  [8, "dataEncipherment"],
  [16, "keyAgreement"],
  [32, "keyCertSign"],
  [64, "cRLSign"],
  [128, "encipherOnly"],
  [256, "decipherOnly"],
];

export const EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
export const EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
export const EKU_ANY = "2.5.29.37.0";

/** Signature algorithms by OID (RFC 3279, RFC 4055, RFC 5758, RFC 8410). */
export const SIGNATURE_ALGORITHMS: Record<string, string> = {
  "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.10040.4.3": "dsaWithSHA1",
  "1.2.840.10045.4.1": "ecdsaWithSHA1",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
  "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.2.840.10045.4.3.2": "ecdsaWithSHA256",
  "1.2.840.10045.4.3.3": "ecdsaWithSHA384",
  "1.2.840.10045.4.3.4": "ecdsaWithSHA512",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
};

/** Broken hashes: signatures over them can be forged, and clients refuse them (SHA-1 since 2017). */
export const WEAK_SIGNATURE_ALGORITHMS = new Set(["md2WithRSAEncryption", "md5WithRSAEncryption", "sha1WithRSAEncryption", "dsaWithSHA1", "ecdsaWithSHA1"]);

export function readExtensions(certificate: X509Certificate): CertificateExtensions {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  const parsed = new x509.X509Certificate(certificate.raw);
  const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
  const extendedKeyUsage = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  const alternativeNames = alternativeNameEntries(parsed);
  const oid = signatureAlgorithmOid(certificate.raw);
  return {
    ...(keyUsage ? { keyUsage: KEY_USAGE_BITS.filter(([bit]) => (keyUsage.usages & bit) !== 0).map(([, name]) => name) } : {}),
    ...(extendedKeyUsage ? { extendedKeyUsage: extendedKeyUsage.usages.map(String) } : {}),
    hasSubjectAltName: alternativeNames !== undefined,
    dnsNames: (alternativeNames ?? []).filter((name) => name.type === "dns").map((name) => name.value),
    signatureAlgorithm: { oid, name: SIGNATURE_ALGORITHMS[oid] ?? oid },
  };
}

/**
 * DNS names and IP addresses of the subjectAltName, in certificate order, read with
 * @peculiar/x509: for a certificate whose subjectAltName Node will not render (Node 22 throws
 * "Failed to format subject alternative name" for one that holds no names at all, where Node 20
 * gave an empty string).
 */
export function alternativeNamesOf(certificate: X509Certificate): string[] {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  return (alternativeNameEntries(new x509.X509Certificate(certificate.raw)) ?? []).filter((name) => name.type === "dns" || name.type === "ip").map((name) => name.value);
}

/** The subjectAltName's entries (type and value, in certificate order); undefined without the extension. */
function alternativeNameEntries(parsed: import("@peculiar/x509").X509Certificate): ReadonlyArray<{ readonly type: string; readonly value: string }> | undefined {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  return parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? undefined;
}

/**
 * The outer signatureAlgorithm of a DER certificate (RFC 5280 §4.1.1.2): the OID that begins the
 * second element of the Certificate SEQUENCE. A structure der.ts cannot read gives "unknown".
 */
export function signatureAlgorithmOid(der: Buffer): string {
  const [, algorithm] = sequenceChildren(readElement(der)) ?? [];
  return objectIdentifier(sequenceChildren(algorithm)?.[0]) ?? "unknown";
}
