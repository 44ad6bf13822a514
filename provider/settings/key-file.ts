/**
 * Who may read a deployed private key besides its owner: a group and a mode, for servers that
 * drop privileges and read their key as a non-root user (nginx workers, Postfix, a Java service
 * in group `ssl-cert`). Set on a directory target (`"keyFile": {"group": "ssl-cert", "mode":
 * "0640"}`) and on `certstage agent` (`--key-group`, `--key-mode`). Certificates stay 0644.
 *
 * A key is never world-readable: the widest mode taken is 0640 (owner read-write, group read).
 */
import { spawnSync } from "node:child_process";
import { CertstageError, quoted } from "../errors";

/** How the setting is written: both strings, as JSON and flags give them. */
export interface KeyFileSetting {
  /** A group name (or a numeric gid) that must exist where the key is written. */
  readonly group?: string;
  /** Octal, e.g. "0640"; default "0640" with a group, else "0600". */
  readonly mode?: string;
}

/** What a writer applies: the file's mode, and the group to give it (undefined: the writer's own). */
export interface KeyFileAccess {
  readonly mode: number;
  readonly gid?: number;
}

/** Today's key files: the owner's alone. */
export const PRIVATE_KEY_MODE = 0o600;
/** The bits a key file may have at most: owner read-write, group read. */
const WIDEST_KEY_MODE = 0o640;

const GROUP_NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;

/** What is wrong with a key file mode (as written), or undefined. */
export function keyFileModeProblem(mode: unknown): string | undefined {
  if (typeof mode !== "string" || !/^0?[0-7]{3}$/.test(mode)) return `mode must be an octal string such as "0640" or "0600", not ${quoted(JSON.stringify(mode) ?? String(mode))}`;
  const bits = parseInt(mode, 8);
  if ((bits & 0o007) !== 0) return `mode ${mode} would let every user on the machine read or change the private key`;
  if ((bits & ~WIDEST_KEY_MODE) !== 0) return `mode ${mode} is wider than 0640: a key file may be written by its owner only and read by its group at most (no execute bits)`;
  if ((bits & 0o400) === 0) return `mode ${mode} does not let the key's owner read it`;
  return undefined;
}

/** What is wrong with a group (as written), or undefined; the group's existence is checked by `keyFileAccess`. */
export function keyFileGroupProblem(group: unknown): string | undefined {
  if (typeof group === "string" && (GROUP_NAME.test(group) || /^[0-9]{1,10}$/.test(group))) return undefined;
  return `group must be a group name such as "ssl-cert", or a numeric gid, not ${quoted(JSON.stringify(group) ?? String(group))}`;
}

/**
 * The gid of `group` on this machine through the system's group database (getent, so groups from
 * LDAP or sssd count too); undefined when there is no such group. A number is taken as a gid.
 */
export function groupIdOf(group: string): number | undefined {
  if (/^[0-9]+$/.test(group)) return Number(group);
  const lookup = spawnSync("getent", ["group", group], { encoding: "utf8" });
  if (lookup.error) throw new CertstageError("KEY_FILE_GROUP_UNKNOWN", `group '${group}' could not be looked up: getent is not available (${lookup.error.message})`, { fix: "install getent (libc-bin), or give the group's numeric gid" });
  if (lookup.status !== 0) return undefined;
  const gid = Number(lookup.stdout.split(":")[2]);
  return Number.isInteger(gid) ? gid : undefined;
}

/**
 * The access a key file gets under `setting`, checked: a clear error with a stable code for a mode
 * too wide or malformed, and for a group this machine does not have. `field` names where it was set.
 */
export function keyFileAccess(setting: KeyFileSetting | undefined, field: string, resource?: string): KeyFileAccess {
  if (setting === undefined) return { mode: PRIVATE_KEY_MODE };
  const modeText = setting.mode ?? (setting.group !== undefined ? "0640" : "0600");
  const modeProblem = keyFileModeProblem(modeText);
  if (modeProblem) throw new CertstageError("KEY_FILE_MODE_INVALID", modeProblem, { resource, field, fix: `use "0640" (the group reads the key) or "0600" (the owner only)` });
  if (setting.group === undefined) return { mode: parseInt(modeText, 8) };
  const groupProblem = keyFileGroupProblem(setting.group);
  if (groupProblem) throw new CertstageError("KEY_FILE_GROUP_UNKNOWN", groupProblem, { resource, field, fix: "name the group the server's user belongs to, e.g. ssl-cert" });
  const gid = groupIdOf(setting.group);
  if (gid === undefined) {
    throw new CertstageError("KEY_FILE_GROUP_UNKNOWN", `group '${setting.group}' does not exist on this machine`, {
      resource,
      field,
      fix: `create it (groupadd --system ${setting.group}) and add the server's user to it, or name a group that exists (getent group lists them)`,
    });
  }
  return { mode: parseInt(modeText, 8), gid };
}
