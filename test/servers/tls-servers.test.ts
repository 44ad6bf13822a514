/**
 * Proves the real-server helpers work: nginx serves what a certstage deployment symlink points at
 * and picks up a swapped symlink on reload; HAProxy takes a new certificate through its runtime
 * API without a restart and keeps the old one when the change is aborted; both listen on their
 * one loopback port only and give it back when stopped.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { haproxyPemPayload, HaproxyServer, NginxServer, startHaproxy, startNginx, tlsHandshake } from "../support/tls-servers";

const SERVER_NAME = "api.example.test";

let workDirectory: string;
let first: TestCertificate;
let second: TestCertificate;
let store: string;

beforeAll(() => {
  workDirectory = temporaryDirectory("tls-servers-test");
  const pki = path.join(workDirectory, "pki");
  // The script reuses one leaf directory per name, so each PEM is read before the next is made.
  first = makeTestCertificate(pki, SERVER_NAME);
  second = makeTestCertificate(pki, SERVER_NAME);
  store = path.join(workDirectory, "store");
  writeVersion(1, first);
  writeVersion(2, second);
  mkdirSync(path.join(store, "environments", "production"), { recursive: true });
  deploy(1);
});

afterAll(() => {
  if (workDirectory) rmSync(workDirectory, { recursive: true, force: true });
});

/** <store>/certificates/api/versions/<n>/{cert,chain,fullchain,privkey}.pem, as the file store lays them out. */
function writeVersion(version: number, certificate: TestCertificate): void {
  const directory = path.join(store, "certificates", "api", "versions", String(version));
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, "cert.pem"), certificate.certificatePem);
  writeFileSync(path.join(directory, "chain.pem"), certificate.chainPem);
  writeFileSync(path.join(directory, "fullchain.pem"), certificate.certificatePem + certificate.chainPem);
  writeFileSync(path.join(directory, "privkey.pem"), certificate.privateKeyPem, { mode: 0o600 });
}

const deploymentLink = () => path.join(store, "environments", "production", "api");

/** Points environments/production/api at a version with one rename, as a certstage deployment does. */
function deploy(version: number): void {
  const link = deploymentLink();
  const temporary = `${link}.tmp-${process.pid}`;
  symlinkSync(path.join("..", "..", "certificates", "api", "versions", String(version)), temporary);
  renameSync(temporary, link);
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

async function servedLeaf(port: number): Promise<string> {
  return (await tlsHandshake(port, SERVER_NAME)).leaf.fingerprint256;
}

/** The TCP listening sockets (IPv4 and IPv6) among `pid`'s open files, as "address:port". */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((inode): inode is string => inode !== undefined),
  );
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A" || !inodes.has(fields[9])) continue;
      const [address, port] = fields[1].split(":");
      found.push(`${decodeAddress(address)}:${parseInt(port, 16)}`);
    }
  }
  return found.sort();
}

/** /proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) order. */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, "hex");
  for (let offset = 0; offset < bytes.length; offset += 4) bytes.subarray(offset, offset + 4).reverse();
  return bytes.length === 4 ? Array.from(bytes).join(".") : `[${Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(":")}]`;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** GET / over an already open TLS connection; resolves with the status line. */
function getOver(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
      if (answer.includes("\r\n")) resolve(answer.split("\r\n")[0]);
    });
    socket.once("error", reject);
    socket.once("end", () => reject(new Error(`connection closed; got ${JSON.stringify(answer)}`)));
    socket.write(`GET / HTTP/1.1\r\nHost: ${SERVER_NAME}\r\nConnection: close\r\n\r\n`);
  });
}

