/**
 * A headless Chromium driven over the Chrome DevTools Protocol, for tests that look at a page as a
 * browser renders it. The protocol runs over `--remote-debugging-pipe`: Chromium reads commands
 * from its fd 3 and writes replies and events to its fd 4, each a JSON message ended by a NUL
 * byte. That needs no WebSocket client (Node 20 has no stable one, and the project takes no new
 * dependency) and opens no port at all.
 *
 * Each browser gets its own temporary profile directory, runs in a session of its own (so every
 * renderer and helper process it starts can be killed with it), and dies with the test worker
 * (setpriv --pdeathsig). The network is closed three ways: no host name resolves
 * (--host-resolver-rules), background services that call home are off, and each page is put
 * offline through Network.emulateNetworkConditions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { temporaryDirectory } from "./certificates";
import { killSession, withParentDeathSignal } from "./processes";

export interface CdpEvent {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly sessionId?: string;
}

interface Pending {
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
  readonly method: string;
}

/** Flags for a browser that shows a page and nothing else, with no network and no first-run UI. */
function chromiumFlags(profile: string): string[] {
  return [
    "--headless",
    "--remote-debugging-pipe",
    `--user-data-dir=${profile}`,
    // The tests run as root in containers, where Chromium's sandbox cannot start.
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    // No name resolves, so nothing can leave the machine by name even if something tried.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "about:blank",
  ];
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: CdpEvent) => void>();
  private buffered = "";
  private exited = false;
  private readonly stderrLines: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const input = child.stdio[4] as Readable;
    input.setEncoding("utf8");
    input.on("data", (chunk: string) => this.receive(chunk));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.stderrLines.push(...chunk.split("\n").filter((line) => line !== ""));
      this.stderrLines.splice(0, Math.max(0, this.stderrLines.length - 40));
    });
    child.on("exit", () => {
      this.exited = true;
      for (const [, waiting] of this.pending) waiting.reject(new Error(`Chromium exited before answering ${waiting.method}:\n${this.stderrLines.join("\n")}`));
      this.pending.clear();
    });
  }

  /** Starts `binary` (scripts/chromium.sh says where it is) with a fresh profile. */
  static async launch(binary: string): Promise<Browser> {
    const profile = temporaryDirectory("chromium-profile");
    const [command, args] = withParentDeathSignal(binary, chromiumFlags(profile));
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true });
    const browser = new Browser(child, profile);
    await browser.send("Browser.getVersion");
    return browser;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends one command (to a page when `sessionId` is given) and resolves with its result. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(`Chromium has exited; cannot send ${method}:\n${this.stderrLines.join("\n")}`));
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.child.stdio[3] as Writable).write(`${message}\0`);
    });
  }

  /** Calls `listener` with every event until the returned function is called. */
  onEvent(listener: (event: CdpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first event `matches` accepts from now on. */
  waitFor(matches: (event: CdpEvent) => boolean): Promise<CdpEvent> {
    return new Promise((resolve) => {
      const stop = this.onEvent((event) => {
        if (!matches(event)) return;
        stop();
        resolve(event);
      });
    });
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf("\0")) >= 0) {
      const message = JSON.parse(this.buffered.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
      this.buffered = this.buffered.slice(end + 1);
      if (message.id !== undefined) {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiting?.reject(new Error(`${waiting.method}: ${message.error.message}`));
        else waiting?.resolve(message.result ?? {});
      } else if (message.method) {
        const event: CdpEvent = { method: message.method, params: message.params ?? {}, ...(message.sessionId ? { sessionId: message.sessionId } : {}) };
        for (const listener of [...this.listeners]) listener(event);
      }
    }
  }

  /** Asks Chromium to close, then kills whatever of its session is left, and removes the profile. */
  async close(): Promise<void> {
    if (!this.exited) {
      await Promise.race([this.send("Browser.close").catch(() => undefined), new Promise((resolve) => this.child.once("exit", resolve))]);
    }
    await killSession(this.pid);
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/** One tab, attached with its own protocol session. */
export class Page {
  private constructor(
    readonly browser: Browser,
    readonly sessionId: string,
  ) {}

  /** A new tab, offline, of the given size, with Page, Network, Runtime and Log events on. */
  static async open(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const { targetId } = (await browser.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await browser.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(browser, sessionId);
    for (const domain of ["Page", "Network", "Runtime", "Log"]) await page.send(`${domain}.enable`);
    await page.send("Network.emulateNetworkConditions", { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.send("Emulation.setDeviceMetricsOverride", { width: viewport.width, height: viewport.height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** Every event of this tab until the returned function is called. */
  record(): { events: CdpEvent[]; stop: () => void } {
    const events: CdpEvent[] = [];
    const stop = this.browser.onEvent((event) => {
      if (event.sessionId === this.sessionId) events.push(event);
    });
    return { events, stop };
  }

  /** Navigates and resolves once the load event fired. */
  async navigate(url: string): Promise<void> {
    const loaded = this.browser.waitFor((event) => event.sessionId === this.sessionId && event.method === "Page.loadEventFired");
    const { errorText } = (await this.send("Page.navigate", { url })) as { errorText?: string };
    if (errorText) throw new Error(`navigating to ${url}: ${errorText}`);
    await loaded;
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its value as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = (await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true })) as { result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } };
    if (reply.exceptionDetails) throw new Error(`evaluating in the page: ${reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text}`);
    return reply.result.value as T;
  }

  /** The whole page (not only the viewport) as PNG bytes. */
  async screenshot(): Promise<Buffer> {
    const { data } = (await this.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true })) as { data: string };
    return Buffer.from(data, "base64");
  }
}

/** Parses scripts/chromium.sh's `chromium=<path>` line. */
export function parseChromiumBinary(output: string): string {
  const line = output.split("\n").find((entry) => entry.startsWith("chromium="));
  if (!line) throw new Error(`scripts/chromium.sh printed no chromium= line:\n${output}`);
  return line.slice("chromium=".length).trim();
}
