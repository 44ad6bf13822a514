/**
 * Reads what `pulumi preview --json` prints, defensively: the CLI may print text before the JSON
 * object (a language host's warning, an update notice), a newer CLI may add step kinds (`op`s)
 * and fields, and a failed preview (a refusal) prints the steps it got to and its diagnostics.
 * Whatever is missing reads as missing; only an output that holds no JSON object at all, or one
 * cut short, is an error.
 */
import { CertstageError } from "../errors";

/** The certstage resource kinds a summary knows, by the type token's last part. */
export type CertstageKind = "Certificate" | "CertificateVersion" | "EnvironmentDeployment" | "AcmeRenewal" | "Manifest";

export interface ResourceState {
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Which resource each input came from (URNs), as the engine recorded it. */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface PreviewStep {
  /** As printed: create, update, replace, create-replacement, delete, same, read, … or one not known yet. */
  readonly op: string;
  readonly urn: string;
  /** The resource's name (the URN's last part), e.g. `api/v2`. */
  readonly name: string;
  /** The type token, e.g. `pulumi-nodejs:dynamic/certstage:CertificateVersion`. */
  readonly type: string;
  /** Set for certstage's own resources. */
  readonly kind?: CertstageKind;
  readonly old?: ResourceState;
  readonly new?: ResourceState;
  /** Input names the step changes, when the engine said. */
  readonly diffs: readonly string[];
  readonly replaces: readonly string[];
}

export interface PreviewDiagnostic {
  readonly severity: string;
  readonly message: string;
  /** The resource it is about, when it is about one. */
  readonly urn?: string;
}

export interface ParsedPreview {
  readonly steps: readonly PreviewStep[];
  readonly diagnostics: readonly PreviewDiagnostic[];
  /** Counts per op as the CLI sums them (`changeSummary`). */
  readonly changeSummary: Readonly<Record<string, number>>;
  /** The stack's configuration as the preview saw it (secrets stay `[secret]`). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Lines printed before the JSON object, kept as text for the reviewer (a failed program's message). */
  readonly prefix: string;
}

const CERTSTAGE_TYPE = /^pulumi-nodejs:dynamic\/certstage:(Certificate|CertificateVersion|EnvironmentDeployment|AcmeRenewal)$|^certstage:index:(Manifest)$/;

/** Parses the text of `pulumi preview --json`; PREVIEW_JSON_INVALID when it holds no complete JSON object. */
export function parsePreviewJson(text: string, source = "--preview"): ParsedPreview {
  const start = jsonStart(text);
  if (start === undefined) {
    throw new CertstageError("PREVIEW_JSON_INVALID", `${describeSource(source)} holds no JSON object${text.trim() === "" ? " (it is empty)" : ` (it starts ${JSON.stringify(text.trim().slice(0, 60))})`}`, {
      field: source,
      fix: "write it with `pulumi preview --json > preview.json` (with --json, not --diff), and pass that file",
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(text.slice(start));
  } catch (error) {
    throw new CertstageError("PREVIEW_JSON_INVALID", `${describeSource(source)} is not complete JSON after its first ${start === 0 ? "" : "non-JSON text, at "}'{': ${(error as Error).message}`, {
      field: source,
      fix: "the preview was cut short (a killed job, a full disk) or mixed with other output; run `pulumi preview --json > preview.json` again, with nothing else writing to that file",
      cause: error,
    });
  }
  if (!isObject(document)) {
    throw new CertstageError("PREVIEW_JSON_INVALID", `${describeSource(source)} is JSON but not an object`, { field: source, fix: "pass the output of `pulumi preview --json`" });
  }
  return {
    steps: list(document.steps).flatMap((step) => (isObject(step) ? [readStep(step)] : [])),
    diagnostics: list(document.diagnostics).flatMap((diagnostic) => (isObject(diagnostic) ? [readDiagnostic(diagnostic)] : [])),
    changeSummary: Object.fromEntries(Object.entries(record(document.changeSummary)).filter(([, count]) => typeof count === "number")) as Record<string, number>,
    config: record(document.config),
    prefix: text.slice(0, start).trim(),
  };
}

/** Where the JSON object begins: the first line that starts with `{` (the CLI prints it from a line's start). */
function jsonStart(text: string): number | undefined {
  const body = text.replace(/^\uFEFF/, "");
  const offset = text.length - body.length;
  if (body.trimStart().startsWith("{")) return offset + body.length - body.trimStart().length;
  const match = /(^|\n)[ \t]*\{/.exec(body);
  return match ? offset + match.index + match[0].indexOf("{") : undefined;
}

function describeSource(source: string): string {
  return source === "-" ? "the preview read from standard input" : `the preview (${source})`;
}

function readStep(step: Record<string, unknown>): PreviewStep {
  const urn = typeof step.urn === "string" ? step.urn : "";
  const newState = isObject(step.newState) ? step.newState : undefined;
  const oldState = isObject(step.oldState) ? step.oldState : undefined;
  const type = text(newState?.type) ?? text(oldState?.type) ?? typeOfUrn(urn);
  const match = CERTSTAGE_TYPE.exec(type);
  return {
    op: text(step.op) ?? "unknown",
    urn,
    name: urn.split("::").at(-1) ?? urn,
    type,
    kind: match ? ((match[1] ?? match[2]) as CertstageKind) : undefined,
    old: oldState ? readState(oldState) : undefined,
    new: newState ? readState(newState) : undefined,
    diffs: list(step.diffReasons).filter((field): field is string => typeof field === "string"),
    replaces: list(step.replaceReasons).filter((field): field is string => typeof field === "string"),
  };
}

function readState(state: Record<string, unknown>): ResourceState {
  const dependencies = Object.fromEntries(
    Object.entries(record(state.propertyDependencies)).map(([field, urns]) => [field, list(urns).filter((urn): urn is string => typeof urn === "string")]),
  );
  return { inputs: record(state.inputs), outputs: record(state.outputs), propertyDependencies: dependencies };
}

function readDiagnostic(diagnostic: Record<string, unknown>): PreviewDiagnostic {
  return { severity: text(diagnostic.severity) ?? "info", message: text(diagnostic.message) ?? "", urn: text(diagnostic.urn) };
}

/** `urn:pulumi:stack::project::parent$type::name` -> `type`. */
function typeOfUrn(urn: string): string {
  return urn.split("::")[2]?.split("$").at(-1) ?? "";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function record(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
