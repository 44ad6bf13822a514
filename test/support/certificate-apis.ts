/**
 * Local stand-ins for the certificate APIs the seeds document, on 127.0.0.1 (plain HTTP, or
 * HTTPS with a certificate the test makes): the real services are off-machine. Each checks every
 * request the way its seed states it and records anything else as a violation the test asserts
 * is empty:
 *
 * - Gcore (seed 004): `GET {base}/resources/<id>` and `PUT {base}/resources/<id>`, both with
 *   `Authorization: Bearer <token>` and `Content-Type: application/json`; the GET answers
 *   `{"resource": {...}}`, the PUT takes the resource back whole, only `service_ssl_crt` and
 *   `service_ssl_key` changed.
 * - Apinizer (seed 002, Update Certificate): `PUT /apiops/projects/<project>/certificates/<name>/`
 *   with `Authorization: Bearer <token>`, `multipart/form-data` holding exactly `alias`,
 *   `certificateDescription`, `environmentList` and the file `pemEncodedFile`, and the query
 *   `updateReferencedJwks` / `updateScope` only together. The seed gives the response format by
 *   reference to Create Certificate, which it does not include: the stand-in answers 200 with a
 *   small JSON object, and certstage reads nothing from it.
 *
 * Failures are injected per request (of a method): a status with a body and headers, or a hang.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** An answer given instead of the normal one, to the next request (of `method`, when given). */
export type InjectedAnswer = ({ readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> } | { readonly hang: true }) & { readonly method?: string };

abstract class ApiEmulator {
  readonly requests: SeenRequest[] = [];
  readonly violations: string[] = [];
  /** Answers given instead of the normal one, to the next requests, in order. */
  readonly failures: InjectedAnswer[] = [];
  private server?: Server;

  constructor(
    readonly token: string,
    private readonly tls?: { readonly cert: string; readonly key: string },
  ) {}

  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    const handler = (request: IncomingMessage, response: ServerResponse) => void this.receive(request, response);
    this.server = this.tls ? createHttpsServer({ cert: this.tls.cert, key: this.tls.key }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  protected abstract handle(request: SeenRequest, send: (status: number, payload: unknown) => void): Promise<void> | void;

  protected violation(request: SeenRequest, problem: string): void {
    this.violations.push(`${request.method} ${request.path}: ${problem}`);
  }

  protected checkBearer(request: SeenRequest): boolean {
    if (request.headers.authorization === `Bearer ${this.token}`) return true;
    return false;
  }

  private async receive(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const url = new URL(incoming.url ?? "/", "http://127.0.0.1");
    const request: SeenRequest = { method: incoming.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), headers: incoming.headers, body: Buffer.concat(chunks).toString("utf8") };
    this.requests.push(request);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "Content-Type": "application/json", ...headers });
      response.end(payload === undefined ? "" : typeof payload === "string" ? payload : JSON.stringify(payload));
    };
    const index = this.failures.findIndex((failure) => failure.method === undefined || failure.method === request.method);
    const [injected] = index >= 0 ? this.failures.splice(index, 1) : [];
    if (injected && "hang" in injected) return; // the connection stays open, unanswered, until stop()
    if (injected) return send(injected.status, injected.body, injected.headers);
    await this.handle(request, send);
  }
}

/** Gcore's resource API (seed 004) for one protected resource. */
export class GcoreEmulator extends ApiEmulator {
  /** The resource as Gcore keeps it; `service_ssl_crt`/`service_ssl_key` change with each PUT. */
  resource: Record<string, unknown>;
  /** The resource the last GET answered, which the next PUT must send back whole. */
  private lastAnswered?: Record<string, unknown>;

  constructor(
    token: string,
    readonly base: string,
    readonly resourceId: string,
    tls?: { cert: string; key: string },
  ) {
    super(token, tls);
    this.resource = { id: Number(resourceId), name: "api.example.test", status: "active", ssl_type: "custom", service_ssl_crt: "", service_ssl_key: "", origins: [{ host: "10.0.0.5", port: 443 }], waf: { enabled: true } };
  }

