/**
 * Runs the real Pulumi CLI against a throwaway project: its own PULUMI_HOME, a file:// backend,
 * passphrase secrets, no update checks and no plugin downloads. Every command's output is kept,
 * so tests can prove no private key ever appeared in it.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";
import { REPO_ROOT, temporaryDirectory } from "./certificates";
import { withParentDeathSignal } from "./processes";

const execFileAsync = promisify(execFile);

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How a command started by `spawnPulumi` ended: killed ones have no code but a signal. */
export interface SpawnedResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `pulumi` command running in a session (and process group) of its own. */
export interface RunningPulumi {
  readonly child: ChildProcess;
  /** The command's pid, which is also its session id and process group id (it was started with setsid). */
  readonly sessionId: number;
  /** stdout and stderr so far, in the order they arrived. */
  output(): string;
  /**
   * Calls `listener` with each complete line printed from now on (stdout and stderr), and with
   * each line already printed; stops when the command exits.
   */
  onLine(listener: (line: string) => void): void;
  /** Settles when the command has exited and its output is closed. */
  readonly exited: Promise<SpawnedResult>;
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
      CERTSTAGE_TEAMS: "",
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

  /**
   * Starts `pulumi <args>` detached: the command leads a new session and process group, so a
   * test can SIGKILL it together with every process it started (see processes.ts killSession)
   * at a moment it chooses, as a cancelled CI job or a lost runner does. Its output is streamed
   * to `onLine` listeners and, once it exits, kept in the transcript like every other command's.
   */
  spawnPulumi(args: string[]): RunningPulumi {
    const fullArgs = [...args, "--color", "never", "--non-interactive", ...(needsStack(args) ? ["--stack", this.stack] : [])];
    // setpriv's parent-death signal is for the CLI only: should the test worker die, the CLI dies with it.
    const [program, programArgs] = withParentDeathSignal("pulumi", fullArgs);
    const child = spawn(program, programArgs, { cwd: this.projectDirectory, env: this.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid === undefined) throw new Error(`pulumi ${args.join(" ")} did not start`);
    const chunks = { stdout: "", stderr: "", both: "" };
    const lines: string[] = [];
    const listeners: Array<(line: string) => void> = [];
    const pending = { stdout: "", stderr: "" };
    const take = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      chunks[stream] += text;
      chunks.both += text;
      const parts = (pending[stream] + text).split("\n");
      pending[stream] = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        for (const listener of listeners) listener(line);
      }
    };
    child.stdout!.on("data", take("stdout"));
    child.stderr!.on("data", take("stderr"));
    const exited = new Promise<SpawnedResult>((resolve, reject) => {
      child.once("error", reject);
      // "close": the process has exited and both pipes are drained (children holding them are gone too).
      child.once("close", (code, signal) => {
        this.transcript.push({ command: ["pulumi", ...fullArgs].join(" "), output: chunks.stdout + chunks.stderr });
        resolve({ code, signal, stdout: chunks.stdout, stderr: chunks.stderr });
      });
    });
    return {
      child,
      sessionId: child.pid,
      output: () => chunks.both,
      onLine: (listener) => {
        for (const line of lines) listener(line);
        listeners.push(listener);
      },
      exited,
    };
  }

  /**
   * Runs the certstage command of this checkout in the project directory, on the first `node` of
   * the workspace's PATH (the one the program and its providers run on).
   */
  async certstage(args: string[]): Promise<CommandResult> {
    return this.exec("node", [path.join(REPO_ROOT, "dist", "provider", "cli", "main.js"), ...args]);
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
 * Its node_modules are the checkout's, or the compat tier's install of the oldest SDK.
 */
export function quickstartProject(binDirectory: string, stack: string): PulumiWorkspace {
  const root = temporaryDirectory("e2e");
  const project = path.join(root, "project");
  mkdirSync(project);
  for (const entry of ["Pulumi.yaml", "package.json", "dist", "schema"]) cpSync(path.join(REPO_ROOT, entry), path.join(project, entry), { recursive: true });
  symlinkSync(inject("programNodeModules") ?? path.join(REPO_ROOT, "node_modules"), path.join(project, "node_modules"));
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
