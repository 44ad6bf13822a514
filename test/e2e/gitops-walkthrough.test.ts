/**
 * The README's GitOps walk-through, every step run: the example infrastructure repository
 * (examples/gitops) and its shipped workflows, job by job and step by step as GitHub would run
 * them (test/support/workflow-runner.ts), against the real Pulumi CLI, a real PostgreSQL store
 * with the roles the README sets up, a real ACME CA (Pebble), a local stand-in for GitHub's REST
 * API and a local webhook receiver.
 *
 *   1. The repository's first push to main: up.yml deploys certificates.yaml.
 *   2. A pull request adds a certificate from the ACME CA. Its first push has a typo: the lint job
 *      fails with an annotation at the line and no preview runs. The fix previews with the
 *      read-only role and no key (the database is not touched), and preview-comment.yml posts one
 *      comment, found on the second page of a busy pull request. A further push updates that
 *      comment in place.
 *   3. The merge: up.yml issues the certificate from the CA and deploys it.
 *   4. The nightly rotation, 25 days on, after the CA's renewal window opened: rotate.yml renews
 *      and swaps the ACME certificate, notifies the webhook about the two certificates nobody had
 *      signed (the placeholders `generate` makes run 30 days), writes metrics, and fails at
 *      `certstage expiring`: the alert.
 *
 * No private key appears in any step's output, comment, webhook message, metrics file or the
 * database dump.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StatusReport } from "../../provider/cli/status";
import { startStoreCluster, type StoreCluster } from "../postgres/support";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { EMULATED_BOT, GitHubEmulator } from "../support/github-server";
import { PebbleServer, pebbleBinDirectory, startPebble } from "../support/pebble";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { runWorkflowJob, type JobResult, type UsesStep } from "../support/workflow-runner";

const EXAMPLE = path.join(REPO_ROOT, "examples", "gitops");
const STACK = "edge";
const REPOSITORY = "acme/infra";
const PULL_REQUEST = 7;
const TOKEN = "ghs_walkthroughTokenNeverPrinted0123456789";
const PASSPHRASE = "walkthrough-passphrase";
const DAY_MS = 86_400_000;
/** The install step of every job: certstage comes from this checkout, not from the registry. */
const INSTALL = "npm ci --ignore-scripts --no-audit --no-fund";

let world: StoreCluster;
let database: string;
let storeUrl: string;
let pebble: PebbleServer;
let github: GitHubEmulator;
let webhook: { server: Server; url: string; messages: Array<Record<string, unknown>> };
let root: string;
let origin: string;
let backend: string;
let runs = 0;
const outputs: Array<{ where: string; text: string }> = [];

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "Platform Team", GIT_AUTHOR_EMAIL: "platform@example.test", GIT_COMMITTER_NAME: "Platform Team", GIT_COMMITTER_EMAIL: "platform@example.test" } });

/** What the job's runner holds before the workflow's own env: the tools on PATH and GitHub's defaults. */
function runnerEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = temporaryDirectory("runner-home");
  return {
    PATH: `${inject("pulumiBinDirectory")}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`,
    HOME: home,
    PULUMI_HOME: path.join(home, ".pulumi"),
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    NO_COLOR: "1",
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_API_URL: github.url,
    ...extra,
  };
}

/** Every `${{ … }}` the shipped workflows hold, as this repository's settings answer them. */
function expressions(): Record<string, string> {
  return {
    "matrix.stack": STACK,
    "vars.PULUMI_BACKEND_URL": `file://${backend}`,
    "vars.CERTSTAGE_STORE": storeUrl,
    "vars.CERTSTAGE_PGUSER": "edge-ci",
    "vars.CERTSTAGE_PREVIEW_PGUSER": "preview",
    "secrets.PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
    "secrets.CERTSTAGE_PGPASSWORD": world.login("edge-ci").password,
    "secrets.CERTSTAGE_PREVIEW_PGPASSWORD": world.login("preview").password,
    "secrets.CERTSTAGE_STORE_KEY": world.keyText,
    "secrets.CERTSTAGE_NOTIFY_WEBHOOK": webhook.url,
    "github.event.pull_request.number": String(PULL_REQUEST),
    "github.event.repository.default_branch": "main",
    "github.event.workflow_run.id": "4242",
    "github.token": TOKEN,
    "join(github.event.workflow_run.pull_requests.*.number, ' ')": String(PULL_REQUEST),
  };
}