  protected handle(request: SeenRequest, send: (status: number, payload: unknown) => void): void {
    const path = `${this.base}/resources/${this.resourceId}`;
    if (request.path !== path) {
      this.violation(request, `not ${path}`);
      return send(404, { error: "Not found" });
    }
    if (Object.keys(request.query).length > 0) this.violation(request, `unexpected query ${JSON.stringify(request.query)}`);
    if (request.headers["content-type"] !== "application/json") this.violation(request, `Content-Type is ${request.headers["content-type"]}, not application/json`);
    if (!this.checkBearer(request)) return send(401, { error: "Unauthorized" });
    if (request.method === "GET") {
      if (request.body !== "") this.violation(request, "a GET with a body");
      this.lastAnswered = structuredClone(this.resource);
      return send(200, { resource: this.resource });
    }
    if (request.method !== "PUT") {
      this.violation(request, "not GET or PUT");
      return send(405, { error: "Method not allowed" });
    }
    let sent: Record<string, unknown>;
    try {
      sent = JSON.parse(request.body);
    } catch {
      this.violation(request, "the body is not JSON");
      return send(400, { error: "Bad request" });
    }
    if (!this.lastAnswered) this.violation(request, "a PUT without a GET of the resource first");
    const { service_ssl_crt: crt, service_ssl_key: key, ...rest } = sent;
    const { service_ssl_crt: _crt, service_ssl_key: _key, ...expected } = this.lastAnswered ?? {};
    if (JSON.stringify(rest) !== JSON.stringify(expected)) this.violation(request, `the resource sent back differs from the one read in more than the certificate: ${JSON.stringify(rest)}`);
    if (typeof crt !== "string" || !crt.startsWith("-----BEGIN CERTIFICATE-----\n")) this.violation(request, "service_ssl_crt is not a PEM certificate");
    if (typeof key !== "string" || !key.startsWith("-----BEGIN PRIVATE KEY-----\n")) this.violation(request, "service_ssl_key is not a PEM PKCS#8 private key (BEGIN PRIVATE KEY), as the seed gives it");
    this.resource = sent;
    send(200, { resource: this.resource });
  }
}

/** Apinizer's management API (seed 002), Update Certificate, for the certificates of one project. */
export class ApinizerEmulator extends ApiEmulator {
  /** name -> what the last update left: the form fields and the file. */
  readonly certificates = new Map<string, { alias: string; certificateDescription: string; environmentList: string; pem: string; filename: string; query: Record<string, string> } | undefined>();

  constructor(
    token: string,
    readonly project: string,
    existing: readonly string[],
  ) {
    super(token);
    for (const name of existing) this.certificates.set(name, undefined);
  }

  protected async handle(request: SeenRequest, send: (status: number, payload: unknown) => void): Promise<void> {
    const match = /^\/apiops\/projects\/([^/]+)\/certificates\/([^/]+)\/$/.exec(request.path);
    if (!match || request.method !== "PUT") {
      this.violation(request, "not PUT /apiops/projects/{projectName}/certificates/{certificateName}/");
      return send(404, { error: "Not found" });
    }
    if (!this.checkBearer(request)) return send(401, { error: "Unauthorized", message: "Invalid personal API access token" });
    const [project, name] = [decodeURIComponent(match[1]), decodeURIComponent(match[2])];
    const query = request.query;
    const extraQuery = Object.keys(query).filter((key) => key !== "updateReferencedJwks" && key !== "updateScope");
    if (extraQuery.length > 0) this.violation(request, `unexpected query ${extraQuery.join(", ")}`);
    if (query.updateReferencedJwks === "true" && !["SAME_PROJECT", "ALL_PROJECTS"].includes(query.updateScope ?? "")) this.violation(request, "updateReferencedJwks=true without a valid updateScope");
    if (query.updateScope !== undefined && query.updateReferencedJwks !== "true") this.violation(request, "updateScope without updateReferencedJwks=true");
    const contentType = String(request.headers["content-type"]);
    if (!/^multipart\/form-data; boundary=[^\s;]+$/.test(contentType)) {
      this.violation(request, `Content-Type is ${contentType}, not multipart/form-data with a boundary`);
      return send(415, { error: "Unsupported media type" });
    }
    const form = await new Response(request.body, { headers: { "Content-Type": contentType } }).formData();
    const fields = [...form.keys()];
    const required = ["alias", "certificateDescription", "environmentList", "pemEncodedFile"];
    if (JSON.stringify([...fields].sort()) !== JSON.stringify([...required].sort())) this.violation(request, `the form holds ${fields.join(", ")}, not exactly ${required.join(", ")} (all form fields are required)`);
    const file = form.get("pemEncodedFile");
    if (!(file instanceof File)) {
      this.violation(request, "pemEncodedFile is not a file");
      return send(400, { error: "Bad request" });
    }
    const pem = await file.text();
    if (!/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/.test(pem)) this.violation(request, "pemEncodedFile is not a PEM certificate");
    if (/PRIVATE KEY/.test(request.body)) this.violation(request, "a private key was sent to a certificate store");
    if (project !== this.project || !this.certificates.has(name)) return send(404, { error: "Not found", message: `Certificate ${name} not found in project ${project}` });
    const text = (key: string) => String(form.get(key) ?? "");
    this.certificates.set(name, { alias: text("alias"), certificateDescription: text("certificateDescription"), environmentList: text("environmentList"), pem, filename: file.name, query });
    send(200, { success: true, resultMessage: "Certificate updated" });
  }
}
