/**
 * `certstage pr-comment --repository <owner/name> --pull-request <n> --body-file <summary.md>`:
 * keeps ONE comment per marker on a pull request up to date. The marker is the body's first line,
 * a hidden HTML comment (`<!-- certstage:preview-summary project=p stack=s -->`, as
 * `certstage preview-summary` writes it), so a matrix of stacks keeps one comment each and a
 * re-run edits its own instead of adding another.
 *
 * - Every comment is read, page after page, so the marker is found on a pull request with
 *   hundreds of comments.
 * - Whose comment counts: when the token can say who it is (`GET /user`: a personal token), only
 *   that user's comments; when it cannot (an Actions GITHUB_TOKEN gets 403 there), only comments
 *   by a Bot account (`github-actions[bot]`). A person who pastes the marker into a comment never
 *   has it overwritten.
 * - The first matching comment is edited, and only when its body differs: an unchanged preview
 *   sends no PATCH and notifies nobody.
 *
 * Exit codes: 0 posted, updated or unchanged (the line printed says which), 1 GitHub refused or
 * failed, 2 the command cannot run as given (options, token, body).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CertstageError, isCertstageError } from "../errors";
import { GitHubRestClient, type RetryClock } from "./github-rest";

/** GitHub's limit for an issue comment body. */
export const COMMENT_BODY_LIMIT = 65_536;

const MARKER = /^<!-- certstage:[^\n]*? -->$/;

export interface IssueComment {
  readonly id: number;
  readonly body?: string;
  readonly html_url?: string;
  readonly user?: { readonly login?: string; readonly type?: string } | null;
}

/** Whose comments may be edited: one login when known, else any Bot account. */
export type CommentAuthor = { readonly login: string } | { readonly anyBot: true };

export type CommentPlan =
  | { readonly action: "post" }
  | { readonly action: "update"; readonly comment: IssueComment }
  | { readonly action: "unchanged"; readonly comment: IssueComment };

/** The marker line of `body`, or a CertstageError saying why it has none. */
export function commentMarker(body: string): string {
  const firstLine = body.split("\n", 1)[0].replace(/\r$/, "");
  if (!MARKER.test(firstLine)) {
    throw new CertstageError("PR_COMMENT_MARKER_MISSING", `the body's first line is not a marker of the form <!-- certstage:… --> (it starts ${JSON.stringify(firstLine.slice(0, 40))})`, {
      field: "--body-file",
      fix: "write the body with `certstage preview-summary`, or make its first line a hidden marker such as <!-- certstage:preview-summary project=infra stack=production -->",
    });
  }
  return firstLine;
}

/** Refuses a body GitHub would refuse (422), before any call. Counts characters, not bytes. */
export function checkCommentLength(body: string): void {
  const characters = [...body].length;
  if (characters > COMMENT_BODY_LIMIT) {
    throw new CertstageError("PR_COMMENT_TOO_LONG", `the body has ${characters} characters, over GitHub's ${COMMENT_BODY_LIMIT}`, {
      field: "--body-file",
      fix: "write it with `certstage preview-summary`, which trims the raw diff to fit, or shorten it",
    });
  }
}

/** Post, update or leave alone: pure, over the comments already listed. */
export function planCommentUpsert(comments: readonly IssueComment[], body: string, author: CommentAuthor): CommentPlan {
  const marker = commentMarker(body);
  const ours = comments.find((comment) => firstLine(comment.body ?? "") === marker && isByAuthor(comment, author));
  if (ours === undefined) return { action: "post" };
  return normalized(ours.body ?? "") === normalized(body) ? { action: "unchanged", comment: ours } : { action: "update", comment: ours };
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0].replace(/\r$/, "");
}

function normalized(text: string): string {
  return text.replace(/\r\n/g, "\n");
}

function isByAuthor(comment: IssueComment, author: CommentAuthor): boolean {
  if ("login" in author) return comment.user?.login === author.login;
  return comment.user?.type === "Bot";
}

export interface PrCommentRequest {
  readonly repository: string;
  readonly pullRequest: number;
  readonly body: string;
  readonly token: string;
  readonly apiUrl?: string;
  readonly clock?: RetryClock;
}

export interface PrCommentOutcome {
  readonly action: "posted" | "updated" | "unchanged";
  readonly id: number;
  readonly url?: string;
}

