/**
 * The report as one self-contained HTML page: inline CSS, inline SVG, no script, no font, no
 * image, nothing fetched. A strict Content-Security-Policy in the page itself says so to the
 * browser too: everything is refused (`default-src 'none'`) except the one stylesheet, allowed by
 * its SHA-256, so even a name that got past escaping could neither run nor load anything.
 *
 * The page is refused (REPORT_KEY_MATERIAL) if anything in it looks like a private key block:
 * the model holds no key, so that would mean a key in store text (a display name, an owner) that
 * must not be copied into a file people pass around.
 */
import { createHash } from "node:crypto";
import { CertstageError } from "../errors";
import { containsPrivateKeyBlock, escapeHtml } from "./escape";
import type { PendingSwap, PendingUndeploy, ReportCertificate, ReportCell, ReportModel } from "./model";
import { renderTimeline } from "./timeline";
import { URGENCY_BANDS, URGENCY_LABELS, type Urgency } from "./urgency";

const STYLE = `
:root { color-scheme: light; --ok: #2f8a4e; --warning: #d99a00; --critical: #d9480f; --expired: #8f1d1d; --line: #d7dbe0; --muted: #5b6470; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d232b; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; }
.meta { color: var(--muted); margin: 0 0 14px; }
.counts { display: flex; gap: 10px; flex-wrap: wrap; margin: 0; padding: 0; list-style: none; }
.counts li { background: #fff; border: 1px solid var(--line); border-left-width: 6px; border-radius: 6px; padding: 6px 12px; }
.counts li.ok { border-left-color: var(--ok); } .counts li.warning { border-left-color: var(--warning); }
.counts li.critical { border-left-color: var(--critical); } .counts li.expired { border-left-color: var(--expired); }
.counts b { font-size: 18px; margin-right: 4px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); min-width: 60%; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: #eef0f3; font-weight: 600; }
td.served { border-left-width: 5px; }
td.ok { border-left-color: var(--ok); } td.warning { border-left-color: var(--warning); background: #fff8e6; }
td.critical { border-left-color: var(--critical); background: #fdece4; } td.expired { border-left-color: var(--expired); background: #f7e1e1; }
.version { font-weight: 700; font-size: 15px; }
.until, .who, .type { color: var(--muted); font-size: 12px; display: block; }
.flag { font-weight: 600; font-size: 12px; display: block; }
td.warning .flag { color: #8a6200; } td.critical .flag { color: #b23a0b; } td.expired .flag { color: var(--expired); }
.swap { display: block; margin-top: 4px; font-size: 12px; color: #1f4fa3; }
.undeploy { display: block; margin-top: 4px; font-size: 12px; font-weight: 600; color: #8f1d1d; }
.none { color: #9aa1ab; }
.display { color: var(--muted); display: block; font-size: 12px; }
th[scope="row"] { max-width: 340px; }
th[scope="row"] .display, th[scope="row"] .who { font-weight: 400; overflow-wrap: anywhere; }
td[data-environment] { min-width: 190px; }
.until { white-space: nowrap; }
.empty { color: var(--muted); }
.plot { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto; }
svg.timeline { display: block; font: 12px system-ui, "DejaVu Sans", sans-serif; }
svg .tick line { stroke: #e3e6ea; }
svg .tick text { fill: var(--muted); text-anchor: middle; }
svg .label { text-anchor: end; fill: #1d232b; }
svg .left { fill: var(--muted); }
svg .row.warning .left { fill: #8a6200; font-weight: 600; } svg .row.critical .left, svg .row.expired .left { fill: #b23a0b; font-weight: 700; }
svg .row.ok .bar { fill: var(--ok); } svg .row.warning .bar { fill: var(--warning); }
svg .row.critical .bar { fill: var(--critical); } svg .row.expired .bar { fill: var(--expired); }
svg .now line { stroke: #c2185b; stroke-width: 2; stroke-dasharray: 5 3; }
svg .now text { fill: #c2185b; font-weight: 700; }
.legend { color: var(--muted); font-size: 12px; margin: 8px 0 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.legend svg { vertical-align: -2px; margin-right: 5px; }
.legend .ok rect { fill: var(--ok); } .legend .warning rect { fill: var(--warning); }
.legend .critical rect { fill: var(--critical); } .legend .expired rect { fill: var(--expired); }
.legend .now line { stroke: #c2185b; stroke-width: 2; stroke-dasharray: 4 2; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
`;

/** The page's policy: nothing but its own stylesheet; no script, image, font, frame, form or connection. */
export function contentSecurityPolicy(style: string = STYLE): string {
  const hash = createHash("sha256").update(style, "utf8").digest("base64");
  return `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'`;
}

