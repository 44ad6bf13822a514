/**
 * The `directory` target: the store's environment link is what servers read (nginx's
 * ssl_certificate points at environments/<env>/<name>/fullchain.pem), so a deploy is the link swap
 * plus, optionally, a reload command (e.g. `nginx -s reload`) run without a shell, with a timeout.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CertstageError } from "../errors";
import type { DeploymentTarget, TargetContext } from "./target";

const run = promisify(execFile);

export function directoryTarget(reload?: readonly string[], reloadTimeoutMs = 30_000): DeploymentTarget {
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
        await reloadServers(context);
      } catch (error) {
        // Servers may have read nothing, or the new files: point the link back and reload again.
        if (previous) await context.store.deploy(context.certificate, context.environment, previous.version, context.actor);
        else await context.store.undeploy(context.certificate, context.environment, context.actor);
        await reloadServers(context).catch(() => undefined);
        throw error;
      }
      return record;
    },
    async undeploy(context) {
      await context.store.undeploy(context.certificate, context.environment, context.actor);
      await reloadServers(context);
    },
  };
}