/** Lists, decides, and writes at most one comment. */
export async function upsertPullRequestComment(request: PrCommentRequest): Promise<PrCommentOutcome> {
  checkCommentLength(request.body);
  commentMarker(request.body);
  const github = new GitHubRestClient({ token: request.token, apiUrl: request.apiUrl, clock: request.clock });
  const [owner, name] = request.repository.split("/").map(encodeURIComponent);
  const issue = `/repos/${owner}/${name}/issues/${request.pullRequest}`;
  const comments = await github.paginate<IssueComment>(`${issue}/comments?per_page=100`, `listing the comments of ${request.repository}#${request.pullRequest}`);
  const plan = planCommentUpsert(comments, request.body, await tokenAuthor(github));
  if (plan.action === "unchanged") return { action: "unchanged", id: plan.comment.id, url: plan.comment.html_url };
  if (plan.action === "update") {
    const updated = await github.request<IssueComment>("PATCH", `/repos/${owner}/${name}/issues/comments/${plan.comment.id}`, { body: request.body }, `updating comment ${plan.comment.id} on ${request.repository}#${request.pullRequest}`);
    return { action: "updated", id: updated.body.id, url: updated.body.html_url };
  }
  const posted = await github.request<IssueComment>("POST", `${issue}/comments`, { body: request.body }, `commenting on ${request.repository}#${request.pullRequest}`);
  return { action: "posted", id: posted.body.id, url: posted.body.html_url };
}

/** The token's own login when GitHub tells it; an Actions GITHUB_TOKEN (an app installation) may not ask. */
async function tokenAuthor(github: GitHubRestClient): Promise<CommentAuthor> {
  try {
    const user = await github.request<{ login?: string }>("GET", "/user", undefined, "asking GitHub who the token is");
    return typeof user.body?.login === "string" ? { login: user.body.login } : { anyBot: true };
  } catch (error) {
    if (isCertstageError(error, "GITHUB_PERMISSION_DENIED")) return { anyBot: true };
    throw error;
  }
}

export interface PrCommentOptions {
  readonly repository?: string;
  readonly "pull-request"?: string;
  readonly "body-file"?: string;
}

/** The command line's edge: options and environment in, one line out, an exit code back. */
export async function prCommentCommand(options: PrCommentOptions, output: NodeJS.WritableStream, environment: NodeJS.ProcessEnv = process.env, clock?: RetryClock): Promise<number> {
  const token = environment.GITHUB_TOKEN ?? "";
  const fail = (code: number, message: string): number => {
    process.stderr.write(`certstage: ${token === "" ? message : message.split(token).join("***")}\n`);
    return code;
  };
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repository ?? "")) return fail(2, "pr-comment needs --repository owner/name (in Actions: \"$GITHUB_REPOSITORY\")");
  if (!/^[1-9]\d{0,9}$/.test(options["pull-request"] ?? "")) return fail(2, "pr-comment needs --pull-request <number>");
  if (options["body-file"] === undefined) return fail(2, "pr-comment needs --body-file <file>, e.g. the summary.md of certstage preview-summary");
  if (token === "") return fail(2, new CertstageError("GITHUB_TOKEN_MISSING", "GITHUB_TOKEN is empty or unset", { fix: "set env: GITHUB_TOKEN: ${{ github.token }} on the step (with permissions: pull-requests: write)" }).message);
  let body: string;
  try {
    body = readFileSync(options["body-file"], "utf8");
    checkCommentLength(body);
    commentMarker(body);
  } catch (error) {
    return fail(2, isCertstageError(error) ? error.message : `cannot read --body-file ${options["body-file"]}: ${(error as Error).message}`);
  }
  try {
    const outcome = await upsertPullRequestComment({ repository: options.repository!, pullRequest: Number(options["pull-request"]), body, token, apiUrl: environment.GITHUB_API_URL || undefined, clock });
    const where = outcome.url ?? `comment ${outcome.id}`;
    output.write(`${outcome.action} ${commentMarker(body)} on ${options.repository}#${options["pull-request"]}: ${where}\n`);
    return 0;
  } catch (error) {
    return fail(1, isCertstageError(error) ? error.message : (error as Error).message);
  }
}

/** `certstage pr-comment …` as typed: its own options, so they mean nothing to other commands. */
export async function prCommentMain(args: string[], output: NodeJS.WritableStream): Promise<number> {
  let values: PrCommentOptions;
  try {
    values = parseArgs({ args, options: { repository: { type: "string" }, "pull-request": { type: "string" }, "body-file": { type: "string" } } }).values;
  } catch (error) {
    process.stderr.write(`certstage: ${(error as Error).message}\n`);
    return 2;
  }
  return prCommentCommand(values, output);
}
