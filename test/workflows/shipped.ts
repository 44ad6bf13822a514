/** Where the example infrastructure repository keeps its workflows, and their files. */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../support/certificates";

export const GITOPS_EXAMPLE = path.join(REPO_ROOT, "examples", "gitops");
export const WORKFLOWS_DIRECTORY = path.join(GITOPS_EXAMPLE, ".github", "workflows");

export function shippedWorkflowFiles(): string[] {
  return readdirSync(WORKFLOWS_DIRECTORY)
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => path.join(WORKFLOWS_DIRECTORY, name));
}

export function workflowFile(name: string): string {
  return path.join(WORKFLOWS_DIRECTORY, name);
}

/** A workflow as plain data (keys as written: `on`, `jobs`, …). */
export function loadWorkflow(name: string): any {
  return parse(readFileSync(workflowFile(name), "utf8"));
}
