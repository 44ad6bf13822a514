/**
 * `certstage report --html <file> [--store <location>] [--environment <name>]`: one
 * self-contained HTML page of what the store holds (certificates × environments, the served
 * versions, pending standby swaps and undeploys, an expiry timeline) for people who do not run
 * commands: a CI job keeps it as an artifact, a team opens it from a shared drive. The page is decided in
 * report/model.ts and drawn in report/html.ts; this file only reads the store and writes the file.
 *
 * Read-only: it lists the store and reads no version's files, so no private key is read, and a
 * preview role (no store key) can run it. The file is written whole or not at all (temp file,
 * fsync, rename), so a browser or a web server never shows half a page.
 *
 * Exit codes: 0 written, 2 it cannot run (an option, the store, the output file).
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { now } from "../clock";
import { CertstageError, isCertstageError } from "../errors";
import { buildReportModel, type ReportInputs, type ReportModel } from "../report/model";
import { renderReportHtml } from "../report/html";
import { projectDirectory } from "../settings/project-directory";
import { NAME_PATTERN, NAME_RULE, openStore, parseStoreSetting, type Store } from "../store";
import { replaceFileAtomically } from "../store/atomic-file";

export const REPORT_USAGE = `Usage: certstage report --html <file> [--store <location>] [--environment <name>]

Writes one self-contained HTML page: certificates × environments with the version each serves,
pending standby swaps and undeploys, and an expiry timeline. Reads the store only; no private
key is read.

  --html <file>        where to write the page (replaced atomically)
  --store <location>   the store (default: $CERTSTAGE_STORE or .certstage in the Pulumi project)
  --environment <name> only this environment
`;

export async function reportMain(args: string[], output: NodeJS.WritableStream): Promise<number> {
  let values: { html?: string; store?: string; environment?: string; help?: boolean };
  try {
    values = parseArgs({ args, options: { html: { type: "string" }, store: { type: "string" }, environment: { type: "string" }, help: { type: "boolean", default: false } } }).values;
  } catch (error) {
    process.stderr.write(`certstage: ${(error as Error).message}\n\n${REPORT_USAGE}`);
    return 2;
  }
  if (values.help) {
    output.write(REPORT_USAGE);
    return 0;
  }
  if (values.html === undefined || values.html === "") {
    process.stderr.write(`certstage: report needs --html <file>, e.g. --html report.html\n`);
    return 2;
  }
  let store: Store | undefined;
  try {
    if (values.environment !== undefined && !NAME_PATTERN.test(values.environment)) {
      throw new CertstageError("NAME_INVALID", `--environment ${JSON.stringify(values.environment.slice(0, 64))} is not an environment name`, { field: "--environment", fix: NAME_RULE });
    }
    store = openStore(parseStoreSetting(values.store ?? process.env.CERTSTAGE_STORE), projectDirectory());
    const model = buildReportModel(await readReportInputs(store), now(), values.environment);
    const file = path.resolve(values.html);
    await writeReport(file, renderReportHtml(model));
    output.write(`${summaryLine(file, model)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`certstage: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  } finally {
    await store?.close();
  }
}

/** Each store-wide listing once; deployments before versions, as status reads them (a planted environment link is refused before any version is read). */
export async function readReportInputs(store: Store): Promise<ReportInputs> {
  const certificates = await store.listCertificates();
  const deployments = await store.listDeployments();
  const tasks = await store.listTasks();
  const versions = await store.listAllVersions();
  return { storeDescription: store.description, certificates, versions, deployments, tasks };
}

async function writeReport(file: string, html: string): Promise<void> {
  try {
    await replaceFileAtomically(file, html, 0o644);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CertstageError("REPORT_UNWRITABLE", `cannot write ${file} (${reason})`, {
      field: "--html",
      fix: "give a file in a directory that exists and this user may write to, e.g. --html report.html",
      cause: error,
    });
  }
}

function summaryLine(file: string, model: ReportModel): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const urgent = model.counts.expired + model.counts.critical + model.counts.warning;
  return `Wrote ${file}: ${plural(model.certificates.length, "certificate")}, ${plural(model.environments.length, "environment")}, ${plural(model.timeline.bars.length, "served version")} (${urgent} to renew), ${plural(model.pendingSwaps.length, "pending swap")}, ${plural(model.pendingUndeploys.length, "pending undeploy")}.`;
}
