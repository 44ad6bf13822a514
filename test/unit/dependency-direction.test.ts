/**
 * The layout's dependency direction (design §5), read from the source: what runs without Pulumi
 * (the deployment targets, the command line, the edge agent, settings, the store) imports nothing
 * from `provider/resources/`, the Pulumi wrappers; and the pure core imports no I/O.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/certificates";

const PROVIDER = path.join(REPO_ROOT, "provider");

/** Every .ts file under `directory`, recursively; none when it does not exist (yet). */
function sourcesUnder(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) return sourcesUnder(file);
    return entry.name.endsWith(".ts") ? [file] : [];
  });
}

/** The module specifiers a file names: static and type imports, re-exports, import() and require(). */
export function specifiersOf(source: string): string[] {
  const patterns = [/\b(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]));
}

/** `file`'s imports that resolve into `forbidden` (relative ones), or name a forbidden package. */
function importsInto(file: string, forbidden: { directory?: string; packages?: readonly string[] }): string[] {
  return specifiersOf(readFileSync(file, "utf8")).filter((specifier) => {
    if (specifier.startsWith(".")) {
      const resolved = path.resolve(path.dirname(file), specifier);
      return forbidden.directory !== undefined && (resolved === forbidden.directory || resolved.startsWith(forbidden.directory + path.sep));
    }
    return (forbidden.packages ?? []).some((name) => specifier === name || specifier.startsWith(`${name}/`));
  });
}

function violations(folders: readonly string[], forbidden: { directory?: string; packages?: readonly string[] }): string[] {
  return folders.flatMap((folder) => sourcesUnder(path.join(PROVIDER, folder))).flatMap((file) => importsInto(file, forbidden).map((specifier) => `${path.relative(REPO_ROOT, file)} imports ${specifier}`));
}

describe("the dependency direction", () => {
  const WITHOUT_PULUMI = ["targets", "cli", "agent", "settings", "store", "report", "metrics", "summary"];

  it("targets, the command line, the agent, settings, the store and metrics import nothing from provider/resources", () => {
    expect(WITHOUT_PULUMI.flatMap((folder) => sourcesUnder(path.join(PROVIDER, folder))).length).toBeGreaterThan(20);
    expect(violations(WITHOUT_PULUMI, { directory: path.join(PROVIDER, "resources"), packages: ["@pulumi/pulumi"] })).toEqual([]);
  });

  it("the pure core (lifecycle, pki, report, summary) imports no I/O, Pulumi or ACME client", () => {
    // node:net is allowed: isIP and BlockList, which the pki helpers use, parse addresses and open nothing.
    const io = ["fs", "node:fs", "fs/promises", "node:fs/promises", "child_process", "node:child_process", "http", "node:http", "https", "node:https", "@pulumi/pulumi", "acme-client", "pg"];
    expect(violations(["lifecycle", "pki", "report", "summary"], { directory: path.join(PROVIDER, "store", "drivers"), packages: io })).toEqual([]);
  });

  it("reads every form of import, so a violation cannot hide in one the test does not know", () => {
    const source = [
      'import { a } from "../resources/a";',
      'import type { B } from "../resources/b";',
      'import * as c from "../resources/c";',
      'export { d } from "../resources/d";',
      'import "../resources/e";',
      'const f = require("../resources/f");',
      'const g = await import("../resources/g");',
      "import {\n  h,\n  i,\n} from '../resources/h';",
    ].join("\n");
    expect(specifiersOf(source)).toEqual(expect.arrayContaining(["../resources/a", "../resources/b", "../resources/c", "../resources/d", "../resources/e", "../resources/f", "../resources/g", "../resources/h"]));
  });
});
