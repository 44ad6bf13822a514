/**
 * `certstage history` over a file store whose history.jsonl has 100,000 lines: every line comes
 * out, in order, and the command's memory does not grow with the history. Its peak RSS is held
 * against a run over 200,000 lines, the extra 100,000 some 17 MB of text: reading the file whole
 * (every parsed entry and the formatted output held) added about 8.5 times the file's size
 * (measured: 75 MB -> 225 MB from 10,000 to 100,000 lines); the stream adds a few megabytes
 * (measured on a loaded machine: 92-95 MB -> 97-103 MB), so the bound is the extra lines' size.
 * Not against a short run: from 10,000 to 100,000 lines the heap and the allocator still grow to
 * their working size (62 -> 94 MB), which is no measure of the history's own cost.
 */
import { spawn } from "node:child_process";
import { appendFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { createFileStore } from "../../provider/store/drivers/file";
import { REPO_ROOT, temporaryDirectory } from "../support/certificates";
import { historyLines, lineMark, marksOf, runHistory } from "../support/long-history";

const actor = { principal: "stream@test" };
const CLI = path.join(REPO_ROOT, "dist", "provider", "cli", "main.js");

/** A file store with certificate `api` and `lines` generated history lines after its own. */
async function storeWithHistory(lines: number): Promise<string> {
  const root = temporaryDirectory(`history-stream-${lines}`);
  const store = createFileStore({ root });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "team-a", shareWith: [], description: "" }, actor);
  await store.close();
  appendFileSync(path.join(root, "history.jsonl"), historyLines(lines));
  return root;
}

let large: string;
let larger: string;

beforeAll(async () => {
  large = await storeWithHistory(100_000);
  larger = await storeWithHistory(200_000);
});

describe("certstage history over a long file store history", () => {
  it("prints all 100,000 lines in order, with memory that does not grow with them", async () => {
    const hundredThousand = await runHistory(["--store", large]);
    const twoHundredThousand = await runHistory(["--store", larger]);
    expect(hundredThousand.lines).toHaveLength(100_001);
    expect(hundredThousand.lines[0]).toMatch(/certificate\.create/);
    expect(marksOf(hundredThousand.lines)).toEqual(Array.from({ length: 100_000 }, (_, index) => lineMark(index + 1)));
    expect(twoHundredThousand.lines).toHaveLength(200_001);
    const extraBytes = statSync(path.join(larger, "history.jsonl")).size - statSync(path.join(large, "history.jsonl")).size;
    expect(extraBytes).toBeGreaterThan(15_000_000);
    expect(twoHundredThousand.peakRssBytes - hundredThousand.peakRssBytes).toBeLessThan(extraBytes);
  });

  it("streams the same JSON as the whole list gives, filtered or empty", async () => {
    const store = createFileStore({ root: large });
    const output = async (args: string[]) => {
      let text = "";
      await main([...args, "--store", large], new Writable({ write: (chunk, _encoding, done) => ((text += String(chunk)), done()) }));
      return text;
    };
    expect(await output(["history", "--json"])).toBe(`${JSON.stringify({ history: await store.readHistory() }, null, 2)}\n`);
    expect(await output(["history", "--json", "--environment", "staging"])).toBe(`${JSON.stringify({ history: [] }, null, 2)}\n`);
    expect(await output(["history", "--environment", "staging"])).toBe("No history.\n");
    const some = await output(["history", "--json", "--certificate", "api", "--environment", "production"]);
    expect(JSON.parse(some).history).toHaveLength(100_000);
  });

  it("ends quietly, with success, when the reader stops early (`certstage history | head`)", async () => {
    for (const json of [false, true]) {
      const child = spawn(process.execPath, [CLI, "history", ...(json ? ["--json"] : []), "--store", large], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
      // The first chunk, then the pipe closed, as head closes it after its lines.
      const first = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(String(chunk))));
      child.stdout.destroy();
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(first).toMatch(json ? /^\{\n  "history": \[/ : /certificate\.create/);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    }
  });
});
