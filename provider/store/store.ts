/**
 * The store holds certificates, their immutable numbered versions, which version each
 * environment serves, and the history of every change. Every driver implements this interface
 * and must pass the conformance suite in `test/store/conformance.ts`, which proves the
 * invariants of the design:
 *
 * 1. A saved version's bytes never change; writing over an existing version is an error.
 * 2. One deployed version per (certificate, environment), swapped atomically.
 * 3. A certificate or version cannot be deleted while deployed anywhere.
 * 4. Version numbers strictly increase per certificate and are never reused, even after deletion.
 */
import type { CertificateFacts } from "../pki/certificate";
import type { PublicJwk } from "../pki/jwk";
import type { VersionMaterial } from "../pki/version-material";
import type { TaskRetention } from "../lifecycle/retention";

export type CertificateType = "server" | "ca";

/**
 * Which Pulumi resource made a record, and from what: the resource's URN and a digest of the
 * inputs that decide the record's content. A create whose run was killed before Pulumi saved its
 * result leaves a record no state names; the next create of the same resource from the same
 * inputs finds it by this and adopts it instead of making another (see lifecycle/ownership.ts).
 */
export interface ResourceOrigin {
  readonly urn: string;
  /** Digest of the inputs that decide the content; never the inputs themselves (they may be secret). */
  readonly inputs: string;
}

/**
 * Made once, when the store is first written, and returned by every resource's create: a stack
 * can then tell its own store from a missing or foreign one, instead of reading "not there" as
 * "deleted".
 */
export interface StoreIdentity {
  readonly id: string;
  readonly createdAt: string;
}

export interface CertificateRecord {
  /** Stable identifier, used in store paths; never changes. */
  readonly name: string;
  /** Human label; renaming a certificate changes only this. */
  readonly displayName: string;
  readonly type: CertificateType;
  readonly owner: string;
  readonly shareWith: string[];
  readonly description: string;
  /**
   * The validation profile its versions are held to (`public` Web PKI rules, or `private` for an
   * internal CA); absent: the stack's `certstage:profile`.
   */
  readonly profile?: "public" | "private";
  /** Highest version number ever issued for this certificate; 0 before the first. */
  readonly lastVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The Certificate resource that created it; absent for certificates made before origins were recorded. */
  readonly origin?: ResourceOrigin;
}

export type NewCertificate = Pick<CertificateRecord, "name" | "displayName" | "type" | "owner" | "shareWith" | "description" | "profile" | "origin">;
/** `profile` present but undefined removes the certificate's own profile (the stack's applies again). */
export type CertificateChanges = Partial<Pick<CertificateRecord, "displayName" | "owner" | "shareWith" | "description" | "profile">>;

export type VersionMethod = "upload" | "generate" | "signed" | "acme";

export interface VersionRecord extends CertificateFacts {
  readonly certificate: string;
  readonly version: number;
  readonly method: VersionMethod;
  readonly chainFingerprints: string[];
  readonly jwk: PublicJwk;
  readonly createdAt: string;
  readonly createdBy: string;
  /** The resource whose create saved it (a CertificateVersion or an AcmeRenewal); absent for older versions. */
  readonly origin?: ResourceOrigin;
}

/**
 * A version as a listing shows it: its record without the public key as a JWK and the chain's
 * fingerprints, which make up most of its bytes (the JWK carries the certificate chain in x5c).
 */
export type VersionSummary = Omit<VersionRecord, "jwk" | "chainFingerprints">;

/**
 * What `certstage status` reads of a version: what it shows, and its origin's urn, which tells a
 * version no resource owns (lifecycle/ownership.ts). About half of a summary's bytes, and status
 * reads every version of the store.
 */
export type VersionStatusSummary = Pick<VersionSummary, "certificate" | "version" | "method" | "serial" | "subject" | "sans" | "notAfter" | "fingerprintSha256"> & {
  readonly origin?: Pick<ResourceOrigin, "urn">;
};

/** The PEM files of a version; the private key is secret. */
export interface VersionFiles {
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly fullchainPem: string;
  /** Absent for a CA certificate saved without its key. */
  readonly privateKeyPem?: string;
  /** Generated versions only. */
  readonly csrPem?: string;
  /** keystore.p12 as base64, for versions saved with a keystore; secret (it holds the key). */
  readonly pkcs12?: string;
}

