/**
 * Ports a test listens on again and again, long after it chose them: the http-01 and tls-alpn-01
 * ports Pebble's validation authority dials, which a test's responder binds only while an
 * issuance runs. A port found free by binding port 0 comes from the kernel's ephemeral range
 * (ip_local_port_range), where the kernel goes on handing it out: to any other server of any test
 * worker that listens on port 0, and as the source port of any outgoing connection. Either then
 * holds it when the responder binds (EADDRINUSE), and a connection to it while nobody listens can
 * even connect to itself (TCP simultaneous open).
 *
 * So these ports come from below the ephemeral range, where the kernel never assigns one on its
 * own, and each is reserved across processes by a lock file holding the owner's pid: two test
 * workers (two Pebbles) never get the same port, and a reservation whose owner died is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { processIsAlive } from "../../provider/store/file-lock";

const LOOPBACK = "127.0.0.1";
/** The lowest port considered: above the well-known and most registered service ports. */
const LOWEST = 20_000;

function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > LOWEST + 1_000) return low;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49152.
  }
  return 49_152;
}

const lockFile = (port: number) => path.join(os.tmpdir(), `certstage-port-${port}.pid`);

/** Takes the lock file of `port` for this process, or returns false when a live process holds it. */
function lock(port: number): boolean {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const descriptor = openSync(lockFile(port), "wx", 0o600);
      writeSync(descriptor, String(process.pid));
      closeSync(descriptor);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(readFileSync(lockFile(port), "utf8").trim() || "0");
      // An empty file is another process between creating and writing it: taken.
      if (!Number.isInteger(owner) || owner <= 0 || processIsAlive(owner)) return false;
      rmSync(lockFile(port), { force: true });
    }
  }
  return false;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

const held = new Set<number>();
process.once("exit", () => {
  for (const port of held) rmSync(lockFile(port), { force: true });
});

/** A loopback port outside the ephemeral range, reserved for this process until `releasePort`. */
export async function reservePort(): Promise<number> {
  const high = ephemeralRangeStart() - 1;
  const span = high - LOWEST + 1;
  const start = LOWEST + Math.floor(Math.random() * span);
  for (let offset = 0; offset < span; offset += 1) {
    const port = LOWEST + ((start - LOWEST + offset) % span);
    if (!lock(port)) continue;
    // Someone outside the tests (a service of this machine) may listen there: not ours then.
    if (await bindable(port)) {
      held.add(port);
      return port;
    }
    rmSync(lockFile(port), { force: true });
  }
  throw new Error(`no free loopback port between ${LOWEST} and ${high}`);
}

export function releasePort(port: number): void {
  if (!held.delete(port)) return;
  rmSync(lockFile(port), { force: true });
}
