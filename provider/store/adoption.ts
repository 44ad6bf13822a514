/**
 * Creates that adopt what an interrupted run left behind, deletes that release what they owned,
 * and the versions no resource owns: the store side of lifecycle/ownership.ts's rules. Shared by
 * the resources that make versions (CertificateVersion, AcmeRenewal) and the command line
 * (`certstage versions remove`), so it knows nothing of Pulumi. (`certstage status` applies the
 * unclaimed rule itself, to the listings it read once for every certificate.)
 */
import { adoptableVersion, releasedVersions, unclaimedVersions } from "../lifecycle/ownership";
import type { Actor, HistoryAction, ResourceOrigin, Store, VersionRecord } from "./store";

/** The only history lines that decide ownership (releasedVersions): the rest of history is not read. */
const RELEASES: readonly HistoryAction[] = ["version.release"];

/**
 * The version of `certificate` a create from `origin` adopts, if an interrupted run left one.
 * `isHeld` says which versions the engine holds in this run's state: those are finished, not left behind.
 */
export async function versionToAdopt(store: Store, certificate: string, origin: ResourceOrigin | undefined, isHeld: (version: number) => boolean): Promise<VersionRecord | undefined> {
  if (origin === undefined || !(await store.getCertificate(certificate))) return undefined;
  const versions = await store.listVersions(certificate);
  if (!versions.some((version) => version.origin?.urn === origin.urn)) return undefined;
  const released = releasedVersions(await store.readHistory({ certificate, actions: RELEASES }));
  const held = new Set(versions.filter((version) => isHeld(version.version)).map((version) => version.version));
  return adoptableVersion(origin, { versions, released, held });
}

/** Records that the resource owning `version` let go of it (deleted or replaced through Pulumi). */
export async function releaseVersion(store: Store, certificate: string, version: number, actor: Actor, why: string): Promise<void> {
  if (!(await store.getVersion(certificate, version))) return;
  await store.recordHistory({ actor: actor.principal, action: "version.release", certificate, fromVersion: version, result: "ok", detail: why });
}

/**
 * The certificate's versions no resource owns. History, the one record that grows with every
 * change, is read only when a version could be unclaimed (one was superseded and is not served).
 */
export async function unclaimedVersionsOf(store: Store, certificate: string): Promise<VersionRecord[]> {
  const versions = await store.listVersions(certificate);
  const deployments = await store.listDeployments(certificate);
  if (unclaimedVersions(versions, new Set(), deployments).length === 0) return [];
  return unclaimedVersions(versions, releasedVersions(await store.readHistory({ certificate, actions: RELEASES })), deployments);
}
