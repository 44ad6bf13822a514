/**
 * What a change of inputs does to each resource, as tables: a field either updates the resource
 * in place or replaces it. Providers hand in the old state and the desired values (some of which
 * a preview does not know yet) and get back the decision Pulumi shows in `preview --diff`.
 */

/** A desired value; during a preview an input computed from another resource is unknown. */
export type Planned<T> = { readonly known: true; readonly value: T } | { readonly known: false };

export const known = <T>(value: T): Planned<T> => ({ known: true, value });
export const unknown: Planned<never> = { known: false };

export interface FieldRule {
  readonly field: string;
  /** `replace`: a new resource (a new version number, a new deployment); `update`: in place. */
  readonly onChange: "replace" | "update";
}

export interface DiffDecision {
  readonly changed: boolean;
  /** Fields whose change forces a replacement. */
  readonly replaces: string[];
  /** Every changed field, replacing or not, in rule order. */
  readonly changedFields: string[];
}

/**
 * Compares field by field. A desired field that is absent means "not managed": it never causes
 * a change. An unknown desired value counts as changed, because it may be.
 */
export function decideDiff(rules: readonly FieldRule[], old: Readonly<Record<string, unknown>>, desired: Readonly<Record<string, Planned<unknown> | undefined>>): DiffDecision {
  const replaces: string[] = [];
  const changedFields: string[] = [];
  for (const rule of rules) {
    const planned = desired[rule.field];
    if (planned === undefined) continue;
    if (planned.known && sameValue(old[rule.field], planned.value)) continue;
    changedFields.push(rule.field);
    if (rule.onChange === "replace") replaces.push(rule.field);
  }
  return { changed: changedFields.length > 0, replaces, changedFields };
}

/** Structural equality for the JSON values resources hold. */
export function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (Array.isArray(left) && Array.isArray(right)) {
    return left.length === right.length && left.every((item, index) => sameValue(item, right[index]));
  }
  if (left !== null && right !== null && typeof left === "object" && typeof right === "object" && !Array.isArray(left) && !Array.isArray(right)) {
    const leftKeys = Object.keys(left).filter((key) => (left as Record<string, unknown>)[key] !== undefined).sort();
    const rightKeys = Object.keys(right).filter((key) => (right as Record<string, unknown>)[key] !== undefined).sort();
    return sameValue(leftKeys, rightKeys) && leftKeys.every((key) => sameValue((left as Record<string, unknown>)[key], (right as Record<string, unknown>)[key]));
  }
  return false;
}

/** Certificate: its name is its identity (store paths use it) and its type is fundamental. */
export const CERTIFICATE_RULES: readonly FieldRule[] = [
  { field: "name", onChange: "replace" },
  { field: "type", onChange: "replace" },
  { field: "displayName", onChange: "update" },
  { field: "owner", onChange: "update" },
  { field: "shareWith", onChange: "update" },
  { field: "description", onChange: "update" },
  { field: "profile", onChange: "update" },
];

/**
 * CertificateVersion: versions are immutable, so a change of what a version is made from is a new
 * version. `contentDigest` identifies that content per method (for uploads: the DER fingerprints
 * of certificate and chain, so re-encoding the same certificate, or the same key in another PEM
 * format, is not a change; the key needs no rule, as `check` proves it matches the certificate).
 * `domains` and `acknowledge` only steer validation: they change in place.
 */
export const CERTIFICATE_VERSION_RULES: readonly FieldRule[] = [
  { field: "certificate", onChange: "replace" },
  { field: "method", onChange: "replace" },
  { field: "contentDigest", onChange: "replace" },
  // A version's files never change: another keystore password or profile is a new version.
  { field: "keystore", onChange: "replace" },
  { field: "domains", onChange: "update" },
  { field: "acknowledge", onChange: "update" },
  // Whether state keeps the key: the version is the same either way.
  { field: "exportPrivateKey", onChange: "update" },
];

/** EnvironmentDeployment: a new version is an in-place atomic swap; a new target is a new deployment. */
export const ENVIRONMENT_DEPLOYMENT_RULES: readonly FieldRule[] = [
  { field: "certificate", onChange: "replace" },
  { field: "environment", onChange: "replace" },
  { field: "version", onChange: "update" },
  { field: "mode", onChange: "update" },
  { field: "notBefore", onChange: "update" },
  { field: "verify", onChange: "update" },
];
