/**
 * What the schema cannot say about a manifest that parsed: each version is made one way, and
 * every name a deployment or a signed version refers to is a version the certificate declares
 * (a number refers to the store, and is the preview's to check).
 */
import type { ManifestDiagnostic } from "./diagnostics";
import { dotted, FieldPath, SourcePositions } from "./positions";
import type { ManifestCertificate, ManifestFile } from "./types";

export const VERSION_METHODS = ["upload", "generate", "signed", "acme"] as const;
export type VersionMethodName = (typeof VERSION_METHODS)[number];

export function referenceDiagnostics(manifest: ManifestFile, file: string, positions: SourcePositions): ManifestDiagnostic[] {
  const diagnostics: ManifestDiagnostic[] = [];
  const report = (code: ManifestDiagnostic["code"], path: FieldPath, problem: string, fix: string) => diagnostics.push({ code, file, ...positions.ofValue(path), path: dotted(path), problem, fix });
  for (const [name, certificate] of Object.entries(manifest.certificates)) {
    const versions = certificate.versions ?? {};
    for (const [label, version] of Object.entries(versions)) {
      const path = ["certificates", name, "versions", label];
      const methods = VERSION_METHODS.filter((method) => version[method] !== undefined);
      if (methods.length !== 1) {
        report("MANIFEST_INVALID", path, methods.length === 0 ? "says no way to make the version" : `gives ${methods.join(" and ")} together`, "give exactly one of upload, generate, signed or acme");
        continue;
      }
      if (methods[0] === "acme") {
        for (const field of ["domains", "acknowledge"] as const) {
          if (version[field] !== undefined) report("MANIFEST_INVALID", [...path, field], "does not apply to an acme version", `remove it; an acme version names its domains in acme.domains`);
        }
        if (version.keystore !== undefined) report("MANIFEST_INVALID", [...path, "keystore"], "does not apply to an acme version: its renewals make versions without a keystore", "remove it, or make the keystore from a generate, signed or upload version");
      }
      const keyFrom = version.signed?.keyFromVersion;
      if (typeof keyFrom === "string") {
        const problem = signedReferenceProblem(certificate, label);
        if (problem) report(problem.code, [...path, "signed", "keyFromVersion"], problem.problem, problem.fix);
      }
    }
    for (const [environment, deployment] of Object.entries(certificate.deployments ?? {})) {
      if (typeof deployment.version === "string" && versions[deployment.version] === undefined) {
        report("MANIFEST_REFERENCE_UNKNOWN", ["certificates", name, "deployments", environment, "version"], `'${deployment.version}' is not a version of certificate '${name}'`, declaredFix(certificate));
      }
    }
  }
  return diagnostics;
}

function declaredFix(certificate: ManifestCertificate): string {
  const labels = Object.keys(certificate.versions ?? {});
  return labels.length > 0 ? `name one of its versions: ${labels.join(", ")}, or give a version number the store holds` : "declare the version under versions, or give a version number the store holds";
}

/** A signed version's key comes from a declared version, which does not in turn need this one. */
function signedReferenceProblem(certificate: ManifestCertificate, label: string) {
  const versions = certificate.versions ?? {};
  const seen = new Set<string>([label]);
  let next = versions[label]?.signed?.keyFromVersion;
  while (typeof next === "string") {
    if (versions[next] === undefined) return { code: "MANIFEST_REFERENCE_UNKNOWN" as const, problem: `'${next}' is not a version of this certificate`, fix: declaredFix(certificate) };
    if (seen.has(next)) return { code: "MANIFEST_INVALID" as const, problem: `the key of '${label}' comes from itself (through ${[...seen].join(" -> ")})`, fix: "take the key from a generate or upload version" };
    seen.add(next);
    next = versions[next].signed?.keyFromVersion;
  }
  return undefined;
}
