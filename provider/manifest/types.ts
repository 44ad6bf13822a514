/**
 * The shape of `certificates.yaml`, as TypeScript. The JSON Schema that editors and `certstage
 * lint` use (schema/manifest.schema.json, built by schema.ts) declares the same properties with
 * the same optionality; test/unit/manifest/types-match-schema.test.ts holds the two together.
 *
 * File paths are relative to the manifest's directory. A version is named by its key (`v1`,
 * `2027-renewal`), and deployments refer to it by that name, or by a number for a version that
 * the store holds already (a rollback to a version made before the manifest).
 */
import type { KeyAlgorithm } from "../pki/key-generation";
import type { Pkcs12Profile } from "../pki/pkcs12";
import type { CertificateType } from "../store/store";
import type { ValidationProfile, WarningCode } from "../validation/profiles";

export interface ManifestFile {
  /** The schema an editor validates against; ignored by certstage. */
  readonly $schema?: string;
  /** Certificates by name: the name is the certificate's identity in the store. */
  readonly certificates: Readonly<Record<string, ManifestCertificate>>;
}

export interface ManifestCertificate {
  readonly displayName?: string;
  readonly type?: CertificateType;
  readonly owner?: string;
  readonly shareWith?: readonly string[];
  readonly description?: string;
  readonly profile?: ValidationProfile;
  readonly versions?: Readonly<Record<string, ManifestVersion>>;
  readonly deployments?: Readonly<Record<string, ManifestDeployment>>;
}

/** Exactly one of `upload`, `generate`, `signed` and `acme`. */
export interface ManifestVersion {
  readonly upload?: ManifestUpload;
  readonly generate?: ManifestGenerate;
  readonly signed?: ManifestSigned;
  readonly acme?: ManifestAcme;
  readonly domains?: readonly string[];
  readonly acknowledge?: readonly WarningCode[];
  /** Also save the version as keystore.p12 (not for acme versions). */
  readonly keystore?: ManifestKeystore;
}

/**
 * A PKCS#12 keystore of the version. The password is named, never written: `certstage:<key>`
 * (a stack config secret) or `env:<NAME>` (settings/secret-source.ts).
 */
export interface ManifestKeystore {
  readonly passwordFrom: string;
  readonly profile?: Pkcs12Profile;
  readonly friendlyName?: string;
}

export interface ManifestUpload {
  readonly certificateFile: string;
  readonly privateKeyFile?: string;
  readonly chainFile?: string;
}

export interface ManifestGenerate {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly subject: ManifestSubject;
  readonly sans: readonly string[];
}

export interface ManifestSubject {
  readonly commonName: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly locality?: string;
  readonly state?: string;
  readonly country?: string;
}

export interface ManifestSigned {
  /** The name of a version of this certificate in the manifest, or a version number in the store. */
  readonly keyFromVersion: string | number;
  readonly certificateFile: string;
  readonly chainFile?: string;
}

export interface ManifestAcme {
  readonly domains: readonly string[];
  readonly directory: string;
  readonly directoryCaFile?: string;
  readonly contact?: string;
  readonly acceptTermsOfService: boolean;
  readonly challenge: ManifestChallenge;
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly keyPolicy?: "always" | "reuse";
  readonly renewBefore?: string;
  readonly renewBeforePercent?: number;
  readonly profile?: string;
  readonly preferredChain?: string;
  readonly revokeOnDelete?: boolean;
}

export interface ManifestChallenge {
  readonly type: "http-01" | "dns-01";
  readonly listen?: string;
  readonly webroot?: string;
  readonly hook?: readonly string[];
}

export interface ManifestDeployment {
  /** The name of a version in the manifest, or a version number in the store. */
  readonly version: string | number;
  readonly state?: "deployed" | "undeployed";
  readonly mode?: "now" | "standby";
  readonly notBefore?: string;
  readonly verify?: ManifestVerify;
}

export interface ManifestVerify {
  readonly endpoints?: readonly string[];
  readonly agents?: ManifestAgents;
  readonly serverName?: string;
  readonly timeoutMs?: number;
  readonly settleMs?: number;
}

export interface ManifestAgents {
  readonly minimum?: number;
  readonly liveWithinMs?: number;
}
