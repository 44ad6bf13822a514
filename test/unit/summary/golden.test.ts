/**
 * Golden tests over REAL `pulumi preview --json` output, recorded by the pinned Pulumi CLI from
 * e2e-style programs against a file store (test/fixtures/preview-json/record.cjs, which also keeps
 * the store as the summary reads it). Each summary is compared with the committed
 * `<scenario>.summary.md`; after a deliberate change of the rendering, rewrite them with
 * CERTSTAGE_UPDATE_GOLDEN=1 and review the diff like any other.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { keyMaterialIn } from "../../../provider/pki/key-material";
import { planFromPreview } from "../../../provider/summary/plan";
import { parsePreviewJson } from "../../../provider/summary/preview-json";
import { renderSummary, SUMMARY_LIMIT } from "../../../provider/summary/render";
import type { StoreView } from "../../../provider/summary/store-view";
import { REPO_ROOT } from "../../support/certificates";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "preview-json");

interface Recording {
  readonly preview: string;
  readonly view: StoreView & { recordedAt: string; pulumiExitCode: number };
}

function recording(scenario: string): Recording {
  const plain = path.join(FIXTURES, `${scenario}.preview.json`);
  const preview = existsSync(plain) ? readFileSync(plain, "utf8") : gunzipSync(readFileSync(`${plain}.gz`)).toString("utf8");
  return { preview, view: JSON.parse(readFileSync(path.join(FIXTURES, `${scenario}.store.json`), "utf8")) };
}

function summaryOf(scenario: string): string {
  const { preview, view } = recording(scenario);
  return renderSummary(planFromPreview(parsePreviewJson(preview), view), { project: scenario, stack: "edge", now: new Date(view.recordedAt), expiringWithinDays: 30 });
}

function expectGolden(scenario: string, body: string): void {
  const file = path.join(FIXTURES, `${scenario}.summary.md`);
  if (process.env.CERTSTAGE_UPDATE_GOLDEN === "1") writeFileSync(file, body);
  expect(body).toBe(readFileSync(file, "utf8"));
}

const SCENARIOS = ["several-changes", "renewal-due", "refusal", "many"] as const;

describe("golden summaries of recorded previews", () => {
  it("the recordings hold no private key in any form: uploads are [secret], no PEM key, no JWK private member", () => {
    for (const scenario of SCENARIOS) {
      const { preview, view } = recording(scenario);
      for (const [what, text] of [["preview", preview], ["store view", JSON.stringify(view)]] as const) {
        expect(keyMaterialIn(text), `${scenario} ${what}`).toBeUndefined();
        expect(text, `${scenario} ${what}`).not.toMatch(/PRIVATE KEY|privateKeyPem"\s*:\s*"-/);
      }
      for (const step of parsePreviewJson(preview).steps) if (step.new?.inputs.upload !== undefined) expect(step.new.inputs.upload).toBe("[secret]");
    }
  });

  it("several changes at once: a name dropped on the same key, a standby swap, a new generated certificate, an expiry in staging", () => {
    const body = summaryOf("several-changes");
    expectGolden("several-changes", body);
    const summary = body.slice(0, body.indexOf("#### "));
    expect(summary).toContain("staging keeps serving api v1, which expires in 19 days");
    expect(summary).toContain("production would stop serving www.example.test for api");
    expect(summary).toContain("api v2 reuses the key of v1");
    expect(summary).toContain("the swap to v2 is a standby task, not before 2026-12-05T02:00:00Z");
    expect(body).toContain("New version **v2** (upload), from `api/v2`");
    expect(body).toContain("| `production` | v1 → **v2** |");
    expect(body).toContain("decided at `up`");
  });

  it("a renewal: the AcmeRenewal due replaces its version, and the swap follows", () => {
    const body = summaryOf("renewal-due");
    expectGolden("renewal-due", body);
    expect(body.slice(0, body.indexOf("#### "))).toMatch(/renewal due/);
    expect(body).toMatch(/New version \*\*v2\*\* \(ACME/);
  });

  it("a refusal: the preview failed, and the reviewer reads why", () => {
    const body = summaryOf("refusal");
    expectGolden("refusal", body);
    expect(recording("refusal").view.pulumiExitCode).not.toBe(0);
    expect(body).toContain(":x: the preview failed with 1 error");
    expect(body).toContain("DOMAIN\\_NOT\\_COVERED");
  });

  it("thousands of certificates: within GitHub's limit, summary first, the rest counted", () => {
    const body = summaryOf("many");
    expectGolden("many", body);
    expect([...body].length).toBeLessThanOrEqual(SUMMARY_LIMIT);
    const steps = parsePreviewJson(recording("many").preview).steps.filter((step) => step.kind === "Certificate").length;
    expect(steps).toBeGreaterThanOrEqual(1000);
    const shown = (body.match(/^#### `svc-/gm) ?? []).length;
    const [, more] = /… and ([\d,]+) more certificates not shown/.exec(body)!;
    expect(shown + Number(more.replace(/,/g, ""))).toBe(steps);
    expect(body).toMatch(/… and [\d,]+ more resources not shown/);
  });
});
