/**
 * `certstage report --html` at 10, 100 and 1,000 certificates: how large the page gets, how long
 * writing it takes, and how long a browser takes to show it.
 *
 * Stores are made by bench/store-fixtures.cjs with two versions per certificate (the newer serves
 * production, the older staging, so two timeline bars each) and a standby swap pending on every
 * 50th certificate.
 *
 * Rows, per size:
 *   - in-process: the store's four listings, `buildReportModel` and `renderReportHtml` from dist/
 *     on a store opened once (the file write is left out);
 *   - the CLI: `node dist/provider/cli/main.js report --html … --store …`, one process per run;
 *   - the browser: Debian's headless Chromium (scripts/chromium.sh), driven as the pages tier
 *     drives it (test/support/devtools.ts), from navigation to the load event, with the page's
 *     bars counted after each load (a page that lost them must not look fast).
 * Floor, in the same run: a bare `node -e 0`.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { pathToFileURL } = require("node:url");
const lib = require("./lib.cjs");
const fixtures = require("./store-fixtures.cjs");

const REPOSITORY = path.join(__dirname, "..");
const DIST = path.join(REPOSITORY, "dist", "provider");
const CLI = path.join(DIST, "cli", "main.js");
const SIZES = (process.env.CERTSTAGE_BENCH_REPORT_SIZES ?? "10,100,1000").split(",").map(Number);
const VERSIONS_PER_CERTIFICATE = 2;
const RUNS = (certificates) => (certificates >= 1000 ? { warmup: 2, iterations: 10 } : { warmup: 3, iterations: 20 });

function chromiumBinary() {
  const output = execFileSync("bash", [path.join(REPOSITORY, "scripts", "chromium.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return /^chromium=(.+)$/m.exec(output)[1].trim();
}

async function measureSize(certificates, scratch, materials, page) {
  const root = path.join(scratch, `store-${certificates}`);
  const build = await fixtures.buildFileStore(root, { certificates, versions: VERSIONS_PER_CERTIFICATE, materials });
  console.log(`  ${certificates} certificates: store built in ${build.seconds.toFixed(1)} s`);
  const { createFileStore } = require(path.join(DIST, "store", "drivers", "file.js"));
  const { readReportInputs } = require(path.join(DIST, "cli", "report.js"));
  const { buildReportModel } = require(path.join(DIST, "report", "model.js"));
  const { renderReportHtml } = require(path.join(DIST, "report", "html.js"));
  const runs = RUNS(certificates);
  const bars = certificates * VERSIONS_PER_CERTIFICATE;
  const rows = [];
  const row = (label, samples) => rows.push([String(certificates), label, ...lib.timingCells(lib.summarize(samples))]);

  const store = createFileStore({ root });
  let html = "";
  row("in-process: list the store, build the model, render", await lib.timeInProcess(async () => (html = renderReportHtml(buildReportModel(await readReportInputs(store), new Date()))), runs));
  await store.close();

  const file = path.join(scratch, `report-${certificates}.html`);
  const expectWritten = (stdout) => {
    if (!stdout.includes(`${certificates} certificates`)) throw new Error(`unexpected output: ${stdout}`);
  };
  row("`certstage report --html`", lib.timeChildProcesses(process.execPath, [CLI, "report", "--html", file, "--store", root], { ...runs, check: expectWritten }));

  const url = pathToFileURL(file).href;
  const loads = [];
  for (let index = 0; index < runs.warmup + runs.iterations; index += 1) {
    const started = performance.now();
    await page.navigate(url);
    const elapsed = performance.now() - started;
    const drawn = await page.evaluate("document.querySelectorAll('svg.timeline g.row').length");
    if (drawn !== bars) throw new Error(`the page drew ${drawn} bars, not ${bars}`);
    if (index >= runs.warmup) loads.push(elapsed);
  }
  row("Chromium: navigation to load event", loads);

  const bytes = fs.statSync(file).size;
  if (Buffer.byteLength(html) !== bytes) throw new Error("the in-process page and the CLI's differ in size");
  return { rows, size: [String(certificates), String(bars), bytes.toLocaleString("en-US"), (bytes / certificates).toFixed(0)] };
}

module.exports = async function reportHtml() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-report-"));
  const devtools = lib.loadTypeScriptModule(path.join(REPOSITORY, "test", "support", "devtools.ts"));
  const browser = await devtools.Browser.launch(chromiumBinary());
  const rows = [];
  const sizes = [];
  try {
    const page = await devtools.Page.open(browser, { width: 1280, height: 900 });
    const materials = fixtures.makeMaterials(path.join(scratch, "pki"), 3);
    for (const certificates of SIZES) {
      const measured = await measureSize(certificates, scratch, materials, page);
      rows.push(...measured.rows);
      sizes.push(measured.size);
    }
    rows.push(["-", "floor: bare `node -e 0`", ...lib.timingCells(lib.summarize(lib.timeChildProcesses(process.execPath, ["-e", "0"], { warmup: 3, iterations: 20 })))]);
  } finally {
    await browser.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return {
    title: "The HTML report (certstage report --html)",
    description: [
      `\`certstage report --html\` over file stores of ${SIZES.map((size) => size.toLocaleString("en-US")).join(", ")} certificates, ${VERSIONS_PER_CERTIFICATE} versions each, both served (staging and production), a standby swap pending on every 50th.`,
      "In-process is the store's listings plus the model and the HTML on an open store; the CLI row is one process per run, writing the file; the Chromium row is headless Chromium loading the written page (navigation to the load event), as the pages tier drives it.",
    ].join(" "),
    tables: [
      { headers: ["certificates", "timeline bars", "page bytes", "bytes per certificate"], rows: sizes },
      { headers: ["certificates", "what", ...lib.TIMING_HEADERS], rows },
    ],
  };
};
