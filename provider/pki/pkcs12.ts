/**
 * A version as a PKCS#12 keystore (RFC 7292), for Java, Windows and appliances that take one file
 * with a password instead of PEMs. Pure: PEMs and a password in, the file's bytes out.
 *
 * node-forge's own `toPkcs12Asn1` cannot be used as it is: it writes RSA keys only (certstage
 * versions are often ECDSA) and always MACs with SHA-1. So the PFX is assembled here from forge's
 * ASN.1 and PBE pieces: the key as its PKCS#8 DER from Node, shrouded with forge's
 * `encryptPrivateKeyInfo`; the MAC computed with the profile's digest.
 *
 * Certificates go in an unencrypted bag, as they are public; the key bag and the certificate of
 * the key share a localKeyId (SHA-1 of the certificate, as OpenSSL writes it) and a friendlyName,
 * which Java's keytool shows as the entry's alias.
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import type * as Forge from "node-forge";
import { CertstageError } from "../errors";
import { certificateBlocks } from "./pem";

export type Pkcs12Profile = "modern" | "legacy";

export const PKCS12_PROFILES: readonly Pkcs12Profile[] = ["modern", "legacy"];

/** What a `keystore` input asks for. */
export interface KeystoreRequest {
  readonly password: string;
  /** Default "modern". */
  readonly profile?: Pkcs12Profile;
  /** The entry's alias; default: the certificate's name. */
  readonly friendlyName?: string;
}

export interface KeystoreContents {
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly privateKeyPem: string;
}

/**
 * Java's keytool refuses passwords under 6 characters; 8 is the floor here because the file
 * travels (a secret output, deployed copies) and its password is all that guards the key.
 */
export const PKCS12_PASSWORD_MIN_LENGTH = 8;
export const PKCS12_PASSWORD_MAX_LENGTH = 256;
export const FRIENDLY_NAME_MAX_LENGTH = 64;

/**
 * Iterations of both key derivations: 2048, as OpenSSL 3's `pkcs12 -export` writes. Older
 * readers (Windows before 10 1709) take no more than that for the legacy form either.
 */
const ITERATIONS = 2048;
const SALT_BYTES = 16;

interface ProfileAlgorithms {
  /** forge's names: PBES2 with AES-256-CBC, or PKCS#12's own PBE with 3DES. */
  readonly keyEncryption: { readonly algorithm: "aes256" | "3des"; readonly prfAlgorithm?: "sha256" };
  readonly macDigest: "sha256" | "sha1";
}

/**
 * modern: AES-256-CBC under PBKDF2-HMAC-SHA256, SHA-256 MAC (OpenSSL 3's default; Java 12+, Windows 10 1709+).
 * legacy: 3DES under PKCS#12's SHA-1 PBE, SHA-1 MAC (Java 8, older Windows and appliances).
 */
const PROFILES: Record<Pkcs12Profile, ProfileAlgorithms> = {
  modern: { keyEncryption: { algorithm: "aes256", prfAlgorithm: "sha256" }, macDigest: "sha256" },
  legacy: { keyEncryption: { algorithm: "3des" }, macDigest: "sha1" },
};

/**
 * Everything wrong with a `keystore` input, all at once; never quotes the password. Printable
 * ASCII only: OpenSSL, Java and Windows encode other characters differently in PKCS#12's key
 * derivation, so such a password opens the file in one of them and not the others.
 */
export function keystoreProblems(value: unknown, resource: string | undefined, field = "keystore"): CertstageError[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [new CertstageError("INPUT_SCHEMA", "must be an object", { resource, field, fix: `set ${field} to { password: pulumi.secret("…"), profile: "modern" }` })];
  }
  const request = value as Record<string, unknown>;
  const problems: CertstageError[] = [];
  const passwordProblem = (problem: string) =>
    new CertstageError("KEYSTORE_PASSWORD_INVALID", problem, {
      resource,
      field: `${field}.password`,
      fix: `give a password of ${PKCS12_PASSWORD_MIN_LENGTH} to ${PKCS12_PASSWORD_MAX_LENGTH} printable ASCII characters, as a Pulumi secret (pulumi config set --secret, then config.requireSecret)`,
    });
  const password = request.password;
  if (password === undefined || password === null) problems.push(passwordProblem("the keystore password is missing"));
  else if (typeof password !== "string") problems.push(passwordProblem("the keystore password must be a string"));
  else if (password === "") problems.push(passwordProblem("the keystore password is empty"));
  else if (password.length < PKCS12_PASSWORD_MIN_LENGTH) problems.push(passwordProblem(`the keystore password is too short (${password.length} characters; at least ${PKCS12_PASSWORD_MIN_LENGTH})`));
  else if (password.length > PKCS12_PASSWORD_MAX_LENGTH) problems.push(passwordProblem(`the keystore password is too long (more than ${PKCS12_PASSWORD_MAX_LENGTH} characters)`));
  else if (!/^[\x20-\x7e]+$/.test(password)) problems.push(passwordProblem("the keystore password holds characters other than printable ASCII, which Java, OpenSSL and Windows encode differently"));
  if (request.profile !== undefined && !PKCS12_PROFILES.includes(request.profile as Pkcs12Profile)) {
    problems.push(new CertstageError("INPUT_SCHEMA", `profile must be ${PKCS12_PROFILES.map((name) => `"${name}"`).join(" or ")}`, { resource, field: `${field}.profile`, fix: `use "modern" unless a reader needs "legacy" (Java 8, Windows before 10 1709)` }));
  }
  const friendlyName = request.friendlyName;
  if (friendlyName !== undefined && !(typeof friendlyName === "string" && /^[\x20-\x7e]+$/.test(friendlyName) && friendlyName.length <= FRIENDLY_NAME_MAX_LENGTH)) {
    problems.push(new CertstageError("INPUT_SCHEMA", `friendlyName must be 1 to ${FRIENDLY_NAME_MAX_LENGTH} printable ASCII characters`, { resource, field: `${field}.friendlyName`, fix: "leave it out to use the certificate's name, or give a short alias such as \"api\"" }));
  }
  for (const extra of Object.keys(request).filter((key) => !["password", "profile", "friendlyName"].includes(key))) {
    problems.push(new CertstageError("INPUT_SCHEMA", `"${extra}" is not a setting of the keystore`, { resource, field: `${field}.${extra}`, fix: "use password, profile and friendlyName" }));
  }
  return problems;
}

