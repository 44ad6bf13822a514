/**
 * Provides PostgreSQL 15 to the postgres tier, installing Debian's postgresql-15 here on a cold
 * machine (scripts/postgres.sh) so the install never runs inside a test's timeout. If it cannot be
 * provided the tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { parsePostgresBinDirectory } from "../support/postgres";

declare module "vitest" {
  export interface ProvidedContext {
    postgresBinDirectory: string;
  }
}

export default function providePostgres(project: TestProject): void {
  const root = path.resolve(__dirname, "..", "..");
  const output = execFileSync("bash", [path.join(root, "scripts", "postgres.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  project.provide("postgresBinDirectory", parsePostgresBinDirectory(output));
}
