/**
 * The AcmeRenewal resource's provider methods against a real Pebble and a temporary store:
 * first issuance, the renewal decision a preview shows, ARI, key policies, and revocation only on
 * an explicit delete.
 */
import { X509Certificate } from "node:crypto";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { configure, providerFor } from "../../provider/resources/runtime";
import { renewBeforeMs } from "../../provider/lifecycle/renewal";
import { createFileStore } from "../../provider/store/drivers/file";
import { temporaryDirectory } from "../support/certificates";
import { PebbleServer, startPebble } from "../support/pebble";

const certificates = providerFor("Certificate");
const renewals = providerFor("AcmeRenewal");

let pebble: PebbleServer;
let storeRoot: string;
const newOrderPayloads: Array<Record<string, unknown>> = [];
/** While set, downloading an issued certificate fails, as if the process died right after finalizing. */
let failCertificateDownloads = false;

beforeAll(async () => {
  pebble = await startPebble({ binDirectory: inject("pebbleBinDirectory") });
  storeRoot = temporaryDirectory("acme-renewal-store");
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": "acme-tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
  // Record what is ordered: the JWS payload of every newOrder request.
  const acme = await import("acme-client");
  acme.axios.interceptors.request.use((config) => {
    const jws = typeof config.data === "string" ? JSON.parse(config.data) : config.data;
    if (typeof config.url === "string" && config.url.includes("order-plz") && typeof jws?.payload === "string") {
      newOrderPayloads.push(JSON.parse(Buffer.from(jws.payload, "base64url").toString()));
    }
    if (failCertificateDownloads && typeof config.url === "string" && config.url.includes("/certZ/")) throw new Error("killed after the CA was asked to finalize");
    return config;
  });
});
afterAll(async () => pebble?.stop());
afterEach(() => {
  delete process.env.CERTSTAGE_NOW;
});

const store = () => createFileStore({ root: storeRoot });

function renewalInputs(certificate: string, name: string, extra: Record<string, unknown> = {}) {
  return {
    certificate,
    domains: [name],
    directory: pebble.directoryUrl,
    directoryCaPem: pebble.listenerCaPem,
    acceptTermsOfService: true,
    challenge: { type: "http-01", listen: `127.0.0.1:${pebble.httpChallengePort}` },
    ...extra,
  };
}

/** Pebble's view of a certificate: `Valid` or `Revoked` (management API). */
async function certificateStatus(serial: string): Promise<string> {
  const https = await import("node:https");
  const body = await new Promise<string>((resolve, reject) => {
    https.get(`${pebble.managementUrl}/cert-status-by-serial/${serial}`, { ca: pebble.listenerCaPem, headers: { "user-agent": "certstage-tests" } }, (answer) => {
      let text = "";
      answer.on("data", (chunk) => (text += chunk));
      answer.on("end", () => resolve(text));
    }).on("error", reject);
  });
  return (JSON.parse(body) as { Status: string }).Status;
}

