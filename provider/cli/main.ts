#!/usr/bin/env node
/**
 * The `certstage` command, for what happens outside `pulumi up`: looking at the store.
 *
 *   certstage status [--json] [--store <dir>]
 *   certstage history [--environment <name>] [--certificate <name>] [--json] [--store <dir>]   written as it is read
 *   certstage expiring --within 30d|33% [--environment <name>] [--json]   exit 1 when something deployed is inside
 *   certstage lint <certificates.yaml> [--stack <name>] [--format text|github] [--json]   exit 1 when the manifest has a problem
 *   certstage tasks list [--state <state>] [--environment <name>] [--certificate <name>] [--json]
 *   certstage tasks run [--task <id>] [--json]      runs due standby tasks; exit 1 when one failed
 *   certstage tasks cancel <id>
 *   certstage versions remove <certificate> <n>   a version no resource owns (see status)
 *   certstage agent --store <location> --environment <name> --directory <dir> [...]   (cli/agent.ts)
 *   certstage agents [--json]                       what every agent serves, and which lag
 *   certstage store migrate|copy|rekey            look after a postgres store (store-admin.ts)
 *   certstage pr-comment --repository o/r --pull-request n --body-file f   one comment per marker (pr-comment.ts)
 *   certstage report --html <file> [--environment <name>]   one self-contained HTML page (report.ts)
 *   certstage notify --webhook <url> [--environment <name>] [--bands <list>] [--json]   chat messages once per band and failure (notify.ts)
 *   certstage metrics [--output file.prom] [--environment <name>]   Prometheus metrics (metrics.ts)
 *   certstage preview-summary --preview preview.json --project p --stack s [--output f]   the PR comment (preview-summary.ts)
 *
 * Commands that change a certificate (tasks run and cancel, versions remove) act as `--principal`
 * and the teams of `--teams`, and only on certificates those own (lifecycle/authorization.ts).
 *
 * The store defaults to CERTSTAGE_STORE, then `.certstage` in the Pulumi project directory (the
 * nearest directory with Pulumi.yaml), where a program keeps it unless `certstage:store` says
 * otherwise. Relative paths resolve against that directory too.
 */
import "./compile-cache";
import { parseArgs } from "node:util";
import { now } from "../clock";
import { isCertstageError } from "../errors";
import { projectDirectory } from "../settings/project-directory";
import * as path from "node:path";
import { defaultPrincipal, parseTeams } from "../settings/principal";
import { Actor, openStore, parseStoreSetting, TaskState } from "../store";
import { writeHistory } from "./history";
import { readCertificateStatuses, writeStatusJson, writeStatusText } from "./status";
import type { Store } from "../store";
import type { StoreAction } from "./store-admin";

// Every other command's module is loaded when that command runs (`load`): `certstage status` and
// `history` are run in loops and scripts, and loading all of them (with yaml, the agent, the HTML
// report) cost every invocation more than the command itself. `import()` rather than `require`:
// compiled to CommonJS it is a require when called, and it also loads the TypeScript sources
// when a test runner runs this file as they are.
const load = {
  agent: () => import("./agent"),
  prComment: () => import("./pr-comment"),
  report: () => import("./report"),
  notify: () => import("./notify"),
  metrics: () => import("./metrics"),
  previewSummary: () => import("./preview-summary"),
  tasks: () => import("./tasks"),
  storeAdmin: () => import("./store-admin"),
  versions: () => import("./versions"),
  expiring: () => import("./expiring"),
  expiryWindow: () => import("../lifecycle/expiry-window"),
  stackSettings: () => import("../settings/stack-settings"),
  stackConfigFile: () => import("../settings/stack-config-file"),
  // lint runs the resources' own checks, which load @pulumi/pulumi (about 0.6 s of start-up).
  lint: () => import("./lint"),
};

