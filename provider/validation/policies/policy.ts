/**
 * What every certificate policy sees and returns. A policy is a small pure function over the
 * parsed version: it reports every problem it finds as a CertstageError with a code from
 * profiles.ts; the profile then decides whether that code is an error, a warning or off.
 */
import type { CertstageError } from "../../errors";
import type { ParsedCertificate } from "../../pki/certificate";
import { CertificateExtensions, readExtensions } from "../../pki/certificate-extensions";
import type { ChainAnalysis } from "../../pki/chain";
import type { ValidationProfile } from "../profiles";

export interface PolicySubject {
  readonly leaf: ParsedCertificate;
  readonly chain: ChainAnalysis;
  readonly certificateType: "server" | "ca";
  readonly profile: ValidationProfile;
  /** Names the certificate must cover (the resource's `domains` input). */
  readonly domains: readonly string[];
  /** Names the version production serves now covers, when production serves one. */
  readonly productionSans?: readonly string[];
  readonly now: Date;
  /** Input fields, for messages. */
  readonly certificateField: string;
  readonly chainField: string;
}

export type Policy = (subject: PolicySubject) => CertstageError[];

const extensionCache = new WeakMap<ParsedCertificate, CertificateExtensions>();

/** The extensions of a parsed certificate, read once however many policies ask. */
export function extensionsOf(certificate: ParsedCertificate): CertificateExtensions {
  let extensions = extensionCache.get(certificate);
  if (!extensions) {
    extensions = readExtensions(certificate.x509);
    extensionCache.set(certificate, extensions);
  }
  return extensions;
}

export const DAY_MS = 86_400_000;