export interface DeploymentRecord {
  readonly certificate: string;
  readonly environment: string;
  readonly version: number;
  readonly deployedAt: string;
}

export type HistoryAction =
  | "certificate.create"
  | "certificate.update"
  | "certificate.delete"
  | "version.create"
  | "version.delete"
  /** The resource that owned the version was deleted or replaced; the version stays for rollbacks. */
  | "version.release"
  /** A version no resource owns (left by an interrupted run) was removed by `certstage versions remove`. */
  | "version.remove"
  | "deploy"
  | "rollback"
  | "undeploy"
  | "verify"
  | "task.queue"
  | "task.run"
  | "task.cancel"
  /** An ACME order (a first issuance or a renewal) that failed; a success is its version.create. */
  | "acme.order";

/** One line of the append-only history. Never contains key material. */
export interface HistoryEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: HistoryAction;
  readonly certificate: string;
  readonly environment?: string;
  readonly fromVersion?: number;
  readonly toVersion?: number;
  readonly result: "ok" | "failed";
  /** What went wrong, or what was seen, in one line (never key material). */
  readonly detail?: string;
}

/** Released version numbers by certificate name (Store.listReleasedVersions). */
export type ReleasedVersions = ReadonlyMap<string, ReadonlySet<number>>;

/** What Store.readStatusListings gives its reader, each listing as its own listing method gives it. */
export interface StatusListings {
  readonly certificates: CertificateRecord[];
  readonly agentReports: AgentReport[];
  readonly deployments: DeploymentRecord[];
  readonly tasks: DeploymentTask[];
  readonly released: ReleasedVersions;
  /**
   * listAllVersions, one certificate's versions at a time (in version order, never none), the
   * certificates in code-point order of their names, each version with at least
   * VersionStatusSummary's fields (postgres reads just those, versions.status_summary; the file
   * store its summaries as they are). Valid only while the reader runs; a driver may read them as
   * they are iterated (the file store does) or with the other listings (postgres does).
   */
  readonly versionsByCertificate: AsyncIterable<readonly VersionStatusSummary[]>;
}

export interface HistoryFilter {
  readonly certificate?: string;
  readonly environment?: string;
  /**
   * Only entries of these actions (all when absent): what a caller that scans history for one
   * kind of line (releases, verifications) asks for, so a driver can skip the rest unread.
   */
  readonly actions?: readonly HistoryAction[];
}

/** An ACME account certstage created (RFC 8555 §7.3); its key is secret. */
export interface AcmeAccount {
  readonly directoryUrl: string;
  readonly accountKeyPem: string;
  readonly accountUrl?: string;
}

/**
 * An order certstage is about to ask the CA to finalize. The CA issues once it has the CSR, even
 * if certstage is killed right after sending it; until the certificate is saved as a version,
 * this record lets the next create download what the CA issued instead of ordering again.
 */
export interface AcmeOrderInFlight {
  readonly certificate: string;
  readonly directoryUrl: string;
  readonly orderUrl: string;
  readonly accountUrl: string;
  /** The resource and inputs the order was placed for; only the same may take it over. */
  readonly origin?: ResourceOrigin;
  /** The key the CSR was made with: secret, written readable by the owner only. */
  readonly certificateKeyPem: string;
  readonly createdAt: string;
}

/** What the AcmeRenewal of a certificate issued last, and when the CA wants it renewed. */
export interface AcmeRenewalRecord {
  readonly certificate: string;
  readonly version: number;
  readonly directoryUrl: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** RFC 9773 certificate identifier, for renewalInfo and `replaces`. */
  readonly ariCertificateId?: string;
  readonly issuedAt: string;
  /**
   * When renewal falls due by the window the resource had at issuance (renewBefore or
   * renewBeforePercent, else the default): what `certstage metrics` reports without the program's
   * inputs. Absent for records written before it was kept.
   */
  readonly renewalDueAt?: string;
}

export type TaskState = "pending" | "running" | "done" | "failed" | "cancelled";

