/**
 * System users for tests that read files as a non-root server would: made once per machine
 * (useradd --system, no home, no login shell), asked for with getent first, so a second run and
 * parallel files find them in place. Needs root, as the tests that use them run.
 */
import { execFileSync, spawnSync } from "node:child_process";

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function entryOf(database: "passwd" | "group", name: string): string[] | undefined {
  const lookup = spawnSync("getent", [database, name], { encoding: "utf8" });
  return lookup.status === 0 ? lookup.stdout.trim().split(":") : undefined;
}

/** The user `name`, made if missing; `groups` are supplementary groups it is made a member of. */
export function ensureSystemUser(name: string, groups: readonly string[] = []): SystemUser {
  if (entryOf("passwd", name) === undefined) {
    const made = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ...(groups.length > 0 ? ["--groups", groups.join(",")] : []), name], { encoding: "utf8" });
    // Another test file made it meanwhile (exit 9: the name is taken).
    if (made.status !== 0 && made.status !== 9) throw new Error(`useradd ${name} failed: ${made.stderr}`);
  }
  for (const group of groups) {
    const members = entryOf("group", group)?.[3]?.split(",") ?? [];
    if (!members.includes(name)) execFileSync("usermod", ["--append", "--groups", group, name]);
  }
  const entry = entryOf("passwd", name)!;
  return { name, uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** Reads `file` as `user` (its own uid, gid and supplementary groups): the content, or the error cat printed. */
export function readAs(user: SystemUser, file: string): { ok: true; content: string } | { ok: false; error: string } {
  const run = spawnSync("setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "cat", file], { encoding: "utf8" });
  return run.status === 0 ? { ok: true, content: run.stdout } : { ok: false, error: run.stderr.trim() };
}
