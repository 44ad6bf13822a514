/**
 * Runs one job of a shipped GitHub Actions workflow on this machine, step by step, the way a
 * runner would: every `run:` step as written, in order, with `bash --noprofile --norc -eo
 * pipefail` (GitHub's default shell), the environment of workflow, job and step merged, and each
 * `${{ … }}` given a value the test chose (an expression without one is an error). A step's `if:`
 * decides as GitHub decides for the forms the workflows use (`!cancelled()`, `hashFiles(…)`,
 * `env.NAME != ''`); any other form is an error, so no step is run or skipped by accident.
 *
 * What GitHub itself provides is provided by the test: each `uses:` action by a handler the test
 * names (checking out is the job's directory, setup-node is this Node, the Pulumi action is the
 * built CLI on PATH, artifacts are directories), and the dependency install, since certstage is
 * installed from this checkout rather than from the registry.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

interface RawStep {
  name?: string;
  run?: string;
  uses?: string;
  if?: string | boolean;
  env?: Record<string, unknown>;
  with?: Record<string, unknown>;
}

interface RawJob {
  env?: Record<string, unknown>;
  steps?: RawStep[];
}

export interface UsesStep {
  readonly uses: string;
  readonly with: Readonly<Record<string, string>>;
}

export interface JobContext {
  /** The checkout: every step runs here. */
  readonly directory: string;
  /** The runner's environment before the workflow's (PATH with node and pulumi, HOME, …). */
  readonly env: NodeJS.ProcessEnv;
  /** A value for each `${{ expression }}` of the job, as written inside the braces. */
  readonly expressions: Readonly<Record<string, string>>;
  /** Handlers for `uses:` steps, by action name without its version (`actions/checkout`). */
  readonly actions: Readonly<Record<string, (step: UsesStep) => void | Promise<void>>>;
  /** `run:` scripts the test performs itself, by their exact text, with why in the handler's name. */
  readonly provided?: Readonly<Record<string, () => void | Promise<void>>>;
}

export interface StepResult {
  readonly name: string;
  readonly outcome: "success" | "failure" | "skipped";
  readonly code?: number;
  readonly output: string;
}

export interface JobResult {
  readonly conclusion: "success" | "failure";
  readonly steps: StepResult[];
  /** One step's result by its name (or its `uses:`), for assertions. */
  step(name: string): StepResult;
}

const EXPRESSION = /\$\{\{\s*([\s\S]*?)\s*\}\}/g;

export async function runWorkflowJob(file: string, jobName: string, context: JobContext): Promise<JobResult> {
  const workflow = parse(readFileSync(file, "utf8")) as { env?: Record<string, unknown>; jobs?: Record<string, RawJob> };
  const job = workflow.jobs?.[jobName];
  if (!job) throw new Error(`${file} has no job '${jobName}'`);
  const steps: StepResult[] = [];
  let failed = false;
  for (const [index, step] of (job.steps ?? []).entries()) {
    const name = step.name ?? step.run ?? step.uses ?? `step ${index}`;
    const env = substitute({ ...stringValues(workflow.env), ...stringValues(job.env), ...stringValues(step.env) }, context.expressions, `${jobName}/${name}`);
    if (!shouldRun(step.if, failed, env, context)) {
      steps.push({ name, outcome: "skipped", output: "" });
      continue;
    }
    if (step.uses !== undefined) {
      const action = step.uses.split("@")[0];
      const handler = context.actions[action];
      if (!handler) throw new Error(`${jobName}/${name}: no handler for uses: ${step.uses}`);
      await handler({ uses: step.uses, with: substitute(stringValues(step.with), context.expressions, `${jobName}/${name} with`) });
      steps.push({ name, outcome: "success", output: "" });
      continue;
    }
    const script = replaceExpressions(step.run ?? "", context.expressions, `${jobName}/${name} run`);
    const provided = context.provided?.[script.trim()];
    if (provided) {
      await provided();
      steps.push({ name, outcome: "success", output: "" });
      continue;
    }
    const result = await runBash(script, context.directory, { ...context.env, ...env, GITHUB_WORKSPACE: context.directory });
    steps.push({ name, outcome: result.code === 0 ? "success" : "failure", code: result.code, output: result.output });
    if (result.code !== 0) failed = true;
  }
  return {
    conclusion: failed ? "failure" : "success",
    steps,
    step(name: string) {
      const found = steps.find((step) => step.name === name);
      if (!found) throw new Error(`job ${jobName} has no step '${name}' (it has ${steps.map((step) => step.name).join(", ")})`);
      return found;
    },
  };
}

/** GitHub's rule: without `if:` a step runs only while nothing failed; `!cancelled()` runs it after a failure too. */
function shouldRun(condition: string | boolean | undefined, failed: boolean, env: Record<string, string>, context: JobContext): boolean {
  if (condition === undefined) return !failed;
  const text = String(condition).replace(/^\$\{\{\s*/, "").replace(/\s*\}\}$/, "");
  const clauses = text.split("&&").map((clause) => clause.trim());
  const statusChecked = clauses.some((clause) => clause === "!cancelled()" || clause === "always()");
  if (failed && !statusChecked) return false;
  return clauses.every((clause) => {
    if (clause === "!cancelled()" || clause === "always()") return true;
    const hashFiles = /^hashFiles\('([^']+)'\) != ''$/.exec(clause);
    if (hashFiles) return existsSync(path.join(context.directory, hashFiles[1]));
    const envSet = /^env\.([A-Z0-9_]+) != ''$/.exec(clause);
    if (envSet) return (env[envSet[1]] ?? "") !== "";
    throw new Error(`if: '${text}': the clause '${clause}' is not one this runner decides; teach it`);
  });
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  // As a runner does, the script is a file in a temporary directory, not in the checkout.
  const scriptDirectory = mkdtempSync(path.join(tmpdir(), "certstage-step-"));
  const file = path.join(scriptDirectory, "step.sh");
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => {
      rmSync(scriptDirectory, { recursive: true, force: true });
      resolve({ code: code ?? 1, output });
    });
  });
}

function substitute(values: Record<string, string>, expressions: Readonly<Record<string, string>>, where: string): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, replaceExpressions(value, expressions, `${where} ${name}`)]));
}

function replaceExpressions(text: string, expressions: Readonly<Record<string, string>>, where: string): string {
  return text.replace(EXPRESSION, (_, expression: string) => {
    if (!(expression in expressions)) throw new Error(`${where}: no value given for \${{ ${expression} }}`);
    return expressions[expression];
  });
}

function stringValues(record: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([key, value]) => [key, String(value)]));
}
