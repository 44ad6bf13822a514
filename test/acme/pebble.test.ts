/**
 * Proves the Pebble helper gives tests a working ACME server: a directory with ARI and profiles,
 * external account binding on demand, a real issuing CA, a DNS server that answers only for the
 * names a test registers, and servers that run side by side and go away when stopped.
 */
import { X509Certificate } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { existsSync } from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PebbleServer, startPebble } from "../support/pebble";

interface Directory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  renewalInfo?: string;
  meta?: { externalAccountRequired?: boolean; profiles?: Record<string, string> };
}

let plain: PebbleServer;
let withEab: PebbleServer;

beforeAll(async () => {
  const binDirectory = inject("pebbleBinDirectory");
  // Started together to prove they are independent; allSettled so one failing still leaves the
  // other assigned for afterAll to stop.
  const [first, second] = await Promise.allSettled([
    startPebble({ binDirectory, validitySeconds: 86_400, profiles: { shortlived: 3_600 } }),
    startPebble({ binDirectory, requireEab: true }),
  ]);
  if (first.status === "fulfilled") plain = first.value;
  if (second.status === "fulfilled") withEab = second.value;
  for (const result of [first, second]) if (result.status === "rejected") throw result.reason;
});

afterAll(async () => {
  await Promise.all([plain?.stop(), withEab?.stop()]);
});

describe("Pebble directory", () => {
  it("lists the ACME endpoints, renewal information and the configured profiles", async () => {
    const directory = await getJson<Directory>(plain.directoryUrl, plain.listenerCaPem);
    const base = new URL(plain.directoryUrl).origin;
    for (const endpoint of [directory.newNonce, directory.newAccount, directory.newOrder, directory.renewalInfo]) {
      expect(endpoint?.startsWith(`${base}/`)).toBe(true);
    }
    expect(directory.renewalInfo).toMatch(/\/renewalInfo$/);
    // The ARI endpoint is live: it parses the certificate ID rather than answering 404.
    await expect(getJson(`${directory.renewalInfo}/not-a-cert-id`, plain.listenerCaPem)).rejects.toThrow(/HTTP 400.*malformed/s);
    expect(Object.keys(directory.meta?.profiles ?? {}).sort()).toEqual(["default", "shortlived"]);
    expect(directory.meta?.externalAccountRequired).toBe(false);
    expect(plain.eab).toBeUndefined();
  });

  it("requires external account binding when asked and hands out the key", async () => {
    const directory = await getJson<Directory>(withEab.directoryUrl, withEab.listenerCaPem);
    expect(directory.meta?.externalAccountRequired).toBe(true);
    expect(withEab.eab?.kid).toBeTruthy();
    expect(withEab.eab?.hmacKey).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(withEab.eab?.hmacKey ?? "", "base64url")).toHaveLength(32);
  });

  it("is served with a listener certificate that only the helper's CA vouches for", async () => {
    await expect(getJson(plain.directoryUrl, withEab.listenerCaPem)).rejects.toThrow();
  });
});

describe("Pebble issuing CA", () => {
  it("serves a root CA and an intermediate it signed", async () => {
    const root = new X509Certificate(await plain.rootsPem());
    const intermediate = new X509Certificate(await plain.intermediatesPem());
    expect(root.ca).toBe(true);
    expect(intermediate.ca).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
  });

  it("is a different CA in each server", async () => {
    const [first, second] = await Promise.all([plain.rootsPem(), withEab.rootsPem()]);
    expect(new X509Certificate(first).fingerprint256).not.toBe(new X509Certificate(second).fingerprint256);
  });
});

describe("challenge DNS", () => {
  it("answers A queries with 127.0.0.1 for registered names only", async () => {
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${plain.dnsPort}`]);
    await expect(resolver.resolve4("unregistered.example.test")).rejects.toMatchObject({ code: expect.stringMatching(/^(ENODATA|ENOTFOUND)$/) });
    await plain.addHost("x.example.test");
    expect(await resolver.resolve4("x.example.test")).toEqual(["127.0.0.1"]);
  });

  it("keeps each server's names to itself", async () => {
    await plain.addHost("only-in-plain.example.test");
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${withEab.dnsPort}`]);
    await expect(resolver.resolve4("only-in-plain.example.test")).rejects.toMatchObject({ code: expect.any(String) });
  });

  it("refuses names outside .test", async () => {
    await expect(plain.addHost("example.com")).rejects.toThrow(/not a name under \.test/);
  });
});

describe("server lifecycle", () => {
  it("runs servers side by side and frees their ports when stopped", async () => {
    const ports = (server: PebbleServer) => [
      Number(new URL(server.directoryUrl).port),
      Number(new URL(server.managementUrl).port),
      Number(new URL(server.challengeServerUrl).port),
      server.dnsPort,
      server.httpChallengePort,
      server.tlsAlpnChallengePort,
    ];
    const all = [...ports(plain), ...ports(withEab)];
    expect(new Set(all).size).toBe(all.length);

    const listening = [Number(new URL(plain.directoryUrl).port), Number(new URL(plain.managementUrl).port), Number(new URL(plain.challengeServerUrl).port), plain.dnsPort];
    for (const port of listening) expect(await connects(port)).toBe(true);

    await plain.stop();
    for (const port of listening) expect(await connects(port)).toBe(false);
    expect(existsSync(plain.logs.pebble)).toBe(false);

    // The other server is untouched by its neighbour's stop.
    const directory = await getJson<Directory>(withEab.directoryUrl, withEab.listenerCaPem);
    expect(directory.newOrder).toBeTruthy();
  });
});

function getJson<T = unknown>(url: string, caPem: string): Promise<T> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: caPem, agent: false, headers: { "user-agent": "certstage-tests" } }, (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => (response.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`HTTP ${response.statusCode}: ${body}`))));
      })
      .on("error", reject);
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end(() => resolve(true)));
    socket.on("error", () => resolve(false));
  });
}
