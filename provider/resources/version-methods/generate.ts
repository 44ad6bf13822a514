/**
 * `generate`: a new private key made at `up`, with a CSR to send to a CA and a self-signed
 * placeholder certificate. The key never leaves the store except as a secret output; the CA's
 * answer becomes a later `signed` version that reuses it.
 */
import { CertstageError } from "../../errors";
import { known, unknown } from "../../lifecycle/diff";
import { parseCertificatePem } from "../../pki/certificate";
import { createRequestAndPlaceholder } from "../../pki/certificate-request";
import { generatePrivateKey } from "../../pki/key-generation";
import { aLabelOf, describeName, readNameInputs, unicodeForm } from "../../pki/dns-names";
import { assembleMaterial } from "../../pki/version-material";
import { nameCovers } from "../../validation/certificate-policy";
import { isUnknown } from "../handler";
import { digestOf, Examination, GenerateInput, MethodContext, VersionMethodHandler } from "./method";

/** How `keyAlgorithm` inputs read in certificate facts (`ECDSA-P256` -> `ECDSA P-256`). */
export function describeGeneratedAlgorithm(algorithm: string): string {
  return algorithm.startsWith("RSA-") ? `RSA ${algorithm.slice(4)}` : `ECDSA ${algorithm.slice(6, 7)}-${algorithm.slice(7)}`;
}

/**
 * The names as the certificate will hold them: internationalized DNS names as A-labels (RFC 5890),
 * ASCII names and IP addresses as written (so a stack that wrote them keeps its versions); and the
 * CN, which must be one of them, converted the same way when it is an internationalized name.
 */
export function certificateNames(generate: GenerateInput): { sans: string[]; commonName: string; problems: CertstageError[] } {
  const { names, problems } = readNameInputs(generate.sans, "generate.sans");
  return { sans: names, commonName: aLabelOf(generate.subject.commonName), problems };
}

async function examine({ inputs, certificateType }: MethodContext): Promise<Examination> {
  const generate = inputs.generate!;
  const problems: CertstageError[] = [];
  if (certificateType === "ca") {
    problems.push(
      new CertstageError("CA_TYPE_MISMATCH", "`generate` makes server certificates, but this certificate is of type 'ca'", {
        field: "generate",
        fix: "upload the CA certificate with `upload` instead",
      }),
    );
  }
  if (isUnknown(generate) || isUnknown(generate.sans) || isUnknown(generate.subject)) return { problems, contentDigest: unknown, preview: {} };
  const names = certificateNames(generate);
  problems.push(...names.problems);
  if (!isUnknown(inputs.domains)) {
    const missing = (inputs.domains ?? []).filter((domain) => !names.sans.some((san) => nameCovers(san, domain)));
    if (missing.length > 0) {
      problems.push(
        new CertstageError("DOMAIN_NOT_COVERED", `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not in generate.sans (${names.sans.map(describeName).join(", ")})`, {
          field: "domains",
          fix: "add the domains to generate.sans",
        }),
      );
    }
  }
  return {
    problems,
    contentDigest: known(digestOf({ method: "generate", keyAlgorithm: generate.keyAlgorithm, subject: generate.subject, sans: generate.sans })),
    preview: {
      keyAlgorithm: known(describeGeneratedAlgorithm(generate.keyAlgorithm)),
      sans: known(names.sans),
      sansUnicode: known(names.sans.map(unicodeForm)),
      subject: unknown,
      issuer: unknown,
      serial: unknown,
      notBefore: unknown,
      notAfter: unknown,
      fingerprintSha256: unknown,
      publicKeySha256: unknown,
      chainFingerprints: known([]),
    },
  };
}

export const generateMethod: VersionMethodHandler = {
  method: "generate",
  examine,
  async materialize(context) {
    const examination = await examine(context);
    if (examination.problems.length > 0) throw examination.problems[0];
    const generate = context.inputs.generate!;
    const { sans, commonName } = certificateNames(generate);
    const key = await generatePrivateKey(generate.keyAlgorithm);
    const request = await createRequestAndPlaceholder(key, generate.keyAlgorithm, { ...generate.subject, commonName }, sans, context.now);
    const leaf = parseCertificatePem(request.placeholderCertificatePem, "generate");
    return assembleMaterial({ leaf, key, chain: { ordered: [], reordered: false, includesRoot: false, problems: [] } }, { csrPem: request.csrPem });
  },
};
