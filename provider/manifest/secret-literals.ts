/**
 * certificates.yaml is committed, reviewed in pull requests and printed in CI logs: it names the
 * secrets it needs and never holds one. A keystore whose password is written in the file (a
 * `password:` key, a `passwordFrom` that is no `certstage:<key>` or `env:<NAME>` source, or a
 * bare value in place of the keystore) is refused with MANIFEST_SECRET_LITERAL at that field,
 * naming the certificate and the version, and the value is never repeated in the message.
 *
 * Runs on the YAML's value beside the schema, whose generic complaints about the same keystore
 * (an unknown key, a missing passwordFrom, a pattern) it replaces.
 */
import type { ManifestDiagnostic } from "./diagnostics";
import { dotted, type FieldPath, type SourcePositions } from "./positions";
import { isSecretSource } from "../settings/secret-source";

function entries(value: unknown): [string, unknown][] {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : [];
}

function fixFor(certificate: string): string {
  const key = `${certificate.replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? "").toUpperCase())}KeystorePassword`;
  return `remove the password from the file (and treat it as disclosed: choose another), then name where it is: passwordFrom: certstage:${key} after pulumi config set --secret certstage:${key} <password>, or passwordFrom: env:<NAME>`;
}

/** Every keystore of `value` (the parsed YAML) that holds its password instead of naming it. */
export function secretLiteralDiagnostics(value: unknown, file: string, positions: SourcePositions): ManifestDiagnostic[] {
  const diagnostics: ManifestDiagnostic[] = [];
  for (const [certificate, declared] of entries((value as { certificates?: unknown } | null)?.certificates)) {
    for (const [version, fields] of entries((declared as { versions?: unknown } | null)?.versions)) {
      const keystore = (fields as { keystore?: unknown } | null)?.keystore;
      if (keystore === undefined || keystore === null) continue;
      const at = (path: FieldPath, position: { line: number; column: number }, problem: string) =>
        diagnostics.push({ code: "MANIFEST_SECRET_LITERAL", file, ...position, path: dotted(path), problem: `certificate '${certificate}', version '${version}': ${problem}`, fix: fixFor(certificate) });
      const path = ["certificates", certificate, "versions", version, "keystore"];
      if (typeof keystore !== "object" || Array.isArray(keystore)) {
        at(path, positions.ofValue(path), "keystore is written as a value, not as { passwordFrom: … }: a password there would be in the manifest");
        continue;
      }
      const given = keystore as Record<string, unknown>;
      if ("password" in given) at([...path, "password"], positions.ofKey(path, "password"), "keystore.password puts the password itself in the manifest, which must only name where it is");
      if (given.passwordFrom !== undefined && !isSecretSource(given.passwordFrom)) {
        at([...path, "passwordFrom"], positions.ofValue([...path, "passwordFrom"]), "keystore.passwordFrom is not a secret's source (certstage:<key> or env:<NAME>), so it reads as the password itself");
      }
    }
  }
  return diagnostics;
}

/**
 * `diagnostics` without what they say about the password of a keystore `literals` refuses (its
 * form, the unknown `password` key, the missing `passwordFrom`): they would only restate it.
 */
export function withoutRestatements(diagnostics: readonly ManifestDiagnostic[], literals: readonly ManifestDiagnostic[]): ManifestDiagnostic[] {
  const keystores = literals.map((literal) => literal.path.replace(/\.keystore(\.[^.]+)?$/, ".keystore"));
  const restated = new Set(keystores.flatMap((keystore) => [keystore, `${keystore}.password`, `${keystore}.passwordFrom`]));
  return diagnostics.filter((diagnostic) => !restated.has(diagnostic.path));
}
