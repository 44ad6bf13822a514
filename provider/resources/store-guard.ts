/**
 * Every resource records, in what its create returns, the identity of the store it lives in
 * (`storeId`). Before the provider reads, judges, changes or deletes a resource, the configured
 * store must be that store. A CI runner without its volume, or a mistyped `certstage:store`,
 * then gets STORE_MISMATCH instead of a refresh that reads "not there" as "deleted" and drops
 * every resource from the stack.
 */
import type { Store } from "../store";
import { storeMismatch } from "../store/store-errors";
import type { ResourceKind } from "./dynamic-provider";
import type { Props } from "./handler";

/** The store a resource's state says it lives in; undefined for resources made before identities. */
export function recordedStoreId(props: Props | undefined): string | undefined {
  return typeof props?.storeId === "string" && props.storeId !== "" ? props.storeId : undefined;
}

/**
 * Throws STORE_MISMATCH unless the configured store is the one `props` were recorded in; returns
 * the store's `storeId` output, so a call reads store.json once.
 */
export async function requireRecordedStore(kind: ResourceKind, name: string, props: Props | undefined, store: Store): Promise<{ storeId?: string }> {
  const found = await store.identity();
  const expected = recordedStoreId(props);
  if (expected !== undefined && found?.id !== expected) throw storeMismatch(name, kind, expected, store.description, found);
  return found ? { storeId: found.id } : {};
}

/** `storeId` as outputs carry it: the configured store's identity, or nothing before its first write. */
export async function storeIdOutput(store: Store): Promise<{ storeId?: string }> {
  const identity = await store.identity();
  return identity ? { storeId: identity.id } : {};
}
