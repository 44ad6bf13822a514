/**
 * Whether `up` keeps a standby undeploy already queued for an environment as it is, rather than
 * queueing its twin (which would supersede it and only add history): when it waits for the same
 * time, both none or the same instant. targets/standby.ts applies it when `up` runs; the
 * pull-request summary applies it to say what the `up` will do.
 */
export function keepsQueuedUndeploy(queuedNotBefore: string | undefined, requestedNotBefore: string | undefined): boolean {
  if (queuedNotBefore === undefined || requestedNotBefore === undefined) return queuedNotBefore === requestedNotBefore;
  return Date.parse(queuedNotBefore) === Date.parse(requestedNotBefore);
}
