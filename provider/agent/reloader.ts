/**
 * Making the servers read what the agent installed: first the configuration check the operator
 * gave (`nginx -t`, `haproxy -c -f …`), then the reload command (`nginx -s reload`), each run
 * without a shell and stopped after a timeout. A check that fails means the servers would refuse
 * (or half-apply) the new files, so the reload is not sent and the caller puts the last good
 * versions back; a reload that fails leaves the files in place, to be reloaded at the next pass.
 *
 * nginx on SIGHUP checks the new configuration itself and keeps the old one if it is wrong, so a
 * reload that "succeeded" proves little: what the servers serve is found by a handshake
 * (report.ts), never assumed.
 */
import { execFile } from "node:child_process";
import { CertstageError } from "../errors";
import type { HaproxySocket } from "./haproxy-socket";

export interface ReloadCommands {
  /** Run first; a non-zero exit refuses the reload. */
  readonly check?: readonly string[];
  /** Run once per pass that changed something on disk. */
  readonly reload?: readonly string[];
  /** For each command (default 30 s). */
  readonly timeoutMs?: number;
  /** Push changed certificates through HAProxy's runtime API (after the reload command, if both are given). */
  readonly haproxy?: HaproxySocket;
}

export const DEFAULT_RELOAD_TIMEOUT_MS = 30_000;

/** Which step failed: the caller puts the old files back after a failed check, not after a failed reload. */
export type ReloadStep = "check" | "reload";

export class ReloadFailure extends CertstageError {
  constructor(
    readonly step: ReloadStep,
    problem: string,
    fix: string,
  ) {
    super("RELOAD_FAILED", problem, { field: step === "check" ? "--check" : "--reload", fix });
  }
}

/** How much of a command's output a message quotes: enough for nginx's one-line reasons. */
const OUTPUT_LIMIT = 300;

function runCommand(command: readonly string[], timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  const [program, ...args] = command;
  return new Promise((resolve) => {
    execFile(program, args, { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) return resolve({ ok: true });
      const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
      const output = `${stderr}\n${stdout}`.trim().replace(/\s+/g, " ").slice(0, OUTPUT_LIMIT);
      const how =
        failure.code === "ENOENT" ? "could not be started (no such program)"
        : failure.killed ? `was stopped after ${timeoutMs} ms`
        : typeof failure.code === "number" ? `exited with ${failure.code}`
        : failure.signal ? `was killed by ${failure.signal}`
        : `failed (${failure.code ?? failure.message})`;
      resolve({ ok: false, reason: `${how}${output ? `: ${output}` : ""}` });
    });
  });
}

/** Runs the check, then the reload, then `push` (HAProxy's runtime API); throws a ReloadFailure naming the step. */
export async function reloadServers(commands: ReloadCommands, push: () => Promise<void> = async () => undefined): Promise<void> {
  const timeoutMs = commands.timeoutMs ?? DEFAULT_RELOAD_TIMEOUT_MS;
  if (commands.check) {
    const checked = await runCommand(commands.check, timeoutMs);
    if (!checked.ok) {
      throw new ReloadFailure("check", `the configuration check '${commands.check.join(" ")}' ${checked.reason}`, "run the check by hand and fix what it reports; the agent put the versions the servers had loaded back and tries again at its next resync");
    }
  }
  if (commands.reload) {
    const reloaded = await runCommand(commands.reload, timeoutMs);
    if (!reloaded.ok) {
      throw new ReloadFailure("reload", `the reload command '${commands.reload.join(" ")}' ${reloaded.reason}`, "run the reload command by hand (is the server running?); the new files stay in place and the agent reloads again at its next pass");
    }
  }
  await push();
}

/** Whether anything is configured to run (without, the servers read the files on their own). */
export function reloadsServers(commands: ReloadCommands): boolean {
  return commands.check !== undefined || commands.reload !== undefined || commands.haproxy !== undefined;
}
