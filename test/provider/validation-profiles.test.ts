/**
 * Validation as `check` runs it at `pulumi preview`: the stack's profile and a certificate's own,
 * certificate inputs that hold their chain, internationalized names, and ACME wildcards.
 */
import { X509Certificate } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { configure, providerFor } from "../../provider/resources/runtime";
import { craftCertificate, CraftedCertificate, testAuthorities } from "../support/crafted-certificates";
import { temporaryDirectory } from "../support/certificates";

const certificates = providerFor("Certificate");
const versions = providerFor("CertificateVersion");
const renewals = providerFor("AcmeRenewal");
const deployments = providerFor("EnvironmentDeployment");
const DAY = 86_400_000;

function useSettings(extra: Record<string, string> = {}) {
  const settings: Record<string, string> = { "certstage:store": temporaryDirectory("profiles-store"), "certstage:principal": "tester", ...extra };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
}
beforeEach(() => useSettings());

async function uploadOf(leaf: CraftedCertificate) {
  return { certificatePem: leaf.pem, privateKeyPem: leaf.privateKeyPem, chainPem: (await testAuthorities()).intermediate.pem };
}
const reasons = (result: { failures?: Array<{ reason: string }> }) => (result.failures ?? []).map((failure) => failure.reason);
const longLived = () => craftCertificate({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 300 * DAY) });

describe("validation profiles at preview", () => {
  it("public (the default): a 300-day certificate is an error that cannot be acknowledged", async () => {
    await certificates.create({ name: "api" });
    const upload = await uploadOf(await longLived());
    expect(reasons(await versions.check({}, { certificate: "api", upload }))).toEqual([expect.stringMatching(/^\[LIFETIME_TOO_LONG\] field 'upload\.certificatePem': the certificate is valid for \d+ days from .*; the limit is 200 days \(CA\/B Forum SC-081v3 for certificates issued from 2026-03-15\)/)]);
    expect(reasons(await versions.check({}, { certificate: "api", upload, acknowledge: ["LIFETIME_TOO_LONG"] }))).toEqual([
      expect.stringMatching(/^\[ACKNOWLEDGE_INVALID\] field 'acknowledge': LIFETIME_TOO_LONG cannot be acknowledged under the public profile/),
      expect.stringMatching(/^\[LIFETIME_TOO_LONG\]/),
    ]);
  });

  it("certstage:profile private: the same certificate passes (its limit is 825 days); a stack value that is no profile is refused", async () => {
    useSettings({ "certstage:profile": "private" });
    await certificates.create({ name: "api" });
    expect(reasons(await versions.check({}, { certificate: "api", upload: await uploadOf(await longLived()) }))).toEqual([]);
    expect(() => useSettings({ "certstage:profile": "intranet" })).toThrow(/^\[CONFIG_INVALID\] field 'certstage:profile': 'intranet' is not a validation profile\. Fix: set one of public, private/);
  });

  it("a Certificate's own profile overrides the stack's, and is kept in the store", async () => {
    const created = await certificates.create({ name: "internal", profile: "private" });
    expect(created.outs.profile).toBe("private");
    const upload = await uploadOf(await longLived());
    // Referenced by name only: the profile comes from the store.
    expect(reasons(await versions.check({}, { certificate: "internal", upload }))).toEqual([]);
    // Passed by the wrapper (a Certificate object): the declared profile wins.
    expect(reasons(await versions.check({}, { certificate: "internal", certificateProfile: "public", upload }))).toEqual([expect.stringMatching(/^\[LIFETIME_TOO_LONG\]/)]);
    expect(await certificates.diff("internal", created.outs, { name: "internal" })).toEqual({ changes: true, replaces: [] });
    const updated = await certificates.update("internal", created.outs, { name: "internal" });
    expect(updated.outs.profile).toBeUndefined();
    expect(reasons(await versions.check({}, { certificate: "internal", upload }))).toEqual([expect.stringMatching(/^\[LIFETIME_TOO_LONG\]/)]);
  });
});

