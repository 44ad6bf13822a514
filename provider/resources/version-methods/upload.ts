/**
 * `upload`: a certificate issued elsewhere, with its key (not needed for a CA certificate) and
 * its chain in any order.
 */
import { CertstageError } from "../../errors";
import { known, unknown } from "../../lifecycle/diff";
import { assembleMaterial, describeSplit, parseVersionParts, UPLOAD_FIELDS } from "../../pki/version-material";
import { evaluatePolicies } from "../../validation/certificate-policy";
import { isUnknown } from "../handler";
import { digestOf, Examination, factsPreview, MethodContext, VersionMethodHandler } from "./method";

async function examine({ inputs, certificateType, profile, productionSans, now }: MethodContext): Promise<Examination> {
  const upload = inputs.upload!;
  if (isUnknown(upload)) return { problems: [], contentDigest: unknown, preview: {} };
  const problems: CertstageError[] = [];
  if (upload.privateKeyPem === undefined && certificateType !== "ca") {
    problems.push(
      new CertstageError("PRIVATE_KEY_MISSING", "a server certificate version needs its private key", {
        field: UPLOAD_FIELDS.privateKey,
        fix: "pass the key as `privateKeyPem` (it is stored as a secret); only CA certificates may omit it",
      }),
    );
  }
  const parsed = parseVersionParts(upload, UPLOAD_FIELDS);
  if (!parsed.ok) return { problems: [...problems, ...parsed.problems], contentDigest: unknown, preview: {} };
  const { leaf, chain } = parsed.value;
  if (certificateType !== undefined) {
    problems.push(
      ...evaluatePolicies(
        { leaf, chain, certificateType, profile, domains: inputs.domains ?? [], productionSans, now, certificateField: UPLOAD_FIELDS.certificate, chainField: UPLOAD_FIELDS.chain },
        inputs.acknowledge ?? [],
      ),
    );
  }
  const chainFingerprints = chain.ordered.map((certificate) => certificate.facts.fingerprintSha256);
  return {
    problems,
    ...(parsed.value.split ? { notes: [describeSplit(parsed.value.split, UPLOAD_FIELDS)] } : {}),
    contentDigest: known(digestOf({ method: "upload", leaf: leaf.facts.fingerprintSha256, chain: chainFingerprints })),
    preview: factsPreview(leaf.facts, chainFingerprints),
  };
}

export const uploadMethod: VersionMethodHandler = {
  method: "upload",
  examine,
  async materialize(context) {
    const examination = await examine(context);
    if (examination.problems.length > 0) throw examination.problems[0];
    const parsed = parseVersionParts(context.inputs.upload!, UPLOAD_FIELDS);
    if (!parsed.ok) throw parsed.problems[0];
    return assembleMaterial(parsed.value);
  },
};
