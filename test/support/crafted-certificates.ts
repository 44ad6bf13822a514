/**
 * Certificates built to order with @peculiar/x509 on Node's WebCrypto, for tests that need one
 * particular defect: a key type, dates, key usage, extended key usage, names (also names that are
 * not ASCII, written as raw bytes), a signature hash, a CA flag. Each is signed by a test
 * intermediate under a test root (both made once per process), or by itself.
 */
import { createPrivateKey, KeyObject, webcrypto, X509Certificate as NodeX509 } from "node:crypto";
import { describeCertificate, ParsedCertificate } from "../../provider/pki/certificate";
import type { KeyUsageName } from "../../provider/pki/certificate-extensions";

export type CraftedKeyType = "P-256" | "P-384" | "P-521" | "RSA-2048" | "RSA-1024" | "Ed25519";

export interface CraftOptions {
  readonly key?: CraftedKeyType;
  /** subjectAltName dNSNames (or IP addresses); null leaves the extension out. */
  readonly sans?: readonly string[] | null;
  /** dNSName entries written byte for byte (e.g. UTF-8 that is not IA5). */
  readonly rawDnsNames?: readonly Buffer[];
  readonly commonName?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** null leaves keyUsage out; default digitalSignature (plus keyCertSign, cRLSign for a CA). */
  readonly keyUsage?: readonly KeyUsageName[] | null;
  /** OIDs; null leaves extendedKeyUsage out; default serverAuth (none for a CA). */
  readonly extendedKeyUsage?: readonly string[] | null;
  readonly isCa?: boolean;
  /** The hash the issuer signs with (default SHA-256). */
  readonly signatureHash?: "SHA-1" | "SHA-256" | "SHA-384";
  /** Signed by this certificate's key; default the test intermediate; "self" for self-signed. */
  readonly issuer?: CraftedCertificate | "self";
}

export interface CraftedCertificate {
  readonly pem: string;
  readonly privateKeyPem: string;
  readonly parsed: ParsedCertificate;
  readonly keys: CryptoKeyPair;
  readonly keyType: CraftedKeyType;
  readonly subjectName: string;
}

const DAY = 86_400_000;
const subtle = webcrypto.subtle as unknown as SubtleCrypto;

function library() {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

function keyAlgorithm(type: CraftedKeyType, hash: string) {
  if (type.startsWith("RSA")) return { name: "RSASSA-PKCS1-v1_5", hash, publicExponent: new Uint8Array([1, 0, 1]), modulusLength: Number(type.slice(4)) };
  if (type === "Ed25519") return { name: "Ed25519" };
  return { name: "ECDSA", namedCurve: type, hash };
}

async function generateKeys(type: CraftedKeyType): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(keyAlgorithm(type, "SHA-256") as RsaHashedKeyGenParams, true, ["sign", "verify"])) as CryptoKeyPair;
}

function signingAlgorithm(issuerType: CraftedKeyType, hash: string) {
  if (issuerType.startsWith("RSA")) return { name: "RSASSA-PKCS1-v1_5", hash };
  if (issuerType === "Ed25519") return { name: "Ed25519" };
  return { name: "ECDSA", hash };
}

const KEY_USAGE_FLAGS: Record<KeyUsageName, number> = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
};

let authorities: Promise<{ root: CraftedCertificate; intermediate: CraftedCertificate }> | undefined;

/** The test root and intermediate every crafted leaf chains to by default. */
export function testAuthorities(): Promise<{ root: CraftedCertificate; intermediate: CraftedCertificate }> {
  authorities ??= (async () => {
    const now = Date.now();
    const root = await craftCertificate({ commonName: "certstage crafted root", isCa: true, issuer: "self", sans: null, notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 3650 * DAY) });
    const intermediate = await craftCertificate({ commonName: "certstage crafted intermediate", isCa: true, issuer: root, sans: null, notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 1825 * DAY) });
    return { root, intermediate };
  })();
  return authorities;
}

export async function craftCertificate(options: CraftOptions = {}): Promise<CraftedCertificate> {
  const x509 = library();
  const keyType = options.key ?? "P-256";
  const keys = await generateKeys(keyType);
  const issuer = options.issuer === "self" ? undefined : (options.issuer ?? (await testAuthorities()).intermediate);
  const now = Date.now();
  const isCa = options.isCa ?? false;
  const commonName = options.commonName ?? options.sans?.[0] ?? "api.example.com";
  const extensions: import("@peculiar/x509").Extension[] = [new x509.BasicConstraintsExtension(isCa, undefined, true)];
  const keyUsage = options.keyUsage === undefined ? (isCa ? ["keyCertSign", "cRLSign", "digitalSignature"] : ["digitalSignature"]) : options.keyUsage;
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage.reduce((flags, usage) => flags | KEY_USAGE_FLAGS[usage as KeyUsageName], 0), true));
  const extendedKeyUsage = options.extendedKeyUsage === undefined ? (isCa ? null : [x509.ExtendedKeyUsage.serverAuth]) : options.extendedKeyUsage;
  if (extendedKeyUsage !== null) extensions.push(new x509.ExtendedKeyUsageExtension([...extendedKeyUsage]));
  const sans = options.sans === undefined ? (isCa ? null : ["api.example.com"]) : options.sans;
  if (sans !== null || options.rawDnsNames) extensions.push(subjectAltName(sans ?? [], options.rawDnsNames ?? []));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] &= 0x7f;
  const signer = issuer ?? { keys, keyType, subjectName: `CN=${commonName}` };
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString("hex"),
    subject: `CN=${commonName}`,
    issuer: signer.subjectName,
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 89 * DAY),
    signingAlgorithm: signingAlgorithm(signer.keyType, options.signatureHash ?? "SHA-256"),
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    extensions,
  });
  const pem = certificate.toString("pem") + "\n";
  const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", keys.privateKey));
  const privateKey: KeyObject = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  const node = new NodeX509(pem);
  return {
    pem,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    parsed: { x509: node, pem, facts: describeCertificate(node) },
    keys,
    keyType,
    subjectName: `CN=${commonName}`,
  };
}

/** subjectAltName with DNS names, IP addresses, and dNSNames as raw bytes (DER built by hand). */
function subjectAltName(names: readonly string[], rawDnsNames: readonly Buffer[]) {
  const x509 = library();
  const { isIP } = require("node:net") as typeof import("node:net");
  const entries: Buffer[] = [];
  for (const name of names) {
    if (isIP(name) === 4) {
      entries.push(derTagged(0x87, Buffer.from(name.split(".").map(Number))));
    } else if (isIP(name) === 6) {
      throw new Error("craftCertificate: IPv6 SANs are not supported here");
    } else {
      entries.push(derTagged(0x82, Buffer.from(name, "latin1")));
    }
  }
  for (const raw of rawDnsNames) entries.push(derTagged(0x82, raw));
  const value = derTagged(0x30, Buffer.concat(entries));
  return new x509.Extension("2.5.29.17", false, value);
}

function derTagged(tag: number, content: Buffer): Buffer {
  const length = content.length < 0x80 ? Buffer.from([content.length]) : content.length < 0x100 ? Buffer.from([0x81, content.length]) : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
