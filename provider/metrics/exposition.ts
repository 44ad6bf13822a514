/**
 * Prometheus's text exposition format (version 0.0.4), as node_exporter's textfile collector and
 * every scraper read it: per family a `# HELP` and a `# TYPE` line, then one line per sample.
 * Pure: families in, text out.
 *
 * A value certstage does not know is not a sample at all. A 0 would read as 1970, so every
 * "expires soon" or "renewal overdue" rule would fire at once (cert-manager's collector does this
 * for certificates it has not read yet). So a sample whose value is not a finite number is left
 * out, and so is a label whose value is unknown.
 */

export interface Sample {
  /** Label name -> value; an undefined value leaves the label out. */
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  /** Undefined (or NaN, ±Infinity) leaves the sample out. */
  readonly value: number | undefined;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value inside its double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text: backslash and line feed escaped (a double quote stays as it is there). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * A sample value: integers as plain digits (timestamps in seconds and version numbers are, and
 * `1.7e9` would not match what a reader greps for), others in JavaScript's shortest round-trip
 * form, which Prometheus parses. Undefined for what is not a finite number.
 */
export function formatValue(value: number | undefined): string | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  if (Number.isInteger(value)) return Math.abs(value) < 1e21 ? BigInt(value).toString() : value.toString();
  return value.toString();
}

export function formatSample(name: string, sample: Sample): string | undefined {
  const value = formatValue(sample.value);
  if (value === undefined) return undefined;
  const labels = Object.entries(sample.labels)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([label, labelValue]) => {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) throw new Error(`metrics: '${label}' is not a label name`);
      return `${label}="${escapeLabelValue(String(labelValue))}"`;
    });
  return `${name}${labels.length > 0 ? `{${labels.join(",")}}` : ""} ${value}`;
}

/** The families as one exposition, in the order given; a family's samples sorted by their lines, so output is stable. */
export function formatExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    // A name given twice would be two families of one name, which Prometheus refuses whole.
    if (!METRIC_NAME.test(family.name) || seen.has(family.name)) throw new Error(`metrics: '${family.name}' is not a metric name, or is given twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    const samples = family.samples.map((sample) => formatSample(family.name, sample)).filter((line): line is string => line !== undefined);
    lines.push(...[...new Set(samples)].sort());
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
