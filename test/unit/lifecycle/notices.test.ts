import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isCertstageError } from "../../../provider/errors";
import { bandsCrossed, DEFAULT_BANDS, expiryKey, noticesDue, parseBands, type NoticeInputs } from "../../../provider/lifecycle/notices";
import type { DeploymentRecord, HistoryEntry, VersionSummary } from "../../../provider/store";

const DAY = 86_400_000;
const START = Date.parse("2026-10-01T00:00:00Z");

function version(certificate: string, number: number, lifetimeDays: number, issuedDay = 0): VersionSummary {
  return {
    certificate,
    version: number,
    notBefore: new Date(START + issuedDay * DAY).toISOString(),
    notAfter: new Date(START + (issuedDay + lifetimeDays) * DAY).toISOString(),
    subject: `CN=${certificate}.example.test`,
    sans: [`${certificate}.example.test`],
  } as unknown as VersionSummary;
}

const deployed = (certificate: string, environment: string, number: number): DeploymentRecord => ({ certificate, environment, version: number, deployedAt: new Date(START).toISOString() });
const day = (n: number) => new Date(START + n * DAY);

/** Runs night after night from `nights`, keeping what was sent, as the store would; the bands sent each night. */
function nightly(inputs: Omit<NoticeInputs, "sent" | "now">, nights: readonly number[]): string[][] {
  const sent = new Set<string>();
  return nights.map((night) => {
    const due = noticesDue({ ...inputs, sent, now: day(night) });
    for (const notice of due) sent.add(notice.key);
    return due.map((notice) => (notice.kind === "expiry" ? `${notice.certificate}/${notice.environment}/v${notice.version}:${notice.band}` : notice.key));
  });
}

describe("expiry bands", () => {
  const bands = parseBands(DEFAULT_BANDS);

  it("sends each band once, as a 90-day certificate ages night by night", () => {
    const nights = Array.from({ length: 95 }, (_, index) => index);
    const sent = nightly({ deployments: [deployed("api", "production", 1)], versions: [version("api", 1, 90)], history: [], bands }, nights);
    const byNight = Object.fromEntries(sent.map((names, night) => [night, names]).filter(([, names]) => (names as string[]).length > 0));
    expect(byNight).toEqual({ 60: ["api/production/v1:30d"], 76: ["api/production/v1:14d"], 83: ["api/production/v1:7d"], 89: ["api/production/v1:1d"], 90: ["api/production/v1:expired"] });
  });

  it("after skipped nights, sends only the most urgent band crossed, and never a less urgent one later", () => {
    // Last run on day 50 (40 days left), then nothing until day 85 (5 days left).
    const sent = nightly({ deployments: [deployed("api", "production", 1)], versions: [version("api", 1, 90)], history: [], bands }, [50, 85, 86, 87, 89]);
    expect(sent).toEqual([[], ["api/production/v1:7d"], [], [], ["api/production/v1:1d"]]);
  });

  it("sends nothing for a version outside every band, and once per environment for one deployed twice", () => {
    const inputs = { deployments: [deployed("api", "production", 1), deployed("api", "staging", 1), deployed("web", "production", 1)], versions: [version("api", 1, 30), version("web", 1, 365)], history: [], bands };
    expect(nightly(inputs, [25])).toEqual([["api/production/v1:7d", "api/staging/v1:7d"]]);
  });

  it("relative bands follow each lifetime: 33% of 47 days, of 90 days", () => {
    const relative = parseBands("33%,10%");
    const inputs = { deployments: [deployed("short", "production", 1), deployed("long", "production", 1)], versions: [version("short", 1, 47), version("long", 1, 90)], history: [], bands: relative };
    const nights = Array.from({ length: 92 }, (_, index) => index);
    const sent = nightly(inputs, nights).flatMap((names, night) => names.map((name) => `${night} ${name}`));
    // 33% of 47 d = 15.51 d before notAfter (day 31.49 → sent on night 32); 10% = 4.7 d (night 43); 33% of 90 d = 29.7 d (night 61); 10% = 9 d (night 81).
    expect(sent).toEqual(["32 short/production/v1:33%", "43 short/production/v1:10%", "47 short/production/v1:expired", "61 long/production/v1:33%", "81 long/production/v1:10%", "90 long/production/v1:expired"]);
  });

  it("a version swapped in mid-band is judged afresh; the one swapped out says nothing more", () => {
    const versions = [version("api", 1, 30), version("api", 2, 30, 20)];
    const sent = new Set<string>();
    const first = noticesDue({ deployments: [deployed("api", "production", 1)], versions, history: [], bands, sent, now: day(20) });
    expect(first.map((notice) => notice.key)).toEqual([expiryKey("api", "production", 1, "14d")]);
    sent.add(first[0].key);
    // Swapped on day 21 to version 2, itself 30 days long: 29 days left, inside 30d.
    const second = noticesDue({ deployments: [deployed("api", "production", 2)], versions, history: [], bands, sent, now: day(21) });
    expect(second.map((notice) => notice.key)).toEqual([expiryKey("api", "production", 2, "30d")]);
    // Swapped back to version 1 (a rollback), now inside 7d: a new, more urgent band is owed; 14d is not sent again.
    const third = noticesDue({ deployments: [deployed("api", "production", 1)], versions, history: [], bands, sent, now: day(24) });
    expect(third.map((notice) => notice.key)).toEqual([expiryKey("api", "production", 1, "7d")]);
  });

  it("steps never back to a less urgent band when the bands change", () => {
    const sent = new Set([expiryKey("api", "production", 1, "7d")]);
    // Someone widens the bands to 10d,5d: 6 days left is inside 10d, less urgent than the 7d already sent.
    const due = noticesDue({ deployments: [deployed("api", "production", 1)], versions: [version("api", 1, 90)], history: [], bands: parseBands("10d,7d,5d"), sent, now: day(84) });
    expect(due).toEqual([]);
  });

  it("a notice carries what the message needs: days left rounded down, notAfter, band, key", () => {
    const [notice] = noticesDue({ deployments: [deployed("api", "production", 1)], versions: [version("api", 1, 30)], history: [], bands, sent: new Set(), now: new Date(START + 25.5 * DAY) });
    expect(notice).toMatchObject({ kind: "expiry", key: "expiry:api:production:v1:7d", certificate: "api", environment: "production", version: 1, band: "7d", daysLeft: 4, expired: false, notAfter: version("api", 1, 30).notAfter });
  });

  it("only the environment asked for", () => {
    const inputs = { deployments: [deployed("api", "production", 1), deployed("api", "staging", 1)], versions: [version("api", 1, 30)], history: [], bands, sent: new Set<string>(), now: day(25), environment: "staging" };
    expect(noticesDue(inputs).map((notice) => notice.key)).toEqual(["expiry:api:staging:v1:7d"]);
  });

  it("bands crossed are ordered most urgent first, expired first of all", () => {
    expect(bandsCrossed(bands, version("api", 1, 90), day(85))).toEqual(["7d", "14d", "30d"]);
    expect(bandsCrossed(bands, version("api", 1, 90), day(91))).toEqual(["expired", "1d", "7d", "14d", "30d"]);
    expect(bandsCrossed(bands, version("api", 1, 90), day(10))).toEqual([]);
  });

  it("property: whatever nights run, each (version, band) is sent at most once, bands only grow more urgent, and the last night's band is sent", () => {
    const order = ["30d", "14d", "7d", "1d", "expired"];
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 30 }), (nightsUnsorted) => {
        const nights = [...nightsUnsorted].sort((a, b) => a - b);
        const sent = nightly({ deployments: [deployed("api", "production", 1)], versions: [version("api", 1, 90)], history: [], bands }, nights).flat();
        expect(new Set(sent).size).toBe(sent.length);
        const ranks = sent.map((name) => order.indexOf(name.split(":")[1]));
        expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
        const last = bandsCrossed(bands, version("api", 1, 90), day(nights[nights.length - 1]))[0];
        if (last !== undefined) expect(sent[sent.length - 1]).toBe(`api/production/v1:${last}`);
      }),
    );
  });
});

