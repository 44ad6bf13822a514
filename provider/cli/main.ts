#!/usr/bin/env node
/**
 * The `certstage` command, for what happens outside `pulumi up`: looking at the store.
 *
 *   certstage status [--json] [--store <dir>]
 *   certstage history [--environment <name>] [--certificate <name>] [--json] [--store <dir>]
 *
 * The store defaults to CERTSTAGE_STORE, then `.certstage` in the Pulumi project directory (the
 * nearest directory with Pulumi.yaml), where a program keeps it unless `certstage:store` says
 * otherwise. Relative paths resolve against that directory too.
 */
import { parseArgs } from "node:util";
import { isCertstageError } from "../errors";
import { projectDirectory } from "../resources/project-directory";
import { openStore, parseStoreSetting } from "../store";
import { formatHistory } from "./history";
import { buildStatusReport, formatStatusReport } from "./status";

const USAGE = `Usage: certstage <command> [options]

Commands:
  status      certificates, versions and what each environment serves
  history     every deploy, rollback and undeploy (who, when, from, to)

Options:
  --store <location>   the store (default: $CERTSTAGE_STORE or .certstage in the Pulumi project)
  --environment <name> history: only this environment
  --certificate <name> history: only this certificate
  --json               machine-readable output
  --help               this text
`;

export async function main(argv: string[], output: NodeJS.WritableStream = process.stdout): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        store: { type: "string" },
        environment: { type: "string" },
        certificate: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`certstage: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    output.write(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  if (rest.length > 0) {
    process.stderr.write(`certstage: unexpected argument '${rest[0]}'\n\n${USAGE}`);
    return 2;
  }
  const store = openStore(parseStoreSetting(parsed.values.store ?? process.env.CERTSTAGE_STORE), projectDirectory());
  try {
    switch (command) {
      case "status": {
        const report = await buildStatusReport(store);
        output.write(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatusReport(report, store.description));
        return 0;
      }
      case "history": {
        const entries = await store.readHistory({ environment: parsed.values.environment, certificate: parsed.values.certificate });
        output.write(parsed.values.json ? `${JSON.stringify({ history: entries }, null, 2)}\n` : formatHistory(entries));
        return 0;
      }
      default:
        process.stderr.write(`certstage: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`certstage: ${isCertstageError(error) ? error.message : (error as Error).stack}\n`);
      process.exitCode = 1;
    },
  );
}
