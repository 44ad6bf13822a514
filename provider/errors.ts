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
  PRIVATE_KEY_UNPARSEABLE: "a private key cannot be read (damaged, or the passphrase is wrong)",
  PRIVATE_KEY_ENCRYPTED: "the private key is encrypted and no passphrase was given",
  PRIVATE_KEY_MISSING: "a server certificate version needs its private key",
  KEY_MISMATCH: "the private key does not belong to the certificate",
  KEY_TOO_WEAK: "the key is smaller than certstage allows (RSA below 2048 bits)",
  KEY_ALGORITHM_NOT_ALLOWED: "the key's algorithm or curve is not allowed (RSA >= 2048, ECDSA P-256 or P-384)",
  SAN_MISSING: "a server certificate has no DNS name or IP address in subjectAltName (clients ignore the CN)",
  DNS_NAME_INVALID: "a DNS name is malformed, or an internationalized name cannot be written as A-labels",
  IP_ADDRESS_RESERVED: "a publicly trusted certificate names a reserved or private IP address",
  SERVER_AUTH_NOT_ALLOWED: "the certificate's extended key usage does not allow TLS server authentication",
  EXTENDED_KEY_USAGE_INVALID: "a publicly trusted server certificate's extended key usage is missing, or holds purposes the Baseline Requirements forbid",
  KEY_USAGE_INVALID: "the key usage does not fit the key type or the certificate's purpose",
  SIGNATURE_ALGORITHM_WEAK: "a certificate of the version or its chain is signed with a broken hash (SHA-1, MD5, MD2)",
  CHAIN_EXPIRES_BEFORE_LEAF: "an intermediate of the chain expires before the certificate, which then stops validating early",
  CERTIFICATE_EXPIRED: "the certificate's notAfter is in the past",
  CERTIFICATE_NOT_YET_VALID: "the certificate's notBefore is in the future",
  DOMAIN_NOT_COVERED: "a declared domain is not covered by the certificate's subjectAltName",
  CA_TYPE_MISMATCH: "a CA certificate given for a server certificate, or the reverse",
  CHAIN_BROKEN: "the chain does not lead from the certificate to its issuers",
  CHAIN_SIGNATURE_INVALID: "a certificate in the chain is not signed by the next one",
  CHAIN_DUPLICATE: "the same certificate appears twice in the chain",
  KEYSTORE_PASSWORD_INVALID: "the PKCS#12 keystore password is missing, empty, too short or too long, or holds characters other than printable ASCII",
  PRIVATE_KEY_NOT_EXPORTED: "a program read a CertificateVersion's privateKeyPem, which exists only with exportPrivateKey: true (by default the key is kept in the store, not in state)",
  KEYSTORE_KEY_MISSING: "a PKCS#12 keystore was asked for a version that has no private key (a CA certificate saved without it)",
  KEY_FILE_GROUP_UNKNOWN: "the group a deployed key file should belong to does not exist on this machine",
  KEY_FILE_MODE_INVALID: "a deployed key file's mode is not an octal string, or would let others than its owner and group read it",
  ACKNOWLEDGE_INVALID: "an acknowledged code is not a warning, so it cannot be acknowledged",
  ENVIRONMENT_UNKNOWN: "the environment is not configured for this stack",
  RENEWAL_WINDOW_INVALID: "the renewal window can never be satisfied or is not a window",
  RELOAD_FAILED: "the servers of an environment did not take the new certificate; the previous one was put back",
  TARGET_HTTP_FAILED: "an http target's API refused a request, or kept failing (429, 5xx, timeouts) after bounded retries; the previous version was put back in the store",
  TARGET_CREDENTIAL_MISSING: "the token an http target's auth.tokenFrom names is set in none of its sources (stack config secret, environment variable); nothing was changed",
  PROMOTION_REFUSED: "the environment only takes versions deployed and verified in another environment first",
  VERIFICATION_FAILED: "the endpoints kept serving another certificate after a swap, which was rolled back",
  CONFIG_INVALID: "a certstage stack configuration value is invalid",
  EXPIRY_WINDOW_INVALID: "the window of certstage expiring is neither a duration (30d) nor a share of the lifetime (33%)",
  METRICS_OUTPUT_UNWRITABLE: "the --output file of certstage metrics cannot be written there (no such directory, not a directory, or no permission); nothing was written",
  METRICS_LISTEN_INVALID: "the --metrics-listen address is not a host:port this machine can listen on",

  // The manifest (certificates.yaml; provider/manifest/).
  MANIFEST_UNREADABLE: "the manifest file cannot be read (missing, a directory, or no permission)",
  MANIFEST_YAML_INVALID: "the manifest is not valid YAML (a syntax error, a tab as indentation, a key given twice)",
  MANIFEST_INVALID: "the manifest does not match schema/manifest.schema.json (an unknown key, a missing field, a value of the wrong form)",
  MANIFEST_REFERENCE_UNKNOWN: "a deployment or signed version names a version the certificate's versions do not declare",
  MANIFEST_FILE_UNREADABLE: "a file the manifest names (a certificate, key or chain) cannot be read",
  MANIFEST_SECRET_LITERAL: "the manifest holds a secret itself (a keystore password) where it must name one: certstage:<key> (a stack config secret) or env:<NAME>",
  MANIFEST_SECRET_MISSING: "a secret the manifest names (keystore.passwordFrom) is not set: no such stack config value or environment variable",

  // Warnings in some validation profile (validation/profiles.ts says which): they fail `check`
  // too, unless the resource lists them in `acknowledge`.
  CHAIN_ORDER: "the chain is not leaf-first; acknowledged, it is stored leaf-first",
  CHAIN_INCLUDES_ROOT: "the chain includes the self-signed root, which clients already hold",
  LIFETIME_TOO_LONG: "the certificate is valid for longer than its issue date allows (CA/B Forum SC-081v3: 398, 200, 100, then 47 days)",
  SANS_REMOVED: "names served in production would no longer be covered",

  // ACME.
  CHALLENGE_FAILED: "a challenge could not be presented, or the CA could not validate it",
  CHALLENGE_UNSUITABLE: "the challenge type cannot validate one of the names (a wildcard needs dns-01)",
  ACME_FAILED: "the ACME CA refused or failed the order; its problem document says why",

  // Ownership and sharing (lifecycle/authorization.ts).
  NOT_OWNER: "the acting principal may not do this to the certificate: only its owner changes it, and only its owner and those it is shared with read it",

  // Store invariants.
  CERTIFICATE_NOT_FOUND: "the certificate does not exist in the store",
  CERTIFICATE_EXISTS: "a certificate of that name already exists in the store",
  VERSION_NOT_FOUND: "the version does not exist in the store",
  VERSION_IMMUTABLE: "a saved version cannot be written again",
  STILL_DEPLOYED: "the certificate or version is deployed and must be undeployed first",
  TASK_NOT_FOUND: "there is no standby task with that id",
  TASK_STATE: "the standby task is not in a state that allows this",
  STORE_LOCKED: "another process holds the store lock for too long",
  STORE_CORRUPT: "a store file is unreadable",
  STORE_WRITE_FAILED: "the store could not be written (disk full, read-only, permission denied, or its directory vanished); nothing was changed",
  STORE_DRIVER_UNKNOWN: "the configured store driver does not exist",
  STORE_SETTING_INVALID: "the store setting (a postgres:// URL and the PG* environment variables) cannot be used as written",
  STORE_MISMATCH: "the store certstage:store points at is missing, or is another store than the one this stack's resources live in",
  VERSION_CLAIMED: "the version belongs to a resource; only a version no resource owns can be removed",

  // The shared (postgres) store.
  DEPLOYMENT_CONFLICT: "another writer changed the environment first; nothing was changed",
  STORE_READ_ONLY: "the store's role may read but not write this (a preview role), or the rows are append-only",
  STORE_UNAVAILABLE: "the database could not be reached or refused the login; nothing was changed",
  STORE_NOT_MIGRATED: "the database lacks certstage's schema, and this role may not create it",
  STORE_SCHEMA_NEWER: "the database was migrated by a newer certstage",
  STORE_KEY_MISSING: "a private key must be sealed or opened, and no key-encryption key is configured",
  STORE_KEY_INVALID: "the key-encryption key setting is not a list of base64 32-byte keys",
  STORE_KEY_UNKNOWN: "a stored private key is sealed under a key-encryption key the configured ring lacks",
  KEY_DECRYPT_FAILED: "a sealed private key did not authenticate: it was changed, cut, or moved to another row",

  // The HTML report (certstage report; provider/report/).
  REPORT_UNWRITABLE: "the report file cannot be written (its directory is missing or read-only, or the path is a directory); nothing was written",
  REPORT_KEY_MATERIAL: "the report would contain something that looks like a private key block, so it was not written",
  // The pull-request summary (certstage preview-summary).
  PREVIEW_UNREADABLE: "the preview file (pulumi preview --json) cannot be read, or is empty",
  PREVIEW_JSON_INVALID: "the preview is not the JSON object pulumi preview --json prints (cut short, or another command's output)",
  SUMMARY_KEY_MATERIAL: "the summary would show something that looks like private key material, so none is written",
  SUMMARY_ARGUMENT_INVALID: "an option of certstage preview-summary is missing or malformed",

  // GitHub (certstage pr-comment).
  PR_COMMENT_MARKER_MISSING: "the comment body's first line is not a hidden certstage marker (<!-- certstage:… -->), so the comment could never be found again to update",
  PR_COMMENT_TOO_LONG: "the comment body is longer than GitHub's 65,536 characters",
  GITHUB_TOKEN_MISSING: "GITHUB_TOKEN is not set, so GitHub cannot be called",
  GITHUB_PERMISSION_DENIED: "GitHub refused the token (401/403): it is invalid, or the job's permissions lack what the call needs",
  GITHUB_NOT_FOUND: "GitHub has no such repository or pull request, or the token may not see it (404)",
  GITHUB_REQUEST_INVALID: "GitHub refused the request as invalid (422)",
  GITHUB_UNAVAILABLE: "GitHub could not be reached, or kept failing (5xx, rate limits) after bounded retries",

  // Chat notifications (certstage notify).
  NOTIFY_WEBHOOK_MISSING: "certstage notify was given no webhook (--webhook or CERTSTAGE_NOTIFY_WEBHOOK)",
  NOTIFY_WEBHOOK_INVALID: "the webhook is not an https:// URL (plain http:// only to a loopback address)",
  NOTIFY_BANDS_INVALID: "--bands is not a comma-separated list of windows such as 30d,14d,7d,1d or 33%,10%",
  NOTIFY_SEND_FAILED: "the webhook could not be reached, or refused the message, after bounded retries; the next run sends it",
  NOTIFICATION_CLAIM_LOST: "another run took over a notice this run had claimed (its claim had gone stale)",
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

/**
 * Longest stretch of an input a message quotes: enough to recognise a name, and shorter than a
 * PEM key's BEGIN line or any run of a key's secret that could tell anything about it.
 */
const QUOTE_LIMIT = 24;

/**
 * An input as a message quotes it: in double quotes, with everything but printable ASCII written
 * as a `\uXXXX` escape, so a control character cannot corrupt a terminal or a log line and a
 * look-alike letter or an invisible joiner shows for what it is; and cut short, so a message
 * never repeats a 10 KB value (nor much of anything pasted there by mistake).
 */
export function quoted(value: string): string {
  const shown = escaped(value.slice(0, QUOTE_LIMIT)).replace(/"/g, '\\"');
  return value.length > QUOTE_LIMIT ? `"${shown}..." (${value.length} characters)` : `"${shown}"`;
}

/** `value` with everything but printable ASCII as `\uXXXX` (and `\` as `\\`), whole: for names a certificate holds. */
export function escaped(value: string): string {
  return value.replace(/[^\x20-\x7e]|\\/g, (character) => (character === "\\" ? "\\\\" : `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

export function isCertstageError(error: unknown, code?: ErrorCode): error is CertstageError {
  return error instanceof CertstageError && (code === undefined || error.code === code);
}
