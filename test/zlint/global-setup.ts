/**
 * Provides the pinned zlint to the zlint tier, building it here on a cold machine so the build
 * never runs inside a test's timeout. If it cannot be provided the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    zlintBinDirectory: string;
  }
}

export default function provideZlint(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "zlint.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  project.provide("zlintBinDirectory", output.trim().split("\n").at(-1) ?? "");
}
