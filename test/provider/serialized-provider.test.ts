/**
 * The resources under `pulumi.runtime.setMocks`: the serialized `__provider` each registers is
 * rebuilt exactly as Pulumi's provider host does (`require-from-string(src).handler()`) and
 * driven through a whole cycle, proving it serializes, runs outside the program, and carries no
 * secret, no absolute path and nothing large into state.
 */
import * as pulumi from "@pulumi/pulumi";
import requireFromString from "require-from-string";
import { beforeAll, describe, expect, it } from "vitest";
import { createFileStore } from "../../provider/store/drivers/file";
import { makeTestCertificate, REPO_ROOT, temporaryDirectory, TestCertificate } from "../support/certificates";

const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const registrations: Registration[] = [];
let leaf: TestCertificate;

beforeAll(async () => {
  leaf = makeTestCertificate(temporaryDirectory("mocks-pki"));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "certstage-mocks",
    "test",
    false,
  );
  const { Certificate, CertificateVersion, EnvironmentDeployment } = await import("../../provider");
  const api = new Certificate("api", { name: "api", displayName: "API" });
  const version = new CertificateVersion("api", {
    certificate: api,
    upload: { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem },
  });
  const production = new EnvironmentDeployment("api-production", { version, environment: "production" });
  await new Promise((resolve) => production.urn.apply(resolve));
  // Registrations complete asynchronously after the URN resolves.
  for (let attempt = 0; attempt < 100 && registrations.length < 3; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
});

const registration = (kind: string) => {
  const found = registrations.find((entry) => entry.type === `pulumi-nodejs:dynamic/certstage:${kind}`);
  if (!found) throw new Error(`no ${kind} registered; saw ${registrations.map((entry) => entry.type).join(", ")}`);
  return found;
};

/** Unwraps Pulumi's secret envelope the way the engine does before calling a provider. */
const plain = (value: any): any => (value && typeof value === "object" && SECRET_SIGNATURE in value ? value.value : value); // eslint-disable-line @typescript-eslint/no-explicit-any

describe("serialized provider", () => {
  it("registers each resource under its own type token", () => {
    expect(registrations.map((entry) => entry.type).sort()).toEqual([
      "pulumi-nodejs:dynamic/certstage:Certificate",
      "pulumi-nodejs:dynamic/certstage:CertificateVersion",
      "pulumi-nodejs:dynamic/certstage:EnvironmentDeployment",
    ]);
  });

  it("marks the uploaded key secret before it leaves the program", () => {
    const upload = registration("CertificateVersion").inputs.upload;
    expect(upload[SECRET_SIGNATURE]).toBeDefined();
  });

  it("captures nothing secret, absolute or large", () => {
    for (const entry of registrations) {
      const source: string = entry.inputs.__provider;
      expect(typeof source).toBe("string");
      expect(source.length).toBeLessThan(8_000);
      expect(source).not.toContain("PRIVATE KEY");
      expect(source).not.toContain("BEGIN CERTIFICATE");
      expect(source).not.toContain(REPO_ROOT);
      expect(source).not.toMatch(/node_modules/);
    }
  });

  it("rebuilt as the engine rebuilds it, runs a whole cycle against a store", async () => {
    const storeRoot = temporaryDirectory("mocks-store");
    const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": "mock-tester" };
    const config = { get: (key: string) => settings[key], require: (key: string) => settings[key] };
    const rebuild = (kind: string) => {
      const provider = requireFromString(registration(kind).inputs.__provider).handler();
      return provider;
    };
    const certificateProvider = rebuild("Certificate");
    const versionProvider = rebuild("CertificateVersion");
    const deploymentProvider = rebuild("EnvironmentDeployment");
    for (const provider of [certificateProvider, versionProvider, deploymentProvider]) await provider.configure({ config });

    const certificateInputs = registration("Certificate").inputs;
    expect((await certificateProvider.check({}, certificateInputs)).failures).toEqual([]);
    await certificateProvider.create(certificateInputs);

    const versionInputs = { ...registration("CertificateVersion").inputs, certificate: "api", upload: plain(registration("CertificateVersion").inputs.upload) };
    expect((await versionProvider.check({}, versionInputs)).failures).toEqual([]);
    const created = await versionProvider.create(versionInputs);
    expect(created.outs.version).toBe(1);

    const deploymentInputs = { ...registration("EnvironmentDeployment").inputs, certificate: "api", version: created.outs.version };
    expect((await deploymentProvider.check({}, deploymentInputs)).failures).toEqual([]);
    await deploymentProvider.create(deploymentInputs);

    const store = createFileStore({ root: storeRoot });
    expect(await store.getDeployment("api", "production")).toMatchObject({ version: 1 });
    expect((await store.readHistory()).map((entry) => entry.actor)).toEqual(["mock-tester", "mock-tester", "mock-tester"]);
  });
});
