/**
 * dns-01 through a hook command the user supplies (their DNS provider's CLI, an API script). It is
 * run without a shell, as `<command...> present|cleanup <record name> <TXT value>`, with a
 * timeout, so no value is ever interpreted by a shell (RFC 8555 §8.4).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CertstageError } from "../../errors";
import type { ChallengeSolver, ChallengeTask } from "./solver";

const run = promisify(execFile);

export interface Dns01HookOptions {
  /** Program and leading arguments, e.g. ["/usr/local/bin/dns-update", "--zone", "example.com"]. */
  readonly command: readonly string[];
  readonly timeoutMs?: number;
}

/** `_acme-challenge.<name>`; a wildcard validates on its base name (RFC 8555 §8.4). */
export function challengeRecordName(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, "")}`;
}

export function dns01HookSolver({ command, timeoutMs = 120_000 }: Dns01HookOptions): ChallengeSolver {
  const invoke = async (action: "present" | "cleanup", task: ChallengeTask) => {
    const [program, ...leading] = command;
    try {
      await run(program, [...leading, action, challengeRecordName(task.identifier), task.answer], { timeout: timeoutMs, maxBuffer: 1024 * 1024 });
    } catch (cause) {
      const failure = cause as { code?: string | number; killed?: boolean; stderr?: string };
      const how = failure.killed ? `was stopped after ${timeoutMs} ms` : `exited with ${failure.code}`;
      throw new CertstageError("CHALLENGE_FAILED", `the dns-01 hook '${program} ${action}' for ${task.identifier} ${how}: ${String(failure.stderr ?? "").trim().slice(0, 500)}`, {
        field: "challenge.hook",
        fix: "run the hook by hand with the same arguments and check it updates the TXT record",
        cause,
      });
    }
  };
  return {
    type: "dns-01",
    present: (task) => invoke("present", task),
    cleanUp: (task) => invoke("cleanup", task),
    async close() {},
  };
}
