/**
 * The provider's settings, read from the stack configuration that Pulumi hands to `configure`:
 *
 *   certstage:store         where the store is (default `.certstage` in the Pulumi project directory)
 *   certstage:principal     who acts, recorded in history (default CERTSTAGE_PRINCIPAL or user@host)
 *   certstage:environments  environment names, a JSON list (default ["staging","production"])
 *   certstage:acmeAccountKey  ACME account key, PEM (set it as a secret); default: made once, kept in the store
 */
import * as os from "node:os";
import { CertstageError } from "../errors";
import { NAME_PATTERN, parseStoreSetting, StoreSettings } from "../store";
import { projectDirectory } from "./project-directory";

export interface ProviderSettings {
  readonly store: StoreSettings;
  /** Directory relative store paths resolve against: the Pulumi project directory. */
  readonly baseDirectory: string;
  readonly principal: string;
  readonly environments: string[];
  /** The ACME account key (PEM) from `certstage:acmeAccountKey` (a secret); else one is kept in the store. */
  readonly acmeAccountKeyPem?: string;
}

export const DEFAULT_ENVIRONMENTS = ["staging", "production"];

export type ConfigReader = (key: string) => string | undefined;

export function readProviderSettings(
  config: ConfigReader,
  environment: NodeJS.ProcessEnv = process.env,
  baseDirectory: string = projectDirectory(),
): ProviderSettings {
  return {
    store: parseStoreSetting(config("certstage:store") ?? environment.CERTSTAGE_STORE),
    baseDirectory,
    principal: config("certstage:principal") ?? environment.CERTSTAGE_PRINCIPAL ?? defaultPrincipal(),
    environments: parseEnvironments(config("certstage:environments")),
    acmeAccountKeyPem: config("certstage:acmeAccountKey"),
  };
}

function defaultPrincipal(): string {
  let user = "unknown";
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): keep "unknown".
  }
  return `${user}@${os.hostname()}`;
}

function parseEnvironments(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [...DEFAULT_ENVIRONMENTS];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = value.split(",").map((name) => name.trim());
  }
  const names = Array.isArray(parsed) ? parsed.map((entry) => (typeof entry === "object" && entry !== null ? (entry as { name?: unknown }).name : entry)) : [];
  const invalid = names.filter((name) => typeof name !== "string" || !NAME_PATTERN.test(name));
  if (names.length === 0 || invalid.length > 0) {
    throw new CertstageError("CONFIG_INVALID", `'${value}' is not a list of environment names`, {
      field: "certstage:environments",
      fix: `set it to a JSON list such as '["staging","production"]' (names: lower-case letters, digits, '.', '_', '-')`,
    });
  }
  return names as string[];
}