describe("AcmeRenewal", () => {
  it("issues version 1, says when renewal is due, and a preview in the window shows the renewal", async () => {
    const name = "renew.example.test";
    await pebble.addHost(name);
    await certificates.create({ name: "renewed" });
    const inputs = renewalInputs("renewed", name);
    expect((await renewals.check({}, inputs)).failures).toEqual([]);
    const created = await renewals.create((await renewals.check({}, inputs)).inputs!);
    expect(created.outs).toMatchObject({ version: 1, renewal: expect.stringMatching(/^due at /) });
    const record = await store().getAcmeRenewal("renewed");
    expect(record).toMatchObject({ version: 1, ariCertificateId: expect.stringMatching(/\./) });
    // When the window (the default: a third of the lifetime left, half for 10 days or less) puts the renewal: what certstage metrics reports.
    const lifetime = Date.parse(record!.notAfter) - Date.parse(record!.notBefore);
    expect(record!.renewalDueAt).toBe(new Date(Date.parse(record!.notAfter) - renewBeforeMs({}, lifetime)).toISOString());
    const served = new X509Certificate((await store().readVersionFiles("renewed", 1)).certificatePem);
    expect(served.subjectAltName).toBe(`DNS:${name}`);

    // Now: not due, nothing to do.
    const today = (await renewals.check(inputs, inputs)).inputs!;
    expect(await renewals.diff(created.id, created.outs, today)).toEqual({ changes: false, replaces: [] });

    // Past the CA's suggested time: the preview shows a renewal, as a replacement.
    process.env.CERTSTAGE_NOW = new Date(Date.parse(created.outs.renewalDueAt) + 60_000).toISOString();
    const later = (await renewals.check(inputs, inputs)).inputs!;
    expect(later.renewal).toMatch(/^renewal due: expires \d{4}-\d\d-\d\d, \d+ days left, the CA's renewal window \(ARI\) suggests /);
    expect(await renewals.diff(created.id, created.outs, later)).toEqual({ changes: true, replaces: ["renewal"] });
  });

  it("renews with `replaces`, a new key by default, the same key under keyPolicy reuse, and never revokes on renewal", async () => {
    const name = "rotate.example.test";
    await pebble.addHost(name);
    await certificates.create({ name: "rotated" });
    const first = await renewals.create(renewalInputs("rotated", name));
    const firstRecord = await store().getAcmeRenewal("rotated");

    newOrderPayloads.length = 0;
    const second = await renewals.create(renewalInputs("rotated", name));
    expect(second.outs.version).toBe(2);
    expect(newOrderPayloads.at(-1)?.replaces).toBe(firstRecord?.ariCertificateId);
    const keyOf = async (version: number) => (await store().readVersionFiles("rotated", version)).privateKeyPem;
    expect(await keyOf(2)).not.toBe(await keyOf(1));

    const third = await renewals.create(renewalInputs("rotated", name, { keyPolicy: "reuse" }));
    expect(third.outs.version).toBe(3);
    expect(await keyOf(3)).toBe(await keyOf(2));

    // The replaced instances are deleted after a renewal: nothing is revoked.
    await renewals.delete(first.id, { ...first.outs, revokeOnDelete: true });
    await renewals.delete(second.id, { ...second.outs, revokeOnDelete: true });
    expect(await certificateStatus(first.outs.serial)).toBe("Valid");
    expect(await store().getAcmeRenewal("rotated")).toMatchObject({ version: 3 });

    // An explicit delete of the current one, with revokeOnDelete and nothing serving it, revokes.
    await renewals.delete(third.id, { ...third.outs, revokeOnDelete: true });
    expect(await certificateStatus(third.outs.serial)).toBe("Revoked");
    expect(await store().getAcmeRenewal("rotated")).toBeUndefined();
  });

  it("a failed order is a failed acme.order line in the history, which certstage notify announces", async () => {
    const name = "blocked.example.test";
    await pebble.addHost(name);
    await certificates.create({ name: "blocked" });
    // The http-01 port is taken: the order cannot be answered, as when a load balancer's port is busy.
    const { createServer } = await import("node:net");
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const port = (squatter.address() as import("node:net").AddressInfo).port;
    try {
      await expect(renewals.create({ ...renewalInputs("blocked", name), challenge: { type: "http-01", listen: `127.0.0.1:${port}` } })).rejects.toThrow(/CHALLENGE_FAILED.*EADDRINUSE/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    const history = await store().readHistory({ certificate: "blocked" });
    expect(history.filter((entry) => entry.result === "failed")).toEqual([
      expect.objectContaining({ action: "acme.order", certificate: "blocked", actor: "acme-tester", detail: expect.stringMatching(/^blocked\.example\.test: \[CHALLENGE_FAILED\] .*EADDRINUSE/) }),
    ]);
    expect(await store().listVersions("blocked")).toEqual([]);
    // What notify would send for it: one failure message naming the certificate and the CA's problem.
    const { noticesDue, parseBands, DEFAULT_BANDS } = await import("../../provider/lifecycle/notices");
    const { noticeMessage } = await import("../../provider/cli/notify");
    const notices = noticesDue({ deployments: [], versions: [], history, bands: parseBands(DEFAULT_BANDS), sent: new Set(), now: new Date() });
    expect(notices.map((notice) => noticeMessage(notice).text)).toEqual([
      expect.stringMatching(/^certstage: The ACME order \(issuance or renewal\) failed for certificate blocked at .*EADDRINUSE/),
    ]);
  });

  it("issues through dns-01 with a hook", async () => {
    await certificates.create({ name: "dnsissued" });
    const hook = [process.execPath, path.join(__dirname, "challtestsrv-hook.cjs"), pebble.challengeServerUrl];
    const created = await renewals.create(renewalInputs("dnsissued", "dns-only.example.test", { challenge: { type: "dns-01", hook }, keyAlgorithm: "RSA-2048" }));
    expect(created.outs.version).toBe(1);
    const certificate = new X509Certificate((await store().readVersionFiles("dnsissued", 1)).certificatePem);
    expect(certificate.subjectAltName).toBe("DNS:dns-only.example.test");
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("check refuses windows that can never be satisfied, a refused ToS and an incomplete challenge", async () => {
    const result = await renewals.check({}, renewalInputs("renewed", "x.example.test", { renewBeforePercent: 100, acceptTermsOfService: false, challenge: { type: "http-01" } }));
    expect(result.failures?.map((failure) => failure.reason.match(/^\[(\w+)\] field '([^']+)'/)?.slice(1).join(" "))).toEqual([
      "INPUT_SCHEMA acceptTermsOfService",
      "INPUT_SCHEMA challenge",
      "RENEWAL_WINDOW_INVALID renewBeforePercent",
    ]);
    const tooLong = await renewals.check({}, renewalInputs("renewed", "renew.example.test", { renewBefore: "91d" }));
    expect(tooLong.failures?.[0].reason).toMatch(/^\[RENEWAL_WINDOW_INVALID\] field 'renewBefore': renewBefore \(91 days\) is not shorter than the certificates this CA issues/);
  });

  it("an order the CA issued but a killed run never saved is downloaded by the next create, not ordered again", async () => {
    const name = "finalized.example.test";
    await pebble.addHost(name);
    await certificates.create({ name: "finalized" });
    const inputs = (await renewals.check({}, { ...renewalInputs("finalized", name), resourceUrn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/certstage:AcmeRenewal::finalized" })).inputs!;
    const ordersBefore = newOrderPayloads.length;
    failCertificateDownloads = true;
    try {
      await expect(renewals.create(inputs)).rejects.toThrow(/killed after the CA was asked to finalize/);
    } finally {
      failCertificateDownloads = false;
    }
    expect(await store().listVersions("finalized")).toEqual([]);
    const order = await store().getAcmeOrder("finalized");
    expect(order?.orderUrl).toMatch(/^https:\/\/.*\/my-order\//);

    const lines: string[] = [];
    const original = console.error;
    console.error = (line: string) => lines.push(line);
    let created;
    try {
      created = await renewals.create(inputs);
    } finally {
      console.error = original;
    }
    expect(newOrderPayloads.length - ordersBefore, "one order in all").toBe(1);
    expect(lines).toContain(`certstage: certificate 'finalized': the CA had issued the order a killed run finalized (${order!.orderUrl}); saved it instead of ordering again`);
    expect(created.outs).toMatchObject({ version: 1 });
    const saved = await store().readVersionFiles("finalized", 1);
    expect(new X509Certificate(saved.certificatePem).checkPrivateKey((await import("node:crypto")).createPrivateKey(saved.privateKeyPem!))).toBe(true);
    expect(await certificateStatus(new X509Certificate(saved.certificatePem).serialNumber.toLowerCase())).toBe("Valid");
    expect(await store().getAcmeOrder("finalized"), "the order is done").toBeUndefined();
  });
});