const USAGE = `Usage: certstage <command> [options]

Commands:
  status      certificates, versions and what each environment serves
  history     every deploy, rollback, undeploy, verification and task (who, when, from, to)
  expiring --within <window>
              deployed versions expiring inside the window: a duration (30d, 72h, 2w) or a
              share of each lifetime (33%); exit 1 when there is one, 2 when it cannot tell
  lint <certificates.yaml>
              check a manifest offline as a preview would: YAML, schema, files, every preview
              check; problems at file:line:column; exit 1 when there is one, 2 when it cannot run
  tasks list  standby deployments and how they ended
  tasks run   perform the standby deployments that are due (exit 1 when one fails)
  tasks cancel <id>
              drop a pending standby deployment
  versions remove <certificate> <n>
              remove a version no resource owns (status marks it unclaimed)
  agent       keep an environment's certificates in a directory on this server (see certstage agent --help)
  agents      what every agent serves, and which of them lag (exit 1 when one does)
  store migrate
              create or upgrade a postgres store's schema (run as the database's owner)
  store copy --from <store> --to <postgres store>
              move a store over: versions keep their numbers, history is kept
  store rekey re-wrap every sealed key under the first key of CERTSTAGE_STORE_KEY
  pr-comment --repository <owner/name> --pull-request <n> --body-file <file>
              post or update the one pull-request comment whose first line is the body's hidden
              marker (GITHUB_TOKEN, GITHUB_API_URL); exit 1 when GitHub refuses, 2 when it cannot run
  report --html <file> [--environment <name>]
              one self-contained HTML page: certificates x environments, served versions, pending
              swaps and an expiry timeline; reads the store only; exit 2 when it cannot write it
  notify --webhook <url>
              post a chat message once per deployed version entering a 30/14/7/1-day band (or
              --bands 33%,10%) and per failed task; exit 1 when one was not delivered (see --help)
  metrics [--output <file.prom>]
              expiry, renewal and served versions as Prometheus metrics, on stdout or written
              atomically for node_exporter's textfile collector (see certstage metrics --help)
  preview-summary --preview <preview.json|-> --project <name> --stack <name> [--output <file>]
              the pull-request comment for a \`pulumi preview --json\`, from the store read-only:
              warnings first, then each certificate's changes; [--expiring-within <days>] (30)

Options:
  --store <location>   the store (default: $CERTSTAGE_STORE or .certstage in the Pulumi project)
  --environment <name> history, expiring: only this environment
  --within <window>    expiring: how far ahead to look
  --format text|github lint: problems as lines, or as GitHub workflow annotations
  --stack <name>       lint: check against that stack's certstage:* settings (its Pulumi.<name>.yaml)
  --certificate <name> history: only this certificate
  --state <state>      tasks list: pending, running, done, failed or cancelled
  --task <id>          tasks run: only this task
  --principal <who>    who acts, for history (default: $CERTSTAGE_PRINCIPAL or user@host)
  --from, --to <store> store copy: the source and the postgres target
  --teams <list>       teams the principal acts for, a JSON or comma list (default: $CERTSTAGE_TEAMS);
                       tasks run/cancel and versions remove change only certificates these own
  --json               machine-readable output
  --help               this text
`;

