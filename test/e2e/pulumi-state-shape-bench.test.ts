/**
 * CI's run of bench/pulumi-state-shape.cjs, at a small size and one round, as proof that it runs
 * and that its floors are what its section says they are: no timing is asserted, only the shapes.
 * The floor carrying certstage's inputs and outputs and the one carrying as many small values
 * hold as many values per resource as certstage does; the one-string floor holds certstage's bytes.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/certificates";

const execFileAsync = promisify(execFile);

const PROGRAMS = {
  floor: "floor: one short input per resource",
  values: "floor with certstage's inputs and outputs",
  bytes: "floor with certstage's bytes as one value",
  count: "floor with certstage's count of values, few bytes",
  certstage: "certstage",
};

describe("bench/pulumi-state-shape.cjs", () => {
  it("runs up and destroy of every variant, whose state holds certstage's values or certstage's bytes as described", async () => {
    const { stdout } = await execFileAsync(process.execPath, [path.join(REPO_ROOT, "bench", "run.cjs"), "pulumi-state-shape"], {
      cwd: REPO_ROOT,
      env: { ...process.env, CERTSTAGE_BENCH_SHAPE_CERTIFICATES: "3", CERTSTAGE_BENCH_SHAPE_ROUNDS: "1" },
      maxBuffer: 64 * 1024 * 1024,
    });
    const row = (label: string) => {
      const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const match = new RegExp(`^${escaped}\\s+(\\d+) B\\s+(\\d+)\\s+[\\d.]+ s\\s+[\\d.]+×\\s+[\\d.]+ s\\s+[\\d.]+×`, "m").exec(stdout);
      expect(match, `${label}\n${stdout}`).not.toBeNull();
      return { bytes: Number(match![1]), values: Number(match![2]) };
    };
    const [floor, values, bytes, count, certstage] = [PROGRAMS.floor, PROGRAMS.values, PROGRAMS.bytes, PROGRAMS.count, PROGRAMS.certstage].map(row);
    expect(certstage.values).toBeGreaterThan(floor.values + 10);
    // Close, not equal: the few-bytes floor is sized to certstage's count; the floor carrying
    // certstage's values also keeps its own `name` and `kind` inputs (about 6 values more).
    expect(Math.abs(count.values - certstage.values) / certstage.values).toBeLessThan(0.1);
    expect(values.values).toBeGreaterThanOrEqual(certstage.values - 2);
    expect(values.values).toBeLessThanOrEqual(certstage.values + 8);
    expect(Math.abs(bytes.bytes - values.bytes) / values.bytes).toBeLessThan(0.1);
    expect(bytes.values).toBeLessThan(floor.values + 5);
    expect(count.bytes).toBeLessThan(values.bytes);
  });
});
