/**
 * Verification against a real TLS server (Node's), whose certificate is switched mid-wait the way
 * a reload switches a web server's, or which for a while hands out either certificate, the way
 * nginx does while old workers still accept beside new ones.
 */
import { X509Certificate } from "node:crypto";
import { createSecureContext, createServer, SecureContext, Server } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { describeServed, describeSettled, servedLeaf, waitUntilServed } from "../../../provider/targets/verify";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../../support/certificates";

let oldCertificate: TestCertificate;
let newCertificate: TestCertificate;
let server: Server | undefined;

beforeAll(() => {
  const pki = temporaryDirectory("verify");
  oldCertificate = makeTestCertificate(pki, "old.example.test");
  newCertificate = makeTestCertificate(pki, "new.example.test");
});
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(certificate: TestCertificate): Promise<number> {
  server = createServer({ cert: certificate.certificatePem + certificate.chainPem, key: certificate.privateKeyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

const fingerprint = (certificate: TestCertificate) => new X509Certificate(certificate.certificatePem).fingerprint256;

describe("verification", () => {
  it("reads the served leaf of an endpoint", async () => {
    const port = await serve(oldCertificate);
    expect(await servedLeaf({ host: "127.0.0.1", port, serverName: "old.example.test" })).toEqual({ fingerprintSha256: fingerprint(oldCertificate), subject: "old.example.test" });
  });

  it("waits until the new certificate is served, reporting progress", async () => {
    // The switch happens between two rounds of four (after the 8th connection), not at a time: a
    // timer could land inside a round and hand it both leaves, which is a relapse, not this case.
    const contexts = [oldCertificate, newCertificate].map((certificate) => createSecureContext({ cert: certificate.certificatePem + certificate.chainPem, key: certificate.privateKeyPem }));
    let connections = 0;
    server = createServer({ SNICallback: (_name, callback) => callback(null, contexts[(connections += 1) <= 8 ? 0 : 1]) }, (socket) => socket.end());
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const rounds: number[] = [];
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "new.example.test" }], fingerprint(newCertificate), { timeoutMs: 5000, settleMs: 200, intervalMs: 50, onProgress: (round) => rounds.push(round) });
    expect(result.ok).toBe(true);
    expect(result.rounds).toBeGreaterThan(2);
    expect(rounds.at(-1)).toBe(result.rounds);
    const endpoint = result.endpoints[`127.0.0.1:${port}`];
    expect(endpoint.run.spanMs).toBeGreaterThanOrEqual(200);
    expect(endpoint.relapses).toBe(0);
    expect(describeSettled(result)).toBe(`127.0.0.1:${port}: ${endpoint.run.handshakes} consecutive handshakes over ${endpoint.run.spanMs} ms (first after ${endpoint.firstServedAfterMs} ms)`);
  });

  it("gives up at the deadline and says what was served instead", async () => {
    const port = await serve(oldCertificate);
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "api.example.test" }], fingerprint(newCertificate), { timeoutMs: 300, settleMs: 0, intervalMs: 50 });
    expect(result.ok).toBe(false);
    expect(describeServed(result)).toBe(`127.0.0.1:${port} served ${fingerprint(oldCertificate).slice(0, 23)}… (CN=old.example.test)`);
  });

  it("reports an endpoint that does not answer", async () => {
    const port = await serve(oldCertificate);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "x.test" }], "AA", { timeoutMs: 100, settleMs: 0, intervalMs: 50 });
    expect(describeServed(result)).toBe(`127.0.0.1:${port}: ECONNREFUSED`);
  });

  it("an endpoint that hands out either leaf is verified only after a whole settle period of the new one", async () => {
    // Like nginx between starting new workers and stopping old ones: of the first 12 connections,
    // every third still gets the old certificate; after that, only the new one.
    const contexts = [oldCertificate, newCertificate].map((certificate) => createSecureContext({ cert: certificate.certificatePem + certificate.chainPem, key: certificate.privateKeyPem }));
    let connections = 0;
    let lastOldServedAt = 0;
    const choose = (): SecureContext => {
      connections += 1;
      if (connections <= 12 && connections % 3 === 0) {
        lastOldServedAt = Date.now();
        return contexts[0];
      }
      return contexts[1];
    };
    server = createServer({ SNICallback: (_name, callback) => callback(null, choose()) }, (socket) => socket.end());
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "new.example.test" }], fingerprint(newCertificate), { timeoutMs: 5000, settleMs: 300, handshakesPerRound: 4 });
    const returnedAt = Date.now();
    const endpoint = result.endpoints[`127.0.0.1:${port}`];
    expect(result.ok).toBe(true);
    // Rounds of 4: connections 3, 6, 9 and 12 broke the first three runs.
    expect(endpoint.relapses).toBe(3);
    // Verified no earlier than a full settle period after the last old leaf was handed out.
    expect(returnedAt - lastOldServedAt).toBeGreaterThanOrEqual(300);
    expect(endpoint.run.spanMs).toBeGreaterThanOrEqual(300);
  });

  it("an endpoint that never stops handing out the old leaf fails, saying what it served and how the runs ended", async () => {
    const contexts = [oldCertificate, newCertificate].map((certificate) => createSecureContext({ cert: certificate.certificatePem + certificate.chainPem, key: certificate.privateKeyPem }));
    let connections = 0;
    server = createServer({ SNICallback: (_name, callback) => callback(null, contexts[(connections += 1) % 5 === 0 ? 0 : 1]) }, (socket) => socket.end());
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "new.example.test" }], fingerprint(newCertificate), { timeoutMs: 800, settleMs: 500, handshakesPerRound: 4 });
    expect(result.ok).toBe(false);
    expect(describeServed(result)).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:${port} served ${fingerprint(oldCertificate).slice(0, 23)}… \\(CN=old\\.example\\.test\\); the new leaf first after \\d+ ms, [1-9]\\d* time\\(s\\) another since, the last run \\d+ handshakes over \\d+ ms$`),
    );
  });
});
