/**
 * What the test servers (Pebble, nginx, HAProxy) share about their processes: dying with the
 * test worker, cleaning up after workers that were killed, and showing their logs on failure.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { processIsAlive } from "../../provider/store/file-lock";

let parentDeathSignalWorks: boolean | undefined;

/**
 * On Linux servers are started through `setpriv --pdeathsig <signal>`, so the kernel signals them
 * when the test worker dies by any means: a worker torn down by a signal never runs `exit`
 * handlers, and servers left behind would hold ports and memory until someone kills them.
 * (nginx wants TERM: a KILLed master leaves its workers holding the port.)
 */
export function withParentDeathSignal(command: string, args: string[], signal: "KILL" | "TERM" = "KILL"): [string, string[]] {
  if (parentDeathSignalWorks === undefined) {
    try {
      execFileSync("setpriv", ["--pdeathsig", "KILL", "true"], { stdio: "ignore" });
      parentDeathSignalWorks = true;
    } catch {
      parentDeathSignalWorks = false;
    }
  }
  return parentDeathSignalWorks ? ["setpriv", ["--pdeathsig", signal, command, ...args]] : [command, args];
}


/**
 * A test worker killed by a signal cannot remove its temporary directories (its servers die with
 * it); the next start removes the `prefix` directories whose owner process (in `ownerFile`) is gone.
 */
export function removeDirectoriesOfDeadRuns(prefix: string, ownerFile: string): void {
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(prefix)) continue;
    const directory = path.join(os.tmpdir(), entry);
    try {
      const owner = Number(readFileSync(path.join(directory, ownerFile), "utf8"));
      if (Number.isInteger(owner) && owner > 0 && !processIsAlive(owner)) rmSync(directory, { recursive: true, force: true });
    } catch {
      // Not ours to judge: being set up right now, or another user's.
    }
  }
}

/** The last lines of a log, for failure messages. */
export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}
