/**
 * One interface per way a version is made (`upload`, `generate`, `signed`): what it can judge at
 * preview, what identifies its content, and how it produces the files at `up`.
 */
import { createHash } from "node:crypto";
import type { CertstageError } from "../../errors";
import type { Planned } from "../../lifecycle/diff";
import type { CertificateFacts } from "../../pki/certificate";
import type { SubjectInput } from "../../pki/certificate-request";
import { unicodeForm } from "../../pki/dns-names";
import type { KeyAlgorithm } from "../../pki/key-generation";
import type { KeystoreRequest } from "../../pki/pkcs12";
import type { UploadInput, VersionMaterial } from "../../pki/version-material";
import type { Store, VersionMethod } from "../../store";
import type { ValidationProfile } from "../../validation/profiles";

export interface GenerateInput {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly subject: SubjectInput;
  readonly sans: string[];
}

export interface SignedInput {
  /** The earlier version of the same certificate whose private key this certificate was issued for. */
  readonly keyFromVersion: number;
  readonly certificatePem: string;
  readonly chainPem?: string;
}

/** CertificateVersion inputs as the provider receives them. */
export interface VersionInputs {
  readonly certificate: string;
  /** The owning Certificate's type, passed by the wrapper when it knows it. */
  readonly certificateType?: "server" | "ca";
  /** The owning Certificate's own validation profile, passed by the wrapper when it sets one. */
  readonly certificateProfile?: ValidationProfile;
  readonly upload?: UploadInput;
  readonly generate?: GenerateInput;
  readonly signed?: SignedInput;
  readonly domains?: string[];
  readonly acknowledge?: string[];
  /** Also save the version as keystore.p12 (pki/pkcs12.ts). */
  readonly keystore?: KeystoreRequest;
  /** Keep the private key in state as the secret `privateKeyPem` output (default: the store only). */
  readonly exportPrivateKey?: boolean;
}

export interface MethodContext {
  readonly inputs: VersionInputs;
  readonly store: Store;
  /** Undefined when not known yet (a certificate this run creates, named by an unknown output). */
  readonly certificateType: "server" | "ca" | undefined;
  /** The certificate's profile, else the stack's. */
  readonly profile: ValidationProfile;
  /** Names the version production serves covers, if production serves one. */
  readonly productionSans?: readonly string[];
  readonly now: Date;
}

/** The facts a preview can show about the version to be, each possibly unknown until `up`. */
export type PreviewFacts = Partial<Record<keyof CertificateFacts | "chainFingerprints" | "sansUnicode", Planned<unknown>>>;

export interface Examination {
  readonly problems: CertstageError[];
  /** What a reviewer should know that is no problem (an input that was split, say). */
  readonly notes?: string[];
  /** What makes this version what it is; a change of it is a new version. */
  readonly contentDigest: Planned<string>;
  readonly preview: PreviewFacts;
}

export interface VersionMethodHandler {
  readonly method: VersionMethod;
  /** Everything knowable before `up`: run by `check` at preview, and again at `up`. */
  examine(context: MethodContext): Promise<Examination>;
  /** The files of the new version; throws the first problem if the inputs went bad since preview. */
  materialize(context: MethodContext): Promise<VersionMaterial>;
}

export function digestOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

export function factsPreview(facts: CertificateFacts, chainFingerprints: string[]): PreviewFacts {
  const preview: PreviewFacts = { chainFingerprints: { known: true, value: chainFingerprints }, sansUnicode: { known: true, value: facts.sans.map(unicodeForm) } };
  for (const field of ["subject", "sans", "issuer", "serial", "notBefore", "notAfter", "keyAlgorithm", "fingerprintSha256", "publicKeySha256"] as const) {
    preview[field] = { known: true, value: facts[field] };
  }
  return preview;
}
