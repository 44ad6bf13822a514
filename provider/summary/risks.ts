/**
 * The warnings a reviewer must not miss, one line each, decided by small rules over the plan: an
 * environment that would serve a certificate close to expiry, names a swap drops, a key used
 * again, a renewal due, a swap held back, an environment left without a certificate (by this
 * change, or by a standby undeploy already queued in the store). Each rule
 * is `(plan, now, options) -> risks`, so a table of cases tests each alone.
 */
import { factsOfVersion, queuedUndeployKept, type CertificatePlan, type PreviewPlan } from "./plan";

export type RiskKind = "preview-failed" | "expiring" | "names-dropped" | "key-reused" | "renewal-due" | "swap-held" | "undeploy" | "undeploy-queued";

export interface Risk {
  readonly kind: RiskKind;
  readonly certificate?: string;
  /** One line of Markdown-free text; render.ts escapes it. */
  readonly text: string;
}

export interface RiskOptions {
  /** An environment serving a certificate that expires within this many days is a risk. */
  readonly expiringWithinDays: number;
}

export const DEFAULT_EXPIRING_WITHIN_DAYS = 30;

const DAY_MS = 86_400_000;

/** Whole days from `now` until `time` (negative once past). */
export function daysLeft(time: string, now: Date): number {
  return Math.floor((Date.parse(time) - now.getTime()) / DAY_MS);
}

export function describeDaysLeft(days: number): string {
  if (days < 0) return `expired ${-days} day${-days === 1 ? "" : "s"} ago`;
  return `${days} day${days === 1 ? "" : "s"} left`;
}

type Rule = (certificate: CertificatePlan, now: Date, options: RiskOptions) => Risk[];

const expiring: Rule = (certificate, now, { expiringWithinDays }) =>
  certificate.environments.flatMap((environment) => {
    const served = factsOfVersion(certificate, environment.planned);
    const notAfter = served?.facts.notAfter;
    if (notAfter === undefined) return [];
    const days = daysLeft(notAfter, now);
    if (days >= expiringWithinDays) return [];
    const verb = environment.planned === environment.served ? "keeps serving" : "would serve";
    const when = days < 0 ? `which expired ${-days} day${-days === 1 ? "" : "s"} ago` : `which expires in ${days} day${days === 1 ? "" : "s"}`;
    return [{ kind: "expiring", certificate: certificate.name, text: `${environment.environment} ${verb} ${certificate.name} v${environment.planned}, ${when} (${notAfter.slice(0, 10)}; warning below ${expiringWithinDays} days)` }];
  });

const namesDropped: Rule = (certificate) =>
  certificate.environments.flatMap((environment) => {
    if (environment.planned === undefined || environment.served === undefined || environment.planned === environment.served) return [];
    const before = factsOfVersion(certificate, environment.served)?.facts.sans;
    const after = factsOfVersion(certificate, environment.planned)?.facts.sans;
    if (before === undefined || after === undefined) return [];
    const dropped = before.filter((name) => !after.includes(name));
    if (dropped.length === 0) return [];
    return [{ kind: "names-dropped", certificate: certificate.name, text: `${environment.environment} would stop serving ${dropped.join(", ")} for ${certificate.name} (v${environment.served} → v${environment.planned} drops ${dropped.length === 1 ? "it" : "them"})` }];
  });

const keyReused: Rule = (certificate) =>
  certificate.versions.flatMap((version) => {
    const key = version.facts.publicKeySha256;
    const earlier = key === undefined ? [] : (certificate.view?.versions ?? []).filter((saved) => saved.publicKeySha256 === key).map((saved) => `v${saved.version}`);
    const byPolicy = version.kind === "AcmeRenewal" && version.keyPolicy === "reuse";
    if (earlier.length === 0 && !byPolicy) return [];
    const why = version.method === "signed" ? " (a signed version reuses its CSR's key by design)" : byPolicy ? " (keyPolicy: reuse)" : "";
    const of = earlier.length > 0 ? `the key of ${earlier.join(", ")}` : "the key of the version it renews";
    return [{ kind: "key-reused", certificate: certificate.name, text: `${certificate.name} v${version.number} reuses ${of}${why}` }];
  });

const renewalDue: Rule = (certificate) =>
  certificate.versions.flatMap((version) =>
    version.renewal?.startsWith("renewal due")
      ? [{ kind: "renewal-due" as const, certificate: certificate.name, text: `${certificate.name}: ${version.renewal}; up issues v${version.number} from the CA` }]
      : [],
  );

