/**
 * Reading X.509 certificates with Node's crypto and describing them the way certstage reports a
 * version: the facts a reviewer needs in a preview and a server operator needs in `status`.
 */
import { createHash, createPublicKey, KeyObject, X509Certificate } from "node:crypto";
import { CertstageError } from "../errors";
import { alternativeNamesOf } from "./certificate-extensions";
import { DER_TAG, readElement, sequenceChildren } from "./der";
import { encodePem, expectLabels, splitPem } from "./pem";

export interface CertificateFacts {
  readonly serial: string;
  readonly subject: string;
  readonly issuer: string;
  /** DNS names and IP addresses from subjectAltName, in certificate order (RFC 5280 §4.2.1.6). */
  readonly sans: string[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** e.g. `RSA 2048`, `ECDSA P-256`, `Ed25519`. */
  readonly keyAlgorithm: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex as OpenSSL prints it. */
  readonly fingerprintSha256: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo: equal for every certificate of one key. */
  readonly publicKeySha256: string;
  readonly isCa: boolean;
}

export interface ParsedCertificate {
  readonly x509: X509Certificate;
  /** Canonical single-block PEM. */
  readonly pem: string;
  readonly facts: CertificateFacts;
}

const CURVE_NAMES: Record<string, string> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

export function describeKeyAlgorithm(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa":
      return `RSA ${details.modulusLength ?? "?"}`;
    case "rsa-pss":
      return `RSA-PSS ${details.modulusLength ?? "?"}`;
    case "ec":
      return `ECDSA ${CURVE_NAMES[details.namedCurve ?? ""] ?? details.namedCurve ?? "?"}${hasExplicitCurve(key) ? " (explicit parameters)" : ""}`;
    case "ed25519":
      return "Ed25519";
    case "ed448":
      return "Ed448";
    default:
      return key.asymmetricKeyType ?? "unknown";
  }
}

/**
 * An EC key that spells out its curve instead of naming it: Node reports the curve it matches,
 * but RFC 5480 §2.1.1 says PKIX keys MUST NOT do this, and TLS clients refuse such certificates.
 */
function hasExplicitCurve(key: KeyObject): boolean {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const algorithm = sequenceChildren(sequenceChildren(readElement(publicKey.export({ type: "spki", format: "der" })))?.[0]);
  return algorithm?.[1]?.tag === DER_TAG.sequence;
}

