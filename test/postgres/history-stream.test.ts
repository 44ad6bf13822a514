/**
 * `certstage history` over a PostgreSQL store with 100,000 history rows, as the file store's
 * test (test/store/history-stream.test.ts) does over history.jsonl: every row comes out in order,
 * and the command's memory does not grow with the history, because the driver reads it through a
 * cursor in pages instead of one result holding every row. A run over 300,000 rows is held against
 * the run over 100,000, whose output is 22 MB smaller. Measured: one plain node-postgres query of
 * the whole history, printed, peaks at 162 MB and 329 MB (+167 MB, 7.7 times the extra output);
 * `certstage history` at 123 MB and 144 MB (+21 MB, as V8 grows its heap). The bound is twice the
 * extra output.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineMark, lineTime, marksOf, runHistory } from "../support/long-history";
import { startStoreCluster, type StoreCluster } from "./support";

let world: StoreCluster;
const databases: Record<number, string> = {};

/** A store database holding certificate `api` and `rows` generated history rows after its own. */
async function storeWithHistory(rows: number): Promise<string> {
  const database = await world.newStoreDatabase();
  const store = world.open(database, world.login("edge-ci"));
  try {
    await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "team-edge", shareWith: [], description: "" }, { principal: "edge-ci" });
  } finally {
    await store.close();
  }
  const client = new pg.Client({ connectionString: world.url(database, world.login("edge-ci")) });
  await client.connect();
  try {
    // One statement, as the runner login: row-level security lets it append lines of its own certificate.
    await client.query(
      `INSERT INTO certstage.history (at, action, certificate, environment, from_version, to_version, result, detail)
       SELECT $1::timestamptz + make_interval(secs => n), 'deploy', 'api', 'production', 1, 1, 'ok', '#' || n FROM generate_series(1, $2::int) AS n`,
      [new Date(Date.parse(lineTime(1)) - 1000).toISOString(), rows],
    );
  } finally {
    await client.end();
  }
  return database;
}

beforeAll(async () => {
  world = await startStoreCluster();
  databases[100_000] = await storeWithHistory(100_000);
  databases[300_000] = await storeWithHistory(300_000);
});

afterAll(async () => {
  await world?.stop();
});

describe("certstage history over a long PostgreSQL history", () => {
  it("prints all 100,000 rows in order, and 300,000 with about the same memory", async () => {
    const run = (rows: number) => runHistory(["--store", world.url(databases[rows], world.login("preview"))]);
    const hundredThousand = await run(100_000);
    const threeHundredThousand = await run(300_000);
    expect(hundredThousand.lines).toHaveLength(100_001);
    expect(hundredThousand.lines[0]).toMatch(/certificate\.create/);
    expect(marksOf(hundredThousand.lines)).toEqual(Array.from({ length: 100_000 }, (_, index) => lineMark(index + 1)));
    expect(hundredThousand.outputBytes).toBeGreaterThan(8_000_000);
    expect(threeHundredThousand.lines).toHaveLength(300_001);
    const extraOutput = threeHundredThousand.outputBytes - hundredThousand.outputBytes;
    expect(extraOutput).toBeGreaterThan(20_000_000);
    expect(threeHundredThousand.peakRssBytes - hundredThousand.peakRssBytes).toBeLessThan(extraOutput * 2);
  });

  it("streams the rows readHistory returns, across batches, and gives its connection back when left early", async () => {
    const store = world.open(databases[100_000], world.login("edge-ci"));
    try {
      const whole = await store.readHistory();
      const streamed = [];
      for await (const batch of store.streamHistory()) streamed.push(...batch);
      expect(streamed).toHaveLength(100_001);
      expect(streamed).toEqual(whole);
      // Left inside the second batch, while the third is being fetched: the cursor's transaction
      // ends, and the store's next reads (on a pool of one connection after another) still answer.
      for (let round = 0; round < 12; round += 1) {
        let seen = 0;
        for await (const batch of store.streamHistory({ certificate: "api" })) {
          seen += batch.length;
          if (seen >= 2_500) {
            expect(batch[2_500 - (seen - batch.length) - 1].detail).toBe("#2499");
            break;
          }
        }
        expect(seen).toBe(4_000);
      }
      expect((await store.readHistory({ certificate: "api", environment: "production" })).length).toBe(100_000);
      expect(await store.listCertificates()).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("gives each line's time as toISOString() would, in UTC to the millisecond, whatever the session's time zone", async () => {
    const database = await storeWithHistory(0);
    // A zone 13 h 45 min east of UTC for every session of this database, the store's included.
    await world.cluster.sql(`ALTER DATABASE ${database} SET TimeZone = 'Pacific/Chatham'`);
    const times = ["2026-12-31 23:59:59.999999+00", "2026-01-01 00:00:00+00", "2026-06-30 12:00:00.0005+02", "2027-02-28 23:30:00.123456-05"];
    for (const [index, at] of times.entries()) {
      await world.cluster.sql("INSERT INTO certstage.history (at, actor, action, certificate, result, detail) VALUES ($1::timestamptz, 'edge-ci', 'deploy', 'api', 'ok', $2)", [at, `#${index}`], { database });
    }
    const store = world.open(database, world.login("preview"));
    try {
      const expected = ["2026-12-31T23:59:59.999Z", "2026-01-01T00:00:00.000Z", "2026-06-30T10:00:00.000Z", "2027-03-01T04:30:00.123Z"];
      // After the line of the certificate's creation.
      expect((await store.readHistory()).slice(1).map((entry) => entry.at)).toEqual(expected);
      const streamed = [];
      for await (const batch of store.streamHistory()) streamed.push(...batch.map((entry) => entry.at));
      expect(streamed.slice(1)).toEqual(expected);
    } finally {
      await store.close();
    }
  });
});