const swapHeld: Rule = (certificate) =>
  certificate.environments.flatMap((environment): Risk[] => {
    if (environment.planned === undefined || environment.planned === environment.served) return [];
    const risks: Risk[] = [];
    if (environment.mode === "standby") {
      const until = environment.notBefore ? `not before ${environment.notBefore}` : "when `certstage tasks run` next runs";
      risks.push({ kind: "swap-held", certificate: certificate.name, text: `${environment.environment} keeps ${environment.served === undefined ? "serving nothing" : `v${environment.served}`} of ${certificate.name} after up: the swap to v${environment.planned} is a standby task, ${until}` });
    }
    const requires = environment.promotionRequires;
    if (requires !== undefined) {
      const there = certificate.environments.find((other) => other.environment === requires);
      const passed = there?.served === environment.planned;
      const planned = there?.planned === environment.planned;
      if (!passed) {
        risks.push({
          kind: "swap-held",
          certificate: certificate.name,
          text: planned
            ? `${environment.environment} takes ${certificate.name} v${environment.planned} only once ${requires} serves it and its verification passed (planned in this change)`
            : `${environment.environment} takes only versions promoted from ${requires}, which does not serve ${certificate.name} v${environment.planned}: up refuses this swap`,
        });
      }
    }
    const queued = certificate.view?.pendingSwaps.find((swap) => swap.environment === environment.environment);
    if (queued) risks.push({ kind: "swap-held", certificate: certificate.name, text: `${environment.environment} already has a standby swap of ${certificate.name} to v${queued.version} queued${queued.notBefore ? ` for ${queued.notBefore}` : ""}; this change replaces it` });
    return risks;
  });

const undeploy: Rule = (certificate) =>
  certificate.environments.flatMap((environment): Risk[] => {
    if (environment.served === undefined) return [];
    if (environment.planned === undefined) return [{ kind: "undeploy", certificate: certificate.name, text: `${environment.environment} would stop serving ${certificate.name} (v${environment.served} is undeployed)` }];
    // `state: undeployed` in standby: up queues the undeploy (or keeps the one queued with the same notBefore).
    if (environment.state !== "undeployed" || environment.mode !== "standby" || environment.op === "same" || queuedUndeployKept(certificate, environment)) return [];
    const when = environment.notBefore ? `not before ${environment.notBefore}` : "when `certstage tasks run` next runs";
    return [{ kind: "undeploy", certificate: certificate.name, text: `${environment.environment} keeps serving ${certificate.name} v${environment.served} after up, then stops: the undeploy is a standby task, ${when}` }];
  });

/**
 * A standby undeploy queued by an earlier `up` is no change of this preview, but the reviewer is
 * about to approve a stack whose environment stops serving a certificate: said whether or not
 * this change touches that deployment, and what this change does to the task when it does.
 */
const undeployQueued: Rule = (certificate) =>
  (certificate.view?.pendingUndeploys ?? []).map((queued) => {
    const served = certificate.view?.deployments[queued.environment];
    const plan = certificate.environments.find((environment) => environment.environment === queued.environment);
    const when = queued.notBefore ? `not before ${queued.notBefore}` : "at the next `certstage tasks run`";
    const effect =
      plan === undefined || plan.op === "same"
        ? "; this change leaves it queued"
        : plan.planned === undefined
          ? "; this change undeploys at once instead and cancels the task"
          : plan.state === "deployed"
            ? "; this change sets it deployed again, which cancels the task"
            : queuedUndeployKept(certificate, plan)
              ? "; this change keeps it queued"
              : `; this change queues it again, ${plan.notBefore ? `not before ${plan.notBefore}` : "for the next `certstage tasks run`"}`;
    return {
      kind: "undeploy-queued" as const,
      certificate: certificate.name,
      text: `${queued.environment} stops serving ${certificate.name}${served === undefined ? "" : ` (v${served})`} when a standby undeploy already queued runs, ${when} (task ${queued.task})${effect}`,
    };
  });

const RULES: readonly Rule[] = [expiring, namesDropped, keyReused, renewalDue, swapHeld, undeploy, undeployQueued];

/** Every risk of the plan, the preview's own failure first. */
export function risksOf(plan: PreviewPlan, now: Date, options: RiskOptions): Risk[] {
  const errors = plan.preview.diagnostics.filter((diagnostic) => diagnostic.severity === "error").length;
  const failed: Risk[] =
    errors > 0
      ? [{ kind: "preview-failed", text: `the preview failed with ${errors} error${errors === 1 ? "" : "s"} (below): up would change nothing until ${errors === 1 ? "it is" : "they are"} fixed` }]
      : [];
  return [...failed, ...plan.certificates.flatMap((certificate) => RULES.flatMap((rule) => rule(certificate, now, options)))];
}
