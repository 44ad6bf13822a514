/**
 * HAProxy without a reload: the installed version is pushed through the runtime API on HAProxy's
 * admin socket (`set ssl cert <crt>` + `commit ssl cert <crt>`, as the `haproxy` target does, with
 * its runtimeApiCommand), so new handshakes get it at once and no worker is restarted. `<crt>` is
 * the path HAProxy's configuration loaded the certificate from (`--haproxy-crt`, `{certificate}`
 * standing for the certificate's name).
 *
 * The change lives in HAProxy's memory only: a restarted HAProxy loads its crt file again. So at
 * every full resync the agent pushes again where its serve check finds HAProxy serving another
 * leaf than the installed one.
 */
import * as path from "node:path";
import { haproxyCertificatePath, runtimeApiCommand } from "../targets/haproxy";
import { PUBLISHED_FILES } from "../targets/published-versions";
import { readUnit } from "./install";
import { ReloadFailure } from "./reloader";

export interface HaproxySocket {
  /** The admin socket (`stats socket … level admin`). */
  readonly socket: string;
  /** The crt path HAProxy knows the certificate by; may hold `{certificate}`. */
  readonly certificatePath: string;
}

const FIX = "check --haproxy-crt names the crt file HAProxy's configuration loads (show ssl cert lists them) and that the socket is at admin level";

/** Pushes the version `<directory>/<certificate>` holds to HAProxy; throws a ReloadFailure (the files stay, the next pass pushes again). */
export async function pushToHaproxy(haproxy: HaproxySocket, directory: string, certificate: string): Promise<void> {
  const crt = haproxyCertificatePath(haproxy.certificatePath, certificate);
  const unit = await readUnit(path.join(directory, certificate));
  // The payload ends at HAProxy's first empty line: the PEM blocks go without any.
  const payload = `${unit.fullchainPem}${unit.privateKeyPem ?? ""}`.split("\n").filter((line) => line.trim() !== "").join("\n");
  const answer = async (command: string) => {
    try {
      return await runtimeApiCommand(haproxy.socket, command);
    } catch (cause) {
      throw new ReloadFailure("reload", `HAProxy's admin socket ${haproxy.socket} did not answer (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, "check that HAProxy runs and --haproxy-socket is its admin socket");
    }
  };
  const staged = await answer(`set ssl cert ${crt} <<\n${payload}\n`);
  if (!/Transaction (created|updated)/i.test(staged)) {
    await answer(`abort ssl cert ${crt}`).catch(() => undefined);
    throw new ReloadFailure("reload", `HAProxy refused ${PUBLISHED_FILES.fullchain} of ${certificate} for ${crt}: ${staged.trim().replace(/\s+/g, " ").slice(0, 300)}`, FIX);
  }
  const committed = await answer(`commit ssl cert ${crt}`);
  if (!/Success/i.test(committed)) {
    await answer(`abort ssl cert ${crt}`).catch(() => undefined);
    throw new ReloadFailure("reload", `HAProxy did not commit ${crt}: ${committed.trim().replace(/\s+/g, " ").slice(0, 300)}`, FIX);
  }
}
