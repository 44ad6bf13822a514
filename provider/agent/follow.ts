/**
 * Following an environment: what makes the agent run a pass (sync.ts), and what keeps it running.
 *
 * - Pushed changes: when the store offers `watchDeployments` (PostgreSQL's LISTEN/NOTIFY), each
 *   notification asks for a pass, and each (re)connection asks for a full resync, because
 *   notifications sent while disconnected are lost. Until a watch is set up, the agent polls.
 * - Polling: otherwise (the file store) it reads the environment's deployments every
 *   `pollIntervalMs` and asks for a pass when they differ from what it saw last.
 * - A full resync every `resyncIntervalMs`, whatever the store offers: a lost notification or a
 *   missed poll never leaves the agent behind for longer than that.
 * - Bursts are merged into one pass and one reload (pass-scheduler.ts).
 * - A failing store never stops the agent: the failure is logged once (not at every poll), the
 *   pass is retried after `pollIntervalMs`, and recovery is logged. Only a configuration error,
 *   found before it starts, ends it.
 */
import { isCertstageError } from "../errors";
import type { DeploymentWatch } from "../store";
import { CoalescingTiming, DEFAULT_COALESCING, PassKind, PassScheduler } from "./pass-scheduler";
import { AgentSettings, AgentState, deployedVersions, PassOutcome, runPass } from "./sync";

export interface FollowTiming {
  readonly resyncIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly coalescing?: CoalescingTiming;
}

export interface FollowingAgent {
  /** Resolves once no pass runs or waits: the directory reflects what the agent last read. */
  whenIdle(): Promise<void>;
  /** Stops watching, polling and the timer, and lets a running pass finish. */
  stop(): Promise<void>;
  /** When the last pass that read the store and applied what it read ended; undefined before the first. */
  lastSuccessfulPass(): Date | undefined;
}

const signatureOf = (deployments: ReadonlyMap<string, number>) => JSON.stringify([...deployments].sort(([a], [b]) => (a < b ? -1 : 1)));

/** A message of an error for the log: the CertstageError's own, or what the driver said. */
function describeError(error: unknown): string {
  if (isCertstageError(error)) return error.message;
  const failure = error as NodeJS.ErrnoException;
  return `${failure?.code ? `${failure.code}: ` : ""}${failure?.message ?? String(error)}`;
}

