/**
 * JSON Schema validation of resource inputs with ajv. Schemas live in `schema/` (shipped with the
 * package, usable by editors and other tools) and are compiled once per process on first use.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { CertstageError } from "../errors";
import { NAME_PATTERN, NAME_RULE } from "../store/store";

export type SchemaName = "certificate" | "certificate-version" | "environment-deployment" | "acme-renewal";

const compiled = new Map<SchemaName, ValidateFunction>();

function validatorFor(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    // Loaded lazily: the Pulumi program process never validates, only the provider process does.
    const Ajv = (require("ajv") as typeof import("ajv")).default;
    const schemaFile = schemaPath(name);
    const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
    validate = ajv.compile(require(schemaFile) as object);
    compiled.set(name, validate);
  }
  return validate;
}

/** `schema/` sits at the package root: two levels up from source, three from `dist/`. */
export function schemaPath(name: SchemaName | "manifest" | "lint-report"): string {
  const file = `${name}.schema.json`;
  const candidates = [path.join(__dirname, "..", "..", "schema", file), path.join(__dirname, "..", "..", "..", "schema", file)];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
}

/**
 * Validates inputs against the named schema. Values for which `isUnknown` holds (outputs not yet
 * known during a preview) are not judged: they are checked again when they are known.
 */
export function validateAgainstSchema(name: SchemaName, inputs: unknown, isUnknown: (value: unknown) => boolean): CertstageError[] {
  const validate = validatorFor(name);
  if (validate(inputs)) return [];
  return (validate.errors ?? [])
    .filter((error) => !isUnknown(valueAt(inputs, error.instancePath)))
    .map((error) => toCertstageError(error));
}

function valueAt(root: unknown, pointer: string): unknown {
  let value = root;
  for (const segment of pointer.split("/").slice(1)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[segment.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return value;
}

function fieldOf(error: ErrorObject): string {
  const base = error.instancePath.split("/").slice(1).join(".");
  const child =
    error.keyword === "required"
      ? (error.params as { missingProperty: string }).missingProperty
      : error.keyword === "additionalProperties"
        ? (error.params as { additionalProperty: string }).additionalProperty
        : undefined;
  return [base, child].filter((part) => part).join(".") || "(inputs)";
}

function toCertstageError(error: ErrorObject): CertstageError {
  const field = fieldOf(error);
  switch (error.keyword) {
    case "required":
      return new CertstageError("INPUT_SCHEMA", "is required but missing", { field, fix: `set '${field}'` });
    case "additionalProperties":
      return new CertstageError("INPUT_SCHEMA", "is not an input of this resource", { field, fix: `remove '${field}' or check its spelling` });
    case "enum":
      return new CertstageError("INPUT_SCHEMA", `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((value) => JSON.stringify(value)).join(", ")}`, {
        field,
        fix: "use one of the allowed values",
      });
    case "pattern":
      if ((error.params as { pattern: string }).pattern === NAME_PATTERN.source) {
        return new CertstageError("NAME_INVALID", "is not a valid name", { field, fix: NAME_RULE });
      }
      // Other patterns are formats (a time, host:port); the schema's description says which.
      return new CertstageError("INPUT_SCHEMA", "is not in the expected form", { field, fix: String(error.parentSchema?.description ?? `correct '${field}'`) });
    default:
      return new CertstageError("INPUT_SCHEMA", error.message ?? "is invalid", { field, fix: `correct '${field}'` });
  }
}
