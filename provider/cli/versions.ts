/**
 * `certstage versions remove <certificate> <n>`: removes a version no resource owns, the kind an
 * interrupted `pulumi up` leaves (lifecycle/ownership.ts). A version a resource owns is refused
 * (remove its resource from the program instead), and so is one an environment serves. Only
 * the certificate's owner removes its versions (lifecycle/authorization.ts).
 */
import { CertstageError } from "../errors";
import { requireAccess } from "../lifecycle/authorization";
import { releasedVersions } from "../lifecycle/ownership";
import { unclaimedVersionsOf } from "../store/adoption";
import type { Actor, Store } from "../store";
import { versionNotFound } from "../store/store-errors";

export async function removeUnclaimedVersion(store: Store, certificate: string, version: number, actor: Actor): Promise<void> {
  const record = await store.getVersion(certificate, version);
  const owner = await store.getCertificate(certificate);
  if (!record || !owner) throw versionNotFound(certificate, version);
  // Removing a version is its owner's, whichever resource made it.
  requireAccess(await store.principal(actor), "version.delete", owner, certificate);
  const unclaimed = (await unclaimedVersionsOf(store, certificate)).some((candidate) => candidate.version === version);
  const released = releasedVersions(await store.readHistory({ certificate, actions: ["version.release"] }));
  const deployments = await store.listDeployments(certificate);
  // Released versions belong to no resource on purpose (kept for rollbacks): removing one is retention.
  if (!unclaimed && !released.has(version) && !deployments.some((deployment) => deployment.version === version)) {
    const owner = record.origin ? ` (${record.origin.urn})` : "";
    throw new CertstageError("VERSION_CLAIMED", `version ${version} of certificate '${certificate}' belongs to a resource${owner}`, {
      resource: certificate,
      fix: "remove that resource from the program and run `pulumi up`; only versions `certstage status` marks unclaimed, or that Pulumi released, can be removed by hand",
    });
  }
  await store.deleteVersion(certificate, version, actor, "version.remove");
}
