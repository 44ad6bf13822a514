/**
 * actionlint, with shellcheck over every `run:` script, finds nothing in the shipped workflows;
 * and it does find the mistakes it is here for, so a clean result means something.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { temporaryDirectory } from "../support/certificates";
import { GITOPS_EXAMPLE, shippedWorkflowFiles, workflowFile } from "./shipped";

interface Finding {
  readonly message: string;
  readonly filepath: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}

function actionlint(files: readonly string[], cwd = GITOPS_EXAMPLE): Promise<{ code: number; findings: Finding[]; stderr: string }> {
  const { actionlint: binary, shellcheck } = inject("actionlintTools");
  return new Promise((resolve) => {
    execFile(binary, ["-format", "{{json .}}", `-shellcheck=${shellcheck}`, "-pyflakes=", ...files], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, findings: stdout.trim() === "" ? [] : (JSON.parse(stdout) as Finding[]), stderr });
    });
  });
}

/** A copy of a shipped workflow with `edit` applied, in a repository of its own. */
function brokenCopy(name: string, edit: (text: string) => string): string {
  const repository = temporaryDirectory("actionlint-broken");
  const directory = path.join(repository, ".github", "workflows");
  mkdirSync(directory, { recursive: true });
  const original = readFileSync(workflowFile(name), "utf8");
  const edited = edit(original);
  expect(edited).not.toBe(original);
  writeFileSync(path.join(directory, name), edited);
  return path.join(directory, name);
}

describe("the shipped workflows under actionlint", () => {
  it("has the four workflows, and actionlint and shellcheck find nothing in any", async () => {
    const files = shippedWorkflowFiles();
    expect(files.map((file) => path.basename(file))).toEqual(["preview-comment.yml", "preview.yml", "rotate.yml", "up.yml"]);
    const result = await actionlint(files);
    expect(result.findings).toEqual([]);
    expect(result.code, result.stderr).toBe(0);
  });

  it("flags a pull request's title interpolated into a run: script (script injection)", async () => {
    const file = brokenCopy("preview.yml", (text) => text.replace("      - name: Lint the manifest\n", '      - name: Greet\n        run: echo "Linting ${{ github.event.pull_request.title }}"\n      - name: Lint the manifest\n'));
    const result = await actionlint([file], path.dirname(path.dirname(path.dirname(file))));
    expect(result.code).toBe(1);
    expect(result.findings).toEqual([expect.objectContaining({ kind: "expression", message: expect.stringContaining('"github.event.pull_request.title" is potentially untrusted') })]);
  });

  it("flags an unquoted variable through shellcheck, and an outdated action", async () => {
    const file = brokenCopy("up.yml", (text) => text.replace('pulumi up --stack "$PULUMI_STACK" --yes', "pulumi up --stack $PULUMI_STACK --yes").replace("actions/setup-node@v6", "actions/setup-node@v3"));
    const result = await actionlint([file], path.dirname(path.dirname(path.dirname(file))));
    expect(result.code).toBe(1);
    expect(result.findings.map((finding) => finding.kind).sort()).toEqual(["action", "shellcheck"]);
    expect(result.findings.find((finding) => finding.kind === "shellcheck")?.message).toContain("SC2086");
    expect(result.findings.find((finding) => finding.kind === "action")?.message).toContain("too old to run on GitHub Actions");
  });
});
