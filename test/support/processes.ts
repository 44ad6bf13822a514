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

/** One line of /proc/<pid>/stat, the fields a test needs (proc(5)). */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** Process group id. */
  readonly pgrp: number;
  /** Session id. */
  readonly session: number;
  /** R, S, D, Z (exited, not yet reaped by its parent), T, … */
  readonly state: string;
  readonly command: string;
}

/** Every process the kernel lists now (Linux /proc). A process gone between listing and reading is skipped. */
export function listProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp session …": comm may hold spaces and parentheses, so split after the last ")".
    const close = stat.lastIndexOf(")");
    const [state, ppid, pgrp, session] = stat.slice(close + 2).split(" ");
    entries.push({ pid: Number(name), ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session), state, command: stat.slice(stat.indexOf("(") + 1, close) });
  }
  return entries;
}

/**
 * Processes that can still run in process group `pgid`. A zombie (state Z) is not one: it has
 * exited and the kernel has closed its files; it only waits for a parent to reap it, which in a
 * container whose PID 1 is no init may never happen.
 */
export function processGroupMembers(pgid: number): ProcessEntry[] {
  return listProcesses().filter((entry) => entry.pgrp === pgid && entry.state !== "Z");
}

/** Processes that can still run in session `sid` (every process group in it), zombies excepted. */
export function sessionMembers(sid: number): ProcessEntry[] {
  return listProcesses().filter((entry) => entry.session === sid && entry.state !== "Z");
}

/** How long a SIGKILLed process may take to be gone before the test calls it a failure. */
const KILL_DEADLINE_MS = 10_000;
const KILL_POLL_MS = 10;

/**
 * SIGKILLs process group `pgid` and returns once none of its members can run any more, so
 * nothing killed writes after the caller proceeds. Fails (with what is left) if that takes longer
 * than a SIGKILL ever should.
 */
export async function killProcessGroup(pgid: number): Promise<ProcessEntry[]> {
  return killUntilGone(`process group ${pgid}`, () => processGroupMembers(pgid), () => signal(-pgid));
}

/**
 * SIGKILLs every process of session `sid`, whatever process group each one made for itself, and
 * returns the processes it found once none of them can run any more. Pulumi starts each plugin
 * (language host, resource providers) in a process group of its own (cmdutil.RegisterProcessGroup:
 * setpgid), but they all stay in the session of the `pulumi` command that started them; a command
 * started detached (setsid) makes that session its own. Kills again on every poll: a process that
 * forked between listing and killing is found and killed on the next round.
 */
export async function killSession(sid: number): Promise<ProcessEntry[]> {
  return killUntilGone(`session ${sid}`, () => sessionMembers(sid), (members) => {
    for (const member of members) signal(member.pid);
  });
}

async function killUntilGone(what: string, members: () => ProcessEntry[], kill: (members: ProcessEntry[]) => void): Promise<ProcessEntry[]> {
  const found = new Map<number, ProcessEntry>();
  const deadline = Date.now() + KILL_DEADLINE_MS;
  for (;;) {
    const left = members();
    if (left.length === 0) return [...found.values()];
    for (const entry of left) if (!found.has(entry.pid)) found.set(entry.pid, entry);
    kill(left);
    if (Date.now() > deadline) {
      throw new Error(`${what}: still running ${KILL_DEADLINE_MS} ms after SIGKILL: ${left.map((entry) => `${entry.pid} ${entry.command} (${entry.state})`).join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
  }
}

function signal(target: number): void {
  try {
    process.kill(target, "SIGKILL");
  } catch (error) {
    // Gone already (or, for a group, every member gone): nothing left to kill.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
