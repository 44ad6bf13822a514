/**
 * certstage as a user installs it: `npm pack` of this checkout (the files package.json ships),
 * installed with npm into a fresh project next to the @pulumi/pulumi version that project uses.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./certificates";

/** Packs this checkout (dist/ must be built) into `destination`; returns the tarball's path. */
export function packCertstage(destination: string, env: NodeJS.ProcessEnv = process.env): string {
  mkdirSync(destination, { recursive: true });
  const output = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: REPO_ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const [packed] = JSON.parse(output) as Array<{ filename: string }>;
  return path.join(destination, packed.filename);
}

/**
 * A fresh Pulumi project at `directory` whose package.json depends on `@pulumi/pulumi@sdkVersion`
 * and on the packed certstage, installed with `npm install` as a user would (npm's cache is used
 * when it holds a package; the registry otherwise). `program` is its JavaScript entry point.
 */
export function installPackedProject(directory: string, tarball: string, sdkVersion: string, program: string, env: NodeJS.ProcessEnv = process.env): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, "Pulumi.yaml"), "name: packed-consumer\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  writeFileSync(
    path.join(directory, "package.json"),
    JSON.stringify({ name: "packed-consumer", private: true, main: "index.js", dependencies: { "@pulumi/pulumi": sdkVersion, certstage: `file:${tarball}` } }, null, 2),
  );
  writeFileSync(path.join(directory, "index.js"), program);
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: directory, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