describe("failure notices", () => {
  const bands = parseBands(DEFAULT_BANDS);
  const failed = (at: Date, action: HistoryEntry["action"] = "task.run"): HistoryEntry => ({ at: at.toISOString(), actor: "ci", action, certificate: "api", environment: "production", toVersion: 2, result: "failed", detail: "task 1: verification saw another certificate" });

  it("each failed entry of the last 7 days once, oldest first, with what the environment serves", () => {
    const history: HistoryEntry[] = [failed(day(1)), failed(day(8), "verify"), failed(day(9)), { ...failed(day(9)), result: "ok", at: day(9.5).toISOString() }];
    const inputs = { deployments: [deployed("api", "production", 1)], versions: [version("api", 1, 365)], history, bands, sent: new Set<string>(), now: day(10) };
    const due = noticesDue(inputs);
    expect(due.map((notice) => notice.key)).toEqual([`failure:api:production:verify:${day(8).toISOString()}`, `failure:api:production:task.run:${day(9).toISOString()}`]);
    expect(due[0]).toMatchObject({ kind: "failure", certificate: "api", environment: "production", version: 2, action: "verify", daysLeft: 355 });
    expect(noticesDue({ ...inputs, sent: new Set(due.map((notice) => notice.key)) })).toEqual([]);
  });
});

describe("--bands", () => {
  it("reads durations and shares, in any order", () => {
    expect(parseBands("30d,14d,7d,1d").map((band) => band.text)).toEqual(["30d", "14d", "7d", "1d"]);
    expect(parseBands(" 33% , 10%,2d ").map((band) => band.text)).toEqual(["33%", "10%", "2d"]);
  });

  it.each([["", "NOTIFY_BANDS_INVALID"], ["30d,,7d", "NOTIFY_BANDS_INVALID"], ["7d,7d", "NOTIFY_BANDS_INVALID"], ["30x", "EXPIRY_WINDOW_INVALID"], ["0%", "EXPIRY_WINDOW_INVALID"]])("refuses %j with %s, naming --bands", (text, code) => {
    let thrown: unknown;
    try {
      parseBands(text);
    } catch (error) {
      thrown = error;
    }
    expect(isCertstageError(thrown, code as "NOTIFY_BANDS_INVALID")).toBe(true);
    expect((thrown as Error).message).toContain("--bands");
  });
});
