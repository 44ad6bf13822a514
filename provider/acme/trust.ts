/**
 * How certstage's ACME requests travel. acme-client sends every request through one shared axios
 * instance per process, so this is process-wide:
 * - trust: the system's roots plus every extra root a configured CA needs (a private ACME CA, a
 *   test server);
 * - problem documents (RFC 7807, RFC 8555 §6.7): acme-client keeps only a problem's `detail` in
 *   its errors; the type (`urn:ietf:params:acme:error:rateLimited`…) is what tells a user what
 *   happened and what the retry logic keys on, so it is put in front of the detail;
 * - a bound on each request, so a CA that never answers fails the issuance instead of hanging it.
 */
import { Agent } from "node:https";
import { createSecureContext, rootCertificates } from "node:tls";

const extraRoots = new Set<string>();
let problemTypesShown = false;

interface ProblemDocument {
  type?: unknown;
  detail?: unknown;
  subproblems?: Array<{ type?: unknown; detail?: unknown; identifier?: { value?: unknown } }>;
}

function showProblemType(data: ProblemDocument): void {
  if (typeof data.type !== "string" || !data.type.startsWith("urn:ietf:params:acme:error:")) return;
  const detail = typeof data.detail === "string" ? data.detail : "";
  if (detail.startsWith(data.type)) return;
  const subproblems = (data.subproblems ?? []).map((sub) => `${String(sub.identifier?.value ?? "")} ${String(sub.type ?? "")}: ${String(sub.detail ?? "")}`);
  data.detail = [`${data.type}: ${detail}`, ...subproblems].join("; ");
}

/** How long one request to the CA may take; every CA answers in well under a second. */
export const ACME_REQUEST_TIMEOUT_MS = 60_000;

export function trustAcmeServerRoots(pem: string | undefined): void {
  const acme = require("acme-client") as typeof import("acme-client");
  if (pem !== undefined && pem.trim() !== "") extraRoots.add(pem);
  // One secure context for all connections. Given `ca` instead, Node parses every root again for
  // each new TLS connection (~27 ms of CPU with the system's ~145 roots), and ACME clients open
  // many: servers end keep-alive after the HEAD that fetches a fresh nonce.
  const secureContext = createSecureContext({ ca: [...rootCertificates, ...extraRoots] });
  acme.axios.defaults.httpsAgent = new Agent({ secureContext, keepAlive: true });
  // axios waits forever by default: a CA (or a proxy in front of it) that accepts a connection
  // and never answers would hang `pulumi up` with nothing said. A bounded wait fails the
  // issuance with the request that hung instead (ACME_FAILED names it).
  acme.axios.defaults.timeout = ACME_REQUEST_TIMEOUT_MS;
  if (!problemTypesShown) {
    problemTypesShown = true;
    acme.axios.interceptors.response.use(
      (response) => {
        if (response.data && typeof response.data === "object") showProblemType(response.data as ProblemDocument);
        return response;
      },
      (error) => {
        const data = (error as { response?: { data?: unknown } }).response?.data;
        if (data && typeof data === "object") showProblemType(data as ProblemDocument);
        return Promise.reject(error);
      },
    );
  }
}
