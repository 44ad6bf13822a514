/**
 * Turns the PEM inputs of a version into the files certstage stores, collecting every problem at
 * once so that a preview reports all of them together instead of one per run.
 */
import { CertstageError, isCertstageError } from "../errors";
import { CertificateFacts, parseCertificateChainPem, parseCertificatePem, ParsedCertificate } from "./certificate";
import { keyMatchesCertificate, parsePrivateKeyPem, toPkcs8Pem } from "./private-key";

export interface UploadInput {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly chainPem?: string;
}

/** What a version directory holds, in canonical PEM. */
export interface VersionMaterial {
  readonly certificatePem: string;
  /** Intermediates, leaf-first order as given; empty string when there are none. */
  readonly chainPem: string;
  /** Leaf followed by the chain: what a TLS server sends. */
  readonly fullchainPem: string;
  /** Unencrypted PKCS#8. */
  readonly privateKeyPem: string;
  readonly facts: CertificateFacts;
  readonly chainFingerprints: string[];
}

export type Inspection<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: CertstageError[] };

/** The fields names used in messages, relative to the resource's inputs. */
const FIELDS = {
  certificate: "upload.certificatePem",
  privateKey: "upload.privateKeyPem",
  chain: "upload.chainPem",
} as const;

export function inspectUpload(input: UploadInput): Inspection<VersionMaterial> {
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

  const leaf = attempt(() => parseCertificatePem(input.certificatePem, FIELDS.certificate));
  const key = attempt(() => parsePrivateKeyPem(input.privateKeyPem, FIELDS.privateKey));
  const chain = attempt(() => parseCertificateChainPem(input.chainPem, FIELDS.chain));

  if (leaf && key && !keyMatchesCertificate(key, leaf.x509)) {
    problems.push(
      new CertstageError(
        "KEY_MISMATCH",
        `the private key does not belong to the certificate (certificate public key sha256 ${leaf.facts.publicKeySha256.slice(0, 16)}…)`,
        {
          field: FIELDS.privateKey,
          fix: "pass the key that was used to create this certificate's CSR; compare `openssl x509 -noout -pubkey` with `openssl pkey -pubout`",
        },
      ),
    );
  }
  if (problems.length > 0 || !leaf || !key || !chain) return { ok: false, problems };
  return { ok: true, value: assemble(leaf, toPkcs8Pem(key), chain) };
}

function assemble(leaf: ParsedCertificate, privateKeyPem: string, chain: ParsedCertificate[]): VersionMaterial {
  const chainPem = chain.map((certificate) => certificate.pem).join("");
  return {
    certificatePem: leaf.pem,
    chainPem,
    fullchainPem: leaf.pem + chainPem,
    privateKeyPem,
    facts: leaf.facts,
    chainFingerprints: chain.map((certificate) => certificate.facts.fingerprintSha256),
  };
}
