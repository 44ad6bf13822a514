/**
 * Turns the PEM inputs of a version into its parts (leaf, key, chain in order) and then into the
 * files certstage stores, collecting every structural problem at once so a preview reports all of
 * them together instead of one per run.
 */
import type { KeyObject } from "node:crypto";
import { CertstageError, isCertstageError } from "../errors";
import { CertificateFacts, parseCertificateChainPem, parseLeafBundlePem, ParsedCertificate } from "./certificate";
import { analyseChain, ChainAnalysis } from "./chain";
import { publicJwk, PublicJwk } from "./jwk";
import { keyMatchesCertificate, parsePrivateKeyPem, toPkcs8Pem } from "./private-key";

export interface UploadInput {
  readonly certificatePem: string;
  /** Absent for CA certificates, whose key certstage does not need. */
  readonly privateKeyPem?: string;
  readonly chainPem?: string;
  /** For an encrypted private key. */
  readonly passphrase?: string;
}

/** What a version directory holds, in canonical PEM. */
export interface VersionMaterial {
  readonly certificatePem: string;
  /** Intermediates leaf-first; empty string when there are none. */
  readonly chainPem: string;
  /** Leaf followed by the chain: what a TLS server sends. */
  readonly fullchainPem: string;
  /** Unencrypted PKCS#8; absent for a CA certificate uploaded without its key. */
  readonly privateKeyPem?: string;
  /** The CSR of a generated version. */
  readonly csrPem?: string;
  /** The version as a PKCS#12 keystore (pki/pkcs12.ts), base64; only when the version asked for one. Secret. */
  readonly pkcs12?: string;
  readonly facts: CertificateFacts;
  readonly chainFingerprints: string[];
  readonly jwk: PublicJwk;
}

export interface VersionParts {
  readonly leaf: ParsedCertificate;
  readonly key?: KeyObject;
  readonly chain: ChainAnalysis;
  /** Set when the certificate input held intermediates too, which joined the chain. */
  readonly split?: CertificateSplit;
}

/** What came apart when the certificate input held the leaf and its intermediates. */
export interface CertificateSplit {
  /** Subjects of the intermediates taken from the certificate input into the chain. */
  readonly intermediates: string[];
  /** Certificates of the chain input that were already among them, so were dropped. */
  readonly duplicatesDropped: number;
}

/** Input field names for messages, e.g. `upload.certificatePem`. */
export interface FieldNames {
  readonly certificate: string;
  readonly privateKey: string;
  readonly chain: string;
}

export type Inspection<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: CertstageError[] };

export const UPLOAD_FIELDS: FieldNames = { certificate: "upload.certificatePem", privateKey: "upload.privateKeyPem", chain: "upload.chainPem" };

/**
 * Parses certificate, key and chain, orders the chain and proves the key belongs to the
 * certificate. Chain problems are left in `chain.problems` for the policies to report.
 */
export function parseVersionParts(input: UploadInput, fields: FieldNames): Inspection<VersionParts> {
  const problems: CertstageError[] = [];
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (!isCertstageError(error)) throw error;
      problems.push(error);
      return undefined;
    }
  };

  const bundle = attempt(() => parseLeafBundlePem(input.certificatePem, fields.certificate));
  const leaf = bundle?.leaf;
  const key = input.privateKeyPem === undefined ? undefined : attempt(() => parsePrivateKeyPem(input.privateKeyPem as string, fields.privateKey, input.passphrase));
  const chainCertificates = attempt(() => parseCertificateChainPem(input.chainPem, fields.chain));

  if (leaf && key) {
    const mismatch = keyMismatch(leaf, key, fields.privateKey, "the private key does not belong to the certificate");
    if (mismatch) problems.push(mismatch);
  }
  if (problems.length > 0 || !bundle || !leaf || !chainCertificates) return { ok: false, problems };
  if (bundle.intermediates.length === 0) return { ok: true, value: { leaf, key, chain: analyseChain(leaf, chainCertificates, fields.chain) } };
  // The intermediates that came with the leaf come first; copies of them in the chain input go.
  const carried = new Set(bundle.intermediates.map((certificate) => certificate.facts.fingerprintSha256));
  const rest = chainCertificates.filter((certificate) => !carried.has(certificate.facts.fingerprintSha256));
  const split: CertificateSplit = { intermediates: bundle.intermediates.map((certificate) => certificate.facts.subject), duplicatesDropped: chainCertificates.length - rest.length };
  return { ok: true, value: { leaf, key, chain: analyseChain(leaf, [...bundle.intermediates, ...rest], fields.chain), split } };
}

/** One line for the preview: what was split off the certificate input, and what was dropped. */
export function describeSplit(split: CertificateSplit, fields: FieldNames): string {
  const count = split.intermediates.length;
  const dropped = split.duplicatesDropped > 0 ? `; ${split.duplicatesDropped} identical certificate${split.duplicatesDropped === 1 ? "" : "s"} in ${fields.chain} dropped` : "";
  return `${fields.certificate} held the certificate and ${count} intermediate${count === 1 ? "" : "s"} (${split.intermediates.join("; ")}), which became the chain${dropped}`;
}

/** A KEY_MISMATCH error when `key` is not the private half of `leaf`'s public key. */
export function keyMismatch(leaf: ParsedCertificate, key: KeyObject, field: string, problem: string): CertstageError | undefined {
  if (keyMatchesCertificate(key, leaf.x509)) return undefined;
  return new CertstageError("KEY_MISMATCH", `${problem} (certificate public key sha256 ${leaf.facts.publicKeySha256.slice(0, 16)}…)`, {
    field,
    fix: "pass the key that was used to create this certificate's CSR; compare `openssl x509 -noout -pubkey` with `openssl pkey -pubout`",
  });
}

/** The stored form of a version: canonical PEM, chain leaf-first, key as PKCS#8. */
export function assembleMaterial(parts: VersionParts, extra: { readonly csrPem?: string; readonly certificateField?: string } = {}): VersionMaterial {
  const chainPem = parts.chain.ordered.map((certificate) => certificate.pem).join("");
  return {
    certificatePem: parts.leaf.pem,
    chainPem,
    fullchainPem: parts.leaf.pem + chainPem,
    ...(parts.key ? { privateKeyPem: toPkcs8Pem(parts.key) } : {}),
    ...(extra.csrPem ? { csrPem: extra.csrPem } : {}),
    facts: parts.leaf.facts,
    chainFingerprints: parts.chain.ordered.map((certificate) => certificate.facts.fingerprintSha256),
    jwk: publicJwk(parts.leaf.x509, parts.chain.ordered.map((certificate) => certificate.x509), extra.certificateField),
  };
}

/**
 * The structural check of an uploaded server version: everything parses, the key matches, the
 * chain has no broken link. Policy (dates, names, key strength, warnings) is `validation/`'s.
 */
export function inspectUpload(input: UploadInput): Inspection<VersionMaterial> {
  const parsed = parseVersionParts(input, UPLOAD_FIELDS);
  if (!parsed.ok) return parsed;
  if (parsed.value.chain.problems.length > 0) return { ok: false, problems: parsed.value.chain.problems };
  try {
    return { ok: true, value: assembleMaterial(parsed.value, { certificateField: UPLOAD_FIELDS.certificate }) };
  } catch (error) {
    if (!isCertstageError(error)) throw error;
    return { ok: false, problems: [error] };
  }
}
