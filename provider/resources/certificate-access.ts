/**
 * The ownership rules (lifecycle/authorization.ts) as the resources apply them: against the
 * certificate as the store holds it now, for the principal the store says is acting. `check` and
 * `diff` ask where a preview can already tell, so a pull request shows the refusal; create,
 * update and delete ask again before they write, because the store may have changed since.
 *
 * The store's own methods do not ask: on the file store the rules are advisory (whoever can write
 * the directory can change it), and its conformance suite writes as any principal on purpose. A
 * database store enforces the same rules itself.
 */
import type { CertstageError } from "../errors";
import { accessRefusal, CertificateAccess, CertificateAction } from "../lifecycle/authorization";
import { HandlerContext, isUnknown } from "./handler";

/**
 * The refusal of `actions` on `certificate`, if any. Nothing to judge (undefined) while the
 * certificate's name is not known yet, or when the store does not hold it: then this run creates
 * it (and the Certificate's own check judged its owner), or the write fails for its absence.
 */
export async function accessProblem(context: HandlerContext, certificate: unknown, ...actions: CertificateAction[]): Promise<CertstageError | undefined> {
  if (typeof certificate !== "string" || isUnknown(certificate)) return undefined;
  const record = await context.store.getCertificate(certificate);
  if (!record) return undefined;
  return refusalOf(context, record, actions);
}

/** Throws the refusal of `actions` on `certificate`; the call that writes makes it first. */
export async function requireCertificateAccess(context: HandlerContext, certificate: string, ...actions: CertificateAction[]): Promise<void> {
  const refusal = await accessProblem(context, certificate, ...actions);
  if (refusal) throw refusal;
}

/** The first of `actions` the principal may not do to `certificate` (as the store holds it, or as it is about to be made). */
export async function refusalOf(context: HandlerContext, certificate: CertificateAccess, actions: readonly CertificateAction[]): Promise<CertstageError | undefined> {
  const principal = await context.principal();
  for (const action of actions) {
    const refusal = accessRefusal(principal, action, certificate, context.resource);
    if (refusal) return refusal;
  }
  return undefined;
}
