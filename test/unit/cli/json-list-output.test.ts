/**
 * The JSON that `status --json` and `history --json` write a batch at a time must be the bytes of
 * one `JSON.stringify(…, null, 2)` of the whole document, whatever the items and the batch size,
 * and a reader that asks to wait (write() returning false) must hold the writer back.
 */
import fc from "fast-check";
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { writeJsonList } from "../../../provider/cli/json-list-output";
import { formatStatusReport, writeStatusJson, writeStatusText, type StatusReport } from "../../../provider/cli/status";

async function written(write: (output: NodeJS.WritableStream) => Promise<void>): Promise<string> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on("data", (chunk: Buffer) => chunks.push(chunk));
  await write(output);
  output.end();
  return Buffer.concat(chunks).toString("utf8");
}

describe("writeJsonList", () => {
  it("writes the bytes of JSON.stringify({ key: items }, null, 2) and a newline, for any items and batch size", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), fc.constantFrom("history", "certificates"), async (items, batchItems, key) => {
        const text = await written((output) => writeJsonList(key, items, output, { batchItems }));
        expect(text).toBe(`${JSON.stringify({ [key]: items }, null, 2)}\n`);
      }),
      { numRuns: 300 },
    );
  });

  it("writes the items of an async source too", async () => {
    async function* numbers() {
      for (let index = 0; index < 1_000; index += 1) yield { index, even: index % 2 === 0 };
    }
    const text = await written((output) => writeJsonList("history", numbers(), output, { batchItems: 7 }));
    expect(JSON.parse(text)).toEqual({ history: Array.from({ length: 1_000 }, (_, index) => ({ index, even: index % 2 === 0 })) });
  });

  it("waits for the reader when the output asks it to, and writes everything in the end", async () => {
    let release: () => void = () => undefined;
    let taken = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, done) {
        taken += chunk.length;
        release = done;
      },
    });
    const items = Array.from({ length: 5_000 }, (_, index) => ({ line: `entry ${index}`.padEnd(200, ".") }));
    let finished = false;
    const writing = writeJsonList("history", items, slow, { batchItems: 64 }).then(() => (finished = true));
    await new Promise((resolve) => setImmediate(resolve));
    // One chunk handed over and not yet taken: the writer waits instead of making the rest.
    expect(finished).toBe(false);
    const firstChunk = taken;
    expect(firstChunk).toBeGreaterThan(0);
    expect(firstChunk).toBeLessThan(200_000);
    while (!finished) {
      release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writing;
    expect(taken).toBe(Buffer.byteLength(`${JSON.stringify({ history: items }, null, 2)}\n`));
  });
});

describe("writeStatusJson", () => {
  it("writes the report as JSON.stringify(report, null, 2) and a newline, empty or not", async () => {
    const version = (n: number) => ({ version: n, method: "upload", serial: `0${n}`, subject: "CN=api.example.test", sans: ["api.example.test"], notAfter: "2027-01-01T00:00:00.000Z", fingerprintSha256: "AB:CD", unclaimed: n === 2 });
    const certificate = (name: string) => ({
      name,
      displayName: name,
      type: "server",
      owner: "team-edge",
      latestVersion: 3,
      versions: [version(1), version(2), version(3)],
      deployments: { production: { version: 3, deployedAt: "2026-12-01T00:00:00.000Z" } },
      pending: {},
      agents: [],
    });
    for (const report of [{ certificates: [] }, { certificates: Array.from({ length: 40 }, (_, index) => certificate(`svc-${index}`)) }] as StatusReport[]) {
      expect(await written((output) => writeStatusJson(report.certificates, output))).toBe(`${JSON.stringify(report, null, 2)}\n`);
      // As status writes them: a certificate at a time, as the store's versions are read.
      expect(await written((output) => writeStatusJson(oneAtATime(report.certificates), output))).toBe(`${JSON.stringify(report, null, 2)}\n`);
      // And as text: formatStatusReport's text, written a certificate at a time.
      expect(await written((output) => writeStatusText(oneAtATime(report.certificates), "the store", output))).toBe(formatStatusReport(report, "the store"));
    }
    expect(formatStatusReport({ certificates: [] }, "the store")).toBe("No certificates in the store.\n");
    expect(formatStatusReport({ certificates: [certificate("api"), certificate("web")] } as StatusReport, "the store")).toMatch(/^api  \(server, owner team-edge, latest version 3\)\n  production   serves version 3 .*\n(?:  v.*\n){3}\nweb  \(server[^\n]*\n(?:.*\n){4}\n$/);
  });
});

async function* oneAtATime<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await new Promise((resolve) => setImmediate(resolve));
    yield item;
  }
}
