/**
 * Store.readStatusListings read whole, for assertions: the listings, and the versions as the
 * groups the driver gave them in (one certificate's each).
 */
import type { StatusListings, Store, VersionStatusSummary } from "../../provider/store";

export type ReadStatusListings = Omit<StatusListings, "versionsByCertificate"> & { readonly versionGroups: (readonly VersionStatusSummary[])[] };

export function readAllStatusListings(store: Store): Promise<ReadStatusListings> {
  return store.readStatusListings(async ({ versionsByCertificate, ...listings }) => {
    const versionGroups: (readonly VersionStatusSummary[])[] = [];
    for await (const group of versionsByCertificate) versionGroups.push(group);
    return { ...listings, versionGroups };
  });
}
