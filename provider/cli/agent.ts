/**
 * `certstage agent` (follow an environment on an edge server) and `certstage agents` (what every
 * agent reports it serves, and which of them lag).
 *
 *   certstage agent --store <location> --environment <name> --directory <dir>
 *                   [--reload "nginx -s reload"] [--check "nginx -t"] [--reload-timeout 30s]
 *                   [--haproxy-socket /run/haproxy/admin.sock --haproxy-crt '/etc/haproxy/certs/{certificate}.pem']
 *                   [--certificate <name> …] [--serve-check 127.0.0.1:443] [--agent-id <id>] [--key-group ssl-cert --key-mode 0640]
 *                   [--resync-interval 60s] [--poll-interval 2s] [--metrics-listen 127.0.0.1:9793] [--once]
 *   certstage agents [--environment <name>] [--certificate <name>] [--resync-interval 60s] [--json] [--store <location>]
 *
 * Commands are given as one argument, split at spaces (`"nginx -s reload"`), or as a JSON list
 * when an argument holds a space (`'["/opt/my nginx/sbin/nginx","-s","reload"]'`); they run
 * without a shell.
 *
 * Exit codes: 2 for a configuration error (the agent never starts); `agent` stops with 0 on
 * SIGTERM or SIGINT and never stops because the store is unavailable; `agent --once` exits 0 when
 * every certificate it follows serves its deployed version, else 1; `agents` exits 1 when an
 * agent lags, for scripts.
 *
 * `--metrics-listen` serves on GET /metrics what `certstage metrics --environment <its
 * environment>` prints, and when the agent's last pass succeeded.
 */
import { parseArgs } from "node:util";
import { agentLag, agentSettings, DEFAULT_POLL_INTERVAL_MS, DEFAULT_RESYNC_INTERVAL_MS, followEnvironment, syncOnce, type AgentOptions } from "../agent";
import { stderrLog } from "../agent/agent";
import { DEFAULT_RELOAD_TIMEOUT_MS } from "../agent/reloader";
import { CertstageError, isCertstageError, quoted } from "../errors";
import { endpointProblem } from "../settings/environments";
import { projectDirectory } from "../settings/project-directory";
import { AgentReport, openStore, parseStoreSetting, type Store } from "../store";
import { now } from "../clock";
import { certificateMetrics } from "../metrics/certificate-metrics";
import { formatExposition, type MetricFamily } from "../metrics/exposition";
import { parseListenAddress, startMetricsServer, type ListenAddress, type MetricsServer } from "../metrics/metrics-server";
import type { FollowingAgent } from "../agent/follow";

export const AGENT_USAGE = `Usage:
  certstage agent --store <location> --environment <name> --directory <dir> [options]
      keep the environment's certificates in <dir>/<certificate>/{fullchain.pem,privkey.pem,keystore.p12,...}
  certstage agents [--environment <name>] [--certificate <name>] [--json]
      every agent's report: the version it serves, and whether it lags

Options of agent:
  --store <location>        the store to follow (or $CERTSTAGE_STORE; required)
  --environment <name>      the environment to follow (required)
  --directory <dir>         where to keep the certificates; made if missing (required)
  --certificate <name>      only this certificate (repeat for more; default: every one deployed)
  --reload <command>        run after a change, without a shell, e.g. "nginx -s reload"
  --check <command>         run before each reload; a failure puts the old files back, e.g. "nginx -t"
  --reload-timeout <time>   for each of them (default 30s)
  --haproxy-socket <path>   push changes through HAProxy's runtime API on this admin socket (no reload)
  --haproxy-crt <path>      the crt path HAProxy loaded each certificate from; {certificate} is its name
  --serve-check <host:port> a local TLS address: the agent reports the leaf it serves (SNI: the certificate's first DNS name)
  --agent-id <id>           how reports name this agent (default: the host name)
  --key-group <group>       give each installed privkey.pem (and keystore.p12) this group, for a server that reads it as a non-root user (e.g. ssl-cert)
  --key-mode <mode>         their mode, at most 0640 (default 0640 with --key-group, else 0600)
  --resync-interval <time>  read everything again this often, whatever else happens (default 60s)
  --poll-interval <time>    how often to look for changes when the store does not push them (default 2s)
  --metrics-listen <host:port>
                            serve Prometheus metrics of the environment on GET /metrics, e.g. 127.0.0.1:9793
  --once                    one resync, then exit: 0 when everything serves its deployed version, else 1

Options of agents:
  --resync-interval <time>  the agents' resync interval: one silent for 3 of them lags (default 60s)
  --json                    machine-readable output

Commands are one argument split at spaces, or a JSON list ('["nginx","-s","reload"]').
Times are a number and ms, s, m or h.
`;