/**
 * A standby deployment (the seeds' "standby queue"): a swap, or an undeploy, recorded now and
 * performed later by `certstage tasks run`, once `notBefore` has passed. At most one task per
 * (certificate, environment) is pending: queueing another cancels the earlier one.
 */
export type DeploymentTask = TaskRecord & TaskChange;

/**
 * What a task changes. A swap names its version; an undeploy has none. Tasks written before
 * undeploy tasks existed have no `action`: absent means a swap, so a deploy task is still written
 * without one.
 */
export type TaskChange = { readonly action?: "deploy"; readonly version: number } | { readonly action: "undeploy"; readonly version?: undefined };

/** `deploy` or `undeploy`, for records with or without an `action`. */
export function actionOf(task: TaskChange): "deploy" | "undeploy" {
  return task.action === "undeploy" ? "undeploy" : "deploy";
}

interface TaskRecord {
  readonly id: string;
  readonly certificate: string;
  readonly environment: string;
  /** What the environment served when the task was queued. */
  readonly fromVersion?: number;
  readonly notBefore?: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly state: TaskState;
  /**
   * The stack's environment definitions (targets, verification, promotion rules) when the task was
   * queued: the runner has no stack configuration. Opaque to the store; they never hold secrets.
   */
  readonly environments: readonly Readonly<Record<string, unknown>>[];
  /** Who is running it (state `running`): a runner that died leaves the task claimable again. */
  readonly runner?: { readonly principal: string; readonly host: string; readonly pid: number };
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly finishedBy?: string;
  /** Why it failed or was cancelled, or what verification saw. */
  readonly detail?: string;
}

export type NewDeploymentTask = Pick<TaskRecord, "certificate" | "environment" | "notBefore" | "environments"> & TaskChange;

export interface TaskFilter {
  readonly certificate?: string;
  readonly environment?: string;
  readonly state?: TaskState;
}

/** Which finished tasks to prune (pruneFinishedTasks): the rule, the time it is judged at, a bound per run. */
export interface TaskPruning {
  readonly retention: TaskRetention;
  readonly now: Date;
  /** At most this many tasks are removed in one call, oldest first. */
  readonly limit: number;
  /** Only the tasks of this certificate and/or environment (the rule keeps the last of each pair in any case). */
  readonly certificate?: string;
  readonly environment?: string;
}

/** Who performs a change; recorded in history. */
export interface Actor {
  readonly principal: string;
  /**
   * The teams the principal acts for (`certstage:teams`), as the stack says. Only a store that
   * cannot know memberships itself (the file store) takes them from here.
   */
  readonly teams?: readonly string[];
}

/**
 * Who acts, as the store knows them: the name and every role it may act as (the name itself and
 * each team it acts for). Certificates are owned by and shared with roles; the rules of who may do
 * what are lifecycle/authorization.ts's. `enforcedBy` says who holds the principal to them: the
 * database itself (a client cannot get around it), or only certstage (`advisory`: anyone who can
 * write the store directly can change it).
 */
export interface Principal {
  readonly name: string;
  readonly roles: readonly string[];
  readonly enforcedBy: "database" | "advisory";
  /**
   * A principal that can only read the store, such as a pull request's preview role: it reviews
   * changes that the owner's runner will make, so who owns a change is not its to judge (the
   * preview shows the full diff); the store refuses it every write.
   */
  readonly readOnly?: boolean;
}

/** The part of a store that says who the actor is; every driver has it. */
export interface PrincipalSource {
  /** The principal `actor` acts as in this store, with every role it holds there. */
  principal(actor: Actor): Promise<Principal>;
}

export interface Store extends PrincipalSource, NotificationStore {
  /** Human description for messages, e.g. `file store /srv/certs`. */
  readonly description: string;

  /** The store's identity; undefined when nothing was ever written there (no store at all). */
  identity(): Promise<StoreIdentity | undefined>;

