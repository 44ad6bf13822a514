/**
 * The `haproxy` target: a hot swap through HAProxy's runtime API on its admin socket, with no
 * reload: `set ssl cert <file>` stages the new certificate in a transaction, `commit ssl cert`
 * makes new handshakes use it, `abort ssl cert` drops a staged one. The payload ends at the first
 * empty line, so blank lines are removed from the PEM.
 */
import { X509Certificate } from "node:crypto";
import { connect } from "node:net";
import { CertstageError } from "../errors";
import type { DeploymentTarget, TargetContext } from "./target";

/** Sends one command to the runtime API and returns HAProxy's answer. */
export function runtimeApiCommand(socketPath: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = "";
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.end(`${command}\n`);
  });
}

/**
 * The crt file a certificate is loaded from. One HAProxy often serves several certificates (picked
 * by SNI), each from its own file: `certificatePath` may name the certificate as `{certificate}`,
 * e.g. `/etc/haproxy/certs/{certificate}.pem`.
 */
export function haproxyCertificatePath(template: string, certificate: string): string {
  return template.replace(/\{certificate\}/g, certificate);
}

export function haproxyTarget(socketPath: string, certificatePathTemplate: string): DeploymentTarget {
  const push = async (context: TargetContext, version: number) => {
    const certificatePath = haproxyCertificatePath(certificatePathTemplate, context.certificate);
    const files = await context.store.readVersionFiles(context.certificate, version);
    const payload = `${files.fullchainPem}${files.privateKeyPem ?? ""}`.split("\n").filter((line) => line.trim() !== "").join("\n");
    const staged = await runtimeApiCommand(socketPath, `set ssl cert ${certificatePath} <<\n${payload}\n`);
    if (!/Transaction (created|updated)/i.test(staged)) {
      await runtimeApiCommand(socketPath, `abort ssl cert ${certificatePath}`).catch(() => undefined);
      throw new CertstageError("RELOAD_FAILED", `HAProxy refused the certificate for ${certificatePath}: ${staged.trim().slice(0, 300)}`, {
        field: "certstage:environments",
        fix: "check that certificatePath is the crt HAProxy loaded, and that the socket is at admin level",
      });
    }
    const committed = await runtimeApiCommand(socketPath, `commit ssl cert ${certificatePath}`);
    if (!/Success/i.test(committed)) {
      await runtimeApiCommand(socketPath, `abort ssl cert ${certificatePath}`).catch(() => undefined);
      throw new CertstageError("RELOAD_FAILED", `HAProxy did not commit ${certificatePath}: ${committed.trim().slice(0, 300)}`, {
        field: "certstage:environments",
        fix: "see HAProxy's answer; nothing was changed",
      });
    }
  };
  return {
    async deploy(context, version) {
      const previous = await context.store.getDeployment(context.certificate, context.environment);
      const record = await context.store.deploy(context.certificate, context.environment, version, context.actor);
      try {
        await push(context, version);
      } catch (error) {
        if (previous) await context.store.deploy(context.certificate, context.environment, previous.version, context.actor);
        else await context.store.undeploy(context.certificate, context.environment, context.actor);
        throw error;
      }
      return record;
    },
    async undeploy(context) {
      // HAProxy keeps serving its last certificate until its configuration changes; the store records the undeploy.
      await context.store.undeploy(context.certificate, context.environment, context.actor);
    },
    async live(context) {
      const certificatePath = haproxyCertificatePath(certificatePathTemplate, context.certificate);
      // `show ssl cert <file>` describes the committed certificate (not a staged transaction).
      const answer = await runtimeApiCommand(socketPath, `show ssl cert ${certificatePath}`);
      const serial = /^Serial:\s*([0-9A-F]+)\s*$/im.exec(answer)?.[1]?.toLowerCase().replace(/^0+/, "");
      const sha1 = /^SHA1 FingerPrint:\s*([0-9A-F]+)\s*$/im.exec(answer)?.[1]?.toUpperCase();
      if (!serial || !sha1) {
        throw new CertstageError("RELOAD_FAILED", `HAProxy does not describe ${certificatePath}: ${answer.trim().slice(0, 200)}`, {
          field: "certstage:environments",
          fix: "check that certificatePath is the crt HAProxy loaded, and that the socket is at admin level",
        });
      }
      // Serials narrow the search; the fingerprint decides (two CAs can issue the same serial).
      for (const record of await context.store.listVersions(context.certificate)) {
        if (record.serial.replace(/^0+/, "") !== serial) continue;
        const files = await context.store.readVersionFiles(context.certificate, record.version);
        if (new X509Certificate(files.certificatePem).fingerprint.replace(/:/g, "") === sha1) {
          return { version: record.version, description: `HAProxy serves version ${record.version}` };
        }
      }
      return { description: `HAProxy serves a certificate that is no version of '${context.certificate}' (serial ${serial})` };
    },
  };
}
