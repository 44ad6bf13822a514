/**
 * The `directory` target. By default the store's environment link is what servers read (nginx's
 * ssl_certificate points at environments/<env>/<name>/fullchain.pem). With `path`, certstage also
 * publishes into a directory of the operator's choosing (say /etc/nginx/certs, or a volume a
 * container mounts): each version's files are written once under `<path>/.versions/<name>/<n>/`
 * and `<path>/<name>` is a symlink swapped in one rename, exactly like the store's own link
 * (published-versions.ts, which `certstage agent` shares). A version saved with a keystore brings
 * its keystore.p12, with the key's mode and group; one saved without has none, so the swap from
 * one to the other leaves no keystore served.
 * Then, optionally, a reload command (e.g. `nginx -s reload`) runs without a shell, with a timeout.
 *
 * Retention (lifecycle/retention.ts): once a swap has succeeded (link swapped, servers reloaded),
 * `<path>/.versions/<name>/` keeps the served version, every version a pending or running standby
 * task of the certificate will install, and the `keepVersions` most recent others (default 3,
 * settings/retention.ts): the version a swap replaced is usually the most recent of those, so a
 * failed verification's put-back, or a rollback by hand, finds it on disk. Older ones are removed,
 * a bounded number per swap. Pruning never runs before the swap, so a kill at any point leaves the
 * link pointing at a whole version; a version pruned and needed again is published again from the
 * store, which keeps every version.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CertstageError } from "../errors";
import { versionsToRemove } from "../lifecycle/retention";
import { DEFAULT_PUBLISHED_VERSIONS_KEPT, VERSIONS_REMOVED_PER_RUN } from "../settings/retention";
import { pointCertificateAt, publishedVersionNumbers, publishedVersionOf, publishVersion, removeAbandonedStaging, removePublishedVersions, withPublishedVersionsLock } from "./published-versions";
import type { DeploymentTarget, TargetContext } from "./target";
import { keyFileAccess, type KeyFileSetting } from "../settings/key-file";

const run = promisify(execFile);

export interface DirectoryTargetOptions {
  /** Command and arguments, run without a shell after each swap. */
  readonly reload?: readonly string[];
  readonly reloadTimeoutMs?: number;
  /** An absolute directory to publish into, besides the store's environment link. */
  readonly path?: string;
  /** Published versions kept under `path` besides the served one and those still needed. */
  readonly keepVersions?: number;
  /** The published privkey.pem's and keystore.p12's group and mode (settings/key-file.ts). */
  readonly keyFile?: KeyFileSetting;
}

async function pointAt(directory: string, context: TargetContext, version: number | undefined, keyFile: KeyFileSetting | undefined): Promise<void> {
  // Looked up again here: a standby task may run on another machine than the preview did.
  const access = version === undefined ? undefined : keyFileAccess(keyFile, `certstage:environments (environment '${context.environment}', target.keyFile)`, context.certificate);
  await withPublishedVersionsLock(directory, context.certificate, async () => {
    const versionDirectory = version === undefined ? undefined : await publishVersion(directory, context.certificate, version, () => context.store.readVersionFiles(context.certificate, version), { ...(access ? { keyFile: access } : {}) });
    await pointCertificateAt(directory, context.certificate, versionDirectory);
  });
}

/** Removes what retention lets go of the certificate's published versions; returns the versions removed. */
export async function prunePublishedVersions(directory: string, context: TargetContext, keepVersions: number): Promise<number[]> {
  const tasks = await context.store.listTasks({ certificate: context.certificate });
  const needed = tasks.filter((task) => task.state === "pending" || task.state === "running").flatMap((task) => (task.version === undefined ? [] : [task.version]));
  return withPublishedVersionsLock(directory, context.certificate, async () => {
    // What a prune or a publish killed half-way left aside (never under a version's number) goes first.
    await removeAbandonedStaging(directory, context.certificate);
    const served = await publishedVersionOf(directory, context.certificate);
    const remove = versionsToRemove(await publishedVersionNumbers(directory, context.certificate), { served, needed, keepOthers: keepVersions }, VERSIONS_REMOVED_PER_RUN);
    return removePublishedVersions(directory, context.certificate, remove);
  });
}

export function directoryTarget(options: DirectoryTargetOptions = {}): DeploymentTarget {
  const { reload, reloadTimeoutMs = 30_000, path: directory, keepVersions = DEFAULT_PUBLISHED_VERSIONS_KEPT, keyFile } = options;
  // The swap has succeeded: a prune that fails (a permission, a full disk) leaves more on disk, and the next swap tries again.
  const prune = (context: TargetContext) => (directory ? prunePublishedVersions(directory, context, keepVersions).catch(() => []) : Promise.resolve([]));
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
        if (directory) await pointAt(directory, context, version, keyFile);
        await reloadServers(context);
      } catch (error) {
        // Servers may have read nothing, or the new files: point the links back and reload again.
        if (previous) await context.store.deploy(context.certificate, context.environment, previous.version, context.actor);
        else await context.store.undeploy(context.certificate, context.environment, context.actor);
        if (directory) await pointAt(directory, context, previous?.version, keyFile).catch(() => undefined);
        await reloadServers(context).catch(() => undefined);
        throw error;
      }
      await prune(context);
      return record;
    },
    async undeploy(context) {
      await context.store.undeploy(context.certificate, context.environment, context.actor);
      if (directory) await pointAt(directory, context, undefined, keyFile);
      await reloadServers(context);
      await prune(context);
    },
  };
}