  createCertificate(certificate: NewCertificate, actor: Actor): Promise<CertificateRecord>;
  updateCertificate(name: string, changes: CertificateChanges, actor: Actor): Promise<CertificateRecord>;
  getCertificate(name: string): Promise<CertificateRecord | undefined>;
  listCertificates(): Promise<CertificateRecord[]>;
  /**
   * Certificates that were deleted, as they were when deleted (owner, last version number): what a
   * copy to another store needs so that a name made again goes on numbering. Optional.
   */
  listDeletedCertificates?(): Promise<CertificateRecord[]>;
  /** Removes the certificate and its versions; refuses with STILL_DEPLOYED while any is deployed. */
  deleteCertificate(name: string, actor: Actor): Promise<void>;

  /** Saves the next version number of the certificate with these files. */
  createVersion(certificate: string, method: VersionMethod, material: VersionMaterial, actor: Actor, origin?: ResourceOrigin): Promise<VersionRecord>;
  getVersion(certificate: string, version: number): Promise<VersionRecord | undefined>;
  listVersions(certificate: string): Promise<VersionRecord[]>;
  /**
   * Every version of every certificate that exists (not deleted), as listVersions gives them but
   * summarized (VersionSummary), in one read: by certificate name (code-point order), then version
   * (see byCertificateAndVersion). What `certstage status` needs, without asking per certificate.
   */
  listAllVersions(): Promise<VersionSummary[]>;
  readVersionFiles(certificate: string, version: number): Promise<VersionFiles>;
  /**
   * Removes a version's files (retention; or `action: "version.remove"` for one no resource owns);
   * refuses with STILL_DEPLOYED while it is deployed.
   */
  deleteVersion(certificate: string, version: number, actor: Actor, action?: "version.delete" | "version.remove"): Promise<void>;
  /** Environments currently serving this version (empty when none): the guard for deletion. */
  environmentsServing(certificate: string, version?: number): Promise<string[]>;

  /** Makes `environment` serve `version`, replacing what it served in one atomic step. */
  deploy(certificate: string, environment: string, version: number, actor: Actor): Promise<DeploymentRecord>;
  /** Stops serving the certificate in the environment; a no-op when it is not deployed there. */
  undeploy(certificate: string, environment: string, actor: Actor): Promise<void>;
  getDeployment(certificate: string, environment: string): Promise<DeploymentRecord | undefined>;
  listDeployments(certificate?: string): Promise<DeploymentRecord[]>;

  /** The whole (filtered) history in one list, oldest first: for small reads and tests; scans use streamHistory. */
  readHistory(filter?: HistoryFilter): Promise<HistoryEntry[]>;
  /**
   * The same entries as readHistory, in the same order, yielded a batch at a time as they are
   * read: history grows with every change, so a caller that looks at each entry once (`certstage
   * history`, notify, metrics) holds one batch of it at a time, never all of it. The file driver
   * reads history.jsonl in chunks; postgres fetches rows through a cursor in a read-only
   * transaction; each yields what one read gave (batches, not entries: a step of an async
   * iteration for each of 20,000 entries cost `certstage history` 7 ms). Bad input (a filter
   * name) is refused when iteration starts; breaking out of the loop early releases what the
   * stream holds.
   */
  streamHistory(filter?: HistoryFilter): AsyncIterable<readonly HistoryEntry[]>;
  /** Appends an entry about something done outside the store (a verification, a reload). */
  recordHistory(entry: Omit<HistoryEntry, "at">): Promise<void>;
  /**
   * The versions of each certificate that history records as released (lifecycle/ownership.ts's
   * releasedVersions of the `version.release` lines), by certificate name; certificates with none
   * are absent. The same answer as reading those lines, from a record each driver keeps of them
   * as it appends them, so `certstage status` need not read history, which grows with every change.
   */
  listReleasedVersions(): Promise<ReleasedVersions>;
  /**
   * Everything `certstage status` shows, given to `reader`: the same as listCertificates,
   * listAgentReports, listDeployments, listTasks, listReleasedVersions and listAllVersions called
   * one after the other (a driver may read them in one snapshot), except that the versions are
   * read a certificate at a time as the reader iterates them, so status writes each certificate
   * out before the next one's versions are read. The read ends when `reader` settles.
   */
  readStatusListings<T>(reader: (listings: StatusListings) => Promise<T>): Promise<T>;