/** What `npm ci` gives the checkout: @pulumi/pulumi and its dependencies, and certstage with its bin. */
function installDependencies(checkout: string): void {
  const modules = path.join(checkout, "node_modules");
  mkdirSync(path.join(modules, ".bin"), { recursive: true });
  for (const entry of readdirSync(path.join(REPO_ROOT, "node_modules"))) {
    if (!entry.startsWith(".")) symlinkSync(path.join(REPO_ROOT, "node_modules", entry), path.join(modules, entry));
  }
  symlinkSync(REPO_ROOT, path.join(modules, "certstage"));
  const bin = path.join(modules, ".bin", "certstage");
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO_ROOT, "dist", "provider", "cli", "main.js")}" "$@"\n`, { mode: 0o755 });
}

/** Runs one job of a shipped workflow on a fresh runner checking out `ref` of the repository. */
async function runJob(workflow: string, job: string, ref: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<JobResult> {
  runs += 1;
  const checkout = path.join(root, `run-${runs}-${job}`);
  const artifacts = path.join(root, "artifacts");
  const actions: Record<string, (step: UsesStep) => void> = {
    "actions/checkout": (step) => {
      expect(step.with["persist-credentials"]).toBe("false");
      git(root, "clone", "-q", "--branch", step.with.ref ?? ref, origin, checkout);
    },
    "actions/setup-node": () => undefined,
    "pulumi/actions": (step) => {
      expect(step.with["pulumi-version"]).toBe(execFileSync(path.join(inject("pulumiBinDirectory"), "pulumi"), ["version"], { encoding: "utf8" }).trim().replace(/^v/, ""));
    },
    "actions/upload-artifact": (step) => {
      // An artifact belongs to its run: the newest preview's replaces the one before.
      const target = path.join(artifacts, step.with.name);
      rmSync(target, { recursive: true, force: true });
      mkdirSync(target, { recursive: true });
      for (const file of step.with.path.split("\n").map((line) => line.trim()).filter(Boolean)) cpSync(path.join(checkout, file), path.join(target, file));
    },
    "actions/download-artifact": (step) => {
      const pattern = new RegExp(`^${step.with.pattern.replace(/\*/g, ".*")}$`);
      for (const name of existsSync(artifacts) ? readdirSync(artifacts) : []) {
        if (pattern.test(name)) cpSync(path.join(artifacts, name), path.join(checkout, step.with.path, name), { recursive: true });
      }
    },
  };
  // The workflow as the ref holds it: a pull request's run uses its branch's file, workflow_run the default branch's.
  const workflowFile = path.join(root, `run-${runs}-${workflow}`);
  writeFileSync(workflowFile, git(origin, "show", `${ref}:.github/workflows/${workflow}`));
  const result = await runWorkflowJob(workflowFile, job, {
    directory: checkout,
    env: runnerEnvironment(extraEnv),
    expressions: expressions(),
    actions,
    provided: { [INSTALL]: () => installDependencies(checkout) },
  });
  for (const step of result.steps) outputs.push({ where: `${workflow} ${job}: ${step.name}`, text: step.output });
  for (const file of ["summary.md", "certstage.prom"]) if (existsSync(path.join(checkout, file))) outputs.push({ where: `${workflow} ${job}: ${file}`, text: readFileSync(path.join(checkout, file), "utf8") });
  return result;
}

function expectSucceeded(result: JobResult): void {
  expect(result.conclusion, result.steps.map((step) => `--- ${step.name}: ${step.outcome}\n${step.output}`).join("\n")).toBe("success");
}

/** The repository's files at a ref, as an editor changes them, then committed. */
function commit(branch: string, message: string, edit: (checkout: string) => void): void {
  const work = path.join(root, `edit-${runs}-${branch}`);
  git(root, "clone", "-q", origin, work);
  git(work, "checkout", "-q", "-B", branch, ...(branch === "main" ? [] : [git(work, "branch", "-r").includes(`origin/${branch}`) ? `origin/${branch}` : "origin/main"]));
  edit(work);
  git(work, "add", "-A");
  git(work, "commit", "-q", "-m", message);
  git(work, "push", "-q", "origin", `${branch}:${branch}`);
}

function mergeToMain(branch: string): void {
  const work = path.join(root, `merge-${runs}`);
  git(root, "clone", "-q", origin, work);
  git(work, "merge", "-q", "--no-ff", "-m", `Merge pull request #${PULL_REQUEST}`, `origin/${branch}`);
  git(work, "push", "-q", "origin", "main");
}

async function status(): Promise<StatusReport> {
  const store = world.open(database, world.login("edge-ci"));
  try {
    const { buildStatusReport } = await import("../../provider/cli/status");
    return await buildStatusReport(store);
  } finally {
    await store.close();
  }
}

const served = (report: StatusReport) =>
  Object.fromEntries(report.certificates.map((certificate) => [certificate.name, Object.fromEntries(Object.entries(certificate.deployments).map(([environment, deployment]) => [environment, deployment.version]))]));

async function databaseSnapshot(): Promise<string> {
  const tables = ["certificates", "versions", "version_keys", "deployments", "history", "tasks"];
  const rows = await Promise.all(tables.map(async (table) => `${table}: ${JSON.stringify((await world.cluster.sql(`SELECT * FROM certstage.${table} ORDER BY 1, 2`, [], { database })).rows)}`));
  return rows.join("\n");
}

/** Tells Pebble to suggest renewing this certificate now (its management API). */
async function caSaysRenewNow(certificatePem: string): Promise<void> {
  const window = { start: new Date(Date.now() - 2 * 3_600_000).toISOString(), end: new Date(Date.now() - 3_600_000).toISOString() };
  const body = JSON.stringify({ Certificate: certificatePem, ARIResponse: JSON.stringify({ suggestedWindow: window }) });
  await new Promise<void>((resolve, reject) => {
    const call = request(`${pebble.managementUrl}/set-renewal-info/`, { method: "POST", ca: pebble.listenerCaPem, headers: { "content-type": "application/json", "user-agent": "certstage-tests" } }, (response) => {
      response.resume();
      response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`set-renewal-info answered ${response.statusCode}`))));
    });
    call.on("error", reject);
    call.end(body);
  });
}

