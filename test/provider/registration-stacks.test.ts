/**
 * Registering a certstage resource does not format the SDK's per-promise debugging stacks
 * (resources/certstage-resource.ts): at a few thousand resources they were most of a preview's
 * time. These tests count the stack frames formatted while resources register, under
 * `pulumi.runtime.setMocks`, and check the limit always comes back and that someone debugging
 * promise leaks still gets the stacks.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type * as Certstage from "../../provider";

let certstage: typeof Certstage;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) },
    "certstage-stacks",
    "test",
    false,
  );
  certstage = await import("../../provider");
});

afterEach(() => {
  delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
});

/**
 * How many frames of the SDK's promise stacks (made in its `debuggablePromise`) were formatted
 * while `action` ran. The SDK's capture of each resource's source position is not counted.
 */
function framesFormattedDuring(action: () => void): number {
  const installed = Error.prepareStackTrace;
  let frames = 0;
  Error.prepareStackTrace = (error, stack) => {
    if (stack[0]?.getFunctionName() === "debuggablePromise") frames += stack.length;
    return installed ? installed(error, stack) : `${error}\n${stack.map((frame) => `    at ${frame}`).join("\n")}`;
  };
  try {
    action();
  } finally {
    Error.prepareStackTrace = installed;
  }
  return frames;
}

function declareStack(prefix: string): void {
  const { Certificate, CertificateVersion, EnvironmentDeployment } = certstage;
  const certificate = new Certificate(`${prefix}-api`, { name: `${prefix}-api` });
  const version = new CertificateVersion(`${prefix}-api`, {
    certificate,
    generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.test" }, sans: ["api.example.test"] },
  });
  new EnvironmentDeployment(`${prefix}-api-staging`, { version, environment: "staging" });
}

describe("resource registration", () => {
  it("formats no promise stacks, and puts the stack limit back", () => {
    const limit = Error.stackTraceLimit;
    expect(framesFormattedDuring(() => declareStack("quiet"))).toBe(0);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it("formats them when PULUMI_DEBUG_PROMISE_LEAKS asks for them", () => {
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
    // Four promises per property, each with its stack: far more frames than resources.
    expect(framesFormattedDuring(() => declareStack("debugging"))).toBeGreaterThan(100);
  });

  it("puts the limit back when registration throws", () => {
    const limit = Error.stackTraceLimit;
    expect(() => new certstage.Certificate("", { name: "nameless" })).toThrow(/name/);
    expect(Error.stackTraceLimit).toBe(limit);
  });
});

describe("registered properties", () => {
  it("are the declared outputs and the inputs that are set: an input left undefined costs the SDK nothing", async () => {
    const { registeredProperties } = await import("../../provider/resources/certstage-resource");
    const properties = registeredProperties({ name: "api", displayName: undefined, profile: undefined, owner: "team-a" }, ["name", "displayName", "latestVersion"]);
    expect(properties).toEqual({ name: "api", displayName: undefined, latestVersion: undefined, owner: "team-a" });
    expect(Object.keys(properties).sort()).toEqual(["displayName", "latestVersion", "name", "owner"]);
  });

  it("still gives every declared output, also one whose input was not set", () => {
    const certificate = new certstage.Certificate("outputs-api", { name: "outputs-api" });
    for (const output of [certificate.displayName, certificate.owner, certificate.description, certificate.latestVersion, certificate.jwks]) expect(pulumi.Output.isInstance(output)).toBe(true);
    const deployment = new certstage.EnvironmentDeployment("outputs-api-staging", { version: 1, certificate: "outputs-api", environment: "staging" });
    for (const output of [deployment.certificate, deployment.deployedVersion, deployment.status, deployment.task, deployment.jwk]) expect(pulumi.Output.isInstance(output)).toBe(true);
  });
});
