/**
 * The rules of the notification records (`certstage notify`) that do not depend on where they
 * live: what a key looks like, which claims a run may take, and how a claim becomes sent or
 * failed. Both drivers apply them from here, so a file store and a postgres store decide alike.
 */
import { hostname } from "node:os";
import { CertstageError, quoted } from "../errors";
import { randomHex } from "./lazy-crypto";
import { nameInvalid } from "./store-errors";
import { NAME_PATTERN, type Actor, type NotificationClaim, type NotificationFilter, type NotificationRecord } from "./store";

/**
 * A claim older than this belongs to a run that died (a run sends a notice in seconds, retries
 * included): another run may take it over. Short, so a killed job delays a notice by minutes only.
 */
export const NOTIFICATION_CLAIM_STALE_MS = 5 * 60_000;

/** Longest `lastError` kept. */
export const NOTIFICATION_ERROR_LIMIT = 500;

/** `expiry:<certificate>:<environment>:v<n>:<band>` or `failure:<certificate>:<environment|->:<action>:<time>`; printable ASCII. */
const KEY = /^(expiry|failure):[\x21-\x7e]{3,400}$/;

function claimInvalid(claim: NotificationClaim, problem: string): CertstageError {
  return new CertstageError("INPUT_SCHEMA", `the notification ${quoted(String(claim.key).slice(0, 80))} ${problem}`, {
    fix: "this is a fault of the certstage that made it; upgrade certstage",
  });
}

/** The claim as a driver saves it, checked: names that can be store paths, a key, an ISO time. */
export function checkedNotificationClaim(claim: NotificationClaim): NotificationClaim {
  if (typeof claim.key !== "string" || !KEY.test(claim.key)) throw claimInvalid(claim, "has a key that is not a notification key");
  if (typeof claim.certificate !== "string" || !NAME_PATTERN.test(claim.certificate)) throw nameInvalid("certificate", String(claim.certificate), "certificate");
  if (claim.environment !== undefined && (typeof claim.environment !== "string" || !NAME_PATTERN.test(claim.environment))) throw nameInvalid("environment", String(claim.environment), "environment");
  if (typeof claim.at !== "string" || Number.isNaN(Date.parse(claim.at))) throw claimInvalid(claim, "has a time that is not an ISO time");
  return { key: claim.key, certificate: claim.certificate, ...(claim.environment !== undefined ? { environment: claim.environment } : {}), at: new Date(Date.parse(claim.at)).toISOString() };
}

export function checkNotificationFilter(filter: NotificationFilter): void {
  if (filter.certificate !== undefined && !NAME_PATTERN.test(filter.certificate)) throw nameInvalid("certificate", filter.certificate, "certificate");
}

/** Whether a run at `at` may take the notice: never once sent; a live claim only once it is stale. */
export function mayClaimNotification(existing: NotificationRecord | undefined, at: string): boolean {
  if (existing === undefined || existing.state === "failed") return true;
  if (existing.state === "sent") return false;
  return Date.parse(at) - Date.parse(existing.claimedAt) >= NOTIFICATION_CLAIM_STALE_MS;
}

/** The record a successful claim writes. */
export function claimedNotification(existing: NotificationRecord | undefined, claim: NotificationClaim, actor: Actor): NotificationRecord {
  return {
    key: claim.key,
    certificate: claim.certificate,
    ...(claim.environment !== undefined ? { environment: claim.environment } : {}),
    state: "claimed",
    attempts: existing?.attempts ?? 0,
    claimedAt: claim.at,
    claimedBy: `${actor.principal} on ${hostname()} pid ${process.pid}`,
    claimId: randomHex(8),
    ...(existing?.lastError !== undefined ? { lastError: existing.lastError } : {}),
  };
}

/** Refuses to end a claim this run no longer holds (another run took it over as stale). */
export function assertClaimHeld(current: NotificationRecord | undefined, claimed: NotificationRecord): void {
  if (current?.state === "claimed" && current.claimId === claimed.claimId) return;
  throw new CertstageError("NOTIFICATION_CLAIM_LOST", `the notice ${quoted(claimed.key)} is no longer claimed by this run (${current ? `it is ${current.state}, by ${current.claimedBy}` : "its record is gone"})`, {
    fix: "another run took it over; nothing to do (the notice is sent once by that run)",
  });
}

export function sentNotification(claimed: NotificationRecord, sentAt: string): NotificationRecord {
  const { lastError: _lastError, ...rest } = claimed;
  return { ...rest, state: "sent", attempts: claimed.attempts + 1, sentAt: new Date(Date.parse(sentAt)).toISOString() };
}

export function failedNotification(claimed: NotificationRecord, error: string): NotificationRecord {
  return { ...claimed, state: "failed", attempts: claimed.attempts + 1, lastError: error.replace(/\s+/g, " ").slice(0, NOTIFICATION_ERROR_LIMIT) };
}

/** listNotifications's order: by key, by code point. */
export function byNotificationKey(a: NotificationRecord, b: NotificationRecord): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
