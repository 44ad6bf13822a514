/**
 * `certstage report --html` as a CI job runs it: the built command against a file store (see
 * support/report-store.ts) with CERTSTAGE_NOW 85 days after issue. What it writes (escaped, no
 * private key, no reference to anything outside the page), that it writes it whole or not at all,
 * that it never changes the store, and its refusals: exit 2, a code, nothing written.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createFileStore } from "../../provider/store/drivers/file";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { makeReportStore, HOSTILE_DISPLAY_NAME, type ReportStore } from "../support/report-store";
import { expectNoPrivateKeyMaterial } from "../support/secrets";
import { storeFingerprint } from "../support/store-on-disk";

const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
let fixture: ReportStore;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function report(args: string[], options: { store?: string; cwd?: string } = {}): Promise<Run> {
  const env = { ...process.env, CERTSTAGE_NOW: fixture.now.toISOString(), CERTSTAGE_STORE: options.store ?? fixture.root };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "report", ...args], { env, cwd: options.cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  fixture = await makeReportStore("report-cli");
});

describe("certstage report --html", () => {
  it("writes one self-contained page, escaped, with no private key, and leaves the store as it was", async () => {
    const before = storeFingerprint(fixture.root);
    const out = temporaryDirectory("report-out");
    const run = await report(["--html", "report.html"], { cwd: out });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const file = path.join(out, "report.html");
    expect(run.stdout).toBe(`Wrote ${file}: 4 certificates, 3 environments, 4 served versions (1 to renew), 1 pending swap, 1 pending undeploy.\n`);
    const html = readFileSync(file, "utf8");
    expect(storeFingerprint(fixture.root)).toBe(before);
    expectNoPrivateKeyMaterial(html, fixture.privateKeys, "the report");
    expectNoPrivateKeyMaterial(run.stdout + run.stderr, fixture.privateKeys, "the command's output");
    // Store text arrives as text: the only markup is the page's own.
    expect(html).not.toContain(HOSTILE_DISPLAY_NAME);
    expect(html).toContain("&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;&lt;img src=&quot;http://127.0.0.1:9/x.png&quot;&gt; &amp; &quot;www&quot;");
    expect(html).toContain("owner team-&lt;b&gt;web&lt;/b&gt;");
    expect(html).not.toMatch(/<script|<img|<link|<iframe|<object|@import|url\(/i);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-[A-Za-z0-9+/]+=*&#39;;/);
    // The only addresses in it: the SVG namespace, and the hostile name's, escaped as text.
    expect(new Set(html.match(/https?:\/\/[^\s"'<&]+/g))).toEqual(new Set(["http://www.w3.org/2000/svg", "http://127.0.0.1:9/x.png"]));
    expect(html).toContain(`data-task="${fixture.pendingTask}"`);
    // The standby undeploy: www stops serving v1 in staging, in 5 days, by its task.
    expect(html).toContain(`<tr data-task="${fixture.pendingUndeploy}" data-certificate="www" data-environment="staging" data-version="1"><td>www</td><td>staging</td><td>v1, served now</td><td>not before `);
    expect(html).toContain(`<span class="undeploy" data-pending-undeploy="${fixture.pendingUndeploy}">✕ undeploy on standby, not before `);
  });

  it("replaces an existing report in one rename, and leaves no temporary file", async () => {
    const out = temporaryDirectory("report-replace");
    const file = path.join(out, "report.html");
    writeFileSync(file, "yesterday's report");
    const inode = statSync(file).ino;
    const run = await report(["--html", file]);
    expect(run.code).toBe(0);
    expect(statSync(file).ino).not.toBe(inode);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readFileSync(file, "utf8")).toMatch(/^<!DOCTYPE html>\n[\s\S]*<\/html>\n$/);
    expect(readdirSync(out)).toEqual(["report.html"]);
  });

  it("shows only one environment with --environment", async () => {
    const file = path.join(temporaryDirectory("report-env"), "production.html");
    const run = await report(["--html", file, "--environment", "production"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(": 4 certificates, 1 environment, 2 served versions (0 to renew), 1 pending swap, 0 pending undeploys.");
    const html = readFileSync(file, "utf8");
    expect([...html.matchAll(/<th scope="col" data-environment="([^"]+)"/g)].map((match) => match[1])).toEqual(["production"]);
    expect([...html.matchAll(/<g class="row \w+" data-certificate="([^"]+)" data-version="(\d+)"/g)].map((match) => `${match[1]} v${match[2]}`).sort()).toEqual(["api v1", "www v1"]);
  });

  it("refuses what it cannot run, with exit 2 and a code, writing nothing", async () => {
    const out = temporaryDirectory("report-refusals");
    const missing = await report([]);
    expect(missing).toMatchObject({ code: 2, stdout: "" });
    expect(missing.stderr).toBe("certstage: report needs --html <file>, e.g. --html report.html\n");

    const noDirectory = await report(["--html", path.join(out, "no-such-directory", "report.html")]);
    expect(noDirectory.code).toBe(2);
    expect(noDirectory.stderr).toContain(`[REPORT_UNWRITABLE] field '--html': cannot write ${path.join(out, "no-such-directory", "report.html")} (ENOENT). Fix: give a file in a directory that exists`);

    const directory = path.join(out, "a-directory");
    mkdirSync(directory);
    const isDirectory = await report(["--html", directory]);
    expect(isDirectory.code).toBe(2);
    expect(isDirectory.stderr).toMatch(/\[REPORT_UNWRITABLE\] field '--html': cannot write .*a-directory \(EISDIR\)/);
    expect(statSync(directory).isDirectory()).toBe(true);

    const badEnvironment = await report(["--html", path.join(out, "r.html"), "--environment", "../production"]);
    expect(badEnvironment.code).toBe(2);
    expect(badEnvironment.stderr).toContain("[NAME_INVALID] field '--environment'");

    const unknownOption = await report(["--html", path.join(out, "r.html"), "--pdf"]);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--pdf'");

    expect(readdirSync(out)).toEqual(["a-directory"]);
    expect(readdirSync(directory)).toEqual([]);
  });

  it("refuses to write a page that would hold a private key block, and keeps the last report", async () => {
    const root = temporaryDirectory("report-key-store");
    const store = createFileStore({ root });
    // Someone pasted a key where a name goes: the page must not carry it on.
    const pasted = fixture.privateKeys[0];
    await store.createCertificate({ name: "pasted", displayName: pasted, type: "server", owner: "team-a", shareWith: [], description: "" }, { principal: "alice" });
    await store.close();
    const out = temporaryDirectory("report-key-out");
    const file = path.join(out, "report.html");
    writeFileSync(file, "the last good report");
    const run = await report(["--html", file], { store: root });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("[REPORT_KEY_MATERIAL] field '--html': the report would contain a PEM private key block");
    expectNoPrivateKeyMaterial(run.stderr, fixture.privateKeys, "the refusal");
    expect(readFileSync(file, "utf8")).toBe("the last good report");
    expect(readdirSync(out)).toEqual(["report.html"]);
    expect(existsSync(path.join(out, "report.html"))).toBe(true);
  });
});
