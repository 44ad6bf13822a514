/**
 * `certstage notify --webhook URL [--environment <name>] [--bands 30d,14d,7d,1d] [--json]`: one
 * chat message per notice owed (lifecycle/notices.ts): a deployed version entering an expiry
 * band, or a failure in history. Since 2025 Let's Encrypt sends no expiry e-mail; this is the
 * team's reminder, from the nightly rotation job.
 *
 * Each notice is claimed in the store before it is sent and marked sent after, so a notice goes
 * out once even when two runs meet; a send that fails releases the claim, and the next run sends
 * it. It reads no private key: the store is opened without CERTSTAGE_STORE_KEY.
 *
 * Exit codes: 0 every notice owed was sent (or none was owed), 1 a message could not be
 * delivered, 2 it cannot run as given (options, webhook, store). The JSON output is a versioned
 * contract (schema/notify-report.schema.json).
 */
import { parseArgs } from "node:util";
import { now } from "../clock";
import { CertstageError, isCertstageError } from "../errors";
import { DEFAULT_BANDS, noticesDue, parseBands, type Notice } from "../lifecycle/notices";
import { projectDirectory } from "../settings/project-directory";
import { defaultPrincipal } from "../settings/stack-settings";
import { openStore, parseStoreSetting, type Actor, type HistoryEntry, type Store } from "../store";
import { assertName } from "../store/store-rules";
import { parseWebhook, postWebhookMessage, realWait, type RetryWait, type Webhook } from "./webhook";

export const NOTIFY_REPORT_SCHEMA_VERSION = 1;

const USAGE = `Usage: certstage notify --webhook <url> [--environment <name>] [--bands <list>] [--json]

Posts one JSON message (its "text" is what the chat shows) for each deployed version that entered
an expiry band, and for each failed task or verification of the last 7 days; each notice once.

Options:
  --webhook <url>        the incoming webhook (default: $CERTSTAGE_NOTIFY_WEBHOOK); its path is
                         secret and never printed
  --environment <name>   only this environment
  --bands <list>         the bands, durations or shares of each lifetime (default: ${DEFAULT_BANDS})
  --store <location>     the store (default: $CERTSTAGE_STORE or .certstage in the Pulumi project)
  --principal <who>      who claims notices, as the store records it (default: $CERTSTAGE_PRINCIPAL)
  --json                 a report of what was sent (schema/notify-report.schema.json)
`;

export type NoticeOutcome = "sent" | "failed" | "not-attempted" | "claimed-elsewhere";

export interface NotifyReport {
  readonly schemaVersion: typeof NOTIFY_REPORT_SCHEMA_VERSION;
  readonly checkedAt: string;
  /** Scheme and host of the webhook only. */
  readonly webhook: string;
  readonly bands: string[];
  readonly environment?: string;
  readonly notices: Array<{ readonly outcome: NoticeOutcome; readonly error?: string; readonly message: NoticeMessage }>;
}

/** The message posted: the notice's facts and a `text` that Slack and Mattermost show as is. */
export type NoticeMessage = Notice & { readonly text: string; readonly source: "certstage" };

export function noticeMessage(notice: Notice): NoticeMessage {
  return { ...notice, source: "certstage", text: noticeText(notice) };
}

function noticeText(notice: Notice): string {
  if (notice.kind === "failure") {
    const where = notice.environment !== undefined ? ` in ${notice.environment}` : "";
    const version = notice.version !== undefined ? ` (version ${notice.version})` : "";
    const what = notice.action === "task.run" ? "A standby deployment task" : notice.action === "verify" ? "Verification" : notice.action === "acme.order" ? "The ACME order (issuance or renewal)" : `${notice.action}`;
    return `certstage: ${what} failed for certificate ${notice.certificate}${where}${version} at ${notice.at}${notice.detail ? `: ${notice.detail}` : ""}. See certstage history --certificate ${notice.certificate}.`;
  }
  const subject = `certstage: certificate ${notice.certificate} in ${notice.environment} (version ${notice.version})`;
  if (notice.expired) return `${subject} EXPIRED at ${notice.notAfter}, ${-notice.daysLeft} day${notice.daysLeft === -1 ? "" : "s"} ago. Renew it and deploy a new version now.`;
  return `${subject} expires in ${notice.daysLeft} day${notice.daysLeft === 1 ? "" : "s"}, at ${notice.notAfter} (entered the ${notice.band} band). Renew it, or deploy a newer version.`;
}

export interface NotifyRun {
  readonly store: Store;
  readonly webhook: Webhook;
  readonly bands: string;
  readonly environment?: string;
  readonly actor: Actor;
  readonly now: Date;
  readonly wait?: RetryWait;
  readonly progress?: (line: string) => void;
}

/**
 * Claims and sends every notice owed, in order. After a message that could not be delivered it
 * stops: the webhook is down or refusing, and trying each remaining notice would only multiply
 * the waits; the next run sends them all.
 */
