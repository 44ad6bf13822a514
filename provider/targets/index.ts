/**
 * Targets by type, one file each. The environment definitions in stack config name them.
 */
import type { TargetDefinition } from "../settings/environments";
import { directoryTarget } from "./directory";
import { haproxyTarget } from "./haproxy";
import { httpTarget } from "./http";
import type { SecretSources } from "./http-credentials";
import type { DeploymentTarget } from "./target";

export type { DeploymentTarget, TargetContext } from "./target";
export type { SecretSources } from "./http-credentials";

/** `secrets`: where an http target finds its token (the provider's stack config; else the environment). */
export function targetFor(definition: TargetDefinition, secrets?: SecretSources): DeploymentTarget {
  switch (definition.type) {
    case "directory":
      return directoryTarget({ reload: definition.reload, reloadTimeoutMs: definition.reloadTimeoutMs, path: definition.path, keepVersions: definition.keepVersions, keyFile: definition.keyFile });
    case "haproxy":
      return haproxyTarget(definition.socket, definition.certificatePath);
    case "http":
      return httpTarget(definition, { secrets });
  }
}
