/**
 * One suite for every challenge solver: what it presents can be observed the way the CA observes
 * it, clean-up removes it, and it gets a real certificate from Pebble.
 */
import { X509Certificate } from "node:crypto";
import { createServer } from "node:http";
import { promises as fs } from "node:fs";
import { Resolver } from "node:dns/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { issueCertificate } from "../../provider/acme/issue";
import { dns01HookSolver } from "../../provider/acme/solvers/dns01-hook";
import { startHttp01Responder } from "../../provider/acme/solvers/http01-responder";
import { webrootSolver } from "../../provider/acme/solvers/http01-webroot";
import type { ChallengeSolver, ChallengeTask } from "../../provider/acme/solvers/solver";
import { trustAcmeServerRoots } from "../../provider/acme/trust";
import { generatePrivateKey } from "../../provider/pki/key-generation";
import { temporaryDirectory } from "../support/certificates";
import { PebbleServer, startPebble } from "../support/pebble";

let pebble: PebbleServer;
let accountKeyPem: string;

beforeAll(async () => {
  pebble = await startPebble({ binDirectory: inject("pebbleBinDirectory") });
  trustAcmeServerRoots(pebble.listenerCaPem);
  accountKeyPem = (await generatePrivateKey("ECDSA-P256")).export({ type: "pkcs8", format: "pem" }).toString();
});
afterAll(async () => pebble?.stop());

async function httpAnswer(port: number, token: string): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/${token}`);
  return response.status === 200 ? await response.text() : undefined;
}

/** Serves a webroot on a port, as the web server of a webroot setup does. */
async function serveWebroot(root: string, port: number): Promise<() => Promise<void>> {
  const server = createServer(async (request, response) => {
    try {
      response.end(await fs.readFile(path.join(root, decodeURIComponent(request.url ?? "/"))));
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

interface SolverUnderTest {
  readonly name: string;
  make(): Promise<{ solver: ChallengeSolver; observe(task: ChallengeTask): Promise<string | undefined>; stop(): Promise<void> }>;
}

const SOLVERS: SolverUnderTest[] = [
  {
    name: "http-01 built-in responder",
    async make() {
      const solver = await startHttp01Responder(`127.0.0.1:${pebble.httpChallengePort}`);
      return { solver, observe: (task) => httpAnswer(pebble.httpChallengePort, task.token), stop: () => solver.close() };
    },
  },
  {
    name: "http-01 webroot",
    async make() {
      const root = temporaryDirectory("webroot");
      const stopServer = await serveWebroot(root, pebble.httpChallengePort);
      return { solver: webrootSolver(root), observe: (task) => httpAnswer(pebble.httpChallengePort, task.token), stop: stopServer };
    },
  },
  {
    name: "dns-01 hook",
    async make() {
      const solver = dns01HookSolver({ command: [process.execPath, path.join(__dirname, "challtestsrv-hook.cjs"), pebble.challengeServerUrl] });
      const resolver = new Resolver();
      resolver.setServers([`127.0.0.1:${pebble.dnsPort}`]);
      const observe = async (task: ChallengeTask) => {
        try {
          return (await resolver.resolveTxt(`_acme-challenge.${task.identifier}`)).flat().join("") || undefined;
        } catch {
          return undefined;
        }
      };
      return { solver, observe, stop: async () => {} };
    },
  },
];

describe.each(SOLVERS)("challenge solver: $name", ({ make }) => {
  it("presents an answer the CA can observe and cleans it up", async () => {
    const { solver, observe, stop } = await make();
    try {
      const task = { identifier: "present.example.test", token: "token-abc_123", answer: "answer-xyz" };
      await solver.present(task);
      expect(await observe(task)).toBe("answer-xyz");
      await solver.cleanUp(task);
      expect(await observe(task)).toBeUndefined();
    } finally {
      await solver.close();
      await stop();
    }
  });

  it("gets a certificate from Pebble", async () => {
    const name = `solver-${Math.random().toString(36).slice(2, 8)}.example.test`;
    await pebble.addHost(name);
    const { solver, stop } = await make();
    try {
      const key = await generatePrivateKey("ECDSA-P256");
      const issued = await issueCertificate({ directoryUrl: pebble.directoryUrl, accountKeyPem, termsOfServiceAgreed: true, domains: [name], certificateKey: key, solver });
      const certificate = new X509Certificate(issued.certificatePem);
      expect(certificate.subjectAltName).toBe(`DNS:${name}`);
      expect(certificate.checkPrivateKey(key)).toBe(true);
    } finally {
      await solver.close();
      await stop();
    }
  });
});

describe("dns-01 hook failures", () => {
  it("names the hook, the action and how it failed", async () => {
    const solver = dns01HookSolver({ command: [process.execPath, "-e", "process.stderr.write('zone not found'); process.exit(3)"] });
    await expect(solver.present({ identifier: "x.example.test", token: "t", answer: "a" })).rejects.toThrow(
      /\[CHALLENGE_FAILED\] field 'challenge\.hook': the dns-01 hook '.*node present' for x\.example\.test exited with 3: zone not found/,
    );
  });

  it("stops a hook that hangs", async () => {
    const solver = dns01HookSolver({ command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"], timeoutMs: 300 });
    await expect(solver.present({ identifier: "x.example.test", token: "t", answer: "a" })).rejects.toThrow(/was stopped after 300 ms/);
  });
});

describe("the http-01 responder's close", () => {
  it("ends connections the CA left open, one that never sent a request among them, and frees the port", async () => {
    // A free port (the responder does not say which one port 0 got).
    const { createServer: createTcpServer, connect } = await import("node:net");
    const probe = createTcpServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, "127.0.0.1", () => resolve((probe.address() as import("node:net").AddressInfo).port)));
    await new Promise((resolve) => probe.close(resolve));
    const responder = await startHttp01Responder(`127.0.0.1:${port}`);
    await responder.present({ identifier: "x.example.test", token: "tok", answer: "tok.key" });
    // A spare connection that sends nothing, and a keep-alive one that asked once.
    const silent = connect(port, "127.0.0.1");
    await new Promise((resolve) => silent.once("connect", resolve));
    const silentClosed = new Promise((resolve) => silent.once("close", resolve));
    const { Agent, get } = await import("node:http");
    const agent = new Agent({ keepAlive: true });
    const answer = await new Promise<string>((resolve, reject) =>
      get({ host: "127.0.0.1", port, path: "/.well-known/acme-challenge/tok", agent }, (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve(text));
      }).on("error", reject),
    );
    expect(answer).toBe("tok.key");
    await responder.close();
    await silentClosed;
    agent.destroy();
    // The port is free again for the next issuance.
    const next = await startHttp01Responder(`127.0.0.1:${port}`);
    await next.close();
  });
});
