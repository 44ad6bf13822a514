/**
 * The HTML report as a person sees it: the built `certstage report --html` writes the page for a
 * store with four certificates, three environments, a pending standby swap, a pending standby
 * undeploy and one certificate
 * five days from expiry (support/report-store.ts); a headless Chromium with no network opens it,
 * and the assertions read the rendered DOM over the DevTools protocol. A screenshot is kept in
 * test-artifacts/report.png (docs/report.png is a reviewed copy of it).
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { Browser, Page, type CdpEvent } from "../support/devtools";
import { HOSTILE_DISPLAY_NAME, HOSTILE_OWNER, makeReportStore, type ReportStore } from "../support/report-store";

const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");

let fixture: ReportStore;
let reportUrl: string;
let browser: Browser | undefined;
let page: Page;
let loadEvents: CdpEvent[];
/** A server the page must never reach: it counts what arrives. */
let bait: Server;
let baitRequests: string[] = [];
let baitUrl: string;

beforeAll(async () => {
  fixture = await makeReportStore("pages");
  const file = path.join(temporaryDirectory("pages-out"), "report.html");
  await new Promise<void>((resolve, reject) => {
    const env = { ...process.env, CERTSTAGE_NOW: fixture.now.toISOString(), CERTSTAGE_STORE: fixture.root };
    execFile(process.execPath, [CLI, "report", "--html", file], { env }, (error, _stdout, stderr) => (error ? reject(new Error(`certstage report failed: ${stderr}`)) : resolve()));
  });
  reportUrl = pathToFileURL(file).href;

  bait = createServer((request, response) => {
    baitRequests.push(request.url ?? "");
    response.end("reached");
  });
  await new Promise<void>((resolve) => bait.listen(0, "127.0.0.1", resolve));
  baitUrl = `http://127.0.0.1:${(bait.address() as AddressInfo).port}`;

  browser = await Browser.launch(inject("chromiumBinary"));
  page = await Page.open(browser, { width: 1280, height: 900 });
  const recording = page.record();
  await page.navigate(reportUrl);
  recording.stop();
  loadEvents = recording.events;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => bait?.close(resolve));
});

interface TableRow {
  certificate: string;
  display: string;
  owner: string;
  cells: Record<string, string>;
}

