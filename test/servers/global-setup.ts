/**
 * Provides real nginx and HAProxy to the servers tier, installing Debian's packages here on a
 * cold machine (scripts/servers.sh) so the install never runs inside a test's timeout. If they
 * cannot be provided the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { parseServerBinaries, type ServerBinaries } from "../support/tls-servers";

declare module "vitest" {
  export interface ProvidedContext {
    tlsServerBinaries: ServerBinaries;
  }
}

export default function provideTlsServers(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "servers.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  project.provide("tlsServerBinaries", parseServerBinaries(output));
}
