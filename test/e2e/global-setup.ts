/**
 * Provides the pinned Pulumi CLI to the end-to-end tier (building it on a cold machine). If it
 * cannot be provided the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pulumiBinDirectory: string;
  }
}

export default function provideToolchain(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "pulumi-toolchain.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const binDirectory = output.trim().split("\n").at(-1) ?? "";
  project.provide("pulumiBinDirectory", binDirectory);
}
