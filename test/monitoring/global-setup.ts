/**
 * Provides Prometheus and promtool to the monitoring tier, installing Debian's prometheus here on
 * a cold machine (scripts/prometheus.sh) so the install never runs inside a test's timeout. If
 * they cannot be provided the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    prometheusTools: { prometheus: string; promtool: string };
  }
}

export default function providePrometheus(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "prometheus.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const value = (name: string): string => {
    const line = output.split("\n").find((candidate) => candidate.startsWith(`${name}=`));
    if (!line) throw new Error(`scripts/prometheus.sh printed no ${name}= line:\n${output}`);
    return line.slice(name.length + 1);
  };
  project.provide("prometheusTools", { prometheus: value("prometheus"), promtool: value("promtool") });
}
