/**
 * One ACME issuance (RFC 8555 §7.4): account, order, challenges, finalize, download. acme-client
 * speaks the protocol; this adds what a production tool needs around it: bounded retries with
 * backoff for bad nonces, rate limits and server errors, the CA's problem document in every
 * failure, ARI `replaces`, ACME profiles, and challenge clean-up whatever happens.
 */
import type { KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { CertstageError, isCertstageError } from "../errors";
import { createCertificateRequest } from "../pki/certificate-request";
import type { ChallengeSolver } from "./solvers/solver";

export interface ExternalAccountBinding {
  readonly kid: string;
  /** base64url HMAC key the CA gave you. */
  readonly hmacKey: string;
}

export interface IssueRequest {
  readonly directoryUrl: string;
  readonly accountKeyPem: string;
  /** Known account URL, saves a round trip; found by key otherwise. */
  readonly accountUrl?: string;
  readonly contact?: readonly string[];
  readonly termsOfServiceAgreed: boolean;
  readonly externalAccountBinding?: ExternalAccountBinding;
  readonly domains: readonly string[];
  /** The key the certificate is for (new, or reused under key policy `reuse`). */
  readonly certificateKey: KeyObject;
  readonly solver: ChallengeSolver;
  /** Issuer CN of the chain to prefer when the CA offers alternates. */
  readonly preferredChain?: string;
  /** ACME profile (draft-aaron-acme-profiles) when the CA offers profiles. */
  readonly profile?: string;
  /** ARI id of the certificate this one replaces (RFC 9773 §5). */
  readonly replaces?: string;
  readonly retry?: RetryPolicy;
  /**
   * Called with the order and account URLs just before the CSR goes to the CA: from then on the
   * CA may issue whatever happens to this process, so the caller records the order (see
   * `resumeOrder`).
   */
  readonly beforeFinalize?: (order: { orderUrl: string; accountUrl: string }) => Promise<void>;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly accountUrl: string;
  readonly orderUrl: string;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, minDelayMs: 250, maxDelayMs: 4000 };

/** Problem types worth another attempt (RFC 8555 §6.7): transient on the CA's side or ours. */
const RETRYABLE = /badNonce|rateLimited|serverInternal|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|status code 5\d\d|status code 429/i;

export async function issueCertificate(request: IssueRequest): Promise<IssuedCertificate> {
  const retry = request.retry ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await issueOnce(request);
    } catch (error) {
      const message = (error as Error).message ?? "";
      const retryable = !isCertstageError(error, "CHALLENGE_FAILED") && RETRYABLE.test(message);
      if (!retryable || attempt >= retry.attempts) {
        if (isCertstageError(error)) throw error;
        throw new CertstageError("ACME_FAILED", `the order for ${request.domains.join(", ")} failed after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${message}`, {
          field: "directory",
          fix: "read the CA's problem above; for rate limits wait before retrying, for authorization problems check the challenge setup",
          cause: error,
        });
      }
      const delay = Math.min(retry.maxDelayMs, retry.minDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
    }
  }
}

