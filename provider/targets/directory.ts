/**
 * The `directory` target. By default the store's environment link is what servers read (nginx's
 * ssl_certificate points at environments/<env>/<name>/fullchain.pem). With `path`, certstage also
 * publishes into a directory of the operator's choosing (say /etc/nginx/certs, or a volume a
 * container mounts): each version's files are written once under `<path>/.versions/<name>/<n>/`
 * and `<path>/<name>` is a symlink swapped in one rename, exactly like the store's own link.
 * Then, optionally, a reload command (e.g. `nginx -s reload`) runs without a shell, with a timeout.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { CertstageError } from "../errors";
import { fsyncDirectory, replaceSymlinkAtomically, writeFileDurably } from "../store/atomic-file";
import type { DeploymentTarget, TargetContext } from "./target";

const run = promisify(execFile);

export interface DirectoryTargetOptions {
  /** Command and arguments, run without a shell after each swap. */
  readonly reload?: readonly string[];
  readonly reloadTimeoutMs?: number;
  /** An absolute directory to publish into, besides the store's environment link. */
  readonly path?: string;
}

/** Writes a version's files under `<directory>/.versions/<name>/<n>/` once, whole or not at all. */
async function publishVersion(directory: string, context: TargetContext, version: number): Promise<string> {
  const versionDirectory = path.join(directory, ".versions", context.certificate, String(version));
  try {
    await fs.access(path.join(versionDirectory, "fullchain.pem"));
    return versionDirectory; // Versions never change: what was published once is still right.
  } catch {
    // Not published yet.
  }
  const files = await context.store.readVersionFiles(context.certificate, version);
  const staging = path.join(path.dirname(versionDirectory), `.${version}.${randomBytes(6).toString("hex")}.partial`);
  await fs.mkdir(staging, { recursive: true, mode: 0o700 });
  await writeFileDurably(path.join(staging, "cert.pem"), files.certificatePem);
  await writeFileDurably(path.join(staging, "chain.pem"), files.chainPem);
  await writeFileDurably(path.join(staging, "fullchain.pem"), files.fullchainPem);
  if (files.privateKeyPem !== undefined) await writeFileDurably(path.join(staging, "privkey.pem"), files.privateKeyPem, 0o600);
  await fs.chmod(staging, 0o755);
  try {
    await fs.rename(staging, versionDirectory);
  } catch (error) {
    // Another process published the same version first; its copy is identical.
    await fs.rm(staging, { recursive: true, force: true });
    if ((error as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  await fsyncDirectory(path.dirname(versionDirectory));
  return versionDirectory;
}

async function pointAt(directory: string, context: TargetContext, version: number | undefined): Promise<void> {
  const link = path.join(directory, context.certificate);
  if (version === undefined) {
    await fs.rm(link, { force: true });
    await fsyncDirectory(directory);
    return;
  }
  const versionDirectory = await publishVersion(directory, context, version);
  await replaceSymlinkAtomically(link, path.relative(directory, versionDirectory));
}

export function directoryTarget(options: DirectoryTargetOptions = {}): DeploymentTarget {
  const { reload, reloadTimeoutMs = 30_000, path: directory } = options;
  const reloadServers = async (context: TargetContext) => {
    if (!reload) return;
    const [program, ...args] = reload;
    try {
      await run(program, args, { timeout: reloadTimeoutMs });
    } catch (cause) {
      const failure = cause as { code?: string | number; killed?: boolean; stderr?: string };
      throw new CertstageError(
        "RELOAD_FAILED",
        `the reload command '${reload.join(" ")}' for ${context.environment} ${failure.killed ? `was stopped after ${reloadTimeoutMs} ms` : `exited with ${failure.code}`}: ${String(failure.stderr ?? "").trim().slice(0, 300)}`,
        { field: "certstage:environments", fix: "run the reload command by hand and fix what it reports (nginx -t checks the configuration)", cause },
      );
    }
  };
  return {
    async deploy(context, version) {
      const previous = await context.store.getDeployment(context.certificate, context.environment);
      const record = await context.store.deploy(context.certificate, context.environment, version, context.actor);
      try {
        if (directory) await pointAt(directory, context, version);
        await reloadServers(context);
      } catch (error) {
        // Servers may have read nothing, or the new files: point the links back and reload again.
        if (previous) await context.store.deploy(context.certificate, context.environment, previous.version, context.actor);
        else await context.store.undeploy(context.certificate, context.environment, context.actor);
        if (directory) await pointAt(directory, context, previous?.version).catch(() => undefined);
        await reloadServers(context).catch(() => undefined);
        throw error;
      }
      return record;
    },
    async undeploy(context) {
      await context.store.undeploy(context.certificate, context.environment, context.actor);
      if (directory) await pointAt(directory, context, undefined);
      await reloadServers(context);
    },
  };
}