function openConnection(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: SERVER_NAME, rejectUnauthorized: false }, () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("nginx", () => {
  let nginx: NginxServer;

  beforeAll(async () => {
    nginx = await startNginx({
      certificateFile: path.join(deploymentLink(), "fullchain.pem"),
      keyFile: path.join(deploymentLink(), "privkey.pem"),
      serverName: SERVER_NAME,
      binary: inject("tlsServerBinaries").nginx,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  it("serves the certificate the deployment symlink points at, with its chain, to SNI handshakes", async () => {
    const served = await tlsHandshake(nginx.port, SERVER_NAME);
    expect(served.leaf.fingerprint256).toBe(fingerprint(first.certificatePem));
    expect(served.chain.map((certificate) => certificate.fingerprint256)).toEqual([fingerprint(first.chainPem)]);
    const socket = await openConnection(nginx.port);
    await expect(getOver(socket)).resolves.toBe("HTTP/1.1 200 OK");
    socket.destroy();
  });

  it("serves the newly deployed certificate after the symlink swap and reload(), and not before", async () => {
    const master = nginx.pid;
    // A connection opened before the reload is finished by its old worker (graceful reload).
    const inFlight = await openConnection(nginx.port);
    expect(inFlight.getPeerX509Certificate()?.fingerprint256).toBe(fingerprint(first.certificatePem));

    deploy(2);
    expect(await servedLeaf(nginx.port)).toBe(fingerprint(first.certificatePem));
    await nginx.reload();
    // reload() resolved, so every new handshake must already get the new certificate.
    for (let attempt = 0; attempt < 5; attempt += 1) expect(await servedLeaf(nginx.port)).toBe(fingerprint(second.certificatePem));
    expect(nginx.pid).toBe(master);
    expect(readFileSync(nginx.logs.error, "utf8")).toMatch(/signal 1 \(SIGHUP\) received.*reconfiguring/);

    await expect(getOver(inFlight)).resolves.toBe("HTTP/1.1 200 OK");
    inFlight.destroy();

    // And back: the rollback path works the same way.
    deploy(1);
    await nginx.reload();
    expect(await servedLeaf(nginx.port)).toBe(fingerprint(first.certificatePem));
  });

  it("rejects a reload whose files are broken and keeps serving the last good certificate", async () => {
    const broken = path.join(store, "certificates", "api", "versions", "3");
    mkdirSync(broken, { recursive: true });
    writeFileSync(path.join(broken, "fullchain.pem"), "not a certificate\n");
    writeFileSync(path.join(broken, "privkey.pem"), first.privateKeyPem, { mode: 0o600 });
    deploy(3);
    try {
      await expect(nginx.reload()).rejects.toThrow(/rejected the configuration.*\[emerg\]/s);
      expect(await servedLeaf(nginx.port)).toBe(fingerprint(first.certificatePem));
    } finally {
      deploy(1);
    }
  });

  it("listens on its one loopback port only", () => {
    expect(listeningAddresses(nginx.pid)).toEqual([`127.0.0.1:${nginx.port}`]);
  });
});

describe("HAProxy", () => {
  let haproxy: HaproxyServer;

  beforeAll(async () => {
    haproxy = await startHaproxy({
      fullchainPem: first.certificatePem + first.chainPem,
      privateKeyPem: first.privateKeyPem,
      serverName: SERVER_NAME,
      binary: inject("tlsServerBinaries").haproxy,
    });
  });

  afterAll(async () => {
    await haproxy?.stop();
  });

  const secondPayload = () => haproxyPemPayload(second.certificatePem, second.chainPem, second.privateKeyPem);
  const pidFromInfo = async () => Number(/^Pid: (\d+)$/m.exec(await haproxy.command("show info"))?.[1]);
  const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

  it("serves the first certificate with its chain, and answers 200", async () => {
    const served = await tlsHandshake(haproxy.port, SERVER_NAME);
    expect(served.leaf.fingerprint256).toBe(fingerprint(first.certificatePem));
    expect(served.chain.map((certificate) => certificate.fingerprint256)).toEqual([fingerprint(first.chainPem)]);
    const socket = await openConnection(haproxy.port);
    await expect(getOver(socket)).resolves.toBe("HTTP/1.1 200 OK");
    socket.destroy();
    expect(await haproxy.command("show ssl cert")).toContain(haproxy.certificatePath);
    expect(await haproxy.command(`show ssl cert ${haproxy.certificatePath}`)).toContain(`Serial: ${serialOf(first.certificatePem)}`);
  });

  it("keeps the first certificate when a set is aborted", async () => {
    expect(await haproxy.command(`set ssl cert ${haproxy.certificatePath} <<\n${secondPayload()}\n`)).toContain(
      `Transaction created for certificate ${haproxy.certificatePath}`,
    );
    // The uncommitted transaction is visible as *<path> and not served.
    expect(await haproxy.command(`show ssl cert *${haproxy.certificatePath}`)).toContain(`Serial: ${serialOf(second.certificatePem)}`);
    expect(await servedLeaf(haproxy.port)).toBe(fingerprint(first.certificatePem));
    expect(await haproxy.command(`abort ssl cert ${haproxy.certificatePath}`)).toContain("Transaction aborted");
    expect(await haproxy.command(`commit ssl cert ${haproxy.certificatePath}`)).toMatch(/No ongoing transaction/);
    expect(await servedLeaf(haproxy.port)).toBe(fingerprint(first.certificatePem));
  });

  it("serves the second certificate to new handshakes after set + commit, without a restart", async () => {
    const pidBefore = await pidFromInfo();
    expect(pidBefore).toBe(haproxy.pid);
    const before = await openConnection(haproxy.port);

    expect(await haproxy.command(`set ssl cert ${haproxy.certificatePath} <<\n${secondPayload()}\n`)).toContain("Transaction created");
    expect(await haproxy.command(`commit ssl cert ${haproxy.certificatePath}`)).toMatch(/Success!/);

    const served = await tlsHandshake(haproxy.port, SERVER_NAME);
    expect(served.leaf.fingerprint256).toBe(fingerprint(second.certificatePem));
    expect(served.chain.map((certificate) => certificate.fingerprint256)).toEqual([fingerprint(second.chainPem)]);
    expect(await haproxy.command(`show ssl cert ${haproxy.certificatePath}`)).toContain(`Serial: ${serialOf(second.certificatePem)}`);
    expect(await pidFromInfo()).toBe(pidBefore);
    // The connection made before the commit keeps its certificate and still gets answers.
    expect(before.getPeerX509Certificate()?.fingerprint256).toBe(fingerprint(first.certificatePem));
    await expect(getOver(before)).resolves.toBe("HTTP/1.1 200 OK");
    before.destroy();
  });

  it("refuses a payload with an empty line before sending it", async () => {
    const withBlankLine = `${second.certificatePem}\n${second.privateKeyPem}`;
    expect(withBlankLine).toMatch(/\n\n/);
    await expect(haproxy.command(`set ssl cert ${haproxy.certificatePath} <<\n${withBlankLine}`)).rejects.toThrow(/empty line/);
    expect(haproxyPemPayload(withBlankLine)).not.toMatch(/\n\s*\n/);
  });

  it("listens on its one loopback port only", () => {
    expect(listeningAddresses(haproxy.pid)).toEqual([`127.0.0.1:${haproxy.port}`]);
  });
});

describe("stop()", () => {
  it("frees the ports and removes the servers' files", async () => {
    const binaries = inject("tlsServerBinaries");
    const nginx = await startNginx({
      certificateFile: path.join(deploymentLink(), "fullchain.pem"),
      keyFile: path.join(deploymentLink(), "privkey.pem"),
      binary: binaries.nginx,
    });
    const haproxy = await startHaproxy({ fullchainPem: first.certificatePem + first.chainPem, privateKeyPem: first.privateKeyPem, binary: binaries.haproxy });
    expect(nginx.port).not.toBe(haproxy.port);
    expect(await portIsFree(nginx.port)).toBe(false);
    expect(await portIsFree(haproxy.port)).toBe(false);
    await Promise.all([nginx.stop(), haproxy.stop()]);
    expect(await portIsFree(nginx.port)).toBe(true);
    expect(await portIsFree(haproxy.port)).toBe(true);
    expect(existsSync(haproxy.adminSocket)).toBe(false);
    expect(existsSync(nginx.logs.error)).toBe(false);
    for (const pid of [nginx.pid, haproxy.pid]) expect(existsSync(`/proc/${pid}`)).toBe(false);
    // A second stop() is harmless.
    await nginx.stop();
  });
});
