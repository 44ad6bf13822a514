/**
 * `certstage metrics [--output file.prom] [--environment <name>] [--store <location>]`: the
 * store's certificates as Prometheus metrics (metrics/certificate-metrics.ts), on stdout or in a
 * file for node_exporter's textfile collector.
 *
 * `--output` replaces the file atomically: the text goes to a hidden temporary file in the same
 * directory (`.name.prom.<pid>.<random>.tmp`, which the collector's `*.prom` never matches), then
 * is renamed over it, so a scrape reads the old metrics or the new, never half. Mode 0644: the
 * collector runs as another user. The directory is checked before the store is opened, so a
 * wrong path fails at once, with nothing written.
 *
 * Read-only: no store key needed, nothing written to the store. Exit 0 when written, 2 when it
 * cannot run (a bad option, a store it cannot read, an --output it cannot write).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { now } from "../clock";
import { CertstageError, isCertstageError } from "../errors";
import { certificateMetrics } from "../metrics/certificate-metrics";
import { formatExposition } from "../metrics/exposition";
import { projectDirectory } from "../settings/project-directory";
import { NAME_PATTERN, openStore, parseStoreSetting, type Store } from "../store";
import { replaceFileAtomically } from "../store/atomic-file";
import { nameInvalid } from "../store/store-errors";

export const METRICS_USAGE = `Usage: certstage metrics [--output <file.prom>] [--environment <name>] [--store <location>]

Prints the store's certificates as Prometheus metrics (text exposition format), or writes them
atomically to --output, e.g. into node_exporter's --collector.textfile.directory.

Options:
  --output <file>       write here (temporary file + rename, mode 0644) instead of stdout
  --environment <name>  only what this environment serves
  --store <location>    the store (default: $CERTSTAGE_STORE or .certstage in the Pulumi project)
  --help                this text
`;

function outputUnwritable(file: string, why: string, cause?: unknown): CertstageError {
  return new CertstageError("METRICS_OUTPUT_UNWRITABLE", `cannot write ${file}: ${why}; nothing was written`, {
    field: "--output",
    fix: "give a file in an existing directory this user may write, e.g. /var/lib/prometheus/node-exporter/certstage.prom",
    cause,
  });
}

/** The directory --output goes into must exist, be a directory and be writable: checked before anything is read. */
async function checkOutputDirectory(file: string): Promise<void> {
  const directory = path.dirname(file);
  let stat;
  try {
    stat = await fs.stat(directory);
  } catch (error) {
    throw outputUnwritable(file, `its directory ${directory} ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read (${(error as NodeJS.ErrnoException).code})`}`, error);
  }
  if (!stat.isDirectory()) throw outputUnwritable(file, `${directory} is not a directory`);
  try {
    await fs.access(directory, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    throw outputUnwritable(file, `this user may not write in ${directory}`, error);
  }
  const existing = await fs.stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw outputUnwritable(file, "it is a directory");
}

export async function metricsMain(argv: string[], output: NodeJS.WritableStream = process.stdout): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: { output: { type: "string" }, environment: { type: "string" }, store: { type: "string" }, help: { type: "boolean", default: false } },
    }));
  } catch (error) {
    process.stderr.write(`certstage metrics: ${(error as Error).message}\n\n${METRICS_USAGE}`);
    return 2;
  }
  if (values.help) {
    output.write(METRICS_USAGE);
    return 0;
  }
  let store: Store | undefined;
  try {
    if (values.environment !== undefined && !NAME_PATTERN.test(values.environment)) throw nameInvalid("environment", values.environment, "--environment");
    const file = values.output === undefined ? undefined : path.resolve(values.output);
    if (values.output === "") throw outputUnwritable("''", "the file name is empty");
    if (file !== undefined) await checkOutputDirectory(file);
    const at = now();
    store = openStore(parseStoreSetting(values.store ?? process.env.CERTSTAGE_STORE), projectDirectory());
    const text = formatExposition(await certificateMetrics(store, at, { environment: values.environment }));
    if (file === undefined) output.write(text);
    else {
      try {
        await replaceFileAtomically(file, text, 0o644);
      } catch (error) {
        throw outputUnwritable(file, (error as NodeJS.ErrnoException).code ?? (error as Error).message, error);
      }
    }
    return 0;
  } catch (error) {
    process.stderr.write(`certstage metrics: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  } finally {
    await store?.close();
  }
}
