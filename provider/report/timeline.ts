/**
 * The expiry timeline as inline SVG: one row per served version, a bar from its notBefore to its
 * notAfter coloured by urgency, a vertical line at now, and dated ticks on top. Drawn by hand
 * (no chart library, no script): the page must render offline under a CSP that allows no script,
 * and a hand-drawn SVG is a few hundred bytes per row.
 *
 * Colours come from classes the page's one stylesheet defines (inline `style` attributes would
 * need 'unsafe-inline'); each bar also carries its days left as text, so the urgency reads
 * without colour.
 */
import { escapeHtml } from "./escape";
import type { Timeline, TimelineBar } from "./model";
import { URGENCY_LABELS } from "./urgency";

const WIDTH = 1000;
const LABEL_WIDTH = 250;
const PLOT_LEFT = LABEL_WIDTH + 10;
/** Room on the right for the days-left text of a bar that ends at the axis' end. */
const PLOT_RIGHT = WIDTH - 90;
/** The now label on the first line, the ticks' dates on the second. */
const AXIS_HEIGHT = 44;
const ROW_HEIGHT = 22;
const BAR_HEIGHT = 14;
const LABEL_CHARACTERS = 34;

const DAY_MS = 86_400_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function renderTimeline(timeline: Timeline): string {
  if (timeline.bars.length === 0) return `<p class="empty">Nothing is served, so there is no expiry to plot.</p>`;
  const start = Date.parse(timeline.start);
  const end = Date.parse(timeline.end);
  const x = (time: number) => round(PLOT_LEFT + ((time - start) / (end - start)) * (PLOT_RIGHT - PLOT_LEFT));
  const height = AXIS_HEIGHT + timeline.bars.length * ROW_HEIGHT + 8;
  const nowX = x(Date.parse(timeline.now));

  const ticks = axisTicks(start, end).map(
    (tick) => `<g class="tick"><line x1="${x(tick.time)}" y1="${AXIS_HEIGHT - 6}" x2="${x(tick.time)}" y2="${height}"/><text x="${x(tick.time)}" y="${AXIS_HEIGHT - 12}">${escapeHtml(tick.label)}</text></g>`,
  );
  const rows = timeline.bars.map((bar, index) => renderBar(bar, AXIS_HEIGHT + index * ROW_HEIGHT, x));
  // Broken where the ticks' dates are, so a date next to now stays readable.
  const nowLine = `<g class="now"><line x1="${nowX}" y1="4" x2="${nowX}" y2="17"/><line x1="${nowX}" y1="${AXIS_HEIGHT - 6}" x2="${nowX}" y2="${height}"/><text x="${nowX + 4}" y="13">now ${escapeHtml(timeline.now.slice(0, 10))}</text></g>`;
  const label = `Expiry timeline: ${timeline.bars.length} served version${timeline.bars.length === 1 ? "" : "s"}, from ${timeline.start.slice(0, 10)} to ${timeline.end.slice(0, 10)}`;
  return [
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeHtml(label)}">`,
    `<g class="ticks">${ticks.join("")}</g>`,
    `<g class="bars">${rows.join("")}</g>`,
    nowLine,
    `</svg>`,
  ].join("\n");
}

function renderBar(bar: TimelineBar, top: number, x: (time: number) => number): string {
  const from = x(Date.parse(bar.notBefore));
  const to = Math.max(from + 2, x(Date.parse(bar.notAfter)));
  const name = bar.displayName === bar.certificate ? bar.certificate : `${bar.displayName} (${bar.certificate})`;
  const label = `${truncate(name, LABEL_CHARACTERS - String(bar.version).length - 2)} v${bar.version}`;
  const left = bar.daysLeft < 0 ? `expired ${-bar.daysLeft} d ago` : `${bar.daysLeft} d left`;
  const title = `${name} v${bar.version}, served in ${bar.environments.join(", ")}: ${bar.notBefore} to ${bar.notAfter}, ${left} (${URGENCY_LABELS[bar.urgency]})`;
  const marked = bar.urgency === "ok" ? "" : "⚠ ";
  const barY = top + (ROW_HEIGHT - BAR_HEIGHT) / 2;
  return (
    `<g class="row ${bar.urgency}" data-certificate="${escapeHtml(bar.certificate)}" data-version="${bar.version}" data-urgency="${bar.urgency}">` +
    `<title>${escapeHtml(title)}</title>` +
    `<text class="label" x="${LABEL_WIDTH}" y="${top + 15}">${escapeHtml(label)}</text>` +
    `<rect class="bar" x="${from}" y="${barY}" width="${round(to - from)}" height="${BAR_HEIGHT}" rx="3"/>` +
    `<text class="left" x="${to + 4}" y="${top + 15}">${escapeHtml(marked + left)}</text>` +
    `</g>`
  );
}

export interface AxisTick {
  readonly time: number;
  readonly label: string;
}

/** Steps a person counts in; the first that gives at most ten ticks over the span is used. */
const STEPS: ReadonlyArray<{ readonly days: number } | { readonly months: number }> = [{ days: 1 }, { days: 2 }, { days: 7 }, { months: 1 }, { months: 2 }, { months: 3 }, { months: 6 }, { months: 12 }, { months: 24 }, { months: 60 }];

/** Ticks at midnight UTC (day steps) or on the first of a month (month steps), inside [start, end]. */
export function axisTicks(start: number, end: number): AxisTick[] {
  const span = end - start;
  const step = STEPS.find((candidate) => ("days" in candidate ? span / (candidate.days * DAY_MS) : span / (candidate.months * 30.44 * DAY_MS)) <= 10) ?? STEPS[STEPS.length - 1];
  const ticks: AxisTick[] = [];
  if ("days" in step) {
    for (let time = Math.ceil(start / DAY_MS) * DAY_MS; time <= end; time += step.days * DAY_MS) {
      const date = new Date(time);
      ticks.push({ time, label: `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}` });
    }
    return ticks;
  }
  const first = new Date(start);
  // The first month boundary at or after start whose month index is a multiple of the step.
  let month = first.getUTCFullYear() * 12 + first.getUTCMonth() + (first.getUTCDate() === 1 && first.getUTCHours() === 0 && first.getUTCMinutes() === 0 ? 0 : 1);
  month = Math.ceil(month / step.months) * step.months;
  for (; ; month += step.months) {
    const time = Date.UTC(Math.floor(month / 12), month % 12, 1);
    if (time > end) break;
    const date = new Date(time);
    ticks.push({ time, label: step.months >= 12 ? String(date.getUTCFullYear()) : `${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}` });
  }
  return ticks;
}

function truncate(text: string, characters: number): string {
  const letters = [...text];
  return letters.length <= characters ? text : `${letters.slice(0, characters - 1).join("")}…`;
}

const round = (value: number) => Math.round(value * 10) / 10;
