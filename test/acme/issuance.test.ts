/**
 * ACME issuance against a real Pebble on loopback: key types, external account binding, ARI
 * (renewalInfo and `replaces`), a CA rejecting half of all nonces, and a challenge the CA cannot
 * validate.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ariCertificateId, fetchRenewalInfo } from "../../provider/acme/ari";
import { issueCertificate, IssueRequest } from "../../provider/acme/issue";
import { startHttp01Responder } from "../../provider/acme/solvers/http01-responder";
import type { ChallengeSolver } from "../../provider/acme/solvers/solver";
import { trustAcmeServerRoots } from "../../provider/acme/trust";
import { generatePrivateKey, KeyAlgorithm } from "../../provider/pki/key-generation";
import { PebbleServer, PebbleOptions, startPebble } from "../support/pebble";

const servers: PebbleServer[] = [];

async function pebbleWith(options: PebbleOptions = {}): Promise<PebbleServer> {
  const server = await startPebble({ binDirectory: inject("pebbleBinDirectory"), ...options });
  servers.push(server);
  trustAcmeServerRoots(server.listenerCaPem);
  return server;
}
afterAll(async () => Promise.all(servers.map((server) => server.stop())));

const accountKey = async () => (await generatePrivateKey("ECDSA-P256")).export({ type: "pkcs8", format: "pem" }).toString();
const uniqueName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}.example.test`;

async function issueWith(server: PebbleServer, overrides: Partial<IssueRequest> & { keyAlgorithm?: KeyAlgorithm } = {}) {
  const name = uniqueName("issue");
  await server.addHost(name);
  const solver: ChallengeSolver = overrides.solver ?? (await startHttp01Responder(`127.0.0.1:${server.httpChallengePort}`));
  const certificateKey = await generatePrivateKey(overrides.keyAlgorithm ?? "ECDSA-P256");
  try {
    const issued = await issueCertificate({ directoryUrl: server.directoryUrl, accountKeyPem: await accountKey(), termsOfServiceAgreed: true, domains: [name], certificateKey, solver, ...overrides });
    return { name, issued, certificateKey };
  } finally {
    await solver.close();
  }
}

describe("issuance", () => {
  let pebble: PebbleServer;
  beforeAll(async () => {
    pebble = await pebbleWith();
  });

  it.each(["ECDSA-P256", "ECDSA-P384", "RSA-2048"] as const)("issues for a %s key, chained to Pebble's root", async (keyAlgorithm) => {
    const { name, issued, certificateKey } = await issueWith(pebble, { keyAlgorithm });
    const leaf = new X509Certificate(issued.certificatePem);
    expect(leaf.subjectAltName).toBe(`DNS:${name}`);
    expect(leaf.checkPrivateKey(certificateKey)).toBe(true);
    const intermediate = new X509Certificate(issued.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]);
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(issued.accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
  });

  it("ARI: the CA suggests a window for the certificate, and accepts an order that replaces it", async () => {
    // Replacing is only allowed to the account that ordered the certificate being replaced.
    const account = await accountKey();
    const first = await issueWith(pebble, { accountKeyPem: account });
    const directory = (await (await import("acme-client")).axios.get(pebble.directoryUrl)).data as { renewalInfo?: string };
    expect(directory.renewalInfo).toMatch(/^https:/);
    const id = ariCertificateId(first.issued.certificatePem);
    expect(id).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const info = await fetchRenewalInfo(directory.renewalInfo, id);
    const leaf = new X509Certificate(first.issued.certificatePem);
    expect(Date.parse(info!.suggestedWindow.start)).toBeGreaterThan(Date.parse(leaf.validFrom));
    expect(Date.parse(info!.suggestedWindow.end)).toBeLessThanOrEqual(Date.parse(leaf.validTo));

    const solver = await startHttp01Responder(`127.0.0.1:${pebble.httpChallengePort}`);
    try {
      const replacement = await issueCertificate({
        directoryUrl: pebble.directoryUrl,
        accountKeyPem: account,
        termsOfServiceAgreed: true,
        domains: [first.name],
        certificateKey: await generatePrivateKey("ECDSA-P256"),
        solver,
        replaces: id,
      });
      expect(new X509Certificate(replacement.certificatePem).subjectAltName).toBe(`DNS:${first.name}`);
    } finally {
      await solver.close();
    }
  });

  it("a challenge the CA cannot validate fails with the CA's problem document", async () => {
    const name = uniqueName("unreachable");
    await pebble.addHost(name);
    // A solver that answers nothing: the responder is "down".
    const down: ChallengeSolver = { type: "http-01", present: async () => {}, cleanUp: async () => {}, close: async () => {} };
    const failure = issueCertificate({ directoryUrl: pebble.directoryUrl, accountKeyPem: await accountKey(), termsOfServiceAgreed: true, domains: [name], certificateKey: await generatePrivateKey("ECDSA-P256"), solver: down });
    await expect(failure).rejects.toThrow(new RegExp(`\\[CHALLENGE_FAILED\\] field 'challenge': the CA could not validate ${name.replace(/\./g, "\\.")}: \\{"type":"urn:ietf:params:acme:error:(connection|unauthorized)"`));
  });

  it("refuses a replacement ordered by another account, with the CA's problem type", async () => {
    const first = await issueWith(pebble);
    const solver = await startHttp01Responder(`127.0.0.1:${pebble.httpChallengePort}`);
    try {
      const stranger = issueCertificate({
        directoryUrl: pebble.directoryUrl,
        accountKeyPem: await accountKey(),
        termsOfServiceAgreed: true,
        domains: [first.name],
        certificateKey: await generatePrivateKey("ECDSA-P256"),
        solver,
        replaces: ariCertificateId(first.issued.certificatePem),
      });
      await expect(stranger).rejects.toThrow(/\[ACME_FAILED\] field 'directory': the order for .* failed after 1 attempt: urn:ietf:params:acme:error:\w+: .*did not request the certificate being replaced/);
    } finally {
      await solver.close();
    }
  });
});

describe("ACME profiles", () => {
  it("an order naming a profile gets that profile's lifetime", async () => {
    const pebble = await pebbleWith({ profiles: { shortlived: 6 * 3600 } });
    const { issued } = await issueWith(pebble, { profile: "shortlived" });
    const leaf = new X509Certificate(issued.certificatePem);
    expect(Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 3_600_000)).toBe(6);
  });
});

describe("external account binding", () => {
  let pebble: PebbleServer;
  beforeAll(async () => {
    pebble = await pebbleWith({ requireEab: true });
  });

  it("is refused without a binding and issues with one", async () => {
    await expect(issueWith(pebble)).rejects.toThrow(/\[ACME_FAILED\].*urn:ietf:params:acme:error:externalAccountRequired: .*'externalAccountBinding'/);
    const { issued } = await issueWith(pebble, { externalAccountBinding: pebble.eab });
    expect(issued.certificatePem).toContain("BEGIN CERTIFICATE");
  });
});

describe("a CA rejecting half of all nonces", () => {
  let pebble: PebbleServer;
  beforeAll(async () => {
    pebble = await pebbleWith({ nonceRejectPercent: 50 });
  });

  it("20 of 20 issuances succeed, although the CA rejected many nonces on the way", async () => {
    // Every answer passes through acme-client's one axios instance: count the CA's badNonce problems.
    const acme = require("acme-client") as typeof import("acme-client");
    let signedRequests = 0;
    let rejectedNonces = 0;
    const counter = acme.axios.interceptors.response.use((response) => {
      if (response.config.method === "post") signedRequests += 1;
      if (response.status === 400 && (response.data as { type?: string } | undefined)?.type === "urn:ietf:params:acme:error:badNonce") rejectedNonces += 1;
      return response;
    });
    let issued = 0;
    try {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        await issueWith(pebble);
        issued += 1;
      }
    } finally {
      acme.axios.interceptors.response.eject(counter);
    }
    console.log(`20 issuances: ${signedRequests} signed requests, ${rejectedNonces} nonces rejected by the CA`);
    expect(issued).toBe(20);
    // At 50 %, about half of all signed requests; far more than none (20 issuances make 200 or so).
    expect(rejectedNonces).toBeGreaterThan(signedRequests / 4);
  });
});
