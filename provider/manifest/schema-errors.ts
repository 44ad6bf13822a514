/**
 * Ajv's errors as manifest diagnostics: each at its place in the YAML (an unknown key at the key,
 * a missing field at the map that lacks it, a bad value at the value), with a fix that names the
 * allowed fields, values or an example from the schema. Ajv runs with `allErrors`, so every
 * problem is reported at once.
 */
import type { ErrorObject } from "ajv";
import type { ErrorCode } from "../errors";
import { NAME_RULE } from "../store/store";
import type { ManifestDiagnostic } from "./diagnostics";
import { dotted, FieldPath, pointerToPath, SourcePositions } from "./positions";

type SchemaNode = { properties?: Record<string, SchemaNode>; examples?: unknown[]; oneOf?: Array<{ const?: unknown; description?: string }>; description?: string; pattern?: string };

const CODE: ErrorCode = "MANIFEST_INVALID";

function example(schema: SchemaNode | undefined): string | undefined {
  const value = schema?.examples?.[0];
  return value === undefined ? undefined : JSON.stringify(value);
}

/** Every error but the ones another error already explains (the const branches of an enumeration). */
function reported(errors: readonly ErrorObject[]): ErrorObject[] {
  return errors.filter((error) => !(error.keyword === "const" && /\/oneOf\/\d+\/const$/.test(error.schemaPath)) && error.keyword !== "propertyNames");
}

export function schemaDiagnostics(errors: readonly ErrorObject[], file: string, positions: SourcePositions, namePattern: string): ManifestDiagnostic[] {
  return reported(errors).map((error) => {
    const path = pointerToPath(error.instancePath);
    const parent = error.parentSchema as SchemaNode | undefined;
    const at = (where: FieldPath, position: { line: number; column: number }, problem: string, fix: string): ManifestDiagnostic => ({ code: CODE, file, ...position, path: dotted(where), problem, fix });
    if (error.propertyName !== undefined) {
      const key = error.propertyName;
      const fix = parent?.pattern === namePattern || (error.params as { pattern?: string }).pattern === namePattern ? NAME_RULE : "rename it";
      return at([...path, key], positions.ofKey(path, key), `'${key}' is not a valid name`, fix);
    }
    switch (error.keyword) {
      case "additionalProperties": {
        const key = (error.params as { additionalProperty: string }).additionalProperty;
        const fields = Object.keys(parent?.properties ?? {});
        return at([...path, key], positions.ofKey(path, key), `'${key}' is not a field here`, `remove it or check its spelling; the fields are ${fields.join(", ")}`);
      }
      case "required": {
        const missing = (error.params as { missingProperty: string }).missingProperty;
        const shown = example(parent?.properties?.[missing]);
        return at([...path, missing], positions.ofValue(path), `'${missing}' is required but missing`, `add ${missing}${shown ? `, e.g. ${missing}: ${shown}` : ""}`);
      }
      case "oneOf": {
        const choices = (parent?.oneOf ?? []).filter((choice) => choice.const !== undefined);
        if (choices.length > 0) {
          return at(path, positions.ofValue(path), `must be one of ${choices.map((choice) => JSON.stringify(choice.const)).join(", ")}`, choices.map((choice) => `${String(choice.const)}: ${choice.description}`).join("; "));
        }
        break;
      }
      case "type": {
        const shown = example(parent);
        return at(path, positions.ofValue(path), `must be ${String((error.params as { type: string | string[] }).type).replace(",", " or ")}`, shown ? `write it like ${shown}` : "correct its type");
      }
      case "pattern": {
        const pattern = (error.params as { pattern: string }).pattern;
        return at(path, positions.ofValue(path), "is not in the expected form", pattern === namePattern ? NAME_RULE : (parent?.description ?? "see the field's description"));
      }
    }
    const shown = example(parent);
    return at(path, positions.ofValue(path), error.message ?? "is invalid", shown ? `see the field's description; for example ${shown}` : "see the field's description");
  });
}
