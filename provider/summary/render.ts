/**
 * The pull-request comment: a hidden marker (pr-comment.ts finds the comment by it), the summary
 * (one line per risk, never folded, never trimmed), then per certificate what changes against
 * what each environment serves, every diagnostic, and the raw diff folded in <details>. Only the
 * allow-listed facts of store-view.ts reach the text, every value is escaped, and the whole is
 * refused if anything resembling a private key got in. However large the change, the comment
 * stays within GitHub's 65,536 characters: what does not fit is counted, not shown.
 */
import { CertstageError } from "../errors";
import { refuseKeyMaterial } from "./key-material";
import { factsOfVersion, queuedUndeployKept, type CertificatePlan, type EnvironmentPlan, type PlannedVersion, type PreviewPlan } from "./plan";
import type { PreviewStep } from "./preview-json";
import { daysLeft, describeDaysLeft, risksOf, type RiskOptions } from "./risks";
import type { VersionFacts } from "./store-view";

/** GitHub's limit for a comment body, in characters (code points, as pr-comment counts them). */
export const SUMMARY_LIMIT = 65_536;

export interface SummaryOptions extends RiskOptions {
  readonly project: string;
  readonly stack: string;
  readonly now: Date;
  /** The store as its driver describes it, for the reader (no credentials: drivers leave them out). */
  readonly store?: string;
  /** Lower limits for tests; never above SUMMARY_LIMIT. */
  readonly limit?: number;
}

/** The marker pr-comment.ts looks for: one comment per project and stack. */
export function summaryMarker(project: string, stack: string): string {
  for (const [field, value] of [["--project", project], ["--stack", stack]] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) {
      throw new CertstageError("SUMMARY_ARGUMENT_INVALID", `${field} '${value}' is not a Pulumi project or stack name`, {
        field,
        fix: "pass the name as Pulumi.yaml and `pulumi stack` spell it (letters, digits, '.', '_', '-')",
      });
    }
  }
  return `<!-- certstage:preview-summary project=${project} stack=${stack} -->`;
}

/** Renders the comment; SUMMARY_KEY_MATERIAL when key material would appear in it. */
export function renderSummary(plan: PreviewPlan, options: SummaryOptions): string {
  const limit = Math.min(options.limit ?? SUMMARY_LIMIT, SUMMARY_LIMIT);
  const out = new Budget(limit);
  const risks = risksOf(plan, options.now, options);
  const changing = plan.certificates.filter((certificate) => certificate.changes > 0);
  const newVersions = changing.reduce((sum, certificate) => sum + certificate.versions.length, 0);
  const swaps = changing.reduce((sum, certificate) => sum + certificate.environments.filter((environment) => environment.planned !== environment.served).length, 0);

  // The summary: never folded, never dropped; it only shortens its own list when it alone is too long.
  out.force(`${summaryMarker(options.project, options.stack)}\n`);
  out.force(`### certstage preview: ${code(options.project)} / ${code(options.stack)}\n\n`);
  const failed = plan.preview.diagnostics.some((diagnostic) => diagnostic.severity === "error");
  const verdict = failed ? "**The preview failed**, so `up` would fail too." : changing.length === 0 ? "No certificate changes." : "";
  const counts = changing.length === 0 ? "" : `**${count(changing.length, "certificate")} change${changing.length === 1 ? "s" : ""}**: ${count(newVersions, "new version")}, ${count(swaps, "environment swap")}.`;
  out.force(`${[verdict, counts, resourceCounts(plan)].filter((part) => part !== "").join(" ")}\n\n`);
  const riskLines = risks.map((risk) => `- ${risk.kind === "preview-failed" ? ":x:" : ":warning:"} ${text(risk.text)}\n`);
  out.addAll(riskLines, Math.floor(limit * 0.45), (rest) => `- :warning: … and ${thousands(rest)} more warnings not shown\n`);
  if (risks.length === 0) out.force("No warnings: nothing expires soon, no name is dropped, no key is reused, no swap is held back.\n");
  out.force("\n");

  // Per certificate, while it fits in most of what is left; diagnostics and the raw diff share the rest.
  const tail = 400; // room always kept for the diagnostics' and the diff's headings and their counts
  const sections = changing.map((certificate) => certificateSection(certificate, options.now));
  out.addAll(sections, Math.floor((out.remaining() - tail) * 0.75), (rest) => `\n_… and ${thousands(rest)} more certificates not shown._\n`);

  const diagnostics = plan.preview.diagnostics.filter((diagnostic) => diagnostic.message.trim() !== "");
  if (diagnostics.length > 0 || plan.preview.prefix !== "") {
    out.addAll([`\n#### Diagnostics\n\n`], out.remaining() - tail / 2, () => "");
    const lines = [
      ...(plan.preview.prefix !== "" ? [`- **printed before the preview:** ${text(firstLines(plan.preview.prefix, 5))}\n`] : []),
      // The engine starts each message with its severity again ("error: …"): said once is enough.
      ...diagnostics.map((diagnostic) => `- **${text(diagnostic.severity)}**${diagnostic.urn ? ` ${code(diagnostic.urn.split("::").at(-1) ?? "")}` : ""}: ${text(diagnostic.message.trim().replace(new RegExp(`^${diagnostic.severity}: `), ""))}\n`),
    ];
    out.addAll(lines, Math.floor((out.remaining() - tail / 2) * 0.6), (rest) => `- … and ${thousands(rest)} more diagnostics not shown\n`);
  }

  const changed = plan.preview.steps.filter((step) => step.op !== "same" && step.op !== "read");
  const open = `\n<details><summary>Raw diff: ${count(changed.length, "resource")} changing</summary>\n\n\`\`\`\`diff\n`;
  const close = "````\n\n</details>\n";
  if (changed.length > 0 && out.fits(open + close + 80)) {
    out.add(open);
    out.addAll(changed.map(diffLines), out.remaining() - close.length - 80, (rest) => `… and ${thousands(rest)} more resources not shown\n`);
    out.force(close);
  }
  const body = out.text();
  refuseKeyMaterial(body);
  return body;
}

