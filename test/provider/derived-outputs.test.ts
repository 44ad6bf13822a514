/**
 * Outputs a certstage resource makes in the program from others instead of keeping in Pulumi's
 * state: a version's `fullchainPem` and `jwk` come from its `certificatePem` and `chainPem`, so
 * state does not hold the certificate twice (test/e2e/certificate-lifecycle.test.ts checks state lacks it). Under
 * `pulumi.runtime.setMocks`, whose engine answers with what a provider's create would return.
 * And outputs state keeps as JSON text (a deployment's `jwk`, a certificate's `jwks`), which the
 * program reads as objects, from the text and from the objects older states hold.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";

let leaf: TestCertificate;
/** A served key as the provider reports it (its members, not a real key: only its shape matters here). */
const SERVED_JWK = { kty: "EC", crv: "P-256", x: "x-coordinate", y: "y-coordinate", kid: "thumbprint", alg: "ES256" };

beforeAll(async () => {
  leaf = makeTestCertificate(temporaryDirectory("derived-outputs"));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        // What the version's create returns: the PEMs, and no fullchainPem or jwk.
        const asStored = (value: unknown) => (args.name.endsWith("-older") ? value : JSON.stringify(value));
        const outputs = args.type.endsWith(":CertificateVersion")
          ? { certificatePem: leaf.certificatePem, chainPem: leaf.chainPem }
          : args.type.endsWith(":EnvironmentDeployment")
            ? { jwk: asStored(SERVED_JWK) }
            : args.type.endsWith(":Certificate")
              ? { jwks: asStored({ production: { keys: [SERVED_JWK] } }) }
              : {};
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

  for (const stored of ["JSON text", "an object (older states)"]) {
    const suffix = stored === "JSON text" ? "" : "-older";
    it(`a deployment's jwk and a certificate's jwks are objects in the program, from ${stored} in state`, async () => {
      const { Certificate, EnvironmentDeployment } = await import("../../provider");
      const certificate = new Certificate(`edge${suffix}`, { name: `edge${suffix}` });
      const deployment = new EnvironmentDeployment(`edge-production${suffix}`, { certificate, version: 1, environment: "production" });
      expect(await resolved(deployment.jwk)).toEqual(SERVED_JWK);
      expect(await resolved(certificate.jwks)).toEqual({ production: { keys: [SERVED_JWK] } });
    });
  }
});
