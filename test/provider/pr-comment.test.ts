/**
 * `certstage pr-comment` against a local server that answers as GitHub's REST API does for
 * issue comments and checks every request (test/support/github-server.ts). The command runs as
 * a user runs it: the built CLI in a child process, the token in GITHUB_TOKEN.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCertstageError } from "../../provider/errors";
import { upsertPullRequestComment } from "../../provider/cli/pr-comment";
import { nextPageUrl } from "../../provider/cli/github-rest";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { EMULATED_BOT, GitHubEmulator } from "../support/github-server";

const TOKEN = "ghs_Emulated0123456789abcdefTOKENvalue";
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const PR = "acme/infra#42";

let github: GitHubEmulator;
let directory: string;

beforeEach(async () => {
  github = new GitHubEmulator(TOKEN);
  await github.start();
  directory = temporaryDirectory("pr-comment");
});
afterEach(async () => {
  await github.stop();
});

const marker = (stack: string): string => `<!-- certstage:preview-summary project=infra stack=${stack} -->`;

function summary(stack: string, text: string): string {
  const file = path.join(directory, `${stack}-${Math.random().toString(36).slice(2)}.md`);
  writeFileSync(file, `${marker(stack)}\n### certstage preview: infra/${stack}\n\n${text}\n`);
  return file;
}

function prComment(bodyFile: string, extra: { env?: NodeJS.ProcessEnv; pullRequest?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [CLI, "pr-comment", "--repository", "acme/infra", "--pull-request", extra.pullRequest ?? "42", "--body-file", bodyFile];
  const env = { PATH: process.env.PATH, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url, ...extra.env };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

function expectNoToken(...texts: string[]): void {
  for (const text of texts) expect(text).not.toContain(TOKEN);
}

describe("certstage pr-comment", () => {
  it("finds its comment on page 2 of 130 by following Link headers, and updates only that one", async () => {
    github.seed(PR, 120, (index) => `review remark ${index}`);
    const [ours] = github.seed(PR, 1, () => `${marker("production")}\nold summary`, EMULATED_BOT);
    github.seed(PR, 9, (index) => `later remark ${index}`);

    const result = await prComment(summary("production", "v4 → v5"));

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^updated ${marker("production")} on acme/infra#42: https://github.example/acme/infra/pull/42#issuecomment-${ours.id}\\n$`));
    const lists = github.requests.filter((request) => request.method === "GET" && request.path.endsWith("/comments"));
    expect(lists.map((request) => request.query)).toEqual([{ per_page: "100" }, { per_page: "100", page: "2" }]);
    expect(lists.every((request) => request.path === "/repos/acme/infra/issues/42/comments")).toBe(true);
    expect(github.writes().map((request) => [request.method, request.path, request.body])).toEqual([
      ["PATCH", `/repos/acme/infra/issues/comments/${ours.id}`, { body: `${marker("production")}\n### certstage preview: infra/production\n\nv4 → v5\n` }],
    ]);
    expect(github.commentsOf(PR)).toHaveLength(130);
    expect(github.violations).toEqual([]);
    expectNoToken(result.stdout, result.stderr);
  });

  it("keeps one comment per stack: three stacks on one pull request each post once, then update only their own", async () => {
    github.seed(PR, 105, (index) => `remark ${index}`);
    const stacks = ["dev", "staging", "production"];
    for (const stack of stacks) {
      const posted = await prComment(summary(stack, `first preview of ${stack}`));
      expect(posted.code, posted.stderr).toBe(0);
      expect(posted.stdout).toMatch(/^posted /);
    }
    const updated = await prComment(summary("staging", "second preview of staging"));
    expect(updated.stdout).toMatch(/^updated /);

    const ours = github.commentsOf(PR).filter((comment) => comment.body.startsWith("<!-- certstage:"));
    expect(ours.map((comment) => [comment.body.split("\n")[0], comment.body.split("\n")[3]])).toEqual([
      [marker("dev"), "first preview of dev"],
      [marker("staging"), "second preview of staging"],
      [marker("production"), "first preview of production"],
    ]);
    expect(github.writes().map((request) => request.method)).toEqual(["POST", "POST", "POST", "PATCH"]);
    expect(github.violations).toEqual([]);
  });

  it("sends no PATCH when the body is what the comment already says", async () => {
    github.seed(PR, 0, () => "");
    const file = summary("production", "no change");
    expect((await prComment(file)).stdout).toMatch(/^posted /);
    const again = await prComment(file);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^unchanged /);
    expect(github.writes().map((request) => request.method)).toEqual(["POST"]);
  });

  it("never edits a person's comment that quotes the marker; it posts its own", async () => {
    github.seed(PR, 1, () => `${marker("production")}\ncopied by hand`, { login: "reviewer", type: "User" });
    const result = await prComment(summary("production", "from CI"));
    expect(result.stdout).toMatch(/^posted /);
    expect(github.commentsOf(PR)[0].body).toContain("copied by hand");
  });

  it("with a token that names its user (GET /user), edits only that user's comments", async () => {
    github.tokenUser = { login: "infra-bot-user", type: "User" };
    github.author = github.tokenUser;
    github.seed(PR, 1, () => `${marker("production")}\nsomeone else's bot`, EMULATED_BOT);
    const [mine] = github.seed(PR, 1, () => `${marker("production")}\nmine`, github.tokenUser);
    const result = await prComment(summary("production", "new"));
    expect(result.stdout).toContain(`#issuecomment-${mine.id}`);
    expect(github.writes().map((request) => request.path)).toEqual([`/repos/acme/infra/issues/comments/${mine.id}`]);
  });

  it("a 403 on the write says which permission the job needs, exits 1, and never prints the token", async () => {
    github.seed(PR, 3, (index) => `remark ${index}`);
    github.failures.push({ method: "POST", status: 403, body: { message: `Resource not accessible by integration (token ${TOKEN})` } });
    const result = await prComment(summary("production", "x"));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("[GITHUB_PERMISSION_DENIED] commenting on acme/infra#42 was refused, HTTP 403: Resource not accessible by integration (token ***)");
    expect(result.stderr).toContain("permissions: pull-requests: write");
    expectNoToken(result.stdout, result.stderr);
  });

  it("a pull request that does not exist is a 404 naming what to check", async () => {
    const result = await prComment(summary("production", "x"), { pullRequest: "7" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[GITHUB_NOT_FOUND] listing the comments of acme/infra#7 was refused, HTTP 404: Not Found");
    expect(result.stderr).toContain("--repository");
  });

  it("cannot run (exit 2) without a marker, with a body over 65,536 characters, or without a token, and calls GitHub for none", async () => {
    const noMarker = path.join(directory, "no-marker.md");
    writeFileSync(noMarker, "### a summary\n<!-- certstage:preview-summary project=infra stack=x -->\n");
    const tooLong = path.join(directory, "too-long.md");
    writeFileSync(tooLong, `${marker("production")}\n${"é".repeat(65_536)}`);

    const missing = await prComment(noMarker);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("[PR_COMMENT_MARKER_MISSING] field '--body-file': the body's first line is not a marker")]);
    const long = await prComment(tooLong);
    expect([long.code, long.stderr]).toEqual([2, expect.stringContaining("[PR_COMMENT_TOO_LONG] field '--body-file': the body has 65602 characters, over GitHub's 65536")]);
    const noToken = await prComment(summary("production", "x"), { env: { GITHUB_TOKEN: "" } });
    expect([noToken.code, noToken.stderr]).toEqual([2, expect.stringContaining("[GITHUB_TOKEN_MISSING]")]);
    expect(github.requests).toEqual([]);
  });

  it("retries 5xx and a secondary rate limit after bounded waits on the injected clock, then succeeds", async () => {
    github.seed(PR, 2, (index) => `remark ${index}`);
    github.failures.push({ method: "GET", status: 502, body: { message: "Server Error" } });
    github.failures.push({ method: "GET", status: 403, headers: { "Retry-After": "7" }, body: { message: "You have exceeded a secondary rate limit" } });
    const waits: number[] = [];
    const outcome = await upsertPullRequestComment({
      repository: "acme/infra",
      pullRequest: 42,
      body: `${marker("production")}\nbody\n`,
      token: TOKEN,
      apiUrl: github.url,
      clock: { sleep: async (milliseconds) => void waits.push(milliseconds) },
    });
    expect(outcome.action).toBe("posted");
    expect(waits).toEqual([1000, 7000]);
    expect(github.commentsOf(PR)).toHaveLength(3);
  });

  it("gives up after four attempts on a GitHub that keeps failing, with GITHUB_UNAVAILABLE", async () => {
    github.seed(PR, 1, () => "remark");
    for (let attempt = 0; attempt < 5; attempt++) github.failures.push({ method: "GET", status: 503, body: { message: "Service Unavailable" } });
    const waits: number[] = [];
    const failure = await upsertPullRequestComment({ repository: "acme/infra", pullRequest: 42, body: `${marker("x")}\n`, token: TOKEN, apiUrl: github.url, clock: { sleep: async (ms) => void waits.push(ms) } }).catch((error: unknown) => error);
    expect(isCertstageError(failure, "GITHUB_UNAVAILABLE")).toBe(true);
    expect((failure as Error).message).toContain("HTTP 503: Service Unavailable (after 4 attempts)");
    expect(waits).toEqual([1000, 2000, 4000]);
  });
  it("reports a rate limit that outlasts the retries as GITHUB_UNAVAILABLE, not as a permission problem", async () => {
    github.seed(PR, 1, () => "remark");
    for (let attempt = 0; attempt < 4; attempt++) github.failures.push({ method: "GET", status: 403, headers: { "X-RateLimit-Remaining": "0" }, body: { message: "API rate limit exceeded for installation ID 1." } });
    const failure = await upsertPullRequestComment({ repository: "acme/infra", pullRequest: 42, body: `${marker("x")}\n`, token: TOKEN, apiUrl: github.url, clock: { sleep: async () => undefined } }).catch((error: unknown) => error);
    expect(isCertstageError(failure, "GITHUB_UNAVAILABLE")).toBe(true);
    expect((failure as Error).message).toContain("HTTP 403: API rate limit exceeded for installation ID 1. (after 4 attempts). Fix: wait for GitHub's rate limit to reset");
  });
});

describe("nextPageUrl", () => {
  it("reads rel=next wherever it stands in a Link header, and nothing else", () => {
    expect(nextPageUrl('<https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last"')).toBe("https://api.github.com/x?page=3");
    expect(nextPageUrl('<https://api.github.com/x?page=1>; rel="first", <https://api.github.com/x?page=2>; rel="next"')).toBe("https://api.github.com/x?page=2");
    expect(nextPageUrl('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=9>; rel="last"')).toBeUndefined();
    expect(nextPageUrl(null)).toBeUndefined();
  });
});