export async function followEnvironment(settings: AgentSettings, timing: FollowTiming): Promise<FollowingAgent> {
  const { store, log } = settings;
  const state = await AgentState.load(settings.directory);
  let stopped = false;
  let appliedSignature: string | undefined;
  let polledSignature: string | undefined;
  let polledAt = Number.NEGATIVE_INFINITY;
  let watch: DeploymentWatch | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let watchRetryTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let polling = false;
  let lastSuccess: Date | undefined;

  // The store's failures, logged when they start, change or end, not at every attempt: passes,
  // polls and the change feed each on their own (a poll of a vanished file store reads nothing
  // and succeeds, while every pass refuses it).
  const passes = new FailureLog(log, `the store answers again (${store.description})`);
  const polls = new FailureLog(log, `reading the deployments works again (${store.description})`);
  const feed = new FailureLog(log, `the change feed of ${store.description} works again`);

  const pass = async (kind: PassKind) => {
    const startedAt = Date.now();
    let outcome: PassOutcome;
    try {
      outcome = await runPass(settings, state, kind);
    } catch (error) {
      passes.failed(`${kind === "full" ? "resync" : "pass"} of ${settings.environment} failed`, error);
      clearTimeout(retryTimer);
      if (!stopped) retryTimer = setTimeout(() => scheduler.request("full"), timing.pollIntervalMs);
      return { reloaded: false };
    }
    passes.recovered();
    lastSuccess = settings.now();
    appliedSignature = signatureOf(outcome.deployments);
    // A poll that read another view while this pass ran may have seen a later change: one more pass settles it.
    if (polledAt >= startedAt && polledSignature !== appliedSignature) scheduler.request("change");
    return { reloaded: outcome.reloaded };
  };
  const scheduler = new PassScheduler(pass, timing.coalescing ?? DEFAULT_COALESCING);

  const poll = async () => {
    if (stopped || !polling) return;
    try {
      const signature = signatureOf(await deployedVersions(store, settings.environment, settings.certificates));
      polledAt = Date.now();
      polls.recovered();
      // Asked once per change seen: asking at every poll of an unchanged view would keep the quiet window from ever ending.
      if (signature !== polledSignature) {
        polledSignature = signature;
        // Before the first pass ends there is nothing to compare with: that pass reports back (above).
        if (appliedSignature !== undefined && signature !== appliedSignature) scheduler.request("change");
      }
    } catch (error) {
      polls.failed(`reading the deployments of ${settings.environment} failed`, error);
    }
    if (!stopped && polling) pollTimer = setTimeout(() => void poll(), timing.pollIntervalMs);
  };
  const startPolling = () => {
    if (polling) return;
    polling = true;
    pollTimer = setTimeout(() => void poll(), timing.pollIntervalMs);
  };
  const stopPolling = () => {
    polling = false;
    clearTimeout(pollTimer);
  };

  const watchDeployments = store.watchDeployments?.bind(store);
  const startWatch = async () => {
    if (stopped || watchDeployments === undefined) return;
    try {
      const opened = await watchDeployments(settings.environment, {
        onChange: () => scheduler.request("change"),
        onResync: () => {
          feed.recovered();
          scheduler.request("full");
        },
        onError: (error) => feed.failed(`the change feed of ${store.description}`, error),
      });
      if (stopped) {
        await opened.close();
        return;
      }
      watch = opened;
      feed.recovered();
      stopPolling();
      log(`following changes ${store.description} pushes, and a full resync every ${timing.resyncIntervalMs / 1000} s`);
    } catch (error) {
      feed.failed(`watching ${store.description} failed (polling every ${timing.pollIntervalMs / 1000} s meanwhile)`, error);
      startPolling();
      if (!stopped) watchRetryTimer = setTimeout(() => void startWatch(), Math.max(timing.pollIntervalMs, 1000));
    }
  };

  const resyncTimer = setInterval(() => scheduler.request("full"), timing.resyncIntervalMs);
  scheduler.request("full", { immediate: true });
  if (watchDeployments !== undefined) await startWatch();
  else {
    log(`polling ${store.description} every ${timing.pollIntervalMs / 1000} s, and a full resync every ${timing.resyncIntervalMs / 1000} s`);
    startPolling();
  }

  return {
    whenIdle: () => scheduler.whenIdle(),
    lastSuccessfulPass: () => lastSuccess,
    async stop() {
      stopped = true;
      clearInterval(resyncTimer);
      clearTimeout(retryTimer);
      clearTimeout(watchRetryTimer);
      stopPolling();
      await scheduler.stop();
      await watch?.close().catch((error: unknown) => log(`closing the change feed: ${describeError(error)}`));
    },
  };
}

/** One full pass, for `--once` and cron: throws what stopped it (a store error) instead of retrying. */
export async function syncOnce(settings: AgentSettings): Promise<PassOutcome> {
  return runPass(settings, await AgentState.load(settings.directory), "full");
}

/** One kind of failure, logged when it starts or changes and when it ends, never at every retry. */
class FailureLog {
  private current: string | undefined;

  constructor(
    private readonly log: (line: string) => void,
    private readonly recoveredLine: string,
  ) {}

  failed(what: string, error: unknown): void {
    const message = `${what}: ${describeError(error)}`;
    if (message !== this.current) this.log(`${message}; retrying`);
    this.current = message;
  }

  recovered(): void {
    if (this.current !== undefined) this.log(this.recoveredLine);
    this.current = undefined;
  }
}
