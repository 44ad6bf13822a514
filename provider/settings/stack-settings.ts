/**
 * The provider's settings, read from the stack configuration that Pulumi hands to `configure`:
 *
 *   certstage:store         where the store is (default `.certstage` in the Pulumi project directory)
 *   certstage:principal     who acts, recorded in history (default CERTSTAGE_PRINCIPAL or user@host)
 *   certstage:teams         the teams the principal acts for, a JSON list or a comma list (default CERTSTAGE_TEAMS, else none)
 *   certstage:environments  environment names, a JSON list (default ["staging","production"])
 *   certstage:acmeAccountKey  ACME account key, PEM (set it as a secret); default: made once, kept in the store
 *   certstage:profile       validation profile: `public` (Web PKI rules, the default) or `private` (an internal CA)
 *   certstage:storeKey      key-encryption keys of a postgres store, a secret (default CERTSTAGE_STORE_KEY): `new[,old…]`
 *   certstage:storePassword the postgres store's password, a secret (default: the URL's, or PGPASSWORD)
 */
import { CertstageError } from "../errors";
import { parsePrivateKeyPem } from "../pki/private-key";
import { parseStoreSetting, StoreSettings } from "../store";
import { DEFAULT_PROFILE, isValidationProfile, VALIDATION_PROFILES, ValidationProfile } from "../validation/profiles";
import { EnvironmentDefinition, environmentDefinitionsFrom } from "./environments";
import { projectDirectory } from "./project-directory";
import { defaultPrincipal, parseTeams } from "./principal";

// Who acts lives in principal.ts (the command line reads it without the rest of these settings).
export { defaultPrincipal, parseTeams };

export interface ProviderSettings {
  readonly store: StoreSettings;
  /** Directory relative store paths resolve against: the Pulumi project directory. */
  readonly baseDirectory: string;
  readonly principal: string;
  /**
   * The teams the principal acts for: it may change certificates they own. The file store takes
   * this list as given (its rules are advisory); a database store knows memberships itself.
   */
  readonly teams: string[];
  readonly environments: string[];
  /** Full definitions, one per name in `environments`. */
  readonly environmentDefinitions: EnvironmentDefinition[];
  /** The ACME account key (PEM) from `certstage:acmeAccountKey` (a secret); else one is kept in the store. */
  readonly acmeAccountKeyPem?: string;
  /** The validation profile of certificates that do not set their own. */
  readonly profile: ValidationProfile;
  /** Secrets the store driver needs (postgres): never outputs, never logged. */
  readonly storeSecrets: { readonly storeKey?: string; readonly storePassword?: string };
  /** The stack's configuration, for the secrets an http target names (`auth.tokenFrom`); never logged. */
  readonly stackConfig?: ConfigReader;
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
    teams: parseTeams(config("certstage:teams") ?? environment.CERTSTAGE_TEAMS, "certstage:teams"),
    environments: parseEnvironments(config("certstage:environments"), baseDirectory).map((definition) => definition.name),
    environmentDefinitions: parseEnvironments(config("certstage:environments"), baseDirectory),
    acmeAccountKeyPem: acmeAccountKey(config("certstage:acmeAccountKey")),
    profile: parseProfile(config("certstage:profile")),
    storeSecrets: { storeKey: config("certstage:storeKey"), storePassword: config("certstage:storePassword") },
    stackConfig: config,
  };
}

/** Read here so a damaged key is refused at preview, with the setting named, not by the ACME client at `up`. */
function acmeAccountKey(value: string | undefined): string | undefined {
  if (value !== undefined) parsePrivateKeyPem(value, "certstage:acmeAccountKey");
  return value;
}

function parseProfile(value: string | undefined): ValidationProfile {
  if (value === undefined || value.trim() === "") return DEFAULT_PROFILE;
  if (isValidationProfile(value.trim())) return value.trim() as ValidationProfile;
  throw new CertstageError("CONFIG_INVALID", `'${value}' is not a validation profile`, {
    field: "certstage:profile",
    fix: `set one of ${VALIDATION_PROFILES.join(", ")}: public holds certificates to the Web PKI's rules, private to an internal CA's`,
  });
}

function parseEnvironments(value: string | undefined, baseDirectory: string): EnvironmentDefinition[] {
  const fallback = DEFAULT_ENVIRONMENTS.map((name): EnvironmentDefinition => ({ name, target: { type: "directory" } }));
  if (value === undefined || value.trim() === "") return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = value.split(",").map((name) => name.trim());
  }
  return environmentDefinitionsFrom(parsed, value, baseDirectory);
}
