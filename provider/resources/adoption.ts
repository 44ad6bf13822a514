/**
 * Creates that adopt what an interrupted run left behind, and deletes that release what they
 * owned: the store side of lifecycle/ownership.ts's rules, shared by the resources that make
 * versions (CertificateVersion, AcmeRenewal).
 */
import { adoptableVersion, releasedVersions, unclaimedVersions } from "../lifecycle/ownership";
import type { Actor, ResourceOrigin, Store, VersionRecord } from "../store";
import { digestOf } from "./version-methods/method";
import { isHeld } from "./run-memory";
import type { Props } from "./handler";

/** The origin a create records: the resource's URN and a digest of `decisive` (what decides the content). */
export function originOf(inputs: Props, decisive: unknown): ResourceOrigin | undefined {
  if (typeof inputs.resourceUrn !== "string" || inputs.resourceUrn === "") return undefined;
  return { urn: inputs.resourceUrn, inputs: digestOf(decisive) };
}

/** The version of `certificate` a create from `origin` adopts, if an interrupted run left one. */
export async function versionToAdopt(store: Store, certificate: string, origin: ResourceOrigin | undefined, idOf: (version: number) => string): Promise<VersionRecord | undefined> {
  if (origin === undefined || !(await store.getCertificate(certificate))) return undefined;
  const versions = await store.listVersions(certificate);
  if (!versions.some((version) => version.origin?.urn === origin.urn)) return undefined;
  const released = releasedVersions(await store.readHistory({ certificate }));
  const held = new Set(versions.filter((version) => isHeld(idOf(version.version))).map((version) => version.version));
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
  return unclaimedVersions(versions, releasedVersions(await store.readHistory({ certificate })), deployments);
}
