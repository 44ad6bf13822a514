/**
 * The provider's clock. Renewal decisions take "now" as a parameter; this is where the provider
 * gets it. CERTSTAGE_NOW (an ISO time) pins it, so a rotation can be rehearsed, and tested,
 * without waiting for a certificate to age.
 */
export function now(environment: NodeJS.ProcessEnv = process.env): Date {
  const pinned = environment.CERTSTAGE_NOW;
  if (pinned) {
    const time = Date.parse(pinned);
    if (Number.isNaN(time)) throw new Error(`certstage: CERTSTAGE_NOW='${pinned}' is not an ISO time`);
    return new Date(time);
  }
  return new Date();
}
