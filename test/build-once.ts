/**
 * Global setup for tiers that run compiled code (child processes, the Pulumi provider): compile
 * the package once so `dist/` matches the sources under test.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

export default function buildOnce(): void {
  const root = path.resolve(__dirname, "..");
  execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit" });
}
