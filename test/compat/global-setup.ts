/**
 * The compat tier's toolchain: the oldest pair certstage supports, Node 20 with the Pulumi CLI and
 * SDK at the floor of package.json's peer range (3.248.0, the last SDK that runs on Node 20).
 *
 * - The CLI is built by scripts/pulumi-toolchain.sh at that version (cached by version).
 * - certstage is packed and npm-installed with that SDK into a fresh project, run by Node 20; the
 *   e2e files read its node_modules (`programNodeModules`) instead of the checkout's.
 * - The bin directory the e2e files put first on PATH holds that CLI and a `node` that is Node 20,
 *   so the language host, the program, the dynamic providers and the certstage command all run
 *   on Node 20 (vitest itself runs on the default Node).
 *
 * Node 20 is Debian's /usr/bin/node unless CERTSTAGE_COMPAT_NODE names another. Without it the
 * tier fails: it is never skipped.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { temporaryDirectory } from "../support/certificates";
import { installPackedProject, packCertstage } from "../support/packed";

declare module "vitest" {
  export interface ProvidedContext {
    /** The node_modules a copied quickstart project uses (default: the checkout's). */
    programNodeModules?: string;
  }
}

const ROOT = path.resolve(__dirname, "..", "..");

/** The oldest SDK the peer range admits, e.g. "3.248.0" for "^3.248.0". */
export function sdkFloor(): string {
  const range = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).peerDependencies["@pulumi/pulumi"] as string;
  const floor = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (!floor) throw new Error(`package.json peerDependencies["@pulumi/pulumi"] is '${range}'; the compat tier expects a caret range such as ^3.248.0`);
  return floor;
}

export default function provideOldestPair(project: TestProject): void {
  const node = process.env.CERTSTAGE_COMPAT_NODE || "/usr/bin/node";
  const nodeVersion = existsSync(node) ? execFileSync(node, ["--version"], { encoding: "utf8" }).trim() : "";
  if (!nodeVersion.startsWith("v20.")) {
    throw new Error(`the compat tier needs Node 20 at ${node} (found ${nodeVersion || "nothing"}); install Debian's nodejs or set CERTSTAGE_COMPAT_NODE to a Node 20 binary`);
  }
  const sdk = sdkFloor();
  const toolchain = execFileSync("bash", [path.join(ROOT, "scripts", "pulumi-toolchain.sh")], {
    encoding: "utf8",
    env: { ...process.env, CERTSTAGE_PULUMI_VERSION: sdk },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const pulumiBin = toolchain.trim().split("\n").at(-1) ?? "";

  const root = temporaryDirectory("compat");
  const bin = path.join(root, "bin");
  mkdirSync(bin);
  for (const tool of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) symlinkSync(path.join(pulumiBin, tool), path.join(bin, tool));
  symlinkSync(node, path.join(bin, "node"));

  // npm and npx are scripts that start the first `node` on PATH: with this PATH they run on Node 20.
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` };
  const tarball = packCertstage(path.join(root, "pack"), env);
  const install = path.join(root, "install");
  installPackedProject(install, tarball, sdk, "", env);
  const installed = JSON.parse(readFileSync(path.join(install, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version;
  if (installed !== sdk) throw new Error(`the compat install holds @pulumi/pulumi ${installed}, expected ${sdk}`);

  project.provide("pulumiBinDirectory", bin);
  project.provide("programNodeModules", path.join(install, "node_modules"));
}
