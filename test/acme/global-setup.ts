/**
 * Provides the pinned Pebble binaries to the ACME tier, building them here on a cold machine so
 * the build never runs inside a test's timeout. If they cannot be provided the tier fails: it is
 * never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pebbleBinDirectory: string;
  }
}

export default function providePebble(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "pebble.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const binDirectory = output.trim().split("\n").at(-1) ?? "";
  project.provide("pebbleBinDirectory", binDirectory);
}
