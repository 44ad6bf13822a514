/**
 * A version's `privateKeyPem` output exists only with `exportPrivateKey: true`: by default the key
 * stays in the store and state holds none. Under `pulumi.runtime.setMocks`, whose engine records
 * what each resource registered and answers with what the provider's create would return.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { isCertstageError } from "../../provider/errors";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";

let leaf: TestCertificate;
const registered = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  leaf = makeTestCertificate(temporaryDirectory("private-key-export"));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.set(args.name, args.inputs);
        const isVersion = args.type.endsWith(":CertificateVersion");
        // What create returns: the key only when asked for (certificate-version.ts outputsOf).
        const outputs = isVersion ? { certificatePem: leaf.certificatePem, chainPem: leaf.chainPem, ...(args.inputs.exportPrivateKey ? { privateKeyPem: leaf.privateKeyPem } : {}) } : {};
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
      },
      call: () => ({}),
    },
    "certstage-key-export",
    "test",
    false,
  );
});

const resolved = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

describe("exportPrivateKey", () => {
  it("by default the version has no privateKeyPem: reading it throws PRIVATE_KEY_NOT_EXPORTED, naming the resource and the fix", async () => {
    const { Certificate, CertificateVersion } = await import("../../provider");
    const version = new CertificateVersion("api-plain", { certificate: new Certificate("api", { name: "api" }), upload: { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem } });
    let thrown: unknown;
    try {
      void version.privateKeyPem;
    } catch (error) {
      thrown = error;
    }
    expect(isCertstageError(thrown, "PRIVATE_KEY_NOT_EXPORTED")).toBe(true);
    expect((thrown as Error).message).toMatch(/^\[PRIVATE_KEY_NOT_EXPORTED\] resource 'api-plain', field 'privateKeyPem': .*Fix: set exportPrivateKey: true on this CertificateVersion/);
    // Spreading or listing the resource does not trip it, and the other outputs resolve.
    expect(Object.keys(version)).not.toContain("privateKeyPem");
    expect({ ...version }).not.toHaveProperty("privateKeyPem");
    expect(await resolved(version.certificatePem)).toBe(leaf.certificatePem);
    // The input is not sent at all, so a state written before it existed compares the same.
    await resolved(version.urn);
    expect(registered.get("api-plain")).not.toHaveProperty("exportPrivateKey");
    expect(registered.get("api-plain")).not.toHaveProperty("privateKeyPem");
  });

  it("with exportPrivateKey: true the key is an output a program can hand on", async () => {
    const { Certificate, CertificateVersion } = await import("../../provider");
    const version = new CertificateVersion("web-exported", {
      certificate: new Certificate("web", { name: "web" }),
      upload: { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem },
      exportPrivateKey: true,
    });
    expect(await resolved(version.privateKeyPem)).toBe(leaf.privateKeyPem);
    expect(registered.get("web-exported")).toMatchObject({ exportPrivateKey: true });
  });
});
