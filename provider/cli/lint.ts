/**
 * `certstage lint <certificates.yaml> [--format text|github] [--json]`: everything a preview would
 * refuse in a manifest, found before Pulumi runs: YAML, the manifest schema, references between
 * entries, the files it names, and the preview's whole check catalogue (manifest/preview-checks.ts),
 * all reported at once at `file:line:column`. Offline: no Pulumi, no store (it checks as the first
 * preview of a new stack would), nothing written. Exit 0 when clean, 1 when there is a problem,
 * 2 when it cannot run (no manifest, a bad option).
 *
 * The JSON output is a versioned contract (schema/lint-report.schema.json): fields are only added
 * within a schemaVersion, never renamed or removed.
 */
import * as path from "node:path";
import { isCertstageError } from "../errors";
import { formatDiagnostics, inSourceOrder, type DiagnosticFormat, type ManifestDiagnostic } from "../manifest/diagnostics";
import { loadManifest } from "../manifest/load";
import { previewDiagnostics } from "../manifest/preview-checks";
import type { ProviderSettings } from "../settings/stack-settings";
import type { Actor } from "../store";

export const LINT_REPORT_SCHEMA_VERSION = 1;

export interface LintReport {
  readonly schemaVersion: typeof LINT_REPORT_SCHEMA_VERSION;
  /** The manifest as given on the command line. */
  readonly file: string;
  readonly ok: boolean;
  /** The resources the manifest stands for (empty when it could not be planned). */
  readonly resources: Array<{ readonly type: string; readonly name: string }>;
  /** In source order. */
  readonly problems: ManifestDiagnostic[];
}

export async function buildLintReport(file: string, settings: ProviderSettings, actor: Actor): Promise<LintReport> {
  const loaded = loadManifest(path.resolve(file), file);
  const problems = loaded.plan ? await previewDiagnostics(loaded.plan, loaded.parsed.positions, file, settings, actor) : loaded.diagnostics;
  return {
    schemaVersion: LINT_REPORT_SCHEMA_VERSION,
    file,
    ok: problems.length === 0,
    resources: (loaded.plan ?? []).map((resource) => ({ type: resource.kind, name: resource.name })),
    problems: inSourceOrder(problems),
  };
}

export function formatLintReport(report: LintReport, format: DiagnosticFormat): string {
  if (report.ok) return `${report.file}: no problems (${report.resources.length} resources)\n`;
  const count = report.problems.length;
  return `${formatDiagnostics(report.problems, format)}${count} problem${count === 1 ? "" : "s"} in ${report.file}\n`;
}

export const LINT_FORMATS: readonly DiagnosticFormat[] = ["text", "github"];

export interface LintOptions {
  readonly file?: string;
  readonly format?: string;
  readonly json?: boolean;
}

/** Its own exit codes: 1 means "the manifest has a problem", so not being able to tell is 2. */
export async function lintCommand(options: LintOptions, settings: () => ProviderSettings, actor: () => Actor, output: NodeJS.WritableStream): Promise<number> {
  if (options.file === undefined) {
    process.stderr.write("certstage: lint needs the manifest to check, e.g. certstage lint certificates.yaml\n");
    return 2;
  }
  const format = (options.format ?? "text") as DiagnosticFormat;
  if (!LINT_FORMATS.includes(format)) {
    process.stderr.write(`certstage: --format must be one of ${LINT_FORMATS.join(", ")}\n`);
    return 2;
  }
  try {
    const report = await buildLintReport(options.file, settings(), actor());
    output.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatLintReport(report, format));
    return report.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`certstage: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  }
}