  /** Records a standby deployment, cancelling any pending one of the same certificate and environment. */
  queueTask(task: NewDeploymentTask, actor: Actor): Promise<DeploymentTask>;
  /** Undefined when there is no such task; an id no task can have is refused with NAME_INVALID. */
  getTask(id: string): Promise<DeploymentTask | undefined>;
  /** Oldest first. */
  listTasks(filter?: TaskFilter): Promise<DeploymentTask[]>;
  /**
   * Marks a pending task running, atomically: of two runners, one gets the task and the other
   * `undefined`. A task left running by a runner that died can be claimed again.
   */
  claimTask(id: string, actor: Actor): Promise<DeploymentTask | undefined>;
  /** Ends a task (running → done or failed; pending → cancelled) and appends it to history. */
  finishTask(id: string, outcome: { state: "done" | "failed" | "cancelled"; detail?: string }, actor: Actor): Promise<DeploymentTask>;
  /**
   * Removes the finished tasks (done, failed, cancelled) the retention rule lets go
   * (lifecycle/retention.ts, applied through store-rules.ts by every driver); never a pending or
   * running one. History is not touched: it keeps each task's outcome. Returns the ids removed.
   */
  pruneFinishedTasks(pruning: TaskPruning, actor: Actor): Promise<string[]>;

  /** The account for an ACME directory, if certstage created one. */
  getAcmeAccount(directoryUrl: string): Promise<AcmeAccount | undefined>;
  /** Saves an account; the key is written readable by the owner only. */
  putAcmeAccount(account: AcmeAccount): Promise<void>;
  /**
   * Saves `account` unless the store already holds one for its directory, and returns the one it
   * holds: of AcmeRenewals created at once, all use one account (a renewal's `replaces` must be
   * sent by the account that ordered the certificate it replaces).
   */
  ensureAcmeAccount(account: AcmeAccount): Promise<AcmeAccount>;
  getAcmeOrder(certificate: string): Promise<AcmeOrderInFlight | undefined>;
  putAcmeOrder(order: AcmeOrderInFlight): Promise<void>;
  deleteAcmeOrder(certificate: string): Promise<void>;
  getAcmeRenewal(certificate: string): Promise<AcmeRenewalRecord | undefined>;
  putAcmeRenewal(record: AcmeRenewalRecord): Promise<void>;
  deleteAcmeRenewal(certificate: string): Promise<void>;
  close(): Promise<void>;

  // ---- agent reports and deployment watches (`certstage agent`; see the section at the end) ----

  /**
   * Records what one agent serves for one certificate, replacing its earlier report for the same
   * (environment, certificate). Reports are observations, not changes: they append no history.
   */
  putAgentReport(report: AgentReport): Promise<void>;
  /** Every agent's reports, sorted by agent id, environment and certificate. */
  listAgentReports(filter?: AgentReportFilter): Promise<AgentReport[]>;
  /**
   * Optional push for agents: a driver with a change feed (PostgreSQL's LISTEN/NOTIFY) offers it,
   * the file driver does not (agents poll it). A notification is a hint, never the data: the
   * agent reads the deployments itself after each call.
   *
   * - `onChange` is called soon (well under a second) after a deployment in `environment` changed
   *   (deploy, rollback, undeploy). Calls may be merged, duplicated or arrive after the change is
   *   already visible; each means "read again".
   * - `onResync` is called once the watch is connected, and again after every reconnection:
   *   changes made while it was disconnected were missed, so the agent reads everything.
   * - `onError` is called with what went wrong while the driver reconnects; the watch keeps trying
   *   until it is closed. The promise itself rejects only when no watch can be set up at all.
   */
  watchDeployments?(environment: string, handlers: DeploymentWatchHandlers): Promise<DeploymentWatch>;
}

/**
 * Certificate and environment names become path segments: keep them boring. ASCII only, so no
 * look-alike (a Cyrillic 'а', a fullwidth letter, a zero-width joiner) names a second certificate
 * that reads like the first; no `..`, which some tools treat as a parent directory anywhere in a path.
 * The JSON Schemas in `schema/` carry the same pattern, letter for letter (a test says so).
 */