function usageError(problem: string, field: string, fix: string): CertstageError {
  return new CertstageError("CONFIG_INVALID", problem, { field, fix });
}

/** `500ms`, `2s`, `5m`, `1h` in milliseconds. */
export function parseDuration(text: string, field: string): number {
  const match = /^(\d{1,9})(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw usageError(`${field} ${quoted(text)} is not a time`, field, "write a number and ms, s, m or h, e.g. 2s or 500ms");
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
}

/** A command as one argument: words split at spaces, or a JSON list of strings. */
export function parseCommand(text: string, field: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((word) => typeof word === "string" && word !== "")) {
      throw usageError(`${field} ${quoted(text)} is not a JSON list of strings`, field, `write e.g. '["nginx","-s","reload"]'`);
    }
    return parsed as string[];
  }
  const words = trimmed.split(/\s+/).filter(Boolean);
  if (words.length === 0) throw usageError(`${field} is empty`, field, `give the command, e.g. "nginx -s reload"`);
  return words;
}

function haproxyOptions(socket: string | undefined, certificatePath: string | undefined): { haproxy?: { socket: string; certificatePath: string } } {
  if (socket === undefined && certificatePath === undefined) return {};
  if (socket === undefined || certificatePath === undefined) {
    const missing = socket === undefined ? "--haproxy-socket" : "--haproxy-crt";
    throw usageError(`${missing} is missing: the runtime API needs both the admin socket and the crt path HAProxy loaded`, missing, "give --haproxy-socket /run/haproxy/admin.sock --haproxy-crt '/etc/haproxy/certs/{certificate}.pem'");
  }
  return { haproxy: { socket, certificatePath } };
}

export function parseServeCheck(text: string): { host: string; port: number } {
  if (endpointProblem(text) !== undefined) throw usageError(`--serve-check ${quoted(text)} is not host:port`, "--serve-check", "give the local address the server listens on, e.g. 127.0.0.1:443");
  const colon = text.lastIndexOf(":");
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(text.slice(colon + 1)) };
}

