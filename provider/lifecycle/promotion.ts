/**
 * Promotion rules: an environment may only serve a version that was deployed, and verified, in
 * another environment first (production after staging), or that it served and verified itself
 * before (a rollback). Pure: it judges a proposed deployment against the history of what
 * happened, so it can run at preview and again before the swap.
 */
import { CertstageError } from "../errors";

export interface PromotionRule {
  /** The environment a version must have been deployed to first. */
  readonly requires: string;
}

/** What the rule needs from history: which versions reached which environment. */
export interface DeploymentFact {
  readonly environment: string;
  readonly version: number;
  /** Whether the deployment was verified (true when the environment does not verify). */
  readonly verified: boolean;
}

export function promotionProblems(
  certificate: string,
  environment: string,
  version: number,
  rule: PromotionRule | undefined,
  facts: readonly DeploymentFact[],
): CertstageError[] {
  if (!rule) return [];
  const earlier = facts.filter((fact) => fact.environment === rule.requires && fact.version === version);
  if (earlier.some((fact) => fact.verified)) return [];
  // A version this environment served (and verified) before is known good here: rolling back to
  // it in an incident must not wait for staging.
  if (facts.some((fact) => fact.environment === environment && fact.version === version && fact.verified)) return [];
  const problem = earlier.length > 0 ? `was deployed to ${rule.requires} but never verified there` : `was never deployed to ${rule.requires}`;
  return [
    new CertstageError("PROMOTION_REFUSED", `version ${version} of '${certificate}' ${problem}; ${environment} only takes versions promoted from ${rule.requires}`, {
      field: "version",
      fix: `deploy version ${version} to ${rule.requires} first (and let its verification pass), then to ${environment}`,
    }),
  ];
}