export const NAME_PATTERN = /^(?!.*\.\.)[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

/** What NAME_PATTERN asks for, as the fix of a NAME_INVALID error. */
export const NAME_RULE = "use 1-64 lower-case ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit, with no '..'";

// ---- agent reports and deployment watches (`certstage agent`) ----------------------------------

/**
 * What one agent observed for one certificate of its environment: the version it serves (found by
 * a TLS handshake where it was given an address, else the version it installed), when it last
 * looked, and what went wrong last. One report per (agent, environment, certificate).
 */
export interface AgentReport {
  /** Stable per edge machine (default: its host name); matches AGENT_ID_PATTERN. */
  readonly agentId: string;
  readonly host: string;
  readonly environment: string;
  readonly certificate: string;
  /** The version it serves; absent when it serves none of the certificate's versions. */
  readonly version?: number;
  /** SHA-256 of the leaf its local handshake was served (colon-separated upper-case hex). */
  readonly servedFingerprintSha256?: string;
  /** ISO time of the observation. */
  readonly lastSeen: string;
  /** One line, never key material; absent when the last pass went well. */
  readonly lastError?: string;
}

export interface AgentReportFilter {
  readonly environment?: string;
  readonly certificate?: string;
}

export interface DeploymentWatchHandlers {
  onChange(): void;
  onResync(): void;
  onError(error: Error): void;
}

export interface DeploymentWatch {
  /** Stops the watch; no handler is called once it resolves. */
  close(): Promise<void>;
}

/** Agent ids become file names and database keys: the same rule as certificate names. */
export const AGENT_ID_PATTERN = NAME_PATTERN;

// ---- notifications (`certstage notify`) --------------------------------------------------------

/**
 * What `certstage notify` has sent, or is sending, for one notice: a deployed version entering an
 * expiry band, or a failure in history. `key` is the notice's idempotency key
 * (`expiry:<certificate>:<environment>:v<version>:<band>`, `failure:…`): one record per key, so a
 * notice is sent once however many runs see it. The record never holds the webhook's URL.
 */
export interface NotificationRecord {
  readonly key: string;
  readonly certificate: string;
  readonly environment?: string;
  /** `claimed`: a run is sending it now; `sent`: delivered, never again; `failed`: the last attempt failed, the next run retries. */
  readonly state: "claimed" | "sent" | "failed";
  /** Sends tried over all runs. */
  readonly attempts: number;
  /** When the current or last claim was taken, on the claiming run's clock. */
  readonly claimedAt: string;
  readonly claimedBy: string;
  /** Random per claim: only the run holding this claim may mark it sent or release it (a fencing token). */
  readonly claimId: string;
  readonly sentAt?: string;
  /** One line, never the webhook's URL or key material. */
  readonly lastError?: string;
}

/** A run's claim of one notice, to send it; `at` is the run's clock (CERTSTAGE_NOW honoured). */
export interface NotificationClaim {
  readonly key: string;
  readonly certificate: string;
  readonly environment?: string;
  readonly at: string;
}

export interface NotificationFilter {
  readonly certificate?: string;
}

/**
 * The notification operations every driver has; rules shared by the drivers (which claims may be
 * taken, what a key looks like) are notification-rules.ts's.
 */
export interface NotificationStore {
  /** Every notice sent, being sent, or that failed, by key (code-point order). */
  listNotifications(filter?: NotificationFilter): Promise<NotificationRecord[]>;
  /**
   * Takes the notice for this run, atomically: of two runs, one gets the record (state `claimed`)
   * and the other `undefined`. `undefined` too when it was sent already, or another run's claim is
   * younger than NOTIFICATION_CLAIM_STALE_MS (a run that died leaves its claim retakable).
   */
  claimNotification(claim: NotificationClaim, actor: Actor): Promise<NotificationRecord | undefined>;
  /** The claimed notice was delivered; refused with NOTIFICATION_CLAIM_LOST when this run's claim was retaken. */
  markNotificationSent(claimed: NotificationRecord, sentAt: string): Promise<NotificationRecord>;
  /** Sending failed: the claim is dropped (state `failed`), so the next run tries again. */
  releaseNotification(claimed: NotificationRecord, error: string): Promise<NotificationRecord>;
}