export async function runNotify(run: NotifyRun): Promise<NotifyReport> {
  const bands = parseBands(run.bands);
  if (run.environment !== undefined) assertName(run.environment, "environment");
  const records = await run.store.listNotifications();
  const [deployments, versions, history] = await Promise.all([run.store.listDeployments(), run.store.listAllVersions(), failedHistory(run.store, run.environment)]);
  const sent = new Set(records.filter((record) => record.state === "sent").map((record) => record.key));
  const due = noticesDue({ deployments, versions, history, bands, sent, now: run.now, environment: run.environment });
  const notices: Array<NotifyReport["notices"][number]> = [];
  let stopped = false;
  for (const notice of due) {
    const message = noticeMessage(notice);
    if (stopped) {
      notices.push({ outcome: "not-attempted", message });
      continue;
    }
    const claimed = await run.store.claimNotification({ key: notice.key, certificate: notice.certificate, environment: notice.environment, at: run.now.toISOString() }, run.actor);
    if (!claimed) {
      notices.push({ outcome: "claimed-elsewhere", message });
      continue;
    }
    try {
      await postWebhookMessage(run.webhook, message, run.wait ?? realWait);
    } catch (error) {
      const text = isCertstageError(error) ? error.problem : "the request failed";
      await run.store.releaseNotification(claimed, text);
      notices.push({ outcome: "failed", error: isCertstageError(error) ? error.message : text, message });
      run.progress?.(`not sent: ${notice.key}: ${text}`);
      stopped = true;
      continue;
    }
    await run.store.markNotificationSent(claimed, new Date().toISOString());
    notices.push({ outcome: "sent", message });
    run.progress?.(`sent: ${message.text}`);
  }
  return {
    schemaVersion: NOTIFY_REPORT_SCHEMA_VERSION,
    checkedAt: run.now.toISOString(),
    webhook: run.webhook.origin,
    bands: bands.map((band) => band.text),
    ...(run.environment !== undefined ? { environment: run.environment } : {}),
    notices,
  };
}

export function formatNotifyReport(report: NotifyReport): string {
  const count = (outcome: NoticeOutcome) => report.notices.filter((notice) => notice.outcome === outcome).length;
  const where = report.environment !== undefined ? ` in ${report.environment}` : "";
  if (report.notices.length === 0) return `Nothing to notify${where}: no deployed version entered a band (${report.bands.join(", ")}) and no failure is new.\n`;
  const lines = [`Posted ${count("sent")} of ${report.notices.length} notice${report.notices.length === 1 ? "" : "s"}${where} to ${report.webhook}.`];
  for (const notice of report.notices.filter((entry) => entry.outcome === "failed")) lines.push(`certstage: ${notice.error}`);
  const left = count("not-attempted") + count("failed");
  if (left > 0) lines.push(`${left} not delivered; the next run of certstage notify sends ${left === 1 ? "it" : "them"}.`);
  if (count("claimed-elsewhere") > 0) lines.push(`${count("claimed-elsewhere")} being sent by another run at the same time.`);
  return `${lines.join("\n")}\n`;
}

/** The command: its own options, its own exit codes (see the header). */
export async function notifyMain(argv: string[], output: NodeJS.WritableStream, environment: NodeJS.ProcessEnv = process.env): Promise<number> {
  let store: Store | undefined;
  try {
    let values;
    try {
      values = parseArgs({
        args: argv,
        options: {
          webhook: { type: "string" },
          environment: { type: "string" },
          bands: { type: "string" },
          store: { type: "string" },
          principal: { type: "string" },
          json: { type: "boolean", default: false },
          help: { type: "boolean", default: false },
        },
      }).values;
    } catch (error) {
      // parseArgs quotes what it could not read, and that may be the webhook URL itself.
      process.stderr.write(`certstage: notify: ${(error as Error).message.replace(/\bhttps?:\/\/[^\s'"]*/g, (url) => originOf(url))}\n\n${USAGE}`);
      return 2;
    }
    if (values.help) {
      output.write(USAGE);
      return 0;
    }
    const webhook = parseWebhook(values.webhook ?? environment.CERTSTAGE_NOTIFY_WEBHOOK, values.webhook !== undefined ? "--webhook" : "CERTSTAGE_NOTIFY_WEBHOOK");
    const bands = values.bands ?? DEFAULT_BANDS;
    parseBands(bands);
    if (values.environment !== undefined) assertName(values.environment, "environment");
    // No key-encryption key: notify reads no private key, and so cannot.
    const { CERTSTAGE_STORE_KEY: _key, ...withoutKey } = environment;
    store = openStore(parseStoreSetting(values.store ?? environment.CERTSTAGE_STORE), projectDirectory(), { environment: withoutKey });
    const actor: Actor = { principal: values.principal ?? environment.CERTSTAGE_PRINCIPAL ?? defaultPrincipal() };
    const progress = values.json ? undefined : (line: string) => output.write(`${line}\n`);
    const report = await runNotify({ store, webhook, bands, environment: values.environment, actor, now: now(environment), progress });
    output.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatNotifyReport(report));
    return report.notices.some((notice) => notice.outcome === "failed" || notice.outcome === "not-attempted") ? 1 : 0;
  } catch (error) {
    process.stderr.write(`certstage: ${error instanceof CertstageError ? error.message : (error as Error).message}\n`);
    return 2;
  } finally {
    await store?.close();
  }
}

function originOf(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return "<a URL>";
  }
}

/** The failed entries of history, streamed: failures are all noticesDue reads of it, and history grows with every change. */
async function failedHistory(store: Store, environment: string | undefined): Promise<HistoryEntry[]> {
  const failed: HistoryEntry[] = [];
  for await (const batch of store.streamHistory(environment !== undefined ? { environment } : {})) for (const entry of batch) if (entry.result === "failed") failed.push(entry);
  return failed;
}
