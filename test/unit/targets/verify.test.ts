/**
 * Verification against a real TLS server (Node's), whose certificate is switched mid-wait the way
 * a reload switches a web server's.
 */
import { X509Certificate } from "node:crypto";
import { createServer, Server } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { describeServed, servedLeaf, waitUntilServed } from "../../../provider/targets/verify";
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
    const port = await serve(oldCertificate);
    setTimeout(() => server!.setSecureContext({ cert: newCertificate.certificatePem + newCertificate.chainPem, key: newCertificate.privateKeyPem }), 300);
    const rounds: number[] = [];
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "new.example.test" }], fingerprint(newCertificate), { timeoutMs: 5000, intervalMs: 50, onProgress: (round) => rounds.push(round) });
    expect(result.ok).toBe(true);
    expect(result.attempts).toBeGreaterThan(1);
    expect(rounds.at(-1)).toBe(result.attempts);
  });

  it("gives up at the deadline and says what was served instead", async () => {
    const port = await serve(oldCertificate);
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "api.example.test" }], fingerprint(newCertificate), { timeoutMs: 300, intervalMs: 50 });
    expect(result.ok).toBe(false);
    expect(describeServed(result.served)).toBe(`127.0.0.1:${port} served ${fingerprint(oldCertificate).slice(0, 23)}… (CN=old.example.test)`);
  });

  it("reports an endpoint that does not answer", async () => {
    const port = await serve(oldCertificate);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const result = await waitUntilServed([{ host: "127.0.0.1", port, serverName: "x.test" }], "AA", { timeoutMs: 100, intervalMs: 50 });
    expect(describeServed(result.served)).toBe(`127.0.0.1:${port}: ECONNREFUSED`);
  });
});
