/**
 * http-01 by writing into a web server's document root, for servers that already serve
 * `/.well-known/acme-challenge/` from a directory (RFC 8555 §8.3).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { ChallengeSolver, ChallengeTask } from "./solver";

export function webrootSolver(webroot: string): ChallengeSolver {
  const directory = path.join(webroot, ".well-known", "acme-challenge");
  return {
    type: "http-01",
    async present(task: ChallengeTask) {
      await fs.mkdir(directory, { recursive: true });
      await fs.writeFile(path.join(directory, task.token), task.answer, { mode: 0o644 });
    },
    async cleanUp(task: ChallengeTask) {
      await fs.rm(path.join(directory, task.token), { force: true });
    },
    async close() {},
  };
}
