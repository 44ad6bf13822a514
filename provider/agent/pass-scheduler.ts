/**
 * When the agent runs a pass (read the environment, install what differs, reload once). Requests
 * come in bursts: a `pulumi up` that rotates twenty certificates sends twenty notifications, a
 * poll may see a half-finished series of deploys. Each burst is merged into one pass, so servers
 * reload once per burst, not once per change:
 *
 * - a pass starts once requests have been quiet for `quietMs`, or `maxWaitMs` after the first
 *   request of the burst, whichever comes first (a change stream that never pauses still gets
 *   applied);
 * - a pass never starts sooner than `spacingMs` after the end of a pass that reloaded, so however
 *   the changes arrive, reloads are at least that far apart;
 * - requests made while a pass runs are merged into the next one;
 * - a "full" request (resync: also retry refused versions, re-check installed files) outranks a
 *   "change" request merged with it.
 */
export type PassKind = "full" | "change";

export interface CoalescingTiming {
  readonly quietMs: number;
  readonly maxWaitMs: number;
  readonly spacingMs: number;
}

export const DEFAULT_COALESCING: CoalescingTiming = { quietMs: 200, maxWaitMs: 2000, spacingMs: 2000 };

/** What a pass tells the scheduler: whether it reloaded the servers (spacing counts from those). */
export interface PassResult {
  readonly reloaded: boolean;
}

interface PendingPass {
  kind: PassKind;
  readonly firstAt: number;
  lastAt: number;
  immediate: boolean;
}

export class PassScheduler {
  private pending: PendingPass | undefined;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastReloadEndedAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly runPass: (kind: PassKind) => Promise<PassResult>,
    private readonly timing: CoalescingTiming = DEFAULT_COALESCING,
  ) {}

  /** Asks for a pass; `immediate` skips the quiet window (the first pass after start). */
  request(kind: PassKind, options: { readonly immediate?: boolean } = {}): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.pending === undefined) {
      this.pending = { kind, firstAt: now, lastAt: now, immediate: options.immediate === true };
    } else {
      if (kind === "full") this.pending.kind = "full";
      this.pending.lastAt = now;
      this.pending.immediate ||= options.immediate === true;
    }
    this.arm();
  }

  /** Resolves once no pass runs and none is waiting (a pass that fails counts as ended). */
  whenIdle(): Promise<void> {
    if (this.running === undefined && this.pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what waits and resolves once the running pass (if any) has ended; no pass starts after. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pending = undefined;
    await this.running;
    this.wakeIdle();
  }

  private dueAt(pending: PendingPass): number {
    const { quietMs, maxWaitMs, spacingMs } = this.timing;
    const wanted = pending.immediate ? pending.firstAt : Math.min(pending.lastAt + quietMs, pending.firstAt + maxWaitMs);
    return Math.max(wanted, this.lastReloadEndedAt + spacingMs);
  }

  private arm(): void {
    if (this.stopped || this.running !== undefined || this.pending === undefined) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.dueAt(this.pending) - Date.now()));
  }

  private fire(): void {
    const pending = this.pending;
    if (pending === undefined || this.stopped) return;
    this.pending = undefined;
    this.running = this.runPass(pending.kind).then(
      (result) => {
        if (result.reloaded) this.lastReloadEndedAt = Date.now();
      },
      // The pass reports its own failures; the scheduler only keeps going.
      () => undefined,
    ).finally(() => {
      this.running = undefined;
      this.arm();
      if (this.pending === undefined) this.wakeIdle();
    });
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
