/**
 * CI's run of bench/pulumi-scale.cjs, at a small size only, as proof that it runs: certstage
 * installed from its `npm pack` tarball, then preview, up, refresh and destroy through the real
 * CLI against the floor program. No timing is asserted; state size is (bytes, not time): with the
 * installed package, each resource's serialized provider is a `require`, so state per resource
 * stays within 2× the floor's. The CPU split by process must have been sampled (no figure is
 * compared).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/certificates";

const execFileAsync = promisify(execFile);

describe("bench/pulumi-scale.cjs", () => {
  it("runs every phase at the smallest size, with state per resource within 2× the floor's", async () => {
    const { stdout } = await execFileAsync(process.execPath, [path.join(REPO_ROOT, "bench", "run.cjs"), "pulumi-scale"], {
      cwd: REPO_ROOT,
      env: { ...process.env, CERTSTAGE_BENCH_SCALE_SIZES: "20" },
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const phase of ["preview", "up", "refresh", "preview, no change", "destroy"]) {
      expect(stdout).toMatch(new RegExp(`20 × 3\\s+100\\s+${phase}\\s+\\d`));
    }
    const state = /20 × 3\s+100\s+[\d.]+ MiB\s+[\d.]+ MiB\s+(\d+) B\s+(\d+) B/.exec(stdout);
    expect(state, stdout).not.toBeNull();
    const [ours, floor] = [Number(state![1]), Number(state![2])];
    expect(ours).toBeLessThanOrEqual(2 * floor);
    // The CPU split was sampled: every process that does the work shows some, on both sides
    // (destroy runs no program).
    for (const [phase, kinds] of [["up", ["engine (`pulumi`)", "dynamic provider", "program (Node)"]], ["destroy", ["engine (`pulumi`)", "dynamic provider"]]] as const) {
      for (const kind of kinds) {
        const cpu = new RegExp(`20 × 3\\s+${phase}\\s+${kind.replace(/[()`]/g, "\\$&")}\\s+([\\d.]+) s\\s+([\\d.]+) s`).exec(stdout);
        expect(cpu, `${phase} ${kind}\n${stdout}`).not.toBeNull();
        expect(Number(cpu![1])).toBeGreaterThan(0);
        expect(Number(cpu![2])).toBeGreaterThan(0);
      }
    }
  });
});