async function issueOnce(request: IssueRequest): Promise<IssuedCertificate> {
  const acme = require("acme-client") as typeof import("acme-client");
  const client = new acme.Client({
    directoryUrl: request.directoryUrl,
    accountKey: request.accountKeyPem,
    accountUrl: request.accountUrl,
    externalAccountBinding: request.externalAccountBinding,
    // Poll quickly at first: most CAs validate in well under a second.
    backoffAttempts: 12,
    backoffMin: 100,
    backoffMax: 3000,
  });
  // acme-client retries a bad nonce 5 times; with a CA rejecting half of all nonces that loses
  // about one order in six. Its HTTP client keeps the limit on a public field.
  (client as unknown as { http: { maxBadNonceRetries: number } }).http.maxBadNonceRetries = 20;

  // newAccount returns the existing account for a known key (RFC 8555 §7.3.1). acme-client's
  // createAccount would follow that with an account update, which CAs refuse when nothing changes.
  const api = (client as unknown as { api: { createAccount(data: object): Promise<unknown> } }).api;
  await api.createAccount({ termsOfServiceAgreed: request.termsOfServiceAgreed, ...(request.contact ? { contact: [...request.contact] } : {}) });
  const order = await client.createOrder({
    identifiers: request.domains.map((value) => ({ type: isIP(value) ? "ip" : "dns", value })),
    ...(request.profile ? { profile: request.profile } : {}),
    ...(request.replaces ? { replaces: request.replaces } : {}),
  } as Parameters<typeof client.createOrder>[0]);

  const authorizations = await client.getAuthorizations(order);
  for (const authorization of authorizations.filter((entry) => entry.status === "pending")) {
    const challenge = authorization.challenges.find((candidate) => candidate.type === request.solver.type);
    const identifier = `${authorization.wildcard ? "*." : ""}${authorization.identifier.value}`;
    if (!challenge) {
      throw new CertstageError("CHALLENGE_FAILED", `the CA offers no ${request.solver.type} challenge for ${identifier} (offered: ${authorization.challenges.map((candidate) => candidate.type).join(", ")})`, {
        field: "challenge",
        fix: authorization.wildcard ? "wildcard names need dns-01" : "use a challenge type the CA offers",
      });
    }
    const task = { identifier, token: challenge.token, answer: await client.getChallengeKeyAuthorization(challenge) };
    await request.solver.present(task);
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    } catch (error) {
      throw await challengeFailure(client, order, identifier, error);
    } finally {
      await request.solver.cleanUp(task).catch(() => undefined);
    }
  }

  const csr = await createCertificateRequest(request.certificateKey, request.domains);
  const accountUrl: string = client.getAccountUrl() ?? "";
  await request.beforeFinalize?.({ orderUrl: String(order.url), accountUrl });
  const finalized = await client.finalizeOrder(order, csr);
  return downloaded(client, finalized, request.preferredChain, accountUrl);
}

async function downloaded(client: import("acme-client").Client, order: import("acme-client").Order, preferredChain: string | undefined, accountUrl: string): Promise<IssuedCertificate> {
  const fullchain = await client.getCertificate(order, preferredChain);
  const [leaf, ...chain] = fullchain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  if (leaf === undefined) throw new Error(`the CA returned no certificate for order ${order.url}`);
  return { certificatePem: leaf, chainPem: chain.join(""), accountUrl, orderUrl: String(order.url) };
}

export interface ResumeRequest {
  readonly directoryUrl: string;
  readonly accountKeyPem: string;
  readonly accountUrl: string;
  readonly orderUrl: string;
  readonly preferredChain?: string;
}

/**
 * The certificate of an order an earlier, killed process finalized (RFC 8555 §7.4): once the CA
 * has issued it, downloading it is all that is left. Undefined when the order never got that far
 * (the CA had not received the CSR) or failed: then a new order is the only way.
 */
export async function resumeOrder(request: ResumeRequest): Promise<IssuedCertificate | undefined> {
  const acme = require("acme-client") as typeof import("acme-client");
  const client = new acme.Client({ directoryUrl: request.directoryUrl, accountKey: request.accountKeyPem, accountUrl: request.accountUrl, backoffAttempts: 12, backoffMin: 100, backoffMax: 3000 });
  (client as unknown as { http: { maxBadNonceRetries: number } }).http.maxBadNonceRetries = 20;
  let order = await client.getOrder({ url: request.orderUrl } as import("acme-client").Order);
  if (order.status === "processing") order = await client.waitForValidStatus(order);
  if (order.status !== "valid") return undefined;
  return downloaded(client, order, request.preferredChain, request.accountUrl);
}

/** The CA's problem document for a failed validation (RFC 8555 §7.1.4 `error`), as the message. */
async function challengeFailure(client: import("acme-client").Client, order: import("acme-client").Order, identifier: string, cause: unknown): Promise<CertstageError> {
  let problem = (cause as Error).message;
  try {
    const fresh = await client.getAuthorizations(order);
    const failed = fresh.flatMap((authorization) => authorization.challenges).find((challenge) => (challenge as { error?: unknown }).error);
    if (failed) problem = JSON.stringify((failed as { error?: unknown }).error);
  } catch {
    // Keep acme-client's message.
  }
  return new CertstageError("CHALLENGE_FAILED", `the CA could not validate ${identifier}: ${problem}`, {
    field: "challenge",
    fix: "make sure the CA can reach the challenge answer (http-01: port 80 of the name; dns-01: the TXT record), then run again",
    cause,
  });
}
