/**
 * What the key may be used for. TLS clients refuse a server certificate whose extendedKeyUsage
 * leaves out serverAuth (RFC 5280 §4.2.1.12); the Baseline Requirements (§7.1.2.7.10) also demand
 * the extension, with serverAuth and without code signing, e-mail, time stamping, OCSP signing or
 * "any purpose". keyUsage (RFC 5280 §4.2.1.3, BR §7.1.2.7.11) must fit the key: an ECDSA key
 * signs (digitalSignature, optionally keyAgreement) and never encrypts; an RSA key never agrees
 * keys; no leaf signs certificates or CRLs; and with serverAuth the bits must be ones TLS uses.
 */
import { CertstageError } from "../../errors";
import { EKU_ANY, EKU_CLIENT_AUTH, EKU_SERVER_AUTH, KeyUsageName } from "../../pki/certificate-extensions";
import { extensionsOf, Policy } from "./policy";

/** BR §7.1.2.7.10: purposes a TLS subscriber certificate MUST NOT hold. */
const FORBIDDEN_PURPOSES: Record<string, string> = {
  [EKU_ANY]: "anyExtendedKeyUsage",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
};

export const serverAuthAllowed: Policy = ({ leaf, certificateType, certificateField }) => {
  // A CA certificate given as a server one is reported as that (CA_TYPE_MISMATCH), not as its usages.
  if (certificateType !== "server" || leaf.facts.isCa) return [];
  const purposes = extensionsOf(leaf).extendedKeyUsage;
  if (purposes === undefined || purposes.includes(EKU_SERVER_AUTH) || purposes.includes(EKU_ANY)) return [];
  return [
    new CertstageError("SERVER_AUTH_NOT_ALLOWED", `the certificate's extended key usage (${purposes.map(purposeName).join(", ") || "empty"}) does not include serverAuth, so TLS clients refuse it for a server`, {
      field: certificateField,
      fix: "ask the CA for a TLS server certificate (extendedKeyUsage serverAuth)",
    }),
  ];
};

export const publicExtendedKeyUsage: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType !== "server" || leaf.facts.isCa) return [];
  const purposes = extensionsOf(leaf).extendedKeyUsage;
  if (purposes === undefined) {
    return [
      new CertstageError("EXTENDED_KEY_USAGE_INVALID", "the certificate has no extended key usage; a publicly trusted server certificate must say serverAuth", {
        field: certificateField,
        fix: "ask the CA for a certificate with extendedKeyUsage serverAuth, or use the private profile for an internal CA",
      }),
    ];
  }
  const forbidden = purposes.filter((purpose) => FORBIDDEN_PURPOSES[purpose] !== undefined);
  const withoutServerAuth = !purposes.includes(EKU_SERVER_AUTH) && purposes.includes(EKU_ANY);
  if (forbidden.length === 0 && !withoutServerAuth) return [];
  return [
    new CertstageError("EXTENDED_KEY_USAGE_INVALID", `the extended key usage holds ${forbidden.map(purposeName).join(", ")}${withoutServerAuth ? " instead of serverAuth" : ""}, which a publicly trusted server certificate must not`, {
      field: certificateField,
      fix: "ask the CA for a certificate whose extendedKeyUsage is serverAuth (and clientAuth, if needed) only",
    }),
  ];
};

/** keyUsage combinations RFC 5280 §4.2.1.12 calls consistent with serverAuth. */
const SERVER_AUTH_USAGES = [["digitalSignature"], ["keyEncipherment"], ["keyAgreement"], ["digitalSignature", "keyEncipherment"], ["digitalSignature", "keyAgreement"]];

export const keyUsageFitsKey: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType !== "server" || leaf.facts.isCa) return [];
  const { keyUsage, extendedKeyUsage } = extensionsOf(leaf);
  if (keyUsage === undefined) return [];
  const kind = leaf.facts.keyAlgorithm.split(" ")[0];
  const reasons: string[] = [];
  const has = (usage: KeyUsageName) => keyUsage.includes(usage);
  if (keyUsage.length === 0) reasons.push("the keyUsage extension sets no bit");
  if (has("keyCertSign") || has("cRLSign")) reasons.push(`a server certificate may not sign certificates or CRLs (${keyUsage.filter((usage) => usage === "keyCertSign" || usage === "cRLSign").join(", ")})`);
  if (kind === "ECDSA") {
    if (!has("digitalSignature")) reasons.push("an ECDSA key needs digitalSignature");
    const other = keyUsage.filter((usage) => usage !== "digitalSignature" && usage !== "keyAgreement" && usage !== "keyCertSign" && usage !== "cRLSign");
    if (other.length > 0) reasons.push(`an ECDSA key cannot ${other.join(", ")}`);
  }
  if (kind === "RSA" || kind === "RSA-PSS") {
    const other = keyUsage.filter((usage) => usage === "keyAgreement" || usage === "encipherOnly" || usage === "decipherOnly");
    if (other.length > 0) reasons.push(`an RSA key cannot ${other.join(", ")}`);
  }
  const onlyServerAuth = extendedKeyUsage !== undefined && extendedKeyUsage.length === 1 && extendedKeyUsage[0] === EKU_SERVER_AUTH;
  const consistent = SERVER_AUTH_USAGES.some((combination) => combination.length === keyUsage.length && combination.every((usage) => keyUsage.includes(usage as KeyUsageName)));
  if (reasons.length === 0 && onlyServerAuth && !consistent) reasons.push(`${keyUsage.join(", ")} is not a key usage TLS server authentication uses (RFC 5280 §4.2.1.12)`);
  if (reasons.length === 0) return [];
  return [
    new CertstageError("KEY_USAGE_INVALID", `the key usage (${keyUsage.join(", ") || "none"}) does not fit a ${leaf.facts.keyAlgorithm} server certificate: ${reasons.join("; ")}`, {
      field: certificateField,
      fix: kind === "ECDSA" ? "ask the CA for keyUsage digitalSignature" : "ask the CA for keyUsage digitalSignature (and keyEncipherment for TLS 1.2 RSA key exchange)",
    }),
  ];
};

function purposeName(oid: string): string {
  if (oid === EKU_SERVER_AUTH) return "serverAuth";
  if (oid === EKU_CLIENT_AUTH) return "clientAuth";
  return FORBIDDEN_PURPOSES[oid] ?? oid;
}
