/**
 * `certstage preview-summary --preview preview.json --project <name> --stack <name>
 *   [--store <location>] [--expiring-within <days>] [--output summary.md]`
 *
 * Reads `pulumi preview --json` (a file, or standard input when --preview is `-` or absent) and
 * the store, read-only, and writes the pull-request comment as Markdown (provider/summary/). It
 * runs where a preview runs: with a store role that may only read and without a store key, so it
 * reads public facts only and writes nothing but --output. A failed preview (a refusal) is
 * summarized too: the reviewer sees why. Exit 0 when the summary was written, 2 when it cannot
 * run (options, an unreadable or cut preview, the store, key material in what it would write).
 */
import { readFileSync } from "node:fs";
import { replaceFileAtomically } from "../store/atomic-file";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { now } from "../clock";
import { CertstageError, isCertstageError } from "../errors";
import { projectDirectory } from "../settings/project-directory";
import { certificateNames, planFromPreview } from "../summary/plan";
import { parsePreviewJson } from "../summary/preview-json";
import { renderSummary } from "../summary/render";
import { DEFAULT_EXPIRING_WITHIN_DAYS } from "../summary/risks";
import { openStore, parseStoreSetting } from "../store";
import { readStoreView, type StoreView } from "../summary/store-view";

export interface PreviewSummaryOptions {
  readonly preview?: string;
  readonly project?: string;
  readonly stack?: string;
  readonly store?: string;
  readonly output?: string;
  readonly "expiring-within"?: string;
}

export async function previewSummaryCommand(options: PreviewSummaryOptions, output: NodeJS.WritableStream, environment: NodeJS.ProcessEnv = process.env, readStdin: () => Promise<string> = readStandardInput): Promise<number> {
  try {
    for (const name of ["project", "stack"] as const) {
      if (options[name] === undefined || options[name] === "") throw argumentError(`--${name}`, `preview-summary needs --${name} <name>`, name === "project" ? "pass the `name:` of Pulumi.yaml" : "pass the stack the preview ran for, as in `pulumi preview --stack <name>`");
    }
    const expiringWithinDays = parseDays(options["expiring-within"]);
    const source = options.preview ?? "-";
    const text = await readPreview(source, readStdin);
    const preview = parsePreviewJson(text, source);
    // Only the certificates the preview names are read; a preview naming none reads no store at all.
    const names = certificateNames(preview);
    const view = names.size === 0 ? { store: "", certificates: [] } : await readStoreViewFromLocation(options.store ?? environment.CERTSTAGE_STORE, projectDirectory(), names);
    const markdown = renderSummary(planFromPreview(preview, view), { project: options.project!, stack: options.stack!, now: now(environment), expiringWithinDays, store: view.store });
    if (options.output === undefined) output.write(markdown);
    // Written whole or not at all: a job that dies half-way leaves no half comment to post.
    else await replaceFileAtomically(path.resolve(options.output), markdown);
    return 0;
  } catch (error) {
    process.stderr.write(`certstage: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  }
}

/** `certstage preview-summary …` as typed: its own options, as pr-comment has. */
export async function previewSummaryMain(args: string[], output: NodeJS.WritableStream): Promise<number> {
  let values: PreviewSummaryOptions;
  try {
    values = parseArgs({
      args,
      options: { preview: { type: "string" }, project: { type: "string" }, stack: { type: "string" }, store: { type: "string" }, output: { type: "string" }, "expiring-within": { type: "string" } },
    }).values;
  } catch (error) {
    process.stderr.write(`certstage: ${(error as Error).message}\n`);
    return 2;
  }
  return previewSummaryCommand(values, output);
}

/** Opens the store at `location` (as --store / CERTSTAGE_STORE read), reads the view, and closes it. */
async function readStoreViewFromLocation(location: string | undefined, baseDirectory: string, names: ReadonlySet<string>): Promise<StoreView> {
  const store = openStore(parseStoreSetting(location), baseDirectory);
  try {
    return await readStoreView(store, names);
  } finally {
    await store.close();
  }
}

/** All of standard input; a pipe may be non-blocking (EAGAIN for a synchronous read), so read it as a stream. */
async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function readPreview(source: string, readStdin: () => Promise<string>): Promise<string> {
  let text: string;
  try {
    text = source === "-" ? await readStdin() : readFileSync(source, "utf8");
  } catch (error) {
    throw new CertstageError("PREVIEW_UNREADABLE", `cannot read ${source === "-" ? "the preview from standard input" : `--preview ${source}`}: ${(error as Error).message}`, {
      field: "--preview",
      fix: "write the preview first (`pulumi preview --json > preview.json`) and pass its path, or pipe it in with --preview -",
      cause: error,
    });
  }
  if (text.trim() === "") {
    throw new CertstageError("PREVIEW_UNREADABLE", `${source === "-" ? "standard input" : `--preview ${source}`} is empty`, {
      field: "--preview",
      fix: "pulumi printed nothing: look at the preview step's log (the program may not have started), then run `pulumi preview --json > preview.json` again",
    });
  }
  return text;
}

function parseDays(value: string | undefined): number {
  if (value === undefined) return DEFAULT_EXPIRING_WITHIN_DAYS;
  const match = /^(\d{1,4})d?$/.exec(value.trim());
  if (!match) throw argumentError("--expiring-within", `'${value}' is not a number of days`, "pass whole days, e.g. --expiring-within 30 or 30d");
  return Number(match[1]);
}

function argumentError(field: string, problem: string, fix: string): CertstageError {
  return new CertstageError("SUMMARY_ARGUMENT_INVALID", problem, { field, fix });
}
