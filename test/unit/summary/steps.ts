/**
 * Builds `pulumi preview --json` documents as the CLI prints them (the shape of the recorded
 * fixtures in test/fixtures/preview-json/), for tests that need many or odd ones.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const TYPES = {
  Certificate: "pulumi-nodejs:dynamic/certstage:Certificate",
  CertificateVersion: "pulumi-nodejs:dynamic/certstage:CertificateVersion",
  EnvironmentDeployment: "pulumi-nodejs:dynamic/certstage:EnvironmentDeployment",
  AcmeRenewal: "pulumi-nodejs:dynamic/certstage:AcmeRenewal",
} as const;

export type Kind = keyof typeof TYPES;

export function urnOf(kind: Kind, name: string): string {
  return `urn:pulumi:edge::infra::${TYPES[kind]}::${name}`;
}

export interface StepOptions {
  readonly old?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
  readonly dependencies?: Record<string, string[]>;
}

export function step(op: string, kind: Kind, name: string, inputs: Record<string, unknown> | undefined, options: StepOptions = {}): Record<string, unknown> {
  const urn = urnOf(kind, name);
  return {
    op,
    urn,
    ...(options.old ? { oldState: { urn, type: TYPES[kind], inputs: options.old.inputs ?? {}, outputs: options.old.outputs ?? {} } } : {}),
    ...(inputs ? { newState: { urn, type: TYPES[kind], inputs: { __provider: "exports.handler = …", ...inputs }, propertyDependencies: options.dependencies ?? {} } } : {}),
  };
}

export function previewDocument(steps: readonly Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ config: {}, steps, changeSummary: { create: steps.length }, ...extra }, null, 4);
}
