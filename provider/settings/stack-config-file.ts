/**
 * The `certstage:*` settings of a stack, read from its `Pulumi.<stack>.yaml` without Pulumi: what
 * `certstage lint --stack <name>` checks a manifest against (its environments, profile, principal).
 * A plain value is taken as written, a structured one (`pulumi config set --path`) as JSON, as
 * Pulumi hands it to the provider; an encrypted one (`secure:`) is left out: lint needs no secret.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { CertstageError } from "../errors";
import type { ConfigReader } from "./stack-settings";

export function stackConfigReader(projectDirectory: string, stack: string): ConfigReader {
  const file = path.join(projectDirectory, `Pulumi.${stack}.yaml`);
  let document: unknown;
  try {
    document = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CertstageError("CONFIG_INVALID", `cannot read the settings of stack '${stack}' from ${file}: ${(error as Error).message}`, {
      field: "--stack",
      fix: "name a stack whose Pulumi.<stack>.yaml is in the manifest's Pulumi project, or leave --stack out for the defaults",
      cause: error,
    });
  }
  const config = ((document as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
  return (key) => {
    const value = config[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === "object" && !Array.isArray(value) && "secure" in value) return undefined;
    return typeof value === "string" ? value : JSON.stringify(value);
  };
}
