/**
 * The preview's check catalogue, run over a manifest's plan without Pulumi: each planned resource
 * goes through its resource's own `check` (the same code `pulumi preview` runs: schema, names,
 * PEM, key, chain, lifetime and profile rules, ACME settings, environments, ownership), with the
 * inputs the engine would send on a first preview. What a planned resource takes from another
 * (a new version's number) is unknown, as it is at that preview. Each problem is then placed at
 * the manifest field it is about.
 */
import { CertstageError, isCertstageError } from "../errors";
import type { Actor } from "../store";
import type { ProviderSettings } from "../settings/stack-settings";
import { acmeRenewalHandler } from "../resources/acme-renewal";
import { certificateHandler } from "../resources/certificate";
import { certificateVersionHandler } from "../resources/certificate-version";
import { environmentDeploymentHandler } from "../resources/environment-deployment";
import { HandlerContext, problemsOfCheck, Props, ResourceHandler, UNKNOWN_INPUT } from "../resources/handler";
import type { ManifestDiagnostic } from "./diagnostics";
import { offlineStore } from "./offline-store";
import type { PlannedResource, ResourceReference } from "./plan";
import { dotted, FieldPath, SourcePositions } from "./positions";

const HANDLERS: Record<PlannedResource["kind"], ResourceHandler> = {
  Certificate: certificateHandler,
  CertificateVersion: certificateVersionHandler,
  AcmeRenewal: acmeRenewalHandler,
  EnvironmentDeployment: environmentDeploymentHandler,
};

function resolved(value: number | ResourceReference): number | string {
  return typeof value === "number" ? value : UNKNOWN_INPUT;
}

/** The inputs the resource's wrapper would send for these arguments. */
export function checkInputsOf(resource: PlannedResource, plan: readonly PlannedResource[]): Props {
  switch (resource.kind) {
    case "Certificate":
    case "AcmeRenewal":
      return { ...resource.args };
    case "CertificateVersion": {
      const certificate = plan.find((planned) => planned.kind === "Certificate" && planned.name === resource.args.certificate);
      const declared = certificate?.kind === "Certificate" ? certificate.args : undefined;
      const { signed, keystore, ...args } = resource.args;
      return {
        ...args,
        // The password is read where the program runs; offline it is unknown, as any secret is to the check.
        ...(keystore ? { keystore: { password: UNKNOWN_INPUT, ...(keystore.profile !== undefined ? { profile: keystore.profile } : {}), ...(keystore.friendlyName !== undefined ? { friendlyName: keystore.friendlyName } : {}) } } : {}),
        certificateType: declared?.type ?? "server",
        ...(declared?.profile !== undefined ? { certificateProfile: declared.profile } : {}),
        ...(signed ? { signed: { ...signed, keyFromVersion: resolved(signed.keyFromVersion) } } : {}),
      };
    }
    case "EnvironmentDeployment":
      return { ...resource.args, version: resolved(resource.args.version) };
  }
}

/** Input field names that the manifest spells differently (it names files, not their contents). */
const MANIFEST_FIELDS: Record<string, string> = {
  "upload.certificatePem": "upload.certificateFile",
  "upload.privateKeyPem": "upload.privateKeyFile",
  "upload.chainPem": "upload.chainFile",
  "upload.passphrase": "upload.privateKeyFile",
  "signed.certificatePem": "signed.certificateFile",
  "signed.chainPem": "signed.chainFile",
  directoryCaPem: "directoryCaFile",
  "keystore.password": "keystore.passwordFrom",
};

/** Where in the manifest an input field of `resource` is written. */
function manifestPathOf(resource: PlannedResource, field: string | undefined): { path: FieldPath; key?: string } {
  if (field === undefined || field === "(inputs)" || field.includes("|")) return { path: resource.source };
  if ((resource.kind === "Certificate" && field === "name") || (resource.kind === "EnvironmentDeployment" && field === "environment")) {
    return { path: resource.source.slice(0, -1), key: resource.source[resource.source.length - 1] as string };
  }
  if (field === "certificate") return { path: resource.source };
  const prefix = Object.keys(MANIFEST_FIELDS).find((input) => field === input || field.startsWith(`${input}.`));
  const spelled = prefix ? MANIFEST_FIELDS[prefix] + field.slice(prefix.length) : field;
  return { path: [...resource.source, ...(resource.kind === "AcmeRenewal" ? ["acme"] : []), ...spelled.split(".")] };
}

function diagnosticOf(problem: CertstageError, resource: PlannedResource, positions: SourcePositions, file: string): ManifestDiagnostic {
  const { path, key } = manifestPathOf(resource, problem.field);
  const position = key !== undefined ? positions.ofKey(path, key) : positions.ofValue(path);
  return { code: problem.code, file, ...position, path: dotted(key !== undefined ? [...path, key] : path), problem: problem.problem, fix: problem.fix ?? "see the code's description in the README" };
}

/** Every problem the preview would report for the plan, each at its place in the manifest. */
export async function previewDiagnostics(plan: readonly PlannedResource[], positions: SourcePositions, file: string, settings: ProviderSettings, actor: Actor): Promise<ManifestDiagnostic[]> {
  const store = offlineStore();
  const diagnostics: ManifestDiagnostic[] = [];
  for (const resource of plan) {
    const context: HandlerContext = { store, settings, actor, principal: () => store.principal(actor), resource: resource.name };
    let problems: readonly CertstageError[];
    try {
      problems = problemsOfCheck(await HANDLERS[resource.kind].check({}, checkInputsOf(resource, plan), context));
    } catch (error) {
      if (!isCertstageError(error)) throw error;
      problems = [error];
    }
    diagnostics.push(...problems.map((problem) => diagnosticOf(problem, resource, positions, file)));
  }
  return diagnostics;
}
