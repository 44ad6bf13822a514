/**
 * Store errors every driver raises the same way, so users see one message whatever the driver.
 */
import { CertstageError } from "../errors";
import type { DeploymentRecord } from "./store";

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
