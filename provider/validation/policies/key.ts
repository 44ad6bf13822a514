/**
 * The certificate's key and type: keys every TLS client supports (RSA 2048+, ECDSA P-256 or
 * P-384, the Baseline Requirements' list), and a certificate that is what its Certificate says
 * it is (a server leaf, or a CA).
 */
import { CertstageError } from "../../errors";
import type { Policy } from "./policy";

const ALLOWED_CURVES = ["P-256", "P-384"];

export const strongKey: Policy = ({ leaf, certificateField }) => {
  const [kind, size] = leaf.facts.keyAlgorithm.split(" ");
  if (kind === "RSA" && Number(size) < 2048) {
    return [new CertstageError("KEY_TOO_WEAK", `the key is ${leaf.facts.keyAlgorithm}; at least RSA 2048 is required`, { field: certificateField, fix: "issue the certificate for a new RSA 2048+ or ECDSA P-256 key" })];
  }
  if (kind === "RSA") return [];
  // Whole, so that "ECDSA P-256 (explicit parameters)" is not taken for a P-256 key.
  if (ALLOWED_CURVES.some((curve) => leaf.facts.keyAlgorithm === `ECDSA ${curve}`)) return [];
  return [
    new CertstageError("KEY_ALGORITHM_NOT_ALLOWED", `the key is ${leaf.facts.keyAlgorithm}; allowed are RSA 2048+ and ECDSA ${ALLOWED_CURVES.join(" or ")}`, {
      field: certificateField,
      fix: "issue the certificate for an RSA 2048+ or ECDSA P-256/P-384 key, which every TLS client supports",
    }),
  ];
};

export const matchesType: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType === "server" && leaf.facts.isCa) {
    return [
      new CertstageError("CA_TYPE_MISMATCH", `'${leaf.facts.subject}' is a CA certificate (basicConstraints CA:TRUE), but this is a server certificate`, {
        field: certificateField,
        fix: "pass the server (leaf) certificate here, or manage this CA certificate under a Certificate of type 'ca'",
      }),
    ];
  }
  if (certificateType === "ca" && !leaf.facts.isCa) {
    return [
      new CertstageError("CA_TYPE_MISMATCH", `'${leaf.facts.subject}' is not a CA certificate (no basicConstraints CA:TRUE), but this is a CA certificate`, {
        field: certificateField,
        fix: "pass the CA's certificate, or manage this server certificate under a Certificate of type 'server'",
      }),
    ];
  }
  return [];
};
