/**
 * A problem found in `certificates.yaml`, where it is: file, line and column (1-based), the field
 * path (`certificates.api.versions.v1.generate.sans`), what is wrong, how to fix it, and a stable
 * code. Printed actionlint-style for people, or as GitHub workflow annotations, which the pull
 * request's diff shows on the line.
 */
import type { ErrorCode } from "../errors";

export interface ManifestDiagnostic {
  readonly code: ErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path of the field, e.g. `certificates.api.deployments.production.version`; empty: the file. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

export type DiagnosticFormat = "text" | "github";

/** `file:line:col: CODE: path: problem. Fix: fix`, one line per problem. */
export function formatDiagnostic(diagnostic: ManifestDiagnostic): string {
  const where = diagnostic.path === "" ? "" : `${diagnostic.path}: `;
  return `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.code}: ${where}${diagnostic.problem}. Fix: ${diagnostic.fix}`;
}

/**
 * `::error file=…,line=…,col=…,title=CODE::message`, escaped as the runner's workflow commands
 * require: `%`, CR and LF everywhere, and `:` and `,` in property values too.
 */
export function formatGithubAnnotation(diagnostic: ManifestDiagnostic): string {
  const property = (value: string) => escapeData(value).replace(/:/g, "%3A").replace(/,/g, "%2C");
  const where = diagnostic.path === "" ? "" : `${diagnostic.path}: `;
  const message = `${where}${diagnostic.problem}. Fix: ${diagnostic.fix}`;
  return `::error file=${property(diagnostic.file)},line=${diagnostic.line},col=${diagnostic.column},title=${property(diagnostic.code)}::${escapeData(message)}`;
}

function escapeData(value: string): string {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

export function formatDiagnostics(diagnostics: readonly ManifestDiagnostic[], format: DiagnosticFormat): string {
  return diagnostics.map((diagnostic) => `${format === "github" ? formatGithubAnnotation(diagnostic) : formatDiagnostic(diagnostic)}\n`).join("");
}

/** Source order: by line, then column. */
export function inSourceOrder(diagnostics: readonly ManifestDiagnostic[]): ManifestDiagnostic[] {
  return [...diagnostics].sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}
