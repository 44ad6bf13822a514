/**
 * `signed`: the CA-signed certificate for a key certstage already holds, the key of an earlier
 * version of the same certificate (usually a `generate` version whose CSR went to the CA). No key
 * is passed in: it never leaves the store.
 */
import { CertstageError } from "../../errors";
import { known, unknown } from "../../lifecycle/diff";
import { parsePrivateKeyPem } from "../../pki/private-key";
import { assembleMaterial, describeSplit, FieldNames, keyMismatch, parseVersionParts, VersionParts } from "../../pki/version-material";
import { evaluatePolicies } from "../../validation/certificate-policy";
import { isUnknown } from "../handler";
import { digestOf, Examination, factsPreview, MethodContext, VersionMethodHandler } from "./method";

const FIELDS: FieldNames = { certificate: "signed.certificatePem", privateKey: "signed.keyFromVersion", chain: "signed.chainPem" };

/** The key of `keyFromVersion`, or why it cannot be had; undefined when it cannot be known yet. */
async function reusedKey({ inputs, store }: MethodContext): Promise<{ pem: string } | CertstageError | undefined> {
  const { keyFromVersion } = inputs.signed!;
  if (isUnknown(inputs.certificate) || isUnknown(keyFromVersion)) return undefined;
  if (!(await store.getCertificate(inputs.certificate))) return undefined; // Created by this same run.
  const version = await store.getVersion(inputs.certificate, keyFromVersion);
  const files = version ? await store.readVersionFiles(inputs.certificate, keyFromVersion) : undefined;
  if (!files?.privateKeyPem) {
    const versions = (await store.listVersions(inputs.certificate)).map((record) => record.version);
    return new CertstageError("VERSION_NOT_FOUND", `certificate '${inputs.certificate}' has no version ${keyFromVersion} with a private key`, {
      field: "signed.keyFromVersion",
      fix: versions.length > 0 ? `name the version whose CSR the CA signed (versions: ${versions.join(", ")})` : "create a `generate` version first and send its CSR to the CA",
    });
  }
  return { pem: files.privateKeyPem };
}

async function parts(context: MethodContext): Promise<{ problems: CertstageError[]; parts?: VersionParts }> {
  const signed = context.inputs.signed!;
  const parsed = parseVersionParts({ certificatePem: signed.certificatePem, chainPem: signed.chainPem }, FIELDS);
  const key = await reusedKey(context);
  const problems = parsed.ok ? [] : [...parsed.problems];
  if (key instanceof CertstageError) problems.push(key);
  if (!parsed.ok || key instanceof CertstageError) return { problems };
  if (key === undefined) return { problems, parts: parsed.value };
  const privateKey = parsePrivateKeyPem(key.pem, FIELDS.privateKey);
  const mismatch = keyMismatch(parsed.value.leaf, privateKey, FIELDS.certificate, `the certificate's public key is not the key of version ${signed.keyFromVersion}`);
  if (mismatch) return { problems: [mismatch] };
  return { problems, parts: { ...parsed.value, key: privateKey } };
}

async function examine(context: MethodContext): Promise<Examination> {
  const { inputs, certificateType, profile, productionSans, now } = context;
  const signed = inputs.signed!;
  if (isUnknown(signed.certificatePem) || isUnknown(signed.chainPem)) return { problems: [], contentDigest: unknown, preview: {} };
  const found = await parts(context);
  if (!found.parts) return { problems: found.problems, contentDigest: unknown, preview: {} };
  const { leaf, chain } = found.parts;
  const problems = [...found.problems];
  if (certificateType !== undefined) {
    problems.push(
      ...evaluatePolicies(
        { leaf, chain, certificateType, profile, domains: inputs.domains ?? [], productionSans, now, certificateField: FIELDS.certificate, chainField: FIELDS.chain },
        inputs.acknowledge ?? [],
      ),
    );
  }
  const chainFingerprints = chain.ordered.map((certificate) => certificate.facts.fingerprintSha256);
  return {
    problems,
    ...(found.parts.split ? { notes: [describeSplit(found.parts.split, FIELDS)] } : {}),
    contentDigest: isUnknown(signed.keyFromVersion) ? unknown : known(digestOf({ method: "signed", keyFromVersion: signed.keyFromVersion, leaf: leaf.facts.fingerprintSha256, chain: chainFingerprints })),
    preview: factsPreview(leaf.facts, chainFingerprints),
  };
}

export const signedMethod: VersionMethodHandler = {
  method: "signed",
  examine,
  async materialize(context) {
    const examination = await examine(context);
    if (examination.problems.length > 0) throw examination.problems[0];
    const found = await parts(context);
    if (!found.parts?.key) throw found.problems[0] ?? new Error("certstage: the reused key could not be read");
    return assembleMaterial(found.parts);
  },
};
