/**
 * Which resource owns which version, from what the store alone knows.
 *
 * A create writes its record before Pulumi saves the create's result in the stack's state. When
 * the run is killed in between (a cancelled CI job, a SIGKILLed runner), the store holds a version
 * that no state names. Two rules keep such a run from leaving anything behind:
 *
 * - Adoption: the next create of the same resource (same URN) from the same inputs takes that
 *   version as its own instead of making another, so nothing is issued or generated twice.
 * - Unclaimed: a version whose resource has since moved on to a newer version without ever being
 *   deleted or replaced through Pulumi (no "version.release") is owned by nothing; `certstage
 *   status` and `pulumi refresh` name it, and `certstage versions remove` removes it.
 *
 * The pure rules live here; the handlers gather the store's records and apply them.
 */
import type { DeploymentRecord, HistoryEntry, ResourceOrigin, VersionRecord } from "../store";

/**
 * The history line that says a resource let its version go (deleted or replaced through Pulumi):
 * only a successful one counts. Every reader of releases applies this one rule, including the
 * records the drivers keep of them (store-rules.ts, the postgres trigger of migration 8).
 */
export const RELEASE = { action: "version.release", result: "ok" } as const satisfies Pick<HistoryEntry, "action" | "result">;

/** The version a history entry releases, if it is a release. */
export function releasedVersionOf(entry: Pick<HistoryEntry, "action" | "result" | "fromVersion">): number | undefined {
  return entry.action === RELEASE.action && entry.result === RELEASE.result ? entry.fromVersion : undefined;
}

/** Versions whose owning resource Pulumi deleted or replaced: kept for rollbacks, owned by no one on purpose. */
export function releasedVersions(history: readonly HistoryEntry[]): Set<number> {
  const released = new Set<number>();
  for (const entry of history) {
    const version = releasedVersionOf(entry);
    if (version !== undefined) released.add(version);
  }
  return released;
}

export interface AdoptionFacts {
  /** The certificate's versions, any order. */
  readonly versions: readonly VersionRecord[];
  readonly released: ReadonlySet<number>;
  /** Versions the engine holds in this run's state (it showed them to the provider): they are finished, not orphans. */
  readonly held: ReadonlySet<number>;
}

/**
 * The version a create from `origin` should adopt: the newest one the same resource made from the
 * same inputs that neither the state holds nor Pulumi released. Undefined: make a new one.
 */
export function adoptableVersion(origin: ResourceOrigin, facts: AdoptionFacts): VersionRecord | undefined {
  return [...facts.versions]
    .filter((version) => version.origin?.urn === origin.urn && version.origin.inputs === origin.inputs)
    .filter((version) => !facts.released.has(version.version) && !facts.held.has(version.version))
    .sort((a, b) => b.version - a.version)[0];
}

/**
 * Versions no resource owns: made by a resource that has a newer version now, never released,
 * and served nowhere. (The newest version of each resource is the one its state names, or the one
 * its next create adopts.)
 */
export function unclaimedVersions<V extends { readonly version: number; readonly origin?: { readonly urn: string } }>(versions: readonly V[], released: ReadonlySet<number>, deployments: readonly DeploymentRecord[]): V[] {
  const newestByUrn = new Map<string, number>();
  for (const version of versions) {
    if (version.origin) newestByUrn.set(version.origin.urn, Math.max(newestByUrn.get(version.origin.urn) ?? 0, version.version));
  }
  const served = new Set(deployments.map((deployment) => deployment.version));
  return versions
    .filter((version) => version.origin !== undefined && version.version < (newestByUrn.get(version.origin.urn) ?? 0))
    .filter((version) => !released.has(version.version) && !served.has(version.version))
    .sort((a, b) => a.version - b.version);
}