/** SHA-256 over the DER SubjectPublicKeyInfo, as lower-case hex. */
export function publicKeySha256(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

/**
 * The certificate's DNS names and IP addresses: Node's rendering, or ours where Node refuses.
 * Undefined when neither can read the extension (its DER is damaged).
 */
function subjectAltNames(x509: X509Certificate): string[] | undefined {
  let rendered: string | undefined;
  try {
    rendered = x509.subjectAltName;
  } catch {
    try {
      return alternativeNamesOf(x509);
    } catch {
      return undefined;
    }
  }
  return parseSubjectAltName(rendered);
}

/**
 * Splits Node's `subjectAltName` rendering ("DNS:a.test, IP Address:127.0.0.1") into plain
 * names. Node quotes values that contain separators, so a naive split on ", " is wrong.
 */
export function parseSubjectAltName(rendered: string | undefined): string[] {
  if (!rendered) return [];
  const names: string[] = [];
  let position = 0;
  while (position < rendered.length) {
    const colon = rendered.indexOf(":", position);
    if (colon < 0) break;
    const kind = rendered.slice(position, colon).trim();
    let value: string;
    let next: number;
    if (rendered[colon + 1] === '"') {
      // A JSON string: skip each escape whole, so a value ending in a backslash ("a\\") ends right.
      let end = colon + 2;
      while (end < rendered.length && rendered[end] !== '"') end += rendered[end] === "\\" ? 2 : 1;
      value = JSON.parse(rendered.slice(colon + 1, end + 1)) as string;
      next = rendered.indexOf(", ", end);
    } else {
      next = rendered.indexOf(", ", colon);
      value = rendered.slice(colon + 1, next < 0 ? undefined : next);
    }
    if (kind === "DNS" || kind === "IP Address") names.push(value);
    if (next < 0) break;
    position = next + 2;
  }
  return names;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** OpenSSL's ASN1_TIME_print form, which Node's validFrom and validTo use: `Jan  2 03:04:05 2026 GMT`. */
const OPENSSL_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{1,4}) GMT$/;

/**
 * A validity time as OpenSSL prints it, in ISO form; undefined for the "Bad time value" OpenSSL
 * prints for a time it cannot read. Parsed here rather than by `Date`, which reads year 1 as 2001.
 */
export function validityTime(printed: string): string | undefined {
  const match = OPENSSL_TIME.exec(printed);
  const month = MONTHS.indexOf(match?.[1] ?? "");
  if (!match || month < 0) return undefined;
  const [day, hour, minute, second, year] = [match[2], match[3], match[4], match[5], match[6]].map(Number);
  const time = new Date(Date.UTC(2000, month, day, hour, minute, second));
  time.setUTCFullYear(year);
  // Date.UTC rolls 31 February over into March: a time that does not round-trip did not exist.
  if (time.getUTCMonth() !== month || time.getUTCDate() !== day || time.getUTCHours() !== hour || time.getUTCMinutes() !== minute || time.getUTCSeconds() !== second) return undefined;
  return time.toISOString();
}

/**
 * Characters that reorder or hide text (bidi controls, zero-width, C1 controls). Node escapes C0
 * controls in names but not these, and a subject is shown in previews and messages: a right-to-left
 * override could make `api.example.test` out of another name.
 */
const INVISIBLE = /[\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** A distinguished name on one line, invisible characters as RFC 4514 hex escapes of their UTF-8 bytes, as Node writes C0 controls. */
function displayedName(name: string | undefined): string {
  const escaped = (name ?? "").replace(INVISIBLE, (character) => [...Buffer.from(character)].map((byte) => `\\${byte.toString(16).toUpperCase()}`).join(""));
  return escaped.split("\n").join(", ");
}

/** The facts of a parsed certificate; throws CERTIFICATE_UNPARSEABLE for what X.509 parsing let through but cannot be described. */
export function describeCertificate(x509: X509Certificate, field = "certificate", position = 1): CertificateFacts {
  const unreadable = (what: string) =>
    new CertstageError("CERTIFICATE_UNPARSEABLE", `certificate ${position} has ${what}`, { field, fix: "export the certificate again from the CA or with `openssl x509 -outform PEM`" });
  const notBefore = validityTime(x509.validFrom);
  const notAfter = validityTime(x509.validTo);
  if (notBefore === undefined || notAfter === undefined) throw unreadable("a validity time that is not a valid date");
  let publicKey: KeyObject;
  try {
    publicKey = x509.publicKey;
  } catch {
    throw unreadable("a public key of a type certstage cannot read");
  }
  const sans = subjectAltNames(x509);
  if (sans === undefined) throw unreadable("a subjectAltName extension that cannot be read");
  return {
    serial: x509.serialNumber.toLowerCase(),
    // ACME CAs may issue with an empty subject (names live in the SAN only): Node gives undefined.
    subject: displayedName(x509.subject),
    issuer: displayedName(x509.issuer),
    sans,
    notBefore,
    notAfter,
    keyAlgorithm: describeKeyAlgorithm(publicKey),
    fingerprintSha256: x509.fingerprint256,
    publicKeySha256: publicKeySha256(publicKey),
    isCa: x509.ca,
  };
}

/** Parses exactly one certificate. */
export function parseCertificatePem(text: string, field: string): ParsedCertificate {
  const blocks = splitPem(text, { field });
  expectLabels(blocks, ["CERTIFICATE"], { field });
  if (blocks.length !== 1) {
    throw new CertstageError("PEM_MALFORMED", `expected one certificate, found ${blocks.length}`, {
      field,
      fix: "put the server certificate here and its intermediates in the chain input",
    });
  }
  return parseCertificateDer(blocks[0].der, field, 1);
}

/** A certificate input: the leaf, and the intermediates that came with it in the same text. */
export interface LeafBundle {
  readonly leaf: ParsedCertificate;
  /** Certificates after (or around) the leaf, in the order given: certbot's fullchain.pem holds them. */
  readonly intermediates: ParsedCertificate[];
}

/**
 * Reads a certificate input that holds one certificate, or the leaf with its intermediates (as
 * certbot's fullchain.pem and many CA downloads do). The leaf is the one certificate that is not
 * a CA; in a bundle of CA certificates only, the one that issued none of the others.
 */
export function parseLeafBundlePem(text: string, field: string): LeafBundle {
  const blocks = splitPem(text, { field });
  expectLabels(blocks, ["CERTIFICATE"], { field });
  const certificates = blocks.map((block, index) => parseCertificateDer(block.der, field, index + 1));
  if (certificates.length === 1) return { leaf: certificates[0], intermediates: [] };
  const leaves = certificates.filter((certificate) => !certificate.facts.isCa);
  const candidates = leaves.length > 0 ? leaves : certificates.filter((certificate) => !certificates.some((other) => other !== certificate && other.x509.checkIssued(certificate.x509) && other.x509.verify(certificate.x509.publicKey)));
  if (candidates.length !== 1) {
    throw new CertstageError("PEM_MALFORMED", `expected one certificate, or one leaf followed by its intermediates; found ${certificates.length} certificates of which ${candidates.length} could be the leaf (${candidates.map((certificate) => certificate.facts.subject || "no subject").join("; ")})`, {
      field,
      fix: "put one server certificate here (with or without its intermediates after it); manage other certificates as versions of their own",
    });
  }
  const [leaf] = candidates;
  return { leaf, intermediates: certificates.filter((certificate) => certificate !== leaf) };
}

/** Parses zero or more certificates (a chain); empty or whitespace-only text is an empty chain. */
export function parseCertificateChainPem(text: string | undefined, field: string): ParsedCertificate[] {
  if (text === undefined || text.trim() === "") return [];
  const blocks = splitPem(text, { field });
  expectLabels(blocks, ["CERTIFICATE"], { field });
  return blocks.map((block, index) => parseCertificateDer(block.der, field, index + 1));
}

function parseCertificateDer(der: Buffer, field: string, position: number): ParsedCertificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (cause) {
    throw new CertstageError("CERTIFICATE_UNPARSEABLE", `certificate ${position} is not a valid X.509 certificate (${(cause as Error).message})`, {
      field,
      fix: "export the certificate again from the CA or with `openssl x509 -outform PEM`",
    });
  }
  return { x509, pem: encodePem("CERTIFICATE", der), facts: describeCertificate(x509, field, position) };
}
