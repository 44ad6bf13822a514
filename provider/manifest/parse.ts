/**
 * Reads `certificates.yaml`: YAML with the `yaml` package (keeping every node's place, and
 * refusing a key given twice), then the manifest schema with ajv and its secrets, which it must
 * name and never hold (secret-literals.ts), then the references between
 * entries (references.ts). Every problem is reported at once, each at its line and column; the
 * manifest is only returned when there is none. Pure: the caller reads the file.
 */
import type { ValidateFunction } from "ajv";
import { LineCounter, parseDocument, type YAMLError } from "yaml";
import type { ManifestDiagnostic } from "./diagnostics";
import { SourcePositions } from "./positions";
import { referenceDiagnostics } from "./references";
import { manifestSchema } from "./schema";
import { schemaDiagnostics } from "./schema-errors";
import { secretLiteralDiagnostics, withoutRestatements } from "./secret-literals";
import type { ManifestFile } from "./types";

export interface ParsedManifest {
  /** The file as messages name it (as given, relative paths stay relative). */
  readonly file: string;
  /** Present only when the manifest has no problem. */
  readonly manifest?: ManifestFile;
  readonly positions: SourcePositions;
  readonly diagnostics: ManifestDiagnostic[];
}

let compiled: { validate: ValidateFunction; namePattern: string } | undefined;

function validator() {
  if (!compiled) {
    const Ajv = (require("ajv") as typeof import("ajv")).default;
    const schema = manifestSchema();
    const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
    const certificates = (schema.properties as Record<string, { propertyNames: { pattern: string } }>).certificates;
    compiled = { validate: ajv.compile(schema), namePattern: certificates.propertyNames.pattern };
  }
  return compiled;
}

const YAML_FIXES: Record<string, string> = {
  DUPLICATE_KEY: "give each key once per map: merge the two entries, or rename one",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  BAD_INDENT: "line the entry up with its siblings",
  MISSING_CHAR: "add the missing closing character",
  BLOCK_AS_IMPLICIT_KEY: "put a space after the colon, or quote the key",
  MULTIPLE_DOCS: "keep one document in the file (drop the `---` separator)",
};

function yamlDiagnostic(error: YAMLError, file: string, lineCounter: LineCounter): ManifestDiagnostic {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  const problem = error.message.replace(/\s+at line \d+, column \d+[\s\S]*$/, "").replace(/\.$/, "");
  return { code: "MANIFEST_YAML_INVALID", file, line, column: col, path: "", problem, fix: YAML_FIXES[error.code] ?? "correct the YAML syntax at this point" };
}

export function parseManifest(text: string, file: string): ParsedManifest {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const positions = new SourcePositions(document, lineCounter);
  if (document.errors.length > 0) return { file, positions, diagnostics: document.errors.map((error) => yamlDiagnostic(error, file, lineCounter)) };
  const value: unknown = document.toJS() ?? {};
  const { validate, namePattern } = validator();
  const literals = secretLiteralDiagnostics(value, file, positions);
  if (!validate(value)) return { file, positions, diagnostics: [...withoutRestatements(schemaDiagnostics(validate.errors ?? [], file, positions, namePattern), literals), ...literals] };
  // The schema refuses every literal too; this only guards against the two drifting apart.
  if (literals.length > 0) return { file, positions, diagnostics: literals };
  const manifest = value as ManifestFile;
  const diagnostics = referenceDiagnostics(manifest, file, positions);
  return diagnostics.length > 0 ? { file, positions, diagnostics } : { file, manifest, positions, diagnostics };
}
