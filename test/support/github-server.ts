/**
 * A local stand-in for GitHub's REST API, the issue-comment endpoints only, on 127.0.0.1: the real
 * service is off-machine. It checks every request the way GitHub's documentation states it
 * (method, path, query, the Accept / X-GitHub-Api-Version / Authorization headers, a JSON body of
 * `{ body: string }`) and records anything else as a violation the test asserts is empty. Lists
 * are paginated as GitHub does it, with absolute `Link` URLs, at most 100 per page.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface EmulatedComment {
  id: number;
  body: string;
  user: { login: string; type: "Bot" | "User" };
  html_url: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingMessage["headers"];
  readonly body?: unknown;
}

/** A canned answer served instead of the normal one, for the next matching request. */
export interface InjectedFailure {
  readonly method: string;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: unknown;
}

export const EMULATED_BOT = { login: "github-actions[bot]", type: "Bot" } as const;

export class GitHubEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  /** Comments per "owner/name#number". */
  readonly issues = new Map<string, EmulatedComment[]>();
  readonly failures: InjectedFailure[] = [];
  /** Who the token is: undefined answers GET /user with 403, as for an Actions GITHUB_TOKEN. */
  tokenUser: { login: string; type: "Bot" | "User" } | undefined;
  /** Who POST makes comments as. */
  author: { login: string; type: "Bot" | "User" } = EMULATED_BOT;
  private nextId = 1000;
  private server?: Server;

  constructor(readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server?.close((error) => (error ? reject(error) : resolve())) ?? resolve());
  }

  /** Seeds `count` comments on a pull request, each by `user`, with `bodyOf(i)` (i from 0). */
  seed(issue: string, count: number, bodyOf: (index: number) => string, user: EmulatedComment["user"] = { login: "reviewer", type: "User" }): EmulatedComment[] {
    const comments = this.issues.get(issue) ?? [];
    const added = Array.from({ length: count }, (_, index) => this.comment(issue, bodyOf(index), user));
    comments.push(...added);
    this.issues.set(issue, comments);
    return added;
  }

  commentsOf(issue: string): EmulatedComment[] {
    return this.issues.get(issue) ?? [];
  }

  /** The writes (POST, PATCH) seen, in order. */
  writes(): RecordedRequest[] {
    return this.requests.filter((request) => request.method === "POST" || request.method === "PATCH");
  }

  private comment(issue: string, body: string, user: EmulatedComment["user"]): EmulatedComment {
    const id = this.nextId++;
    return { id, body, user: { ...user }, html_url: `https://github.example/${issue.replace("#", "/pull/")}#issuecomment-${id}` };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.url);
    const text = await new Promise<string>((resolve) => {
      let data = "";
      request.on("data", (chunk) => (data += String(chunk)));
      request.on("end", () => resolve(data));
    });
    const method = request.method ?? "";
    const query = Object.fromEntries(url.searchParams);
    let body: unknown;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        this.violations.push(`${method} ${url.pathname}: the body is not JSON`);
      }
    }
    this.requests.push({ method, path: url.pathname, query, headers: request.headers, body });
    this.checkHeaders(method, url.pathname, request.headers, text !== "");

    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
      response.end(payload === undefined ? "" : JSON.stringify(payload));
    };
    const failure = this.failures.findIndex((candidate) => candidate.method === method);
    if (failure >= 0) {
      const [injected] = this.failures.splice(failure, 1);
      return send(injected.status, injected.body, injected.headers);
    }
    if (request.headers.authorization !== `Bearer ${this.token}`) return send(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });

    if (method === "GET" && url.pathname === "/user") {
      return this.tokenUser ? send(200, this.tokenUser) : send(403, { message: "Resource not accessible by integration", documentation_url: "https://docs.github.com/rest/users/users#get-the-authenticated-user" });
    }
    const list = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
    if (list && method === "GET") return this.listComments(`${list[1]}/${list[2]}#${list[3]}`, url, query, send);
    if (list && method === "POST") {
      const issue = `${list[1]}/${list[2]}#${list[3]}`;
      if (!this.issues.has(issue)) return send(404, { message: "Not Found" });
      if (!this.hasCommentBody(method, url.pathname, body)) return send(422, { message: "Validation Failed", errors: [{ resource: "IssueComment", code: "missing_field", field: "body" }] });
      const created = this.comment(issue, (body as { body: string }).body, this.author);
      this.issues.get(issue)!.push(created);
      return send(201, created);
    }
    const edit = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (edit && method === "PATCH") {
      const comments = [...this.issues.entries()].filter(([issue]) => issue.startsWith(`${edit[1]}/${edit[2]}#`)).flatMap(([, comments]) => comments);
      const target = comments.find((comment) => comment.id === Number(edit[3]));
      if (!target) return send(404, { message: "Not Found" });
      if (!this.hasCommentBody(method, url.pathname, body)) return send(422, { message: "Validation Failed" });
      target.body = (body as { body: string }).body;
      return send(200, target);
    }
    this.violations.push(`unexpected ${method} ${url.pathname}`);
    send(404, { message: "Not Found" });
  }

  private listComments(issue: string, url: URL, query: Record<string, string>, send: (status: number, payload: unknown, headers?: Record<string, string>) => void): void {
    const unknown = Object.keys(query).filter((key) => key !== "per_page" && key !== "page");
    if (unknown.length > 0) this.violations.push(`GET ${url.pathname}: unexpected query ${unknown.join(", ")}`);
    if (query.per_page !== "100") this.violations.push(`GET ${url.pathname}: per_page is ${query.per_page ?? "missing"}, not 100 (GitHub's default is 30)`);
    const comments = this.issues.get(issue);
    if (!comments) return send(404, { message: "Not Found" });
    const perPage = Math.min(100, Number(query.per_page ?? 30));
    const page = Number(query.page ?? 1);
    const last = Math.max(1, Math.ceil(comments.length / perPage));
    const pageUrl = (n: number): string => `${this.url}${url.pathname}?per_page=${perPage}&page=${n}`;
    const links = [page < last ? `<${pageUrl(page + 1)}>; rel="next"` : undefined, `<${pageUrl(last)}>; rel="last"`, page > 1 ? `<${pageUrl(1)}>; rel="first"` : undefined].filter(Boolean);
    send(200, comments.slice((page - 1) * perPage, page * perPage), { Link: links.join(", ") });
  }

  private hasCommentBody(method: string, path: string, body: unknown): boolean {
    const ok = typeof body === "object" && body !== null && typeof (body as { body?: unknown }).body === "string" && Object.keys(body).length === 1;
    if (!ok) this.violations.push(`${method} ${path}: the body is not { "body": "<text>" }`);
    return ok;
  }

  private checkHeaders(method: string, path: string, headers: IncomingMessage["headers"], hasBody: boolean): void {
    const where = `${method} ${path}`;
    if (headers.accept !== "application/vnd.github+json") this.violations.push(`${where}: Accept is ${headers.accept}`);
    if (headers["x-github-api-version"] !== "2022-11-28") this.violations.push(`${where}: X-GitHub-Api-Version is ${headers["x-github-api-version"]}`);
    if (headers.authorization !== `Bearer ${this.token}`) this.violations.push(`${where}: Authorization is not the Bearer token`);
    if (hasBody && !String(headers["content-type"]).startsWith("application/json")) this.violations.push(`${where}: Content-Type is ${headers["content-type"]}`);
  }
}