/** Appends text while it fits in `limit` code points; `force` appends regardless (the summary). */
class Budget {
  private readonly parts: string[] = [];
  private used = 0;
  constructor(private readonly limit: number) {}

  text(): string {
    return this.parts.join("");
  }
  remaining(): number {
    return this.limit - this.used;
  }
  fits(part: string | number): boolean {
    return (typeof part === "number" ? part : length(part)) <= this.remaining();
  }
  force(part: string): void {
    this.parts.push(part);
    this.used += length(part);
  }
  add(part: string): void {
    this.force(part);
  }
  /**
   * Appends items while they fit within `room` (and the whole limit), then the `more` line with
   * how many were left out; the `more` line's own length is kept in reserve. Returns how many fit.
   */
  addAll(items: readonly string[], room: number, more: (rest: number) => string): number {
    const cap = Math.min(room, this.remaining());
    let spent = 0;
    for (let index = 0; index < items.length; index += 1) {
      const size = length(items[index]);
      const reserve = index === items.length - 1 ? 0 : length(more(items.length - index));
      if (spent + size + reserve > cap) {
        this.force(more(items.length - index));
        return index;
      }
      this.force(items[index]);
      spent += size;
    }
    return items.length;
  }
}

function certificateSection(certificate: CertificatePlan, now: Date): string {
  const lines: string[] = [`\n#### ${code(certificate.name)}${certificate.op === "create" ? " (new certificate)" : certificate.op === "delete" ? " (deleted)" : ""}\n\n`];
  for (const version of certificate.versions) lines.push(versionLines(certificate, version, now));
  const environments = certificate.environments.filter((environment) => environment.op !== "same" || certificate.versions.length > 0);
  if (environments.length > 0) {
    lines.push("| environment | served → planned | before it is served |\n|---|---|---|\n");
    for (const environment of environments) lines.push(`| ${code(environment.environment)} | ${served(environment)} | ${holds(certificate, environment)} |\n`);
    lines.push("\n");
  }
  return lines.join("");
}