let loadedForge: typeof Forge | undefined;

/**
 * node-forge, loaded when the first keystore is built: this module is loaded by every Pulumi
 * program, provider process and command that reads a version (through resources/), and forge
 * costs each of them about 30 ms to load (far more from a cold disk).
 */
function forge(): typeof Forge {
  return (loadedForge ??= require("node-forge") as typeof Forge);
}

const asn1 = () => forge().asn1;
const pki = () => forge().pki;

const sequence = (items: Forge.Asn1[]) => asn1().create(asn1().Class.UNIVERSAL, asn1().Type.SEQUENCE, true, items);
const set = (items: Forge.Asn1[]) => asn1().create(asn1().Class.UNIVERSAL, asn1().Type.SET, true, items);
const oid = (name: string) => asn1().create(asn1().Class.UNIVERSAL, asn1().Type.OID, false, asn1().oidToDer(pki().oids[name]).getBytes());
const octets = (bytes: string) => asn1().create(asn1().Class.UNIVERSAL, asn1().Type.OCTETSTRING, false, bytes);
const explicit = (item: Forge.Asn1) => asn1().create(asn1().Class.CONTEXT_SPECIFIC, 0, true, [item]);
const der = (item: Forge.Asn1) => asn1().toDer(item).getBytes();
const binary = (buffer: Buffer) => buffer.toString("binary");

/** A PKCS#7 `data` ContentInfo around DER bytes. */
function dataContent(bytes: string): Forge.Asn1 {
  return sequence([oid("data"), explicit(octets(bytes))]);
}

function bagAttributes(localKeyId: string, friendlyName: string): Forge.Asn1 {
  return set([
    sequence([oid("localKeyId"), set([octets(localKeyId)])]),
    sequence([oid("friendlyName"), set([asn1().create(asn1().Class.UNIVERSAL, asn1().Type.BMPSTRING, false, friendlyName)])]),
  ]);
}

function certificateBag(certificate: X509Certificate, attributes?: Forge.Asn1): Forge.Asn1 {
  const bag = explicit(sequence([oid("x509Certificate"), explicit(octets(binary(certificate.raw)))]));
  return sequence([oid("certBag"), bag, ...(attributes ? [attributes] : [])]);
}

/** RFC 7292 §5.1 MacData: HMAC over the AuthenticatedSafe's DER, keyed by PKCS#12's KDF (ID 3). */
function macData(authenticatedSafe: string, password: string, digest: ProfileAlgorithms["macDigest"]): Forge.Asn1 {
  const md = () => forge().md[digest].create();
  const salt = forge().random.getBytesSync(SALT_BYTES);
  const key = pki().pbe.generatePkcs12Key(password, new (forge().util.ByteStringBuffer)(salt), 3, ITERATIONS, md().digestLength, md());
  const hmac = forge().hmac.create();
  hmac.start(md(), key);
  hmac.update(authenticatedSafe);
  const digestInfo = sequence([sequence([oid(digest), asn1().create(asn1().Class.UNIVERSAL, asn1().Type.NULL, false, "")]), octets(hmac.getMac().getBytes())]);
  return sequence([digestInfo, octets(salt), asn1().create(asn1().Class.UNIVERSAL, asn1().Type.INTEGER, false, asn1().integerToDer(ITERATIONS).getBytes())]);
}

/**
 * The keystore's bytes: the leaf with its key, then the chain. Salts and IVs are random, so two
 * calls give different files that open the same.
 */
export function buildPkcs12(contents: KeystoreContents, request: KeystoreRequest & { readonly friendlyName: string }): Buffer {
  const algorithms = PROFILES[request.profile ?? "modern"];
  const leaf = new X509Certificate(contents.certificatePem);
  const chain = certificateBlocks(contents.chainPem).map((block) => new X509Certificate(block));
  const localKeyId = binary(createHash("sha1").update(leaf.raw).digest());
  const attributes = bagAttributes(localKeyId, request.friendlyName);

  const privateKeyInfo = asn1().fromDer(binary(createPrivateKey(contents.privateKeyPem).export({ type: "pkcs8", format: "der" })));
  const shrouded = pki().encryptPrivateKeyInfo(privateKeyInfo, request.password, { ...algorithms.keyEncryption, count: ITERATIONS, saltSize: SALT_BYTES });
  const keyBag = sequence([oid("pkcs8ShroudedKeyBag"), explicit(shrouded), attributes]);

  const certificates = sequence([certificateBag(leaf, attributes), ...chain.map((certificate) => certificateBag(certificate))]);
  const authenticatedSafe = der(sequence([dataContent(der(certificates)), dataContent(der(sequence([keyBag])))]));
  const pfx = sequence([
    asn1().create(asn1().Class.UNIVERSAL, asn1().Type.INTEGER, false, asn1().integerToDer(3).getBytes()),
    dataContent(authenticatedSafe),
    macData(authenticatedSafe, request.password, algorithms.macDigest),
  ]);
  return Buffer.from(der(pfx), "binary");
}
