/**
 * What the database says, in certstage's words. The database is the last word on ownership and
 * on the store's invariants (migrations.ts); the driver checks most things first to give a
 * precise message, and this turns whatever still comes back from PostgreSQL (a trigger's
 * refusal, a row-level security check, a lost connection) into a CertstageError with a fix.
 * Messages carry role, table and certificate names only, never row contents.
 */
import { CertstageError, ERROR_CODES, type ErrorCode } from "../../errors";

interface DatabaseErrorFields {
  readonly code?: string;
  readonly message?: string;
  readonly hint?: string;
  readonly constraint?: string;
  readonly table?: string;
}

/** SQLSTATEs and socket errors that mean the database could not be reached or went away mid-call. */
const UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "53300"]);

export interface StoreCallContext {
  /** The store, as messages name it (no password). */
  readonly storeDescription: string;
  /** The role the store connects as. */
  readonly role?: string;
  /** What was being done, for the message: "create version of 'api'". */
  readonly what: string;
  readonly certificate?: string;
}

export function storeErrorFrom(error: unknown, context: StoreCallContext): unknown {
  if (error instanceof CertstageError) return error;
  const fields = error as DatabaseErrorFields;
  const code = fields.code ?? "";
  const role = context.role ? `role '${context.role}'` : "this role";
  if (code === "CS001") {
    const [named, ...rest] = (fields.message ?? "").split(": ");
    const certstageCode = (named in ERROR_CODES ? named : "STORE_CORRUPT") as ErrorCode;
    return new CertstageError(certstageCode, `${context.storeDescription} refused to ${context.what}: ${rest.join(": ")}`, { resource: context.certificate, fix: fields.hint, cause: error });
  }
  if (code === "42501") {
    if (/row-level security/i.test(fields.message ?? "")) {
      return new CertstageError("NOT_OWNER", `${context.storeDescription} refused to ${context.what}: ${role} does not act for the certificate's owner`, {
        resource: context.certificate,
        fix: "connect as a member of the owning team's role, or ask its owner to transfer the certificate or share it with you",
        cause: error,
      });
    }
    return new CertstageError("STORE_READ_ONLY", `${context.storeDescription} refused to ${context.what}: ${role} has no privilege for it (${fields.message ?? "permission denied"})`, {
      resource: context.certificate,
      fix: "previews run read-only by design; to change the store, connect as a member of certstage_runner (agents: certstage_agent)",
      cause: error,
    });
  }
  if (code === "23505" && fields.table === "certificates") {
    return new CertstageError("CERTIFICATE_EXISTS", `certificate '${context.certificate}' already exists in ${context.storeDescription}`, {
      resource: context.certificate,
      fix: "choose another name; the certificate may belong to a team whose certificates this role cannot see",
      cause: error,
    });
  }
  if (code === "40P01" || code === "40001" || code === "55P03") {
    return new CertstageError("DEPLOYMENT_CONFLICT", `${context.storeDescription}: another writer changed the same rows at the same time while this one tried to ${context.what}; nothing was changed`, {
      resource: context.certificate,
      fix: "run the command again: the store is consistent, and the retry sees the other writer's change",
      cause: error,
    });
  }
  if (code === "42P01" || code === "3F000") {
    return new CertstageError("STORE_NOT_MIGRATED", `${context.storeDescription} has no certstage schema (it was dropped, or this is another database)`, {
      field: "certstage:store",
      fix: "check the database in certstage:store; to make a new store run `certstage store migrate`",
      cause: error,
    });
  }
  if (UNAVAILABLE.has(code) || /Connection terminated|connect ECONN|timeout expired|not queryable/i.test(fields.message ?? "")) {
    return new CertstageError("STORE_UNAVAILABLE", `${context.storeDescription} could not be reached to ${context.what} (${code || "connection lost"}); nothing was changed`, {
      field: "certstage:store",
      // The same error reaches a command, which the user runs again, and the agent, which retries by itself.
      fix: "check that PostgreSQL is up and reachable from here, then run the command again (certstage agent retries by itself): a change that was cut off was rolled back whole",
      cause: error,
    });
  }
  if (code === "28P01" || code === "28000") {
    return new CertstageError("STORE_UNAVAILABLE", `${context.storeDescription} refused the login of ${role}`, {
      field: "certstage:store",
      fix: "check the role and its password (certstage:storePassword as a secret, or PGPASSWORD)",
      cause: error,
    });
  }
  return error;
}
