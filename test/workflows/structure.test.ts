/**
 * What actionlint does not know about these workflows' intent: the safety and ordering rules the
 * README promises (pinned actions, least permissions, no secrets and no write access where the
 * pull request's code runs, a poster that never runs it, one `up` at a time per stack, a
 * schedule that can also be started by hand).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadWorkflow, shippedWorkflowFiles, workflowFile } from "./shipped";

/** The major version each action is pinned to: current majors on node24. */
const PINS: Record<string, string> = {
  "actions/checkout": "v6",
  "actions/setup-node": "v6",
  "actions/upload-artifact": "v7",
  "actions/download-artifact": "v8",
  "pulumi/actions": "v7",
};

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string };
type Job = { permissions?: Record<string, string>; env?: Record<string, string>; steps: Step[]; if?: string; concurrency?: { group: string; "cancel-in-progress": boolean }; strategy?: { matrix?: { stack?: string[] } } };

const names = shippedWorkflowFiles().map((file) => path.basename(file));
const jobsOf = (name: string): Record<string, Job> => loadWorkflow(name).jobs;
const allJobs = names.flatMap((name) => Object.entries(jobsOf(name)).map(([id, job]) => ({ workflow: name, id, job })));
const secretsIn = (value: unknown): string[] => [...JSON.stringify(value).matchAll(/secrets\.([A-Za-z_0-9]+)/g)].map((match) => match[1]).sort();

describe("every shipped workflow", () => {
  it("pins every action to its current major version", () => {
    const uses = allJobs.flatMap(({ job }) => job.steps.flatMap((step) => (step.uses ? [step.uses] : [])));
    expect(uses.length).toBeGreaterThan(10);
    for (const action of uses) {
      const [name, version] = action.split("@");
      expect(PINS[name], `${action} is not an action these workflows use`).toBeDefined();
      expect(`${name}@${version}`).toBe(`${name}@${PINS[name]}`);
    }
  });

  it("grants nothing at the top and only what each job needs, and never persists checkout credentials", () => {
    for (const name of names) expect(loadWorkflow(name).permissions, name).toEqual({});
    for (const { workflow, id, job } of allJobs) {
      expect(job.permissions, `${workflow} ${id}`).toBeDefined();
      const writes = Object.entries(job.permissions!).filter(([, level]) => level === "write");
      expect(writes, `${workflow} ${id}`).toEqual(workflow === "preview-comment.yml" ? [["pull-requests", "write"]] : []);
      for (const step of job.steps.filter((candidate) => candidate.uses?.startsWith("actions/checkout@"))) {
        expect(step.with?.["persist-credentials"], `${workflow} ${id}`).toBe(false);
      }
    }
  });

  it("passes every expression to run: scripts through env, never interpolated into the script", () => {
    for (const { workflow, id, job } of allJobs) {
      for (const step of job.steps.filter((candidate) => candidate.run !== undefined)) expect(step.run, `${workflow} ${id} ${step.name}`).not.toContain("${{");
    }
  });
});

describe("preview.yml: the pull request's code runs without secrets that write", () => {
  const workflow = loadWorkflow("preview.yml");
  const { lint, preview } = workflow.jobs as Record<string, Job>;

  it("runs on pull_request, never pull_request_target", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
  });

  it("lints every pull request, forks included, with no secret at all and read-only contents", () => {
    expect(lint.if).toBeUndefined();
    expect(lint.permissions).toEqual({ contents: "read" });
    expect(secretsIn(lint)).toEqual([]);
    expect(lint.steps.map((step) => step.run).filter(Boolean)).toContain("npx --no-install certstage lint certificates.yaml --format github");
  });

  it("previews only this repository's branches, with the read-only preview role, no store key and no write token", () => {
    expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(preview.permissions).toEqual({ contents: "read" });
    expect(secretsIn(preview)).toEqual(["CERTSTAGE_PREVIEW_PGPASSWORD", "PULUMI_CONFIG_PASSPHRASE"]);
    expect(preview.env?.PGUSER).toBe("${{ vars.CERTSTAGE_PREVIEW_PGUSER }}");
    expect(Object.keys(preview.env ?? {})).not.toContain("CERTSTAGE_STORE_KEY");
    expect(Object.keys(preview.env ?? {})).not.toContain("GITHUB_TOKEN");
    const runs = preview.steps.map((step) => step.run ?? "").join("\n");
    expect(runs).toContain('pulumi preview --stack "$PULUMI_STACK" --json > preview.json');
    expect(runs).toContain('certstage preview-summary --preview preview.json --project "$project" --stack "$PULUMI_STACK" --output summary.md');
    expect(runs).not.toMatch(/pulumi (up|refresh|destroy)|certstage (tasks|pr-comment)/);
    const upload = preview.steps.find((step) => step.uses?.startsWith("actions/upload-artifact@"));
    expect(upload?.with).toMatchObject({ name: "certstage-preview-${{ matrix.stack }}", path: "summary.md\npr-number\n" });
  });

  it("summarizes and hands over a failed preview too (a refusal is what a reviewer must see)", () => {
    const summarize = preview.steps.find((step) => step.name === "Summarize");
    const upload = preview.steps.find((step) => step.uses?.startsWith("actions/upload-artifact@"));
    expect(summarize?.if).toBe("${{ !cancelled() && hashFiles('preview.json') != '' }}");
    expect(upload?.if).toBe("${{ !cancelled() && hashFiles('summary.md') != '' }}");
  });
});

