/**
 * Store errors every driver raises the same way, so users see one message whatever the driver.
 */
import { userInfo } from "node:os";
import { CertstageError, quoted } from "../errors";
import { NAME_RULE, type DeploymentRecord, type StoreIdentity } from "./store";

/** A name that cannot be a store path segment; `field` is the input or setting it came from. */
export function nameInvalid(kind: "certificate" | "environment" | "task", name: string, field?: string): CertstageError {
  return new CertstageError("NAME_INVALID", `${kind} name ${quoted(name)} is not allowed`, {
    field,
    fix: kind === "task" ? "use a task id exactly as `certstage tasks list` prints it" : NAME_RULE,
  });
}

export function stillDeployed(certificate: string, version: number | undefined, deployments: DeploymentRecord[]): CertstageError {
  const where = deployments.map((deployment) => `${deployment.environment} (version ${deployment.version})`).join(", ");
  const environments = deployments.map((deployment) => deployment.environment).join(", ");
  const what = version === undefined ? `certificate '${certificate}'` : `version ${version} of certificate '${certificate}'`;
  return new CertstageError("STILL_DEPLOYED", `${what} is deployed in ${where}`, {
    resource: certificate,
    fix: `undeploy it from ${environments} first: remove or repoint the EnvironmentDeployment resources for ${environments} and run \`pulumi up\`, then delete`,
  });
}

export function versionNotFound(certificate: string, version: number): CertstageError {
  return new CertstageError("VERSION_NOT_FOUND", `version ${version} of certificate '${certificate}' does not exist`, {
    resource: certificate,
    fix: "deploy a version that `certstage status` lists for this certificate",
  });
}

/**
 * The stack's state says its resources live in store `expected`, and the configured store is not
 * it. Never read as "the resource is gone": that would make `pulumi refresh` drop every resource.
 */
export function storeMismatch(resource: string, kind: string, expected: string, storeDescription: string, found: StoreIdentity | undefined): CertstageError {
  const holds = found === undefined ? "which holds no store (missing, empty, or not mounted)" : `which holds another store, ${found.id}`;
  return new CertstageError("STORE_MISMATCH", `this ${kind} and the rest of the stack's resources live in store ${expected}, but certstage:store points at ${storeDescription}, ${holds}; nothing was read or changed`, {
    resource,
    fix: `point certstage:store (or CERTSTAGE_STORE) at the store whose store.json says ${expected}, or mount or restore it there, then run the command again`,
  });
}

/**
 * errno codes that mean the store's filesystem refused a write, not that certstage did something
 * wrong: the disk or quota is full, the filesystem is read-only, this user may not write there, or
 * the store directory is gone. Each has one cause the operator can fix, so each gets a message.
 */
const WRITE_FAILURES = ["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "ENOENT"] as const;
type WriteFailure = (typeof WRITE_FAILURES)[number];

export function isWriteFailure(error: unknown): error is NodeJS.ErrnoException & { code: WriteFailure } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && (WRITE_FAILURES as readonly string[]).includes(code);
}

/** Who the operating system says is writing, for EACCES and EDQUOT: the user the fix is about. */
function currentUser(): { readonly described: string; readonly account: string } {
  const uid = process.getuid?.();
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = undefined; // A uid without a passwd entry (a container's arbitrary uid): the number says it.
  }
  const account = name ?? (uid === undefined ? "<user>" : String(uid));
  return { described: name !== undefined && uid !== undefined ? `user ${name} (uid ${uid})` : `user ${account}`, account };
}

/**
 * A write the filesystem refused, as STORE_WRITE_FAILED: what is wrong with the store at
 * `storePath`, the file or directory `what` that was being written, and what to do. The errno
 * error stays the cause. ENOENT means the store directory itself vanished (storeVanished): the
 * driver maps only that ENOENT here. `undoFailed` is set when putting back what the operation had already written
 * failed too, so the message cannot promise that nothing changed.
 */
export function storeWriteFailed(error: unknown, storePath: string, what: string = (error as NodeJS.ErrnoException).path ?? storePath, undoFailed?: unknown): CertstageError {
  const code = (error as NodeJS.ErrnoException).code;
  const writing = what === storePath ? "" : ` (writing ${what})`;
  const again = "run `pulumi up` again";
  let problem: string;
  let remedy: string;
  switch (code) {
    case "ENOSPC":
      problem = `the disk holding the store ${storePath} is full${writing}`;
      remedy = `free space on that filesystem (or give the store a larger volume) and ${again}`;
      break;
    case "EDQUOT":
      problem = `the disk quota of ${currentUser().described} is used up on the filesystem holding the store ${storePath}${writing}`;
      remedy = `free space within that quota (or have it raised) and ${again}`;
      break;
    case "EROFS":
      problem = `the store ${storePath} is on a read-only filesystem${writing}`;
      remedy = `remount that filesystem read-write (or point certstage:store at a writable directory) and ${again}`;
      break;
    case "EACCES":
    case "EPERM": {
      const user = currentUser();
      problem = `${user.described} may not write ${what} in the store ${storePath}`;
      remedy = `run \`pulumi up\` as the user that owns the store, or give ${user.account} write access to all of it (for example \`chown -R ${user.account} ${storePath}\`)`;
      break;
    }
    case "ENOENT":
      return storeVanished(storePath, error);
    default:
      problem = `the store ${storePath} could not be written${writing}: ${code ?? "unknown error"}`;
      remedy = `fix what the operating system reports and ${again}`;
  }
  const outcome =
    undoFailed === undefined
      ? "nothing was changed"
      : `undoing what this change had already written failed too (${(undoFailed as NodeJS.ErrnoException).code ?? "error"} on ${(undoFailed as NodeJS.ErrnoException).path ?? storePath}), so compare \`certstage status\` with the stack and remove what no resource names`;
  return new CertstageError("STORE_WRITE_FAILED", problem, { fix: `${remedy}; ${outcome}`, cause: error });
}

/** The store directory is gone from under a Store that had seen it; `cause` is the failed call. */
export function storeVanished(storePath: string, cause: unknown): CertstageError {
  return new CertstageError("STORE_WRITE_FAILED", `the store directory ${storePath} vanished while certstage was using it`, {
    fix: `restore it (remount its volume, or restore it from a backup), or point certstage:store at where the store is now, then run \`pulumi up\` again; certstage does not create it again, because an empty new store would forget every certificate and deployment`,
    cause,
  });
}
