/**
 * What the `generate` method hands out: a CSR (RFC 2986) to send to any CA, and a self-signed
 * placeholder certificate for the same key and names, built with @peculiar/x509 on Node's
 * WebCrypto. The placeholder makes the version complete (servers can load it in staging) until
 * the CA-signed certificate arrives as a `signed` version reusing this key.
 */
import { createPublicKey, KeyObject, randomBytes, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import { DER_TAG, encodeElement } from "./der";
import type { KeyAlgorithm } from "./key-generation";

export interface SubjectInput {
  readonly commonName: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly locality?: string;
  readonly state?: string;
  readonly country?: string;
}

export interface GeneratedRequest {
  readonly csrPem: string;
  readonly placeholderCertificatePem: string;
}

/** How long a placeholder is valid: long enough to test with, short enough not to be relied on. */
export const PLACEHOLDER_LIFETIME_DAYS = 30;

function signingAlgorithm(algorithm: KeyAlgorithm) {
  if (algorithm.startsWith("RSA")) return { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } };
  const curve = algorithm === "ECDSA-P384" ? "P-384" : "P-256";
  const hash = algorithm === "ECDSA-P384" ? "SHA-384" : "SHA-256";
  return { import: { name: "ECDSA", namedCurve: curve }, sign: { name: "ECDSA", hash } };
}

/** The X.520 attribute types of a subject, each 2.5.4.<n>. */
const ATTRIBUTE_TYPES = { C: 6, ST: 8, L: 7, O: 10, OU: 11, CN: 3 } as const;

/**
 * The subject as a DER Name, built structurally: @peculiar/x509's text and JSON forms parse the
 * values (a leading '#' is read as hex, quotes break its parser), and no value should be parsed.
 * Country is a PrintableString as RFC 5280 §A.1 requires; the rest are UTF8Strings.
 */
function subjectName(subject: SubjectInput): Buffer {
  const attributes: Array<[keyof typeof ATTRIBUTE_TYPES, string | undefined]> = [
    ["C", subject.country],
    ["ST", subject.state],
    ["L", subject.locality],
    ["O", subject.organization],
    ["OU", subject.organizationalUnit],
    ["CN", subject.commonName],
  ];
  const relativeNames = attributes
    .filter(([, value]) => value !== undefined && value !== "")
    .map(([type, value]) =>
      encodeElement(
        DER_TAG.set,
        encodeElement(DER_TAG.sequence, encodeElement(DER_TAG.objectIdentifier, Buffer.from([0x55, 0x04, ATTRIBUTE_TYPES[type]])), encodeElement(type === "C" ? DER_TAG.printableString : DER_TAG.utf8String, Buffer.from(value as string, "utf8"))),
      ),
    );
  return encodeElement(DER_TAG.sequence, ...relativeNames);
}

/** A SAN entry for @peculiar/x509, IPv6 in the plain hex form it parses (the URL parser writes `::ffff:1.2.3.4` as `::ffff:102:304`). */
function alternativeName(value: string): { type: "ip" | "dns"; value: string } {
  const family = isIP(value);
  if (family === 6) return { type: "ip", value: new URL(`http://[${value}]`).hostname.slice(1, -1) };
  return { type: family === 4 ? "ip" : "dns", value };
}

/** The generated-key algorithm a key is (for choosing its signature algorithm). */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") return `RSA-${details.modulusLength}` as KeyAlgorithm;
  if (key.asymmetricKeyType === "ec" && details.namedCurve === "secp384r1") return "ECDSA-P384";
  if (key.asymmetricKeyType === "ec" && details.namedCurve === "prime256v1") return "ECDSA-P256";
  throw new Error(`certstage: cannot make a CSR for a ${key.asymmetricKeyType} key`);
}

/** A CSR (PEM) for `sans`, its CN the first name, signed with `privateKey`. */
export async function createCertificateRequest(privateKey: KeyObject, sans: readonly string[], subject: SubjectInput = { commonName: sans[0] }): Promise<string> {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const { import: importAlgorithm, sign } = signingAlgorithm(keyAlgorithmOf(privateKey));
  const keys = {
    privateKey: await webcrypto.subtle.importKey("pkcs8", privateKey.export({ type: "pkcs8", format: "der" }), importAlgorithm, false, ["sign"]),
    publicKey: await webcrypto.subtle.importKey("spki", createPublicKey(privateKey).export({ type: "spki", format: "der" }), importAlgorithm, true, ["verify"]),
  };
  const alternativeNames = new x509.SubjectAlternativeNameExtension(sans.map(alternativeName));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: new x509.Name(subjectName(subject)), keys, signingAlgorithm: sign, extensions: [alternativeNames] });
  return csr.toString("pem");
}

export async function createRequestAndPlaceholder(
  privateKey: KeyObject,
  algorithm: KeyAlgorithm,
  subject: SubjectInput,
  sans: readonly string[],
  now: Date,
): Promise<GeneratedRequest> {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const { import: importAlgorithm, sign } = signingAlgorithm(algorithm);
  const keys = {
    privateKey: await webcrypto.subtle.importKey("pkcs8", privateKey.export({ type: "pkcs8", format: "der" }), importAlgorithm, false, ["sign"]),
    publicKey: await webcrypto.subtle.importKey("spki", createPublicKey(privateKey).export({ type: "spki", format: "der" }), importAlgorithm, true, ["verify"]),
  };
  const name = new x509.Name(subjectName(subject));
  const alternativeNames = new x509.SubjectAlternativeNameExtension(sans.map(alternativeName));

  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: sign, extensions: [alternativeNames] });
  const usages = algorithm.startsWith("RSA") ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature;
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // A positive INTEGER (RFC 5280 §4.1.2.2).
  const placeholder = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + PLACEHOLDER_LIFETIME_DAYS * 86_400_000),
    signingAlgorithm: sign,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      alternativeNames,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { csrPem: csr.toString("pem"), placeholderCertificatePem: placeholder.toString("pem") };
}
