/**
 * Outputs a certstage resource makes in the program from others instead of keeping in Pulumi's
 * state: a version's `fullchainPem` and `jwk` come from its `certificatePem` and `chainPem`, so
 * state does not hold the certificate twice (test/e2e/certificate-lifecycle.test.ts checks state lacks it). Under
 * `pulumi.runtime.setMocks`, whose engine answers with what a provider's create would return.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";

let leaf: TestCertificate;

beforeAll(async () => {
  leaf = makeTestCertificate(temporaryDirectory("derived-outputs"));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        // What the version's create returns: the PEMs, and no fullchainPem or jwk.
        const outputs = args.type.endsWith(":CertificateVersion") ? { certificatePem: leaf.certificatePem, chainPem: leaf.chainPem } : {};
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
      },
      call: () => ({}),
    },
    "certstage-derived",
    "test",
    false,
  );
});

const resolved = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

describe("derived outputs", () => {
  it("a version's fullchainPem is its certificate then its chain", async () => {
    const { Certificate, CertificateVersion } = await import("../../provider");
    const version = new CertificateVersion("api", {
      certificate: new Certificate("api", { name: "api" }),
      upload: { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem },
    });
    expect(await resolved(version.fullchainPem)).toBe(leaf.certificatePem + leaf.chainPem);
    expect(leaf.chainPem).not.toBe("");
  });

  it("a version's jwk is its public key, with the certificate then the chain as x5c", async () => {
    const { Certificate, CertificateVersion } = await import("../../provider");
    const version = new CertificateVersion("web", {
      certificate: new Certificate("web", { name: "web" }),
      upload: { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem },
    });
    const jwk = await resolved(version.jwk);
    const ders = [leaf.certificatePem, ...leaf.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!].map((pem) => new X509Certificate(pem).raw.toString("base64"));
    expect(jwk.x5c).toEqual(ders);
    expect(ders.length).toBeGreaterThan(1);
    expect(createPublicKey({ key: jwk as never, format: "jwk" }).equals(new X509Certificate(leaf.certificatePem).publicKey)).toBe(true);
    expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