describe("the HTML report in a browser", () => {
  it("applies its own stylesheet under its policy, and nothing else was asked for", async () => {
    expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe("rgb(246, 247, 249)");
    const requests = loadEvents.filter((event) => event.method === "Network.requestWillBeSent").map((event) => (event.params.request as { url: string }).url);
    expect(requests).toEqual([reportUrl]);
    const complaints = loadEvents.filter((event) => event.method === "Log.entryAdded" || event.method === "Runtime.exceptionThrown");
    expect(complaints.map((event) => JSON.stringify(event.params))).toEqual([]);
  });

  it("shows each certificate's served version per environment, soonest expiry first", async () => {
    const headers = await page.evaluate<string[]>(`[...document.querySelectorAll("table.served thead th")].map((th) => th.textContent)`);
    expect(headers).toEqual(["Certificate", "Latest", "staging", "production", "edge"]);
    const rows = await page.evaluate<TableRow[]>(`[...document.querySelectorAll("table.served tbody tr")].map((tr) => ({
      certificate: tr.querySelector(".name").textContent,
      display: tr.querySelector(".display")?.textContent ?? "",
      owner: tr.querySelector(".who").textContent,
      cells: Object.fromEntries([...tr.querySelectorAll("td[data-environment]")].map((td) => [td.dataset.environment, td.innerText.replace(/\\s+/g, " ").trim()])),
    }))`);
    expect(rows.map((row) => row.certificate)).toEqual(["grafana", "www", "api", "legacy"]);
    const version = (text: string) => text.split(" ")[0];
    expect(rows.map((row) => Object.fromEntries(Object.entries(row.cells).map(([environment, text]) => [environment, version(text)])))).toEqual([
      { staging: "not", production: "not", edge: "v1" },
      { staging: "v1", production: "v1", edge: "not" },
      { staging: "v2", production: "v1", edge: "not" },
      { staging: "not", production: "not", edge: "not" },
    ]);
    expect(rows[0].cells.edge).toMatch(/^v1 until \d{4}-\d\d-\d\d · 5 d left ⚠ expires very soon$/);
    expect(rows[2].cells.production).toMatch(/^v1 until \d{4}-\d\d-\d\d · 313 d left → v2 on standby, not before \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(rows[3].cells.staging).toBe("not served");
    const pending = await page.evaluate<string[]>(`[...document.querySelectorAll("table.pending tbody tr")].map((tr) => tr.dataset.task + " " + tr.innerText.replace(/\\s+/g, " "))`);
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatch(new RegExp(`^${fixture.pendingTask} api production v1 → v2 not before .* by alice ${fixture.pendingTask}$`));
  });

  it("shows the pending standby undeploy: which environment stops serving which version, when, and its task", async () => {
    const cell = await page.evaluate<{ text: string; color: string }>(`(() => {
      const td = document.querySelector('tr[data-certificate="www"] td[data-environment="staging"]');
      return { text: td.innerText.replace(/\\s+/g, " ").trim(), color: getComputedStyle(td.querySelector(".undeploy")).color };
    })()`);
    expect(cell.text).toMatch(/^v1 until \d{4}-\d\d-\d\d · 35 d left ✕ undeploy on standby, not before \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(cell.color).toBe("rgb(143, 29, 29)");
    const undeploys = await page.evaluate<string[]>(`[...document.querySelectorAll("#undeploys table tbody tr")].map((tr) => tr.dataset.task + " " + tr.innerText.replace(/\\s+/g, " ").trim())`);
    expect(undeploys).toHaveLength(1);
    expect(undeploys[0]).toMatch(new RegExp(`^${fixture.pendingUndeploy} www staging v1, served now not before \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC .* by alice ${fixture.pendingUndeploy}$`));
    const headers = await page.evaluate<string[]>(`[...document.querySelectorAll("#undeploys thead th")].map((th) => th.textContent)`);
    expect(headers).toEqual(["Certificate", "Environment", "Stops serving", "When", "Queued", "Task"]);
    // The swap's table keeps to swaps; the counts name both.
    expect(await page.evaluate<number>(`document.querySelectorAll("#pending table tbody tr").length`)).toBe(1);
    expect(await page.evaluate<string>(`document.querySelector("ul.counts").innerText.replace(/\\s+/g, " ")`)).toMatch(/1pending swap 1pending undeploy$/);
  });

  it("draws one timeline bar per served version, with now inside each, and marks the one near expiry", async () => {
    const bars = await page.evaluate<Array<{ id: string; urgency: string; x: number; width: number; fill: string; left: string }>>(`[...document.querySelectorAll("svg.timeline g.row")].map((row) => {
      const bar = row.querySelector("rect.bar").getBBox();
      return { id: row.dataset.certificate + " v" + row.dataset.version, urgency: row.dataset.urgency, x: bar.x, width: bar.width, fill: getComputedStyle(row.querySelector("rect.bar")).fill, left: row.querySelector("text.left").textContent };
    })`);
    expect(bars.map((bar) => bar.id)).toEqual(["grafana v1", "www v1", "api v1", "api v2"]);
    expect(bars.map((bar) => bar.urgency)).toEqual(["critical", "ok", "ok", "ok"]);
    expect(bars[0]).toMatchObject({ fill: "rgb(217, 72, 15)", left: "⚠ 5 d left" });
    for (const bar of bars.slice(1)) expect(bar.fill).toBe("rgb(47, 138, 78)");
    const nowX = await page.evaluate<number>(`document.querySelector("svg.timeline g.now line").getBBox().x`);
    for (const bar of bars) {
      expect(nowX, bar.id).toBeGreaterThan(bar.x);
      expect(nowX, bar.id).toBeLessThan(bar.x + bar.width);
    }
    // Equal lifetimes draw equally long; a 90-day bar is shorter than a 398-day one.
    expect(Math.abs(bars[2].width - bars[3].width)).toBeLessThan(1);
    expect(bars[0].width / bars[2].width).toBeCloseTo(90 / 398, 1);
    const critical = await page.evaluate<string>(`document.querySelector('tr[data-certificate="grafana"] td[data-environment="edge"]').dataset.urgency`);
    expect(critical).toBe("critical");
  });

  it("shows store text as text: a display name with a script element runs nothing", async () => {
    const www = await page.evaluate<{ display: string; owner: string; label: string }>(`(() => {
      const row = document.querySelector('tr[data-certificate="www"]');
      return { display: row.querySelector(".display").textContent, owner: row.querySelector(".who").textContent, label: document.querySelector('g.row[data-certificate="www"] text.label').textContent };
    })()`);
    expect(www.display).toBe(HOSTILE_DISPLAY_NAME);
    expect(www.owner).toBe(`server · owner ${HOSTILE_OWNER}`);
    expect(www.label.startsWith("<script>document.title")).toBe(true);
    expect(await page.evaluate("document.title")).toBe(`certstage report · file store ${fixture.root}`);
    expect(await page.evaluate("document.querySelectorAll('script, img, link, iframe, .who *, .display *, text.label *').length")).toBe(0);
  });

  it("lets no request leave the page: its policy refuses connections and images", async () => {
    const refused = await page.evaluate<{ fetch: string; violations: string[] }>(`(async () => {
      const violations = [];
      document.addEventListener("securitypolicyviolation", (event) => violations.push(event.violatedDirective + " " + event.blockedURI));
      const fetched = await fetch(${JSON.stringify(`${baitUrl}/fetch`)}).then(() => "fetched", (error) => "refused: " + error.name);
      const image = document.createElement("img");
      image.src = ${JSON.stringify(`${baitUrl}/image.png`)};
      document.body.append(image);
      await new Promise((resolve) => { image.onerror = resolve; image.onload = resolve; });
      image.remove();
      return { fetch: fetched, violations };
    })()`);
    expect(refused.fetch).toBe("refused: TypeError");
    expect(refused.violations).toEqual([`connect-src ${baitUrl}/fetch`, `img-src ${baitUrl}/image.png`]);
    expect(baitRequests).toEqual([]);
  });

  it("renders to a screenshot kept as a test artifact", async () => {
    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect(png.readUInt32BE(16)).toBe(1280);
    // The whole page, not only the 900-pixel viewport: the timeline ends below it.
    expect(png.readUInt32BE(20)).toBeGreaterThan(900);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, "report.png"), png);
  });
});
