/**
 * Every failure certstage reports carries a stable code from this one list, so scripts, CI and
 * documentation can key on it while the human message is free to improve. A message always says
 * what is wrong and how to fix it; where a resource or input field is involved it names them.
 */
export const ERROR_CODES = {
  // Input validation (reported by `check`, i.e. at `pulumi preview`).
  INPUT_SCHEMA: "an input does not match the resource's schema",
  NAME_INVALID: "a certificate or environment name cannot be used as a store path",
  PEM_MALFORMED: "text is not PEM, or a PEM block is truncated or of the wrong type",
  PEM_TOO_LARGE: "a PEM input is larger than certstage accepts",
  CERTIFICATE_UNPARSEABLE: "a certificate is PEM but not a valid X.509 certificate",
  PRIVATE_KEY_UNPARSEABLE: "a private key cannot be read",
  KEY_MISMATCH: "the private key does not belong to the certificate",
  ENVIRONMENT_UNKNOWN: "the environment is not configured for this stack",
  CONFIG_INVALID: "a certstage stack configuration value is invalid",

  // Store invariants.
  CERTIFICATE_NOT_FOUND: "the certificate does not exist in the store",
  CERTIFICATE_EXISTS: "a certificate of that name already exists in the store",
  VERSION_NOT_FOUND: "the version does not exist in the store",
  VERSION_IMMUTABLE: "a saved version cannot be written again",
  STILL_DEPLOYED: "the certificate or version is deployed and must be undeployed first",
  STORE_LOCKED: "another process holds the store lock for too long",
  STORE_CORRUPT: "a store file is unreadable",
  STORE_DRIVER_UNKNOWN: "the configured store driver does not exist",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CertstageErrorDetails {
  /** Pulumi resource name or certificate name the failure is about. */
  readonly resource?: string;
  /** Input field, as a dotted path (`upload.privateKeyPem`). */
  readonly field?: string;
  /** What the user should do about it. */
  readonly fix?: string;
  readonly cause?: unknown;
}

/**
 * The one error type certstage throws on purpose. Messages must never include secret material:
 * callers pass field names and fingerprints, never PEM text.
 */
export class CertstageError extends Error {
  readonly code: ErrorCode;
  readonly problem: string;
  readonly resource?: string;
  readonly field?: string;
  readonly fix?: string;

  constructor(code: ErrorCode, problem: string, details: CertstageErrorDetails = {}) {
    super(formatMessage(code, problem, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "CertstageError";
    this.code = code;
    this.problem = problem;
    this.resource = details.resource;
    this.field = details.field;
    this.fix = details.fix;
  }
}

function formatMessage(code: ErrorCode, problem: string, details: CertstageErrorDetails): string {
  const where = [
    details.resource === undefined ? undefined : `resource '${details.resource}'`,
    details.field === undefined ? undefined : `field '${details.field}'`,
  ].filter((part) => part !== undefined);
  const subject = where.length > 0 ? `${where.join(", ")}: ` : "";
  const fix = details.fix === undefined ? "" : ` Fix: ${details.fix}`;
  return `[${code}] ${subject}${problem}.${fix}`;
}

export function isCertstageError(error: unknown, code?: ErrorCode): error is CertstageError {
  return error instanceof CertstageError && (code === undefined || error.code === code);
}
