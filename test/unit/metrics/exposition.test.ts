/**
 * The exposition formatter: what a scraper reads. Label values escaped as the format asks,
 * unknown values left out (never 0, which reads as 1970 and fires every expiry rule), integers
 * as plain digits, HELP and TYPE before every family.
 */
import { describe, expect, it } from "vitest";
import { escapeHelp, escapeLabelValue, formatExposition, formatValue, type MetricFamily } from "../../../provider/metrics/exposition";

const family = (samples: MetricFamily["samples"], name = "certstage_test_seconds"): MetricFamily => ({ name, help: "A test.", type: "gauge", samples });

describe("the exposition formatter", () => {
  it("escapes backslash, double quote and line feed in label values, and backslash and line feed in HELP", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp('say "x"\\\nnext')).toBe('say "x"\\\\\\nnext');
    const text = formatExposition([family([{ labels: { certificate: 'we"ird\\na\nme' }, value: 1 }])]);
    expect(text).toBe('# HELP certstage_test_seconds A test.\n# TYPE certstage_test_seconds gauge\ncertstage_test_seconds{certificate="we\\"ird\\\\na\\nme"} 1\n');
  });

  it("leaves out a sample whose value is unknown, and a label whose value is unknown, never writing 0", () => {
    const text = formatExposition([
      family([
        { labels: { certificate: "a" }, value: undefined },
        { labels: { certificate: "b" }, value: Number.NaN },
        { labels: { certificate: "c" }, value: Number.POSITIVE_INFINITY },
        { labels: { certificate: "d", serial_number: undefined }, value: 5 },
      ]),
    ]);
    expect(text.split("\n").filter((line) => !line.startsWith("#") && line !== "")).toEqual(['certstage_test_seconds{certificate="d"} 5']);
    expect(text).not.toMatch(/ 0$/m);
  });

  it("writes integers as plain digits, with no exponent or fraction, and others as JavaScript's round-trip form", () => {
    expect(formatValue(1_893_456_000)).toBe("1893456000");
    expect(formatValue(4_102_444_800_000)).toBe("4102444800000");
    expect(formatValue(-3)).toBe("-3");
    expect(formatValue(0.25)).toBe("0.25");
    expect(formatValue(undefined)).toBeUndefined();
    // Date.parse of an X.509 time is whole seconds: divided by 1000 it is an integer, written as one.
    expect(formatValue(Date.parse("2027-01-31T12:00:00.000Z") / 1000)).toBe("1801396800");
  });

  it("gives each family HELP and TYPE first, in the order given, and its samples in a stable order", () => {
    const text = formatExposition([
      family([{ labels: { certificate: "b" }, value: 2 }, { labels: { certificate: "a" }, value: 1 }], "certstage_b"),
      family([], "certstage_a"),
      family([{ labels: {}, value: 7 }], "certstage_c"),
    ]);
    expect(text).toBe(
      [
        "# HELP certstage_b A test.",
        "# TYPE certstage_b gauge",
        'certstage_b{certificate="a"} 1',
        'certstage_b{certificate="b"} 2',
        "# HELP certstage_a A test.",
        "# TYPE certstage_a gauge",
        "# HELP certstage_c A test.",
        "# TYPE certstage_c gauge",
        "certstage_c 7",
        "",
      ].join("\n"),
    );
  });

  it("refuses what would make the whole exposition unreadable: a bad metric or label name, a family twice", () => {
    expect(() => formatExposition([family([], "certstage-bad")])).toThrow(/not a metric name/);
    expect(() => formatExposition([family([]), family([])])).toThrow(/given twice/);
    expect(() => formatExposition([family([{ labels: { "bad-label": "x" }, value: 1 }])])).toThrow(/not a label name/);
    expect(() => formatExposition([family([{ labels: { __name__: "x" }, value: 1 }])])).toThrow(/not a label name/);
  });
});
