/**
 * test/support/workflow-steps.ts reads the shipped workflows as a runner orders them, so a test
 * can run their shell steps outside GitHub in the same order with the same environment.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { temporaryDirectory } from "../support/certificates";
import { expressionsIn, substituteExpressions, workflowJobSteps, workflowRunSteps } from "../support/workflow-steps";
import { workflowFile } from "./shipped";

describe("workflowRunSteps on the shipped workflows", () => {
  it("gives rotate's shell steps in order, with the job's environment and the expressions to substitute", () => {
    const steps = workflowRunSteps(workflowFile("rotate.yml"), "rotate");
    expect(steps.map((step) => step.run.trim())).toEqual([
      "npm ci --ignore-scripts --no-audit --no-fund",
      'pulumi up --stack "$PULUMI_STACK" --yes',
      "npx --no-install certstage tasks run",
      'npx --no-install certstage notify --webhook "$CERTSTAGE_NOTIFY_WEBHOOK"',
      "npx --no-install certstage metrics --output certstage.prom",
      "npx --no-install certstage expiring --within 30d",
    ]);
    expect(steps[1].env).toMatchObject({ PULUMI_STACK: "${{ matrix.stack }}", CERTSTAGE_STORE: "${{ vars.CERTSTAGE_STORE }}", PULUMI_SKIP_UPDATE_CHECK: "true" });
    expect(steps[1].expressions).toEqual(expect.arrayContaining(["matrix.stack", "vars.PULUMI_BACKEND_URL", "secrets.PULUMI_CONFIG_PASSPHRASE", "secrets.CERTSTAGE_STORE_KEY", "vars.CERTSTAGE_PGUSER", "secrets.CERTSTAGE_PGPASSWORD"]));
    expect(steps.find((step) => step.name === "Notify")?.if).toBe("env.CERTSTAGE_NOTIFY_WEBHOOK != ''");
    // Positions among all steps, uses: steps included, so a runner can interleave what they provide.
    expect(steps.map((step) => step.index)).toEqual([3, 4, 5, 6, 7, 9]);
  });

  it("lists the uses: steps apart, with their inputs", () => {
    const { uses } = workflowJobSteps(workflowFile("preview.yml"), "preview");
    expect(uses.map((step) => step.uses)).toEqual(["actions/checkout@v6", "actions/setup-node@v6", "pulumi/actions@v7", "actions/upload-artifact@v7"]);
    expect(uses[2].with).toEqual({ "pulumi-version": "3.274.1" });
  });

  it("merges a step's env over the job's: the poster's token and the run's pull requests", () => {
    const [, post] = workflowRunSteps(workflowFile("preview-comment.yml"), "comment");
    expect(post.env).toEqual({ GITHUB_TOKEN: "${{ github.token }}", RUN_PULL_REQUESTS: "${{ join(github.event.workflow_run.pull_requests.*.number, ' ') }}" });
    expect(post.expressions).toEqual(["github.token", "join(github.event.workflow_run.pull_requests.*.number, ' ')"]);
  });

  it("refuses a job the workflow does not have", () => {
    expect(() => workflowRunSteps(workflowFile("up.yml"), "deploy")).toThrow("has no job 'deploy' (it has up)");
  });
});

describe("environment precedence and substitution", () => {
  it("lets step env win over job env over workflow env, and takes defaults.run", () => {
    const file = path.join(temporaryDirectory("workflow-steps"), "w.yml");
    writeFileSync(
      file,
      [
        "on: push",
        "env: { A: workflow, B: workflow, C: workflow }",
        "defaults: { run: { shell: bash, working-directory: infra } }",
        "jobs:",
        "  j:",
        "    runs-on: ubuntu-latest",
        "    env: { B: job, C: job }",
        "    steps:",
        "      - run: echo one",
        "        env: { C: step, N: 3 }",
        "      - uses: actions/checkout@v6",
        "      - run: echo two",
        "        working-directory: elsewhere",
      ].join("\n"),
    );
    const [one, two] = workflowRunSteps(file, "j");
    expect(one.env).toEqual({ A: "workflow", B: "job", C: "step", N: "3" });
    expect(two.env).toEqual({ A: "workflow", B: "job", C: "job" });
    expect([one.shell, one.workingDirectory, two.workingDirectory, two.index]).toEqual(["bash", "infra", "elsewhere", 2]);
  });

  it("substitutes each expression from the values given, and refuses one without a value", () => {
    const env = { PULUMI_STACK: "${{ matrix.stack }}", URL: "postgres://${{ vars.HOST }}/certs", PLAIN: "x" };
    expect(substituteExpressions(env, { "matrix.stack": "staging", "vars.HOST": "127.0.0.1:5432" })).toEqual({ PULUMI_STACK: "staging", URL: "postgres://127.0.0.1:5432/certs", PLAIN: "x" });
    expect(() => substituteExpressions(env, { "matrix.stack": "staging" })).toThrow("env URL: no value given for ${{ vars.HOST }}");
    expect(expressionsIn(["${{a}} ${{ b }}", "${{ a }}"])).toEqual(["a", "b"]);
  });
});
