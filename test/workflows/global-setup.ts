/**
 * Provides the pinned actionlint (and Debian's shellcheck, which it runs over every `run:`
 * script) to the workflows tier, building and installing them here on a cold machine
 * (scripts/actionlint.sh) so that never runs inside a test's timeout. If they cannot be provided
 * the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    actionlintTools: { actionlint: string; shellcheck: string };
  }
}

export default function provideActionlint(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "actionlint.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const value = (name: string): string => {
    const line = output.split("\n").find((candidate) => candidate.startsWith(`${name}=`));
    if (!line) throw new Error(`scripts/actionlint.sh printed no ${name}= line:\n${output}`);
    return line.slice(name.length + 1);
  };
  project.provide("actionlintTools", { actionlint: value("actionlint"), shellcheck: value("shellcheck") });
}