export function renderReportHtml(model: ReportModel): string {
  const scope = model.environment === undefined ? "" : ` · environment ${model.environment}`;
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy())}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>certstage report · ${escapeHtml(model.storeDescription)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Certificates and what each environment serves</h1>
<p class="meta">${escapeHtml(model.storeDescription)}${escapeHtml(scope)} · as of <time datetime="${model.generatedAt}">${formatTime(model.generatedAt)}</time></p>
${renderCounts(model)}
</header>
<main>
<section id="served">
<h2>Served versions</h2>
${renderServedTable(model)}
</section>
<section id="pending">
<h2>Pending swaps</h2>
${renderPendingSwaps(model.pendingSwaps)}
</section>
<section id="undeploys">
<h2>Pending undeploys</h2>
${renderPendingUndeploys(model.pendingUndeploys)}
</section>
<section id="timeline">
<h2>Expiry timeline</h2>
<div class="plot">
${renderTimeline(model.timeline)}
</div>
${renderLegend()}
</section>
</main>
<footer>Written by <code>certstage report</code>. Self-contained: nothing on this page is loaded from the network. No private key is read to write it.</footer>
</body>
</html>
`;
  if (containsPrivateKeyBlock(html)) {
    throw new CertstageError("REPORT_KEY_MATERIAL", "the report would contain a PEM private key block (in a certificate's name, display name or owner, or another store text)", {
      field: "--html",
      fix: "find the certificate whose text holds the key with `certstage status`, rename it (its displayName) or change its owner, and rotate that key: it has been seen",
    });
  }
  return html;
}

function renderCounts(model: ReportModel): string {
  const order: Urgency[] = ["expired", "critical", "warning", "ok"];
  const items = order.map((urgency) => `<li class="${urgency}" data-urgency="${urgency}"><b>${model.counts[urgency]}</b>${escapeHtml(URGENCY_LABELS[urgency])}</li>`);
  return `<ul class="counts" aria-label="served versions by urgency"><li><b>${model.certificates.length}</b>certificate${model.certificates.length === 1 ? "" : "s"}</li>${items.join("")}<li><b>${model.pendingSwaps.length}</b>pending swap${model.pendingSwaps.length === 1 ? "" : "s"}</li><li><b>${model.pendingUndeploys.length}</b>pending undeploy${model.pendingUndeploys.length === 1 ? "" : "s"}</li></ul>`;
}

function renderServedTable(model: ReportModel): string {
  if (model.certificates.length === 0) return `<p class="empty">The store holds no certificate.</p>`;
  const header = `<tr><th scope="col">Certificate</th><th scope="col">Latest</th>${model.environments.map((environment) => `<th scope="col" data-environment="${escapeHtml(environment)}">${escapeHtml(environment)}</th>`).join("")}</tr>`;
  const rows = model.certificates.map((certificate) => renderCertificateRow(certificate, model.environments));
  return `<table class="served"><thead>${header}</thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function renderCertificateRow(certificate: ReportCertificate, environments: readonly string[]): string {
  const display = certificate.displayName === certificate.name ? "" : `<span class="display">${escapeHtml(certificate.displayName)}</span>`;
  const name = `<th scope="row"><span class="name">${escapeHtml(certificate.name)}</span>${display}<span class="who">${escapeHtml(certificate.type)} · owner ${escapeHtml(certificate.owner)}</span></th>`;
  const latest = `<td class="latest">${certificate.latestVersion === 0 ? `<span class="none">none</span>` : `v${certificate.latestVersion}`}</td>`;
  const cells = environments.map((environment) => renderCell(certificate.cells[environment], environment));
  return `<tr data-certificate="${escapeHtml(certificate.name)}">${name}${latest}${cells.join("")}</tr>`;
}

function renderCell(cell: ReportCell | undefined, environment: string): string {
  const where = `data-environment="${escapeHtml(environment)}"`;
  const swap =
    (cell?.pending ? `<span class="swap" data-pending-version="${cell.pending.version}">→ v${cell.pending.version} on standby, ${escapeHtml(swapWhen(cell.pending))}</span>` : "") +
    (cell?.undeploy ? `<span class="undeploy" data-pending-undeploy="${escapeHtml(cell.undeploy.task)}">✕ undeploy on standby, ${escapeHtml(swapWhen(cell.undeploy))}${cell.undeploy.state === "running" ? " (running now)" : ""}</span>` : "");
  if (!cell?.served) return `<td class="unserved" ${where}><span class="none">not served</span>${swap}</td>`;
  const served = cell.served;
  const left = served.daysLeft < 0 ? `expired ${-served.daysLeft} d ago` : `${served.daysLeft} d left`;
  const flag = served.urgency === "ok" ? "" : `<span class="flag">⚠ ${escapeHtml(URGENCY_LABELS[served.urgency])}</span>`;
  return (
    `<td class="served ${served.urgency}" ${where} data-version="${served.version}" data-urgency="${served.urgency}">` +
    `<span class="version">v${served.version}</span>` +
    `<span class="until">until <time datetime="${escapeHtml(served.notAfter)}">${formatDate(served.notAfter)}</time> · ${left}</span>` +
    flag +
    swap +
    `</td>`
  );
}

function renderPendingSwaps(swaps: readonly PendingSwap[]): string {
  if (swaps.length === 0) return `<p class="empty">No standby swap is waiting.</p>`;
  const header = `<tr><th scope="col">Certificate</th><th scope="col">Environment</th><th scope="col">Swap</th><th scope="col">When</th><th scope="col">Queued</th><th scope="col">Task</th></tr>`;
  const rows = swaps.map(
    (swap) =>
      `<tr data-task="${escapeHtml(swap.task)}" data-certificate="${escapeHtml(swap.certificate)}" data-environment="${escapeHtml(swap.environment)}">` +
      `<td>${escapeHtml(swap.certificate)}</td><td>${escapeHtml(swap.environment)}</td>` +
      `<td>${swap.fromVersion === undefined ? "none" : `v${swap.fromVersion}`} → v${swap.version}${swap.state === "running" ? " (running now)" : ""}</td>` +
      `<td>${escapeHtml(swapWhen(swap))}</td>` +
      `<td>${formatTime(swap.createdAt)}<span class="who">by ${escapeHtml(swap.createdBy)}</span></td>` +
      `<td><code>${escapeHtml(swap.task)}</code></td></tr>`,
  );
  return `<table class="pending"><thead>${header}</thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function renderPendingUndeploys(undeploys: readonly PendingUndeploy[]): string {
  if (undeploys.length === 0) return `<p class="empty">No standby undeploy is waiting.</p>`;
  const header = `<tr><th scope="col">Certificate</th><th scope="col">Environment</th><th scope="col">Stops serving</th><th scope="col">When</th><th scope="col">Queued</th><th scope="col">Task</th></tr>`;
  const rows = undeploys.map(
    (undeploy) =>
      `<tr data-task="${escapeHtml(undeploy.task)}" data-certificate="${escapeHtml(undeploy.certificate)}" data-environment="${escapeHtml(undeploy.environment)}"${undeploy.servedVersion === undefined ? "" : ` data-version="${undeploy.servedVersion}"`}>` +
      `<td>${escapeHtml(undeploy.certificate)}</td><td>${escapeHtml(undeploy.environment)}</td>` +
      `<td>${undeploy.servedVersion === undefined ? "nothing: it serves none now" : `v${undeploy.servedVersion}, served now`}${undeploy.state === "running" ? " (running now)" : ""}</td>` +
      `<td>${escapeHtml(swapWhen(undeploy))}</td>` +
      `<td>${formatTime(undeploy.createdAt)}<span class="who">by ${escapeHtml(undeploy.createdBy)}</span></td>` +
      `<td><code>${escapeHtml(undeploy.task)}</code></td></tr>`,
  );
  return `<table class="undeploys"><thead>${header}</thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function swapWhen(swap: Pick<PendingSwap, "notBefore">): string {
  return swap.notBefore === undefined ? "at the next certstage tasks run" : `not before ${formatTime(swap.notBefore)}`;
}

function renderLegend(): string {
  const [critical, warning] = URGENCY_BANDS;
  const swatch = (urgency: Urgency) => `<svg class="${urgency}" width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2"/></svg>`;
  const items = [
    `<li>${swatch("ok")}ok</li>`,
    `<li>${swatch("warning")}renew soon: at most ${warning.days} days and a third of its lifetime left</li>`,
    `<li>${swatch("critical")}expires very soon: at most ${critical.days} days and a tenth of its lifetime left</li>`,
    `<li>${swatch("expired")}expired</li>`,
    `<li><svg class="now" width="12" height="12" aria-hidden="true"><line x1="6" y1="0" x2="6" y2="12"/></svg>now; each bar runs from a served version's notBefore to its notAfter</li>`,
  ];
  return `<ul class="legend">${items.join("")}</ul>`;
}

function formatDate(iso: string): string {
  return escapeHtml(iso.slice(0, 10));
}

function formatTime(iso: string): string {
  return escapeHtml(`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`);
}