describe("preview-comment.yml: the poster never runs the pull request's code", () => {
  const workflow = loadWorkflow("preview-comment.yml");
  const { comment } = workflow.jobs as Record<string, Job>;

  it("runs after the preview workflow, with pull-requests: write and read access to its artifacts", () => {
    expect(workflow.on).toEqual({ workflow_run: { workflows: [loadWorkflow("preview.yml").name], types: ["completed"] } });
    expect(comment.permissions).toEqual({ actions: "read", contents: "read", "pull-requests": "write" });
  });

  it("checks out the default branch only, and names no ref, sha or branch of the pull request", () => {
    const checkouts = comment.steps.filter((step) => step.uses?.startsWith("actions/checkout@"));
    expect(checkouts.map((step) => step.with?.ref)).toEqual(["${{ github.event.repository.default_branch }}"]);
    const text = readFileSync(workflowFile("preview-comment.yml"), "utf8");
    expect(text).not.toMatch(/head_sha|head_branch|head\.sha|head\.ref|refs\/pull|pull_request\.head/);
    expect(text).not.toMatch(/^\s*run:.*\b(pulumi|npm (install|i)\b)/m);
  });

  it("posts with certstage pr-comment, checking each artifact's pull request number against the run's", () => {
    const post = comment.steps.find((step) => step.run?.includes("certstage pr-comment"));
    expect(post?.env).toEqual({ GITHUB_TOKEN: "${{ github.token }}", RUN_PULL_REQUESTS: "${{ join(github.event.workflow_run.pull_requests.*.number, ' ') }}" });
    expect(post?.run).toContain('*" $pr_number "*) ;;');
    expect(post?.run).toContain('certstage pr-comment --repository "$GITHUB_REPOSITORY" --pull-request "$pr_number" --body-file "$summary"');
  });
});

describe("up.yml and rotate.yml: one update per stack at a time", () => {
  for (const [name, id] of [["up.yml", "up"], ["rotate.yml", "rotate"]] as const) {
    it(`${name} updates each stack in a concurrency group of its own, queued, never cancelled`, () => {
      const job = jobsOf(name)[id];
      expect(job.strategy?.matrix?.stack).toEqual(["edge"]);
      expect(job.concurrency).toEqual({ group: "certstage-up-${{ matrix.stack }}", "cancel-in-progress": false });
      expect(job.env?.PULUMI_STACK).toBe("${{ matrix.stack }}");
      expect(job.steps.map((step) => step.run)).toContain('pulumi up --stack "$PULUMI_STACK" --yes');
    });
  }

  it("up.yml runs on pushes to main only", () => {
    expect(loadWorkflow("up.yml").on).toEqual({ push: { branches: ["main"] } });
  });

  it("rotate.yml runs on a schedule and by hand, and runs up, then the due tasks, then the expiry check, last", () => {
    const workflow = loadWorkflow("rotate.yml");
    expect(Object.keys(workflow.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\d+ \d+ \* \* \*$/) }]);
    const runs = (workflow.jobs.rotate as Job).steps.flatMap((step) => (step.run ? [step.run] : []));
    const at = (command: string): number => runs.findIndex((run) => run.includes(command));
    expect(at("pulumi up")).toBeGreaterThan(-1);
    expect(at("pulumi up")).toBeLessThan(at("certstage tasks run"));
    expect(at("certstage tasks run")).toBeLessThan(at("certstage expiring --within 30d"));
    expect(at("certstage expiring --within 30d")).toBe(runs.length - 1);
  });
});