/** The pull request's addition: the public site's certificate from the ACME CA, in staging and production. */
function wwwCertificate(domains: string[]): string {
  return `
  www:
    displayName: Public website
    versions:
      acme:
        acme:
          domains: [${domains.join(", ")}]
          directory: ${pebble.directoryUrl}
          directoryCaFile: ca/acme-directory.pem
          contact: ops@example.test
          acceptTermsOfService: true
          challenge:
            type: http-01
            listen: 127.0.0.1:${pebble.httpChallengePort}
    deployments:
      staging:
        version: acme
      production:
        version: acme
`;
}

async function startWebhookReceiver(): Promise<typeof webhook> {
  const messages: Array<Record<string, unknown>> = [];
  const server = createServer((incoming, response) => {
    let text = "";
    incoming.on("data", (chunk) => (text += String(chunk)));
    incoming.on("end", () => {
      messages.push(JSON.parse(text) as Record<string, unknown>);
      response.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, messages, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/B000/not-a-real-secret` };
}

beforeAll(async () => {
  world = await startStoreCluster();
  database = await world.newStoreDatabase();
  storeUrl = `postgres://127.0.0.1:${world.cluster.port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(world.cluster.caFile)}`;
  pebble = await startPebble({ binDirectory: pebbleBinDirectory() });
  for (const host of ["www.example.test", "static.example.test"]) await pebble.addHost(host);
  github = new GitHubEmulator(TOKEN);
  await github.start();
  // A busy pull request: 120 comments from reviewers, so certstage's lands on the second page.
  github.seed(`${REPOSITORY}#${PULL_REQUEST}`, 120, (index) => `LGTM ${index}`);
  webhook = await startWebhookReceiver();

  root = temporaryDirectory("gitops-walkthrough");
  backend = path.join(root, "pulumi-state");
  mkdirSync(backend);
  origin = path.join(root, "infra.git");
  git(root, "init", "-q", "--bare", "-b", "main", origin);

  // The README's set-up: the example repository, and the stack that names the store (no credentials).
  commit("main", "certstage: certificates as code", (work) => {
    cpSync(EXAMPLE, work, { recursive: true });
    mkdirSync(path.join(work, "ca"));
    writeFileSync(path.join(work, "ca", "acme-directory.pem"), pebble.listenerCaPem);
    const env = { ...runnerEnvironment(), PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
    execFileSync("pulumi", ["stack", "init", STACK, "--non-interactive"], { cwd: work, env });
    execFileSync("pulumi", ["config", "set", "certstage:store", storeUrl, "--stack", STACK, "--non-interactive"], { cwd: work, env });
  });
});

afterAll(async () => {
  await github?.stop();
  await new Promise((resolve) => webhook?.server.close(resolve));
  await pebble?.stop();
  await world?.stop();
});

describe("the GitOps walk-through, every step as the workflows run it", () => {
  it("the first push to main deploys certificates.yaml (up.yml)", async () => {
    expectSucceeded(await runJob("up.yml", "up", "main"));
    expect(served(await status())).toEqual({ api: { production: 1, staging: 1 }, grafana: { staging: 1 } });
  });

  it("a pull request whose manifest has a typo fails lint with an annotation at the line, and previews nothing", async () => {
    commit("add-www", "Add the public website's certificate", (work) => {
      const manifest = readFileSync(path.join(work, "certificates.yaml"), "utf8");
      writeFileSync(path.join(work, "certificates.yaml"), manifest + wwwCertificate(["www.example.test"]).replace("acceptTermsOfService", "acceptTermsOfSevrice"));
    });
    const lint = await runJob("preview.yml", "lint", "add-www");
    expect(lint.conclusion).toBe("failure");
    expect(lint.step("Lint the manifest").output).toMatch(/^::error file=certificates\.yaml,line=\d+,col=\d+.*acceptTermsOfSevrice/m);
  });

  let commentId = 0;

  it("the fix previews with the read-only role and no key, writes nothing, and one comment is posted on the busy pull request", async () => {
    commit("add-www", "Fix the typo", (work) => {
      const file = path.join(work, "certificates.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("acceptTermsOfSevrice", "acceptTermsOfService"));
    });
    expectSucceeded(await runJob("preview.yml", "lint", "add-www"));
    const before = await databaseSnapshot();
    const preview = await runJob("preview.yml", "preview", "add-www");
    expectSucceeded(preview);
    expect(await databaseSnapshot()).toBe(before);
    const summary = readFileSync(path.join(root, "artifacts", `certstage-preview-${STACK}`, "summary.md"), "utf8");
    expect(summary.split("\n")[0]).toBe(`<!-- certstage:preview-summary project=certstage-gitops stack=${STACK} -->`);
    expect(summary).toContain("www");

    expectSucceeded(await runJob("preview-comment.yml", "comment", "main"));
    const comments = github.commentsOf(`${REPOSITORY}#${PULL_REQUEST}`);
    expect(comments).toHaveLength(121);
    const ours = comments.filter((comment) => comment.body.startsWith("<!-- certstage:preview-summary"));
    expect(ours).toHaveLength(1);
    expect(ours[0].user).toEqual(EMULATED_BOT);
    expect(ours[0].body).toBe(summary);
    commentId = ours[0].id;
    expect(github.violations).toEqual([]);
  });

  it("a further push updates that comment in place", async () => {
    commit("add-www", "Serve static.example.test from the same certificate", (work) => {
      const file = path.join(work, "certificates.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("domains: [www.example.test]", "domains: [www.example.test, static.example.test]"));
    });
    expectSucceeded(await runJob("preview.yml", "lint", "add-www"));
    expectSucceeded(await runJob("preview.yml", "preview", "add-www"));
    expectSucceeded(await runJob("preview-comment.yml", "comment", "main"));
    const comments = github.commentsOf(`${REPOSITORY}#${PULL_REQUEST}`);
    expect(comments).toHaveLength(121);
    const ours = comments.filter((comment) => comment.body.startsWith("<!-- certstage:preview-summary"));
    expect(ours.map((comment) => comment.id)).toEqual([commentId]);
    expect(ours[0].body).toContain("static.example.test");
    expect(github.writes().map((write) => write.method)).toEqual(["POST", "PATCH"]);
  });

  it("the merge issues the certificate from the CA and deploys it (up.yml)", async () => {
    mergeToMain("add-www");
    expectSucceeded(await runJob("up.yml", "up", "main"));
    const report = await status();
    expect(served(report)).toEqual({ api: { production: 1, staging: 1 }, grafana: { staging: 1 }, www: { production: 1, staging: 1 } });
    const www = report.certificates.find((certificate) => certificate.name === "www")!;
    expect(www.versions[0].method).toBe("acme");
  });

  it("25 days on, the nightly rotation renews and swaps the ACME certificate, notifies, writes metrics, and alerts on the placeholders", async () => {
    const store = world.open(database, world.login("edge-ci"));
    const files = await store.readVersionFiles("www", 1);
    await store.close();
    await caSaysRenewNow(files.certificatePem);
    const later = new Date(Date.now() + 25 * DAY_MS).toISOString();
    const rotation = await runJob("rotate.yml", "rotate", "main", { CERTSTAGE_NOW: later });

    expect(rotation.step("Renew what is due and deploy it").outcome).toBe("success");
    expect(rotation.step("Perform the standby swaps that are due").outcome).toBe("success");
    expect(served(await status()).www).toEqual({ production: 2, staging: 2 });

    expect(rotation.step("Notify").outcome).toBe("success");
    const noticed = webhook.messages.map((message) => `${message.certificate} ${message.environment}`).sort();
    expect(noticed).toEqual(["api production", "api staging", "grafana staging"]);
    for (const message of webhook.messages) expect(message.text).toEqual(expect.stringContaining(String(message.certificate)));

    expect(rotation.step("Metrics").outcome).toBe("success");
    const metrics = readFileSync(path.join(root, "artifacts", `certstage-metrics-${STACK}`, "certstage.prom"), "utf8");
    const renewed = new X509Certificate((await readServed("www", 2)).certificatePem);
    expect(metrics).toMatch(new RegExp(`^certstage_certificate_not_after_timestamp_seconds\\{[^}]*certificate="www"[^}]*\\} ${Date.parse(renewed.validTo) / 1000}$`, "m"));

    const alert = rotation.step("Fail when a served certificate expires within 30 days");
    expect(alert.outcome).toBe("failure");
    expect(alert.code).toBe(1);
    expect(alert.output).toMatch(/^api\s+production\s+v1\s/m);
    expect(alert.output).toMatch(/^grafana\s+staging\s+v1\s/m);
    expect(alert.output).not.toMatch(/^www\s/m);
    expect(rotation.conclusion).toBe("failure");
  });

  it("no private key, token or webhook secret appears in any output, comment, message, metrics file or database row", async () => {
    const store = world.open(database, world.login("edge-ci"));
    const keys: string[] = [];
    for (const version of await store.listAllVersions()) keys.push((await store.readVersionFiles(version.certificate, version.version)).privateKeyPem!);
    await store.close();
    expect(keys.length).toBeGreaterThanOrEqual(4);
    const texts = [
      ...outputs,
      ...github.commentsOf(`${REPOSITORY}#${PULL_REQUEST}`).map((comment) => ({ where: `comment ${comment.id}`, text: comment.body })),
      ...webhook.messages.map((message, index) => ({ where: `webhook message ${index}`, text: JSON.stringify(message) })),
      { where: "pg_dump", text: await world.cluster.dump(database) },
    ];
    for (const { where, text } of texts) {
      expectNoPrivateKeyMaterial(text, keys, where);
      expect(text, where).not.toContain(TOKEN);
      expect(text, where).not.toContain("not-a-real-secret");
    }
  });
});

async function readServed(certificate: string, version: number): Promise<{ certificatePem: string }> {
  const store = world.open(database, world.login("edge-ci"));
  try {
    return await store.readVersionFiles(certificate, version);
  } finally {
    await store.close();
  }
}
