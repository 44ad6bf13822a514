/**
 * Store errors every driver raises the same way, so users see one message whatever the driver.
 */
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
