/**
 * Reads a GitHub Actions workflow the way a runner would order it, so a test can run its shell
 * steps outside GitHub: the `run:` steps of one job, in order, each with the environment it
 * would see (workflow `env`, then job `env`, then step `env`, later ones winning) and the
 * `${{ … }}` expressions those values hold, listed so the test substitutes each one on purpose
 * (`substituteExpressions`) instead of running a step with an unresolved placeholder.
 *
 * `uses:` steps (checkout, setup-node, installing the Pulumi CLI, artifacts) are reported apart:
 * a local run provides what they provide.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export interface WorkflowRunStep {
  /** Position among all the job's steps, from 0. */
  readonly index: number;
  readonly name?: string;
  readonly run: string;
  readonly if?: string;
  readonly shell?: string;
  readonly workingDirectory?: string;
  /** Workflow, job and step `env` merged. */
  readonly env: Readonly<Record<string, string>>;
  /** Every distinct `${{ … }}` expression in `env`, `run` and `if`, as written inside the braces. */
  readonly expressions: readonly string[];
}

export interface WorkflowUsesStep {
  readonly index: number;
  readonly name?: string;
  readonly uses: string;
  readonly with: Readonly<Record<string, string>>;
}

export interface WorkflowJobSteps {
  readonly run: WorkflowRunStep[];
  readonly uses: WorkflowUsesStep[];
}

interface RawStep {
  name?: string;
  run?: string;
  uses?: string;
  if?: string | boolean;
  shell?: string;
  "working-directory"?: string;
  env?: Record<string, unknown>;
  with?: Record<string, unknown>;
}

interface RawWorkflow {
  env?: Record<string, unknown>;
  defaults?: { run?: { shell?: string; "working-directory"?: string } };
  jobs?: Record<string, { env?: Record<string, unknown>; steps?: RawStep[]; defaults?: { run?: { shell?: string; "working-directory"?: string } } }>;
}

const EXPRESSION = /\$\{\{\s*([\s\S]*?)\s*\}\}/g;

/** The job's steps of `file`, split into `run:` and `uses:` steps, in workflow order. */
export function workflowJobSteps(file: string, job: string): WorkflowJobSteps {
  const workflow = parse(readFileSync(file, "utf8")) as RawWorkflow;
  const definition = workflow.jobs?.[job];
  if (!definition) throw new Error(`${file} has no job '${job}' (it has ${Object.keys(workflow.jobs ?? {}).join(", ")})`);
  const defaults = { ...workflow.defaults?.run, ...definition.defaults?.run };
  const run: WorkflowRunStep[] = [];
  const uses: WorkflowUsesStep[] = [];
  (definition.steps ?? []).forEach((step, index) => {
    if (step.uses !== undefined) {
      uses.push({ index, name: step.name, uses: step.uses, with: stringValues(step.with) });
      return;
    }
    if (typeof step.run !== "string") throw new Error(`${file}: step ${index} of job '${job}' has neither run nor uses`);
    const env = { ...stringValues(workflow.env), ...stringValues(definition.env), ...stringValues(step.env) };
    const condition = step.if === undefined ? undefined : String(step.if);
    run.push({
      index,
      name: step.name,
      run: step.run,
      if: condition,
      shell: step.shell ?? defaults.shell,
      workingDirectory: step["working-directory"] ?? defaults["working-directory"],
      env,
      expressions: expressionsIn([...Object.values(env), step.run, condition ?? ""]),
    });
  });
  return { run, uses };
}

/** The `run:` steps of one job; see workflowJobSteps. */
export function workflowRunSteps(file: string, job: string): WorkflowRunStep[] {
  return workflowJobSteps(file, job).run;
}

/** Distinct expressions inside `${{ }}` in `texts`, in order of first appearance. */
export function expressionsIn(texts: readonly string[]): string[] {
  return [...new Set(texts.flatMap((text) => [...text.matchAll(EXPRESSION)].map((match) => match[1])))];
}

/**
 * `env` with every `${{ expression }}` replaced by `values[expression]`; an expression without a
 * value is an error, so nothing runs with a placeholder nobody chose.
 */
export function substituteExpressions(env: Readonly<Record<string, string>>, values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value.replace(EXPRESSION, (_, expression: string) => {
        if (!(expression in values)) throw new Error(`env ${name}: no value given for \${{ ${expression} }}`);
        return values[expression];
      }),
    ]),
  );
}

function stringValues(record: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([key, value]) => [key, String(value)]));
}
