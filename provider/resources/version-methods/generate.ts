/**
 * `generate`: a new private key made at `up`, with a CSR to send to a CA and a self-signed
 * placeholder certificate. The key never leaves the store except as a secret output; the CA's
 * answer becomes a later `signed` version that reuses it.
 */
import { CertstageError, quoted } from "../../errors";
import { known, unknown } from "../../lifecycle/diff";
import { parseCertificatePem } from "../../pki/certificate";
import { createRequestAndPlaceholder, subjectAltNameProblem } from "../../pki/certificate-request";
import { generatePrivateKey } from "../../pki/key-generation";
import { assembleMaterial } from "../../pki/version-material";
import { nameCovers, names } from "../../validation/certificate-policy";
import { isUnknown } from "../handler";
import { digestOf, Examination, MethodContext, VersionMethodHandler } from "./method";

/** How `keyAlgorithm` inputs read in certificate facts (`ECDSA-P256` -> `ECDSA P-256`). */
export function describeGeneratedAlgorithm(algorithm: string): string {
  return algorithm.startsWith("RSA-") ? `RSA ${algorithm.slice(4)}` : `ECDSA ${algorithm.slice(6, 7)}-${algorithm.slice(7)}`;
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
  for (const [index, san] of (isUnknown(generate.sans) || !Array.isArray(generate.sans) ? [] : generate.sans).entries()) {
    const problem = typeof san === "string" && !isUnknown(san) ? subjectAltNameProblem(san) : undefined;
    if (problem) {
      problems.push(new CertstageError("INPUT_SCHEMA", `${quoted(san)} ${problem}`, { field: `generate.sans.${index}`, fix: "list DNS names (an internationalized name in its xn-- form, a wildcard as *.example.com) or IP addresses" }));
    }
  }
  if (!isUnknown(generate.sans) && !isUnknown(inputs.domains)) {
    const missing = (inputs.domains ?? []).filter((domain) => !generate.sans.some((san) => nameCovers(san, domain)));
    if (missing.length > 0) {
      problems.push(
        new CertstageError("DOMAIN_NOT_COVERED", `${names(missing)} ${missing.length === 1 ? "is" : "are"} not in generate.sans (${names(generate.sans)})`, {
          field: "domains",
          fix: "add the domains to generate.sans",
        }),
      );
    }
  }
  if (isUnknown(generate)) return { problems, contentDigest: unknown, preview: {} };
  return {
    problems,
    contentDigest: known(digestOf({ method: "generate", keyAlgorithm: generate.keyAlgorithm, subject: generate.subject, sans: generate.sans })),
    preview: {
      keyAlgorithm: known(describeGeneratedAlgorithm(generate.keyAlgorithm)),
      sans: known(generate.sans),
      subject: unknown,
      issuer: unknown,
      serial: unknown,
      notBefore: unknown,
      notAfter: unknown,
      fingerprintSha256: unknown,
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
    const { keyAlgorithm, subject, sans } = context.inputs.generate!;
    const key = await generatePrivateKey(keyAlgorithm);
    const request = await createRequestAndPlaceholder(key, keyAlgorithm, subject, sans, context.now);
    const leaf = parseCertificatePem(request.placeholderCertificatePem, "generate");
    return assembleMaterial({ leaf, key, chain: { ordered: [], reordered: false, includesRoot: false, problems: [] } }, { csrPem: request.csrPem });
  },
};
