/**
 * What makes a version unfit to serve, judged on the files the agent is about to switch to (read
 * back from disk), before any server can see them: the files must be the version the store
 * describes, the key must belong to the certificate, the chain must lead from the certificate to
 * its issuers, and the certificate must be valid now. A server handed a key of another certificate
 * refuses to reload (nginx: "key values mismatch") or, worse, serves handshakes that fail; a unit
 * that fails here is never switched to, and the last good one keeps serving.
 *
 * Pure: takes the files, the store's record and the time.
 */
import { CertstageError, isCertstageError } from "../errors";
import { parseCertificateChainPem, parseCertificatePem, ParsedCertificate } from "../pki/certificate";
import { analyseChain } from "../pki/chain";
import { parsePrivateKeyPem } from "../pki/private-key";
import { keyMismatch } from "../pki/version-material";
import type { VersionRecord } from "../store";
import { PUBLISHED_FILES, type PublishedUnit } from "../targets/published-versions";

/** Every problem of the unit at once (empty: fit to serve). */
export function unitProblems(unit: PublishedUnit, record: VersionRecord, now: Date): CertstageError[] {
  const problems: CertstageError[] = [];
  const resource = record.certificate;
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (!isCertstageError(error)) throw error;
      problems.push(new CertstageError(error.code, error.problem, { resource, field: error.field, fix: error.fix }));
      return undefined;
    }
  };
  const leaf = attempt(() => parseCertificatePem(unit.certificatePem, PUBLISHED_FILES.certificate));
  const chain = attempt(() => parseCertificateChainPem(unit.chainPem, PUBLISHED_FILES.chain));
  const key = unit.privateKeyPem === undefined ? undefined : attempt(() => parsePrivateKeyPem(unit.privateKeyPem as string, PUBLISHED_FILES.privateKey));

  if (unit.fullchainPem !== unit.certificatePem + unit.chainPem) {
    problems.push(new CertstageError("PEM_MALFORMED", `${PUBLISHED_FILES.fullchain} of version ${record.version} is not ${PUBLISHED_FILES.certificate} followed by ${PUBLISHED_FILES.chain}`, { resource, field: PUBLISHED_FILES.fullchain, fix: storeRepair(record) }));
  }
  if (leaf) {
    problems.push(...recordProblems(leaf, record), ...validityProblems(leaf, record, now));
    if (key) {
      const mismatch = keyMismatch(leaf, key, PUBLISHED_FILES.privateKey, `the private key of version ${record.version} does not belong to its certificate`);
      if (mismatch) problems.push(new CertstageError(mismatch.code, mismatch.problem, { resource, field: mismatch.field, fix: `the store holds a version whose key is another certificate's; deploy another version of '${record.certificate}'` }));
    } else if (unit.privateKeyPem === undefined && !leaf.facts.isCa) {
      problems.push(new CertstageError("PRIVATE_KEY_MISSING", `version ${record.version} has no private key, which a server needs to serve it`, { resource, field: PUBLISHED_FILES.privateKey, fix: `deploy a version of '${record.certificate}' saved with its key` }));
    }
  }
  if (leaf && chain) {
    for (const problem of analyseChain(leaf, chain, PUBLISHED_FILES.chain).problems) problems.push(new CertstageError(problem.code, problem.problem, { resource, field: problem.field, fix: problem.fix }));
  }
  return problems;
}

/** The certificate must be the one the store's record describes: a swapped file is not that version. */
function recordProblems(leaf: ParsedCertificate, record: VersionRecord): CertstageError[] {
  if (leaf.facts.fingerprintSha256 === record.fingerprintSha256) return [];
  return [
    new CertstageError("STORE_CORRUPT", `${PUBLISHED_FILES.certificate} of version ${record.version} has sha256 ${leaf.facts.fingerprintSha256.slice(0, 23)}…, but the store records ${record.fingerprintSha256.slice(0, 23)}… for that version`, {
      resource: record.certificate,
      field: PUBLISHED_FILES.certificate,
      fix: storeRepair(record),
    }),
  ];
}

function validityProblems(leaf: ParsedCertificate, record: VersionRecord, now: Date): CertstageError[] {
  const notBefore = Date.parse(leaf.facts.notBefore);
  const notAfter = Date.parse(leaf.facts.notAfter);
  const resource = record.certificate;
  if (notAfter <= notBefore) {
    return [new CertstageError("CERTIFICATE_EXPIRED", `version ${record.version} is valid from ${leaf.facts.notBefore} to ${leaf.facts.notAfter}, which is no time at all`, { resource, field: PUBLISHED_FILES.certificate, fix: `deploy another version of '${record.certificate}'` })];
  }
  if (now.getTime() < notBefore) {
    return [new CertstageError("CERTIFICATE_NOT_YET_VALID", `version ${record.version} is valid only from ${leaf.facts.notBefore}; clients would refuse it now`, { resource, field: PUBLISHED_FILES.certificate, fix: "check this machine's clock; the agent installs the version once it is valid (at a resync after that time)" })];
  }
  if (now.getTime() > notAfter) {
    return [new CertstageError("CERTIFICATE_EXPIRED", `version ${record.version} expired at ${leaf.facts.notAfter}; clients would refuse it`, { resource, field: PUBLISHED_FILES.certificate, fix: `deploy a current version of '${record.certificate}' (or check this machine's clock)` })];
  }
  return [];
}

function storeRepair(record: VersionRecord): string {
  return `the store's copy of version ${record.version} of '${record.certificate}' is damaged; deploy another version, and restore the store from a backup`;
}
