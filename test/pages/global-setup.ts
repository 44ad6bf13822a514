/**
 * Provides a headless Chromium to the pages tier, installing Debian's package here on a cold
 * machine (scripts/chromium.sh) so the install never runs inside a test's timeout. If it cannot
 * be provided the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { parseChromiumBinary } from "../support/devtools";

declare module "vitest" {
  export interface ProvidedContext {
    chromiumBinary: string;
  }
}

export default function provideChromium(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "chromium.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  project.provide("chromiumBinary", parseChromiumBinary(output));
}