function versionLines(certificate: CertificatePlan, version: PlannedVersion, now: Date): string {
  const lines: string[] = [];
  const how = version.kind === "AcmeRenewal" ? `ACME${version.renewal ? `, ${text(version.renewal)}` : ""}` : text(version.method);
  lines.push(
    `New version **v${version.number}** (${how}), from ${code(version.resource)}. The number is the store's next${certificate.view ? ` (last saved: v${certificate.view.lastVersion})` : ""}; another run that saves a version of ${code(certificate.name)} first takes it, and this one becomes v${version.number + 1}.\n\n`,
  );
  const facts = version.facts;
  const comparedWith = distinctServed(certificate);
  const unknownAtPreview = facts.notAfter === undefined;
  if (unknownAtPreview) {
    const knownParts = [facts.sans ? `names ${list(facts.sans)}` : undefined, facts.keyAlgorithm ? `key ${text(facts.keyAlgorithm)}` : undefined].filter(Boolean);
    lines.push(`Known now: ${knownParts.length > 0 ? knownParts.join(", ") : "nothing yet"}. The certificate itself (subject, issuer, serial, validity${version.method === "signed" ? "" : ", the key"}) is decided at \`up\`${version.kind === "AcmeRenewal" ? " by the CA" : ""}.\n\n`);
  }
  const header = ["fact", `v${version.number} (new)`, ...comparedWith.map(({ environments, version: served }) => `against v${served} (${environments.join(", ")})`)];
  const rows: string[][] = [];
  const against = comparedWith.map(({ version: served }) => factsOfVersion(certificate, served)?.facts ?? {});
  rows.push(["names", facts.sans ? list(facts.sans) : "decided at up", ...against.map((old) => sansChange(old.sans, facts.sans))]);
  if (!unknownAtPreview || facts.subject) rows.push(["subject", facts.subject ? text(facts.subject) : "decided at up", ...against.map((old) => sameOr(old.subject, facts.subject))]);
  if (!unknownAtPreview || facts.issuer) rows.push(["issuer", facts.issuer ? text(facts.issuer) : "decided at up", ...against.map((old) => sameOr(old.issuer, facts.issuer))]);
  rows.push(["key", keyCell(facts), ...against.map((old) => keyChange(old, facts))]);
  rows.push(["not after", facts.notAfter ? expiry(facts.notAfter, now) : "decided at up", ...against.map((old) => (old.notAfter ? `was ${expiry(old.notAfter, now)}` : "–"))]);
  lines.push(table(header, rows), "\n");
  return lines.join("");
}

/** The versions environments serve now, each with the environments serving it. */
function distinctServed(certificate: CertificatePlan): Array<{ version: number; environments: string[] }> {
  const byVersion = new Map<number, string[]>();
  for (const environment of certificate.environments) {
    if (environment.served !== undefined && factsOfVersion(certificate, environment.served)?.planned === undefined) byVersion.set(environment.served, [...(byVersion.get(environment.served) ?? []), environment.environment]);
  }
  return [...byVersion].map(([version, environments]) => ({ version, environments }));
}

function served(environment: EnvironmentPlan): string {
  const from = environment.served === undefined ? "nothing" : `v${environment.served}`;
  const to = environment.planned === undefined ? "nothing (undeployed)" : `v${environment.planned}`;
  return environment.served === environment.planned ? `${from} (unchanged)` : `${from} → **${to}**`;
}

function holds(certificate: CertificatePlan, environment: EnvironmentPlan): string {
  const undeploy = certificate.view?.pendingUndeploys.find((queued) => queued.environment === environment.environment);
  const queuedUndeploy = undeploy ? `a standby undeploy is queued${undeploy.notBefore ? ` for ${text(undeploy.notBefore)}` : ""} (task ${code(undeploy.task)})` : undefined;
  if (environment.state === "undeployed" && environment.mode === "standby" && environment.op !== "same" && environment.served !== undefined && !queuedUndeployKept(certificate, environment)) {
    const queues = `standby: a task undeploys it${environment.notBefore ? ` not before ${text(environment.notBefore)}` : ""} (\`certstage tasks run\`)`;
    return queuedUndeploy ? `${queuedUndeploy}; ${queues}` : queues;
  }
  if (environment.planned === undefined || environment.planned === environment.served) return queuedUndeploy ?? "–";
  const parts: string[] = queuedUndeploy ? [queuedUndeploy] : [];
  if (environment.promotionRequires) parts.push(`promotion: ${code(environment.promotionRequires)} must serve v${environment.planned} first`);
  if (environment.mode === "standby") parts.push(`standby: a task swaps it${environment.notBefore ? ` not before ${text(environment.notBefore)}` : ""} (\`certstage tasks run\`)`);
  if (environment.verified) parts.push("verification after the swap (rolled back if it fails)");
  const queued = certificate.view?.pendingSwaps.find((swap) => swap.environment === environment.environment);
  if (queued) parts.push(`replaces the queued swap to v${queued.version}`);
  return parts.length > 0 ? parts.join("; ") : "nothing: swapped during up";
}

function sansChange(before: readonly string[] | undefined, after: readonly string[] | undefined): string {
  if (before === undefined || after === undefined) return "–";
  const added = after.filter((name) => !before.includes(name));
  const removed = before.filter((name) => !after.includes(name));
  if (added.length === 0 && removed.length === 0) return "same names";
  return [added.length > 0 ? `added ${list(added)}` : "", removed.length > 0 ? `**removed ${list(removed)}**` : ""].filter(Boolean).join("; ");
}

function sameOr(before: string | undefined, after: string | undefined): string {
  if (before === undefined || after === undefined) return "–";
  return before === after ? "same" : `was ${text(before)}`;
}

function keyCell(facts: Partial<VersionFacts>): string {
  const algorithm = facts.keyAlgorithm ? text(facts.keyAlgorithm) : "decided at up";
  return facts.publicKeySha256 ? `${algorithm}, sha256 ${code(facts.publicKeySha256.slice(0, 16))}…` : algorithm;
}