describe("certificate inputs and names at preview", () => {
  it("a certificate input holding the leaf and its intermediate is split, and the preview says so", async () => {
    await certificates.create({ name: "api" });
    const leaf = await craftCertificate({});
    const { intermediate } = await testAuthorities();
    const result = await versions.check({}, { certificate: "api", upload: { certificatePem: leaf.pem + intermediate.pem, privateKeyPem: leaf.privateKeyPem, chainPem: intermediate.pem } });
    expect(reasons(result)).toEqual([]);
    expect(result.inputs!.notes).toEqual(["upload.certificatePem held the certificate and 1 intermediate (CN=certstage crafted intermediate), which became the chain; 1 identical certificate in upload.chainPem dropped"]);
    expect(result.inputs!.chainFingerprints).toEqual([new X509Certificate(intermediate.pem).fingerprint256]);
    const created = await versions.create({ certificate: "api", upload: { certificatePem: leaf.pem + intermediate.pem, privateKeyPem: leaf.privateKeyPem } });
    expect(created.outs.certificatePem).toBe(leaf.pem.trim() + "\n");
    expect(created.outs.chainPem).toBe(intermediate.pem.trim() + "\n");
  });

  it("generate writes an internationalized name as its A-label, in the SAN and the CN, and shows both forms", async () => {
    await certificates.create({ name: "books" });
    const inputs = { certificate: "books", generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "bücher.example" }, sans: ["bücher.example", "www.bücher.example"] }, domains: ["xn--bcher-kva.example"] };
    const checked = await versions.check({}, inputs);
    expect(reasons(checked)).toEqual([]);
    expect(checked.inputs!.sans).toEqual(["xn--bcher-kva.example", "www.xn--bcher-kva.example"]);
    expect(checked.inputs!.sansUnicode).toEqual(["bücher.example", "www.bücher.example"]);
    const created = await versions.create(checked.inputs!);
    const x509 = new X509Certificate(created.outs.certificatePem);
    expect(x509.subjectAltName).toBe("DNS:xn--bcher-kva.example, DNS:www.xn--bcher-kva.example");
    expect(x509.subject).toBe("CN=xn--bcher-kva.example");
    expect(created.outs.sansUnicode).toEqual(["bücher.example", "www.bücher.example"]);
  });

  it("refuses malformed names where they enter, naming each", async () => {
    await certificates.create({ name: "api" });
    const generate = await versions.check({}, { certificate: "api", generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "api.example.com" }, sans: ["api.example.com", "*.*.example.com", "a..b.example.com"] } });
    expect(reasons(generate)).toEqual([
      expect.stringMatching(/^\[DNS_NAME_INVALID\] field 'generate\.sans\.1': "\*\.\*\.example\.com": '\*': a wildcard may only be the whole left-most label/),
      expect.stringMatching(/^\[DNS_NAME_INVALID\] field 'generate\.sans\.2': "a\.\.b\.example\.com": label 2 is empty/),
    ]);
    const leaf = await craftCertificate({});
    expect(reasons(await versions.check({}, { certificate: "api", upload: await uploadOf(leaf), domains: ["api.example.com", "bad_name.example.com"] }))).toEqual([
      expect.stringMatching(/^\[DNS_NAME_INVALID\] field 'domains\.1': "bad_name\.example\.com": label 'bad_name' may hold only/),
      expect.stringMatching(/^\[DOMAIN_NOT_COVERED\] field 'domains': bad_name\.example\.com is not in the certificate's names/),
    ]);
    await versions.create({ certificate: "api", upload: await uploadOf(leaf) });
    const deployment = await deployments.check({}, { certificate: "api", environment: "staging", version: 1, verify: { endpoints: ["127.0.0.1:443"], serverName: "not a name" } });
    expect(reasons(deployment)).toEqual([expect.stringMatching(/^\[DNS_NAME_INVALID\] field 'verify\.serverName': "not a name": the name holds a space/)]);
  });

  it("AcmeRenewal: a wildcard over http-01 is refused at preview; domains go to the CA as A-labels", async () => {
    await certificates.create({ name: "wild" });
    const base = { certificate: "wild", directory: "https://127.0.0.1:14000/dir", acceptTermsOfService: true };
    const wildcard = await renewals.check({}, { ...base, domains: ["*.example.com", "example.com"], challenge: { type: "http-01", listen: "127.0.0.1:5002" } });
    expect(reasons(wildcard)).toEqual([expect.stringMatching(/^\[CHALLENGE_UNSUITABLE\] field 'challenge': \*\.example\.com is a wildcard, which CAs validate only over dns-01 \(RFC 8555 §7\.1\.3\), not http-01\. Fix: use challenge/)]);
    expect(reasons(await renewals.check({}, { ...base, domains: ["*.example.com"], challenge: { type: "dns-01", hook: ["/bin/true"] } }))).toEqual([]);
    const idn = await renewals.check({}, { ...base, domains: ["bücher.example"], challenge: { type: "dns-01", hook: ["/bin/true"] } });
    expect(reasons(idn)).toEqual([]);
    expect(idn.inputs!.domains).toEqual(["xn--bcher-kva.example"]);
    expect(idn.inputs!.domainsUnicode).toEqual(["bücher.example"]);
  });
});