export async function agentCommand(command: "agent" | "agents", argv: string[], output: NodeJS.WritableStream = process.stdout): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        store: { type: "string" },
        environment: { type: "string" },
        directory: { type: "string" },
        certificate: { type: "string", multiple: true },
        reload: { type: "string" },
        check: { type: "string" },
        "reload-timeout": { type: "string" },
        "serve-check": { type: "string" },
        "haproxy-socket": { type: "string" },
        "haproxy-crt": { type: "string" },
        "agent-id": { type: "string" },
        "key-group": { type: "string" },
        "key-mode": { type: "string" },
        "resync-interval": { type: "string" },
        "poll-interval": { type: "string" },
        "metrics-listen": { type: "string" },
        once: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`certstage ${command}: ${(error as Error).message}\n\n${AGENT_USAGE}`);
    return 2;
  }
  const values = parsed.values;
  if (values.help) {
    output.write(AGENT_USAGE);
    return 0;
  }
  let store: Store;
  try {
    const location = (values.store as string | undefined) ?? (process.env.CERTSTAGE_STORE || undefined);
    if (command === "agent" && location === undefined) throw usageError("no store to follow", "--store", "give --store (or set CERTSTAGE_STORE), e.g. --store postgres://certstage@db.internal/certstage");
    store = openStore(parseStoreSetting(location), projectDirectory());
  } catch (error) {
    process.stderr.write(`certstage ${command}: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  }
  try {
    return command === "agent" ? await runAgent(store, values) : await listAgents(store, values, output);
  } finally {
    await store.close();
  }
}

type Values = { [name: string]: string | boolean | string[] | undefined };

async function runAgent(store: Store, values: Values): Promise<number> {
  const environment = values.environment as string | undefined;
  const log = stderrLog(environment ?? "-");
  let options: AgentOptions;
  let metricsListen: ListenAddress | undefined;
  try {
    for (const [flag, value] of [["--environment", environment], ["--directory", values.directory]] as const) {
      if (value === undefined) throw usageError(`${flag} is required`, flag, `certstage agent --store <location> --environment <name> --directory <dir>`);
    }
    const text = (name: string) => values[name] as string | undefined;
    const timeoutMs = text("reload-timeout") === undefined ? DEFAULT_RELOAD_TIMEOUT_MS : parseDuration(text("reload-timeout")!, "--reload-timeout");
    options = {
      store,
      environment: environment!,
      directory: values.directory as string,
      ...(values.certificate !== undefined ? { certificates: values.certificate as string[] } : {}),
      ...(text("agent-id") !== undefined ? { agentId: text("agent-id") } : {}),
      reload: {
        ...(text("check") !== undefined ? { check: parseCommand(text("check")!, "--check") } : {}),
        ...(text("reload") !== undefined ? { reload: parseCommand(text("reload")!, "--reload") } : {}),
        timeoutMs,
        ...haproxyOptions(text("haproxy-socket"), text("haproxy-crt")),
      },
      ...(text("serve-check") !== undefined ? { serveCheck: parseServeCheck(text("serve-check")!) } : {}),
      ...(text("key-group") !== undefined || text("key-mode") !== undefined ? { keyFile: { ...(text("key-group") !== undefined ? { group: text("key-group") } : {}), ...(text("key-mode") !== undefined ? { mode: text("key-mode") } : {}) } } : {}),
      resyncIntervalMs: text("resync-interval") === undefined ? DEFAULT_RESYNC_INTERVAL_MS : parseDuration(text("resync-interval")!, "--resync-interval"),
      pollIntervalMs: text("poll-interval") === undefined ? DEFAULT_POLL_INTERVAL_MS : parseDuration(text("poll-interval")!, "--poll-interval"),
      log,
    };
    if (text("metrics-listen") !== undefined) {
      if (values.once) throw usageError("--metrics-listen serves a running agent, and --once exits after one resync", "--metrics-listen", "leave out --once, or --metrics-listen (use certstage metrics for a one-off)");
      metricsListen = parseListenAddress(text("metrics-listen")!);
    }
  } catch (error) {
    process.stderr.write(`certstage agent: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  }

  let settings;
  try {
    settings = await agentSettings(options);
  } catch (error) {
    if (!isCertstageError(error)) throw error;
    process.stderr.write(`certstage agent: ${error.message}\n`);
    return 2;
  }
  const { timing, ...agent } = settings;
  if (values.once) {
    try {
      return (await syncOnce(agent)).converged ? 0 : 1;
    } catch (error) {
      log(`resync failed: ${isCertstageError(error) ? error.message : (error as Error).message}`);
      return 1;
    }
  }
  let following: FollowingAgent | undefined;
  let metrics: MetricsServer | undefined;
  if (metricsListen !== undefined) {
    try {
      metrics = await startMetricsServer(metricsListen, async () => formatExposition([...(await certificateMetrics(store, now(), { environment: agent.environment })), agentFamily(agent.environment, agent.agentId, following?.lastSuccessfulPass())]), log);
    } catch (error) {
      process.stderr.write(`certstage agent: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
      return 2;
    }
    const { host, port } = metrics.address;
    log(`serving metrics on http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`);
  }
  following = await followEnvironment(agent, timing);
  // Runs until told to stop; a store that fails is retried inside, never a reason to exit.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  await following.stop();
  await metrics?.close();
  log(`stopped (${signal})`);
  return 0;
}

/** The agent's own fact: when its last pass succeeded (left out before the first). */
function agentFamily(environment: string, agentId: string, lastSuccess: Date | undefined): MetricFamily {
  return {
    name: "certstage_agent_last_sync_timestamp_seconds",
    help: "When this agent's last pass read the store and applied what it read (Unix seconds).",
    type: "gauge",
    samples: [{ labels: { environment, agent_id: agentId }, value: lastSuccess === undefined ? undefined : Math.floor(lastSuccess.getTime() / 1000) }],
  };
}

export interface AgentListing extends AgentReport {
  readonly deployedVersion?: number;
  readonly lagging: boolean;
  readonly lag: string[];
}

async function listAgents(store: Store, values: Values, output: NodeJS.WritableStream): Promise<number> {
  let resyncIntervalMs: number;
  try {
    resyncIntervalMs = values["resync-interval"] === undefined ? DEFAULT_RESYNC_INTERVAL_MS : parseDuration(values["resync-interval"] as string, "--resync-interval");
  } catch (error) {
    process.stderr.write(`certstage agents: ${(error as Error).message}\n`);
    return 2;
  }
  const certificates = values.certificate as string[] | undefined;
  if (certificates !== undefined && certificates.length > 1) {
    process.stderr.write("certstage agents: give --certificate once\n");
    return 2;
  }
  const listings = await agentListings(store, { environment: values.environment as string | undefined, certificate: certificates?.[0] }, new Date(), resyncIntervalMs);
  output.write(values.json ? `${JSON.stringify({ agents: listings }, null, 2)}\n` : formatAgentListings(listings, store.description));
  return listings.some((listing) => listing.lagging) ? 1 : 0;
}

/** Every report with the version the store deploys there and whether the agent lags. */
export async function agentListings(store: Store, filter: { environment?: string; certificate?: string }, now: Date, resyncIntervalMs: number): Promise<AgentListing[]> {
  const reports = await store.listAgentReports(filter);
  const deployed = new Map((await store.listDeployments(filter.certificate)).map((deployment) => [`${deployment.environment}/${deployment.certificate}`, deployment.version]));
  return reports.map((report) => {
    const deployedVersion = deployed.get(`${report.environment}/${report.certificate}`);
    const lag = agentLag(report, deployedVersion, now, resyncIntervalMs);
    return { ...report, ...(deployedVersion !== undefined ? { deployedVersion } : {}), lagging: lag.lagging, lag: lag.reasons };
  });
}

export function formatAgentListings(listings: readonly AgentListing[], storeDescription: string): string {
  if (listings.length === 0) return `No agent has reported to ${storeDescription}.\n`;
  const rows = listings.map((listing) => [
    listing.agentId,
    listing.host,
    listing.environment,
    listing.certificate,
    listing.version === undefined ? "-" : `v${listing.version}`,
    listing.deployedVersion === undefined ? "-" : `v${listing.deployedVersion}`,
    listing.lastSeen,
    listing.lagging ? `LAGS: ${listing.lag.join("; ")}` : "ok",
  ]);
  const header = ["AGENT", "HOST", "ENVIRONMENT", "CERTIFICATE", "SERVES", "DEPLOYED", "LAST SEEN", "STATE"];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ");
  const errors = listings.filter((listing) => listing.lastError !== undefined).map((listing) => `  ${listing.agentId} ${listing.environment}/${listing.certificate}: ${listing.lastError}`);
  return `${[line(header), ...rows.map(line)].join("\n")}\n${errors.length > 0 ? `Last errors:\n${errors.join("\n")}\n` : ""}`;
}
