/**
 * Runs the real Pulumi CLI against a throwaway project: its own PULUMI_HOME, a file:// backend,
 * passphrase secrets, no update checks and no plugin downloads. Every command's output is kept,
 * so tests can prove no private key ever appeared in it.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT, temporaryDirectory } from "./certificates";

const execFileAsync = promisify(execFile);

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class PulumiWorkspace {
  /** Every command run and everything it printed, for secret scanning. */
  readonly transcript: Array<{ readonly command: string; readonly output: string }> = [];
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly projectDirectory: string,
    readonly stack: string,
    binDirectory: string,
    readonly root: string,
  ) {
    const home = path.join(root, "pulumi-home");
    const state = path.join(root, "pulumi-state");
    mkdirSync(home, { recursive: true });
    mkdirSync(state, { recursive: true });
    this.env = {
      ...process.env,
      PATH: `${binDirectory}${path.delimiter}${process.env.PATH ?? ""}`,
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${state}`,
      PULUMI_CONFIG_PASSPHRASE: "certstage-e2e-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      NO_COLOR: "1",
      CERTSTAGE_STORE: "",
      CERTSTAGE_PRINCIPAL: "e2e-tester",
    };
  }

  /** Runs `pulumi <args>` in the project; never throws on a non-zero exit. */
  async pulumi(args: string[]): Promise<CommandResult> {
    return this.exec("pulumi", [...args, "--color", "never", "--non-interactive", ...(needsStack(args) ? ["--stack", this.stack] : [])]);
  }

  /** Runs `pulumi <args>` and fails with its output if it exits non-zero. */
  async pulumiOk(args: string[]): Promise<CommandResult> {
    const result = await this.pulumi(args);
    if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  /** Runs the certstage command of this checkout in the project directory. */
  async certstage(args: string[]): Promise<CommandResult> {
    return this.exec(process.execPath, [path.join(REPO_ROOT, "dist", "provider", "cli", "main.js"), ...args]);
  }

  async initStack(config: Record<string, string> = {}): Promise<void> {
    await this.pulumiOk(["stack", "init", this.stack]);
    for (const [key, value] of Object.entries(config)) await this.pulumiOk(["config", "set", key, value]);
  }

  private async exec(file: string, args: string[]): Promise<CommandResult> {
    try {
      const { stdout, stderr } = await execFileAsync(file, args, { cwd: this.projectDirectory, env: this.env, maxBuffer: 64 * 1024 * 1024 });
      this.transcript.push({ command: [file, ...args].join(" "), output: stdout + stderr });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      this.transcript.push({ command: [file, ...args].join(" "), output: (failed.stdout ?? "") + (failed.stderr ?? "") });
      if (typeof failed.code !== "number") throw error;
      return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  }
}

function needsStack(args: string[]): boolean {
  const command = args[0];
  return !(command === "stack" && (args[1] === "init" || args[1] === "ls")) && command !== "login" && command !== "version";
}

/**
 * A copy of this repository's root project (the quickstart program) in a temporary directory,
 * as a developer of certstage runs it: the provider is found through the checkout's package.json.
 */
export function quickstartProject(binDirectory: string, stack: string): PulumiWorkspace {
  const root = temporaryDirectory("e2e");
  const project = path.join(root, "project");
  mkdirSync(project);
  for (const entry of ["Pulumi.yaml", "package.json", "dist", "schema"]) cpSync(path.join(REPO_ROOT, entry), path.join(project, entry), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(project, "node_modules"));
  return new PulumiWorkspace(project, stack, binDirectory, root);
}

/**
 * A user's project that installed certstage as a dependency (linked, as `npm link` would) and
 * runs `program` (JavaScript) as its entry point.
 */
export function consumerProject(binDirectory: string, stack: string, program: string): PulumiWorkspace {
  const root = temporaryDirectory("e2e-consumer");
  const project = path.join(root, "project");
  const modules = path.join(project, "node_modules");
  mkdirSync(modules, { recursive: true });
  writeFileSync(path.join(project, "Pulumi.yaml"), "name: consumer\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, main: "index.js", dependencies: { certstage: "*" } }));
  writeFileSync(path.join(project, "index.js"), program);
  for (const entry of readdirSync(path.join(REPO_ROOT, "node_modules"))) {
    if (!entry.startsWith(".")) symlinkSync(path.join(REPO_ROOT, "node_modules", entry), path.join(modules, entry));
  }
  symlinkSync(REPO_ROOT, path.join(modules, "certstage"));
  return new PulumiWorkspace(project, stack, binDirectory, root);
}
