/**
 * Who may do what to a certificate (the seeds' Principal rules). Only a certificate's owner
 * changes it: creates and deletes its versions, deploys and undeploys it, renames it, edits its
 * description or sharing, transfers it to another owner, deletes it. The principals it is shared
 * with may read it and reference (use) its versions. A principal acts as its own name and as each
 * team it acts for (`Principal.roles`); an owner and a `shareWith` entry are such roles.
 *
 * Pure, so that one table decides for every caller: the provider asks before it writes (and at
 * preview, where it can already tell), the command line asks before it changes a certificate, and
 * the postgres store's row-level security holds the database to the same table.
 */
import { CertstageError } from "../errors";
import type { Principal } from "../store";

export type CertificateAction =
  | "certificate.create"
  /** Display name, description, sharing or validation profile. */
  | "certificate.update"
  /** A change of `owner`. */
  | "certificate.transfer"
  | "certificate.delete"
  | "version.create"
  /** Deleting a version, or releasing one its resource let go of (history records both). */
  | "version.delete"
  | "deploy"
  | "undeploy"
  /** The certificate's record, its versions' public facts, where it is deployed, its history. */
  | "read"
  /** A version's material (certificate, chain and key), for use elsewhere. */
  | "reference";

/** Who may do it: the owner only, or the owner and the principals the certificate is shared with. */
const ALLOWED_FOR: Record<CertificateAction, "owner" | "owner and shared"> = {
  "certificate.create": "owner",
  "certificate.update": "owner",
  "certificate.transfer": "owner",
  "certificate.delete": "owner",
  "version.create": "owner",
  "version.delete": "owner",
  deploy: "owner",
  undeploy: "owner",
  read: "owner and shared",
  reference: "owner and shared",
};

export const CERTIFICATE_ACTIONS = Object.keys(ALLOWED_FOR) as CertificateAction[];

/** The action as a refusal says it: "only its owner may <…>". */
const DOING: Record<CertificateAction, string> = {
  "certificate.create": "create it",
  "certificate.update": "rename it or change its description, sharing or profile",
  "certificate.transfer": "transfer it to another owner",
  "certificate.delete": "delete it",
  "version.create": "create its versions",
  "version.delete": "delete or release its versions",
  deploy: "deploy it",
  undeploy: "undeploy it",
  read: "read it",
  reference: "use its versions",
};

/** A certificate as the rules see it; for `certificate.create`, the one about to be made. */
export interface CertificateAccess {
  readonly name: string;
  readonly owner: string;
  readonly shareWith: readonly string[];
}

export type Relation = "owner" | "shared" | "stranger";

export type AccessDecision =
  | { readonly allowed: true; readonly relation: Relation }
  | { readonly allowed: false; readonly relation: Relation; readonly problem: string; readonly fix: string };

function rolesOf(principal: Principal): Set<string> {
  return new Set([principal.name, ...principal.roles]);
}

/** What the principal is to the certificate: its owner (as itself or a team), a principal it is shared with, or neither. */
export function relationOf(principal: Principal, certificate: CertificateAccess): Relation {
  const roles = rolesOf(principal);
  if (roles.has(certificate.owner)) return "owner";
  return certificate.shareWith.some((entry) => roles.has(entry)) ? "shared" : "stranger";
}

export function decideAccess(principal: Principal, action: CertificateAction, certificate: CertificateAccess): AccessDecision {
  const relation = relationOf(principal, certificate);
  if (relation === "owner") return { allowed: true, relation };
  // A read-only reviewer previews what the owner's runner will do; the store refuses it any write.
  if (principal.readOnly) return { allowed: true, relation };
  if (relation === "shared" && ALLOWED_FOR[action] === "owner and shared") return { allowed: true, relation };
  return { allowed: false, relation, problem: refusalProblem(principal, action, certificate, relation), fix: refusalFix(principal, action, certificate) };
}

/** The NOT_OWNER error of a refused action, naming `resource` (the Pulumi resource, or the certificate on the command line); undefined when allowed. */
export function accessRefusal(principal: Principal, action: CertificateAction, certificate: CertificateAccess, resource?: string): CertstageError | undefined {
  const decision = decideAccess(principal, action, certificate);
  if (decision.allowed) return undefined;
  return new CertstageError("NOT_OWNER", decision.problem, { resource: resource ?? certificate.name, fix: decision.fix });
}

/** Throws accessRefusal's error when the action is refused. */
export function requireAccess(principal: Principal, action: CertificateAction, certificate: CertificateAccess, resource?: string): void {
  const refusal = accessRefusal(principal, action, certificate, resource);
  if (refusal) throw refusal;
}

function teamsOf(principal: Principal): string[] {
  return [...rolesOf(principal)].filter((role) => role !== principal.name);
}

/** `'alice'`, or `'alice' or a team it acts for (team-a, team-b)`. */
function whoActs(principal: Principal): string {
  const teams = teamsOf(principal);
  return teams.length === 0 ? `'${principal.name}'` : `'${principal.name}' or a team it acts for (${teams.join(", ")})`;
}

function refusalProblem(principal: Principal, action: CertificateAction, certificate: CertificateAccess, relation: Relation): string {
  if (action === "certificate.create") {
    return `certificate '${certificate.name}' would belong to '${certificate.owner}', which is not ${whoActs(principal)}; a principal creates only certificates it owns`;
  }
  const owned = `certificate '${certificate.name}' belongs to '${certificate.owner}', not ${whoActs(principal)}`;
  if (ALLOWED_FOR[action] === "owner and shared") {
    const shared = certificate.shareWith.length === 0 ? "it is shared with no one" : `it is shared with ${certificate.shareWith.map((entry) => `'${entry}'`).join(", ")}`;
    return `${owned}; only its owner and the principals it is shared with may ${DOING[action]}, and ${shared}`;
  }
  if (relation === "shared") {
    const roles = rolesOf(principal);
    const through = certificate.shareWith.find((entry) => roles.has(entry));
    return `${owned}; it is shared with '${through}', which may read it and use its versions, but only its owner may ${DOING[action]}`;
  }
  return `${owned}; only its owner may ${DOING[action]}`;
}

function refusalFix(principal: Principal, action: CertificateAction, certificate: CertificateAccess): string {
  const asMember =
    principal.enforcedBy === "database"
      ? `run this stack as a member of '${certificate.owner}' (the database role it connects as)`
      : `run this stack as a member of '${certificate.owner}' (certstage:principal, or certstage:teams listing '${certificate.owner}')`;
  if (action === "certificate.create") {
    const teams = teamsOf(principal);
    const own = teams.length === 0 ? `'${principal.name}' (or leave it unset)` : `'${principal.name}' (or leave it unset) or one of ${teams.map((team) => `'${team}'`).join(", ")}`;
    return `set owner to ${own}, or ${asMember}`;
  }
  const ask = ALLOWED_FOR[action] === "owner and shared" ? `ask ${certificate.owner} to transfer the certificate or to add you to shareWith` : `ask ${certificate.owner} to transfer the certificate to you`;
  return `${asMember}, or ${ask}`;
}
