/**
 * What the engine told this provider process during the current run. Pulumi starts one provider
 * process per `pulumi up`, and before it replaces a resource it calls `diff` (or `read`, on
 * refresh) with the id its state holds. So a version id seen here is finished: the state names
 * it, and a create must not adopt it, even when its inputs match (an ACME renewal is a replacement
 * with unchanged inputs).
 *
 * A targeted `pulumi up --replace` skips `diff`. Its create may then adopt the very version the
 * old resource holds; the engine's delete of that old resource that follows must then leave the
 * version alone, which is what `adoptedThisRun` is for.
 */
const held = new Set<string>();
const adopted = new Set<string>();

/** Records an id the engine holds in state (seen by diff, read, update or delete). */
export function rememberHeld(id: string | undefined): void {
  if (id) held.add(id);
}

export function isHeld(id: string): boolean {
  return held.has(id);
}

export function rememberAdopted(id: string): void {
  adopted.add(id);
}

/** True when a create of this run adopted `id`: a delete of the resource that held it before is no delete. */
export function adoptedThisRun(id: string): boolean {
  return adopted.has(id);
}

/** For tests that run several "runs" in one process. */
export function forgetRun(): void {
  held.clear();
  adopted.clear();
}