function keyChange(before: Partial<VersionFacts>, after: Partial<VersionFacts>): string {
  const algorithm = before.keyAlgorithm !== undefined && after.keyAlgorithm !== undefined && before.keyAlgorithm !== after.keyAlgorithm ? `algorithm was ${text(before.keyAlgorithm)}; ` : "";
  if (before.publicKeySha256 === undefined || after.publicKeySha256 === undefined) return `${algorithm}${after.publicKeySha256 === undefined ? "new key made at up" : "–"}`;
  return `${algorithm}${before.publicKeySha256 === after.publicKeySha256 ? "**same key**" : "new key"}`;
}

function expiry(notAfter: string, now: Date): string {
  return `${text(notAfter.slice(0, 10))} (${describeDaysLeft(daysLeft(notAfter, now))})`;
}

/** One resource of the raw diff: `+`, `-`, `~` as GitHub colours them, allow-listed fields only. */
function diffLines(step: PreviewStep): string {
  const sign = step.op === "create" ? "+" : step.op === "delete" || step.op === "delete-replaced" || step.op === "discard" ? "-" : step.op.includes("replace") ? "+-" : "~";
  const type = step.kind ?? step.type.split(":").at(-1) ?? step.type;
  const lines = [`${sign} ${fence(type)} ${fence(step.name)} (${fence(step.op)})\n`];
  for (const field of DIFF_FIELDS[step.kind ?? "other"] ?? []) {
    const before = step.old?.inputs[field] ?? step.old?.outputs[field];
    const after = step.new?.inputs[field];
    if (after === undefined && before === undefined) continue;
    if (step.op !== "create" && JSON.stringify(before) === JSON.stringify(after)) continue;
    const show = (value: unknown) => (value === undefined ? "–" : value === "04da6b54-80e4-46f7-96ec-b56ff0331ba9" ? "(known at up)" : fence(JSON.stringify(value)));
    lines.push(step.op === "create" || before === undefined ? `    ${field}: ${show(after)}\n` : `    ${field}: ${show(before)} => ${show(after)}\n`);
  }
  return lines.join("");
}

/** The fields a raw diff may show, per resource kind: nothing that can carry a key. */
const DIFF_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Certificate: ["name", "displayName", "type", "owner", "shareWith", "description", "profile"],
  CertificateVersion: ["certificate", "method", "sans", "subject", "issuer", "notAfter", "keyAlgorithm", "publicKeySha256", "domains", "acknowledge", "exportPrivateKey"],
  EnvironmentDeployment: ["certificate", "environment", "version", "mode", "notBefore"],
  AcmeRenewal: ["certificate", "domains", "keyAlgorithm", "keyPolicy", "renewal"],
};

function resourceCounts(plan: PreviewPlan): string {
  const entries = Object.entries(plan.preview.changeSummary).filter(([, value]) => value > 0);
  return entries.length === 0 ? "" : `Resources: ${entries.map(([op, value]) => `${thousands(value)} ${text(op)}`).join(", ")}.`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replace(/\n/g, " ")).join(" | ")} |\n`;
  return line(header) + line(header.map(() => "---")) + rows.map(line).join("");
}

function list(names: readonly string[]): string {
  return names.map(code).join(", ");
}

/** Inline code: backticks inside cannot end it early, pipes cannot end a table cell. */
function code(value: string): string {
  return `\`${value.replace(/`/g, "'").replace(/\|/g, "\\|").replace(/\n/g, " ")}\``;
}

/** Text with every character Markdown or HTML would read escaped, and no @mention that pings. */
function text(value: string): string {
  return value
    .replace(/\r?\n/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_[\]|#~!]/g, (character) => `\\${character}`)
    .replace(/@/g, "@\u200b");
}

/** Inside the diff fence: no run of four backticks can close it. */
function fence(value: string): string {
  return value.replace(/`/g, "'").replace(/\n/g, " ");
}

function firstLines(value: string, lines: number): string {
  const all = value.split("\n");
  return all.slice(0, lines).join(" / ") + (all.length > lines ? ` / … (${all.length - lines} more lines)` : "");
}

function count(value: number, noun: string): string {
  return `${thousands(value)} ${noun}${value === 1 ? "" : "s"}`;
}

function thousands(value: number): string {
  return value.toLocaleString("en-US");
}

function length(value: string): number {
  let size = value.length;
  // Surrogate pairs are one character to GitHub.
  for (let index = 0; index < value.length; index += 1) {
    const unit = value.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff) size -= 1;
  }
  return size;
}
