/**
 * Who acts: the principal's default name and the teams it acts for, as the stack settings, the
 * environment (CERTSTAGE_PRINCIPAL, CERTSTAGE_TEAMS) and the command line (`--principal`,
 * `--teams`) write them. Apart from stack-settings.ts so that every `certstage` command can read
 * them without loading what the provider's settings need (key parsing, profiles, environments).
 */
import * as os from "node:os";
import { CertstageError, quoted } from "../errors";

/**
 * A list of team names, as `certstage:teams` (or CERTSTAGE_TEAMS, or `--teams`) writes it: a JSON
 * list (`["team-edge","team-web"]`) or a comma list (`team-edge, team-web`); empty: none.
 */
export function parseTeams(value: string | undefined, field: string): string[] {
  if (value === undefined || value.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = value.split(",").map((name) => name.trim());
  }
  const fix = `write the teams as a JSON list of names, e.g. ["team-edge","team-web"], or as a comma list: team-edge, team-web`;
  if (!Array.isArray(parsed)) throw new CertstageError("CONFIG_INVALID", `${quoted(value)} is not a list of team names`, { field, fix });
  const teams = parsed.map((team) => (typeof team === "string" ? team.trim() : team));
  const bad = teams.find((team) => typeof team !== "string" || team === "");
  if (bad !== undefined) throw new CertstageError("CONFIG_INVALID", `${quoted(JSON.stringify(bad) ?? "")} is not a team name`, { field, fix });
  return [...new Set(teams as string[])];
}

export function defaultPrincipal(): string {
  let user = "unknown";
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): keep "unknown".
  }
  return `${user}@${os.hostname()}`;
}
