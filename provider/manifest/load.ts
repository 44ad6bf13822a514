/**
 * The I/O edge of the manifest: reads `certificates.yaml` and the files it names (relative to its
 * directory), then parses and plans it. A file that cannot be read is reported at the field that
 * names it, beside every other problem; only the manifest itself missing is an error thrown.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { CertstageError } from "../errors";
import type { ManifestDiagnostic } from "./diagnostics";
import { parseManifest, type ParsedManifest } from "./parse";
import { planManifest, referencedFiles, type PlannedResource } from "./plan";
import { dotted } from "./positions";

export interface LoadedManifest {
  readonly parsed: ParsedManifest;
  /** Present when there is no diagnostic. */
  readonly plan?: PlannedResource[];
  readonly diagnostics: ManifestDiagnostic[];
}

/** Largest manifest or named file read: far above any PEM bundle, far below what could hurt. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

function readText(file: string): string {
  const bytes = readFileSync(file);
  if (bytes.length > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
  return bytes.toString("utf8");
}

/** `file` is read from disk; messages name it as `shownAs` (what the user typed). */
export function loadManifest(file: string, shownAs: string = file): LoadedManifest {
  let text: string;
  try {
    text = readText(file);
  } catch (error) {
    throw new CertstageError("MANIFEST_UNREADABLE", `cannot read ${shownAs}: ${(error as Error).message}`, { fix: "give the path of the certificates.yaml to read", cause: error });
  }
  const parsed = parseManifest(text, shownAs);
  if (!parsed.manifest) return { parsed, diagnostics: parsed.diagnostics };
  const directory = path.dirname(path.resolve(file));
  const contents = new Map<string, string>();
  const diagnostics: ManifestDiagnostic[] = [];
  for (const reference of referencedFiles(parsed.manifest)) {
    try {
      contents.set(reference.file, readText(path.resolve(directory, reference.file)));
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (error as Error).message;
      diagnostics.push({
        code: "MANIFEST_FILE_UNREADABLE",
        file: shownAs,
        ...parsed.positions.ofValue(reference.source),
        path: dotted(reference.source),
        problem: `${JSON.stringify(reference.file)} (relative to the manifest) ${reason}`,
        fix: `write the file at ${path.join(path.dirname(shownAs), reference.file)}, or correct the path`,
      });
    }
  }
  if (diagnostics.length > 0) return { parsed, diagnostics };
  return { parsed, plan: planManifest(parsed.manifest, contents), diagnostics: [] };
}