export async function main(argv: string[], output: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (argv[0] === "agent" || argv[0] === "agents") return (await load.agent()).agentCommand(argv[0], argv.slice(1), output);
  if (argv[0] === "pr-comment") return (await load.prComment()).prCommentMain(argv.slice(1), output);
  if (argv[0] === "report") return (await load.report()).reportMain(argv.slice(1), output);
  if (argv[0] === "notify") return (await load.notify()).notifyMain(argv.slice(1), output);
  if (argv[0] === "metrics") return (await load.metrics()).metricsMain(argv.slice(1), output);
  if (argv[0] === "preview-summary") return (await load.previewSummary()).previewSummaryMain(argv.slice(1), output);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        store: { type: "string" },
        environment: { type: "string" },
        certificate: { type: "string" },
        state: { type: "string" },
        task: { type: "string" },
        principal: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        teams: { type: "string" },
        within: { type: "string" },
        format: { type: "string" },
        stack: { type: "string" },
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
  const subcommand = command === "tasks" || command === "store" ? rest.shift() : undefined;
  const argument = command === "tasks" && subcommand === "cancel" ? rest.shift() : undefined;
  if (command === "tasks" && !["list", "run", "cancel"].includes(subcommand ?? "")) {
    process.stderr.write(`certstage: tasks needs list, run or cancel\n\n${USAGE}`);
    return 2;
  }
  const versionsArguments = command === "versions" ? { action: rest.shift(), certificate: rest.shift(), version: rest.shift() } : undefined;
  if (versionsArguments && (versionsArguments.action !== "remove" || versionsArguments.certificate === undefined || !/^[1-9]\d{0,8}$/.test(versionsArguments.version ?? ""))) {
    process.stderr.write(`certstage: versions remove needs a certificate name and a version number (see certstage status)\n`);
    return 2;
  }
  if (subcommand === "cancel" && argument === undefined) {
    process.stderr.write(`certstage: tasks cancel needs a task id (see certstage tasks list)\n`);
    return 2;
  }
  const states: readonly TaskState[] = ["pending", "running", "done", "failed", "cancelled"];
  if (parsed.values.state !== undefined && !states.includes(parsed.values.state as TaskState)) {
    process.stderr.write(`certstage: --state must be one of ${states.join(", ")}\n`);
    return 2;
  }
  const lintFile = command === "lint" ? rest.shift() : undefined;
  if (rest.length > 0) {
    process.stderr.write(`certstage: unexpected argument '${rest[0]}'\n\n${USAGE}`);
    return 2;
  }
  if (command === "store") {
    const { STORE_ACTIONS, runStoreCommand } = await load.storeAdmin();
    const action = subcommand;
    if (!STORE_ACTIONS.includes(action as StoreAction)) {
      process.stderr.write(`certstage: store needs ${STORE_ACTIONS.join(", ")}\n\n${USAGE}`);
      return 2;
    }
    return runStoreCommand(action as StoreAction, { store: parsed.values.store, from: parsed.values.from, to: parsed.values.to, json: parsed.values.json }, output);
  }
  const actor: Actor = {
    principal: parsed.values.principal ?? process.env.CERTSTAGE_PRINCIPAL ?? defaultPrincipal(),
    teams: parseTeams(parsed.values.teams ?? process.env.CERTSTAGE_TEAMS, parsed.values.teams !== undefined ? "--teams" : "CERTSTAGE_TEAMS"),
  };
  if (command === "expiring") return expiringCommand(parsed.values, output);
  if (command === "lint") {
    const manifestProject = projectDirectory(path.dirname(path.resolve(lintFile ?? ".")));
    const [{ stackConfigReader }, { readProviderSettings }] = await Promise.all([load.stackConfigFile(), load.stackSettings()]);
    const config = () => (parsed.values.stack === undefined ? () => undefined : stackConfigReader(manifestProject, parsed.values.stack));
    const settings = () => readProviderSettings(config(), process.env, manifestProject);
    return (await load.lint()).lintCommand({ file: lintFile, format: parsed.values.format, json: parsed.values.json }, settings, () => actor, output);
  }
  const store = openStore(parseStoreSetting(parsed.values.store ?? process.env.CERTSTAGE_STORE), projectDirectory());
  try {
    switch (command) {
      case "status": {
        await readCertificateStatuses(store, (statuses) => (parsed.values.json ? writeStatusJson(statuses, output) : writeStatusText(statuses, store.description, output)));
        return 0;
      }
      case "history": {
        await writeHistory(store.streamHistory({ environment: parsed.values.environment, certificate: parsed.values.certificate }), parsed.values.json, output);
        return 0;
      }
      case "tasks": {
        if (subcommand === "list") {
          const tasks = await store.listTasks({ environment: parsed.values.environment, certificate: parsed.values.certificate, state: parsed.values.state as TaskState | undefined });
          output.write(parsed.values.json ? `${JSON.stringify({ tasks }, null, 2)}\n` : (await load.tasks()).formatTasks(tasks));
          return 0;
        }
        if (subcommand === "cancel") {
          const queued = await store.getTask(argument!);
          const refusal = queued ? await (await load.tasks()).deployRefusal(store, actor, queued.certificate) : undefined;
          if (refusal) throw refusal;
          const task = await store.finishTask(argument!, { state: "cancelled", detail: `cancelled by ${actor.principal}` }, actor);
          output.write(parsed.values.json ? `${JSON.stringify({ task }, null, 2)}\n` : (await load.tasks()).formatTasks([task]));
          return 0;
        }
        const progress = parsed.values.json ? undefined : (line: string) => output.write(`${line}\n`);
        const { runDueTasks, formatTasks } = await load.tasks();
        const { ran, skipped } = await runDueTasks(store, actor, now(), { only: parsed.values.task, progress });
        if (parsed.values.json) output.write(`${JSON.stringify({ ran: ran.map((outcome) => outcome.task), skipped: skipped.map(({ task, reason }) => ({ task: task.id, reason })) }, null, 2)}\n`);
        else output.write(ran.length === 0 ? "No task is due.\n" : formatTasks(ran.map((outcome) => outcome.task)));
        return ran.every((outcome) => outcome.ok) ? 0 : 1;
      }
      case "versions": {
        const version = Number(versionsArguments!.version);
        await (await load.versions()).removeUnclaimedVersion(store, versionsArguments!.certificate!, version, actor);
        output.write(parsed.values.json ? `${JSON.stringify({ removed: { certificate: versionsArguments!.certificate, version } })}\n` : `Removed version ${version} of ${versionsArguments!.certificate}.\n`);
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

/** Its own exit codes: 1 means "something expires", so not knowing must be 2, never 1. */
async function expiringCommand(values: { store?: string; environment?: string; within?: string; json?: boolean }, output: NodeJS.WritableStream): Promise<number> {
  let store: Store | undefined;
  try {
    if (values.within === undefined) {
      process.stderr.write(`certstage: expiring needs --within, e.g. --within 30d or --within 33%\n`);
      return 2;
    }
    const window = (await load.expiryWindow()).parseExpiryWindow(values.within);
    const { buildExpiringReport, formatExpiringReport } = await load.expiring();
    store = openStore(parseStoreSetting(values.store ?? process.env.CERTSTAGE_STORE), projectDirectory());
    const report = await buildExpiringReport(store, window, now(), values.environment);
    output.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatExpiringReport(report));
    return report.expiring.length > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`certstage: ${isCertstageError(error) ? error.message : (error as Error).message}\n`);
    return 2;
  } finally {
    await store?.close();
  }
}

if (require.main === module) {
  // A reader that stops early (`certstage history | head`) closes the pipe: that ends the command,
  // quietly and with success (the reader chose to stop), instead of an EPIPE stack trace on stderr.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(0);
  });
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
