/**
 * The comment as a reviewer gets it: the marker pr-comment finds, the summary first and never
 * folded, within GitHub's 65,536 characters however large the change (the rest counted, not
 * shown), escaped, and refused whole (SUMMARY_KEY_MATERIAL) if key material would appear.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commentMarker, COMMENT_BODY_LIMIT } from "../../../provider/cli/pr-comment";
import { isCertstageError } from "../../../provider/errors";
import { keyMaterialIn } from "../../../provider/pki/key-material";
import { planFromPreview } from "../../../provider/summary/plan";
import { parsePreviewJson } from "../../../provider/summary/preview-json";
import { renderSummary, SUMMARY_LIMIT } from "../../../provider/summary/render";
import type { StoreView } from "../../../provider/summary/store-view";
import { generateKeyPairSync } from "node:crypto";
import { makeTestCertificate, temporaryDirectory } from "../../support/certificates";
import { previewDocument, step, UNKNOWN, urnOf } from "./steps";

const NOW = new Date("2026-12-01T12:00:00Z");
const EMPTY: StoreView = { store: "file store", certificates: [] };

function render(steps: Record<string, unknown>[], extra: Record<string, unknown> = {}, view: StoreView = EMPTY, limit?: number): string {
  return renderSummary(planFromPreview(parsePreviewJson(previewDocument(steps, extra)), view), { project: "infra", stack: "production", now: NOW, expiringWithinDays: 30, limit });
}

/** `count` new certificates, each a version (names `sans`) served in staging. */
function manyCertificates(count: number, sans: (index: number) => string[], notAfter = "2026-12-10T00:00:00.000Z"): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => {
    const name = `svc-${index}`;
    return [
      step("create", "Certificate", name, { name }),
      step("create", "CertificateVersion", `${name}/v1`, { certificate: name, method: "upload", sans: sans(index), subject: `CN=${sans(index)[0]}`, issuer: "CN=CA", notAfter, keyAlgorithm: "RSA 2048", publicKeySha256: `k${index}` }),
      step("create", "EnvironmentDeployment", `${name}/staging`, { certificate: name, environment: "staging", version: UNKNOWN }, { dependencies: { version: [urnOf("CertificateVersion", `${name}/v1`)] } }),
    ];
  }).flat();
}

const characters = (text: string) => [...text].length;

describe("renderSummary", () => {
  it("starts with the marker pr-comment finds the comment by, one per project and stack", () => {
    const body = render([]);
    expect(body.split("\n")[0]).toBe("<!-- certstage:preview-summary project=infra stack=production -->");
    expect(commentMarker(body)).toBe("<!-- certstage:preview-summary project=infra stack=production -->");
    expect(COMMENT_BODY_LIMIT).toBe(SUMMARY_LIMIT);
  });

  it("shows a standby undeploy already queued in the store: a warning line, and in its environment's row", () => {
    const view: StoreView = {
      store: "file store",
      certificates: [{ name: "api", lastVersion: 1, versions: [], deployments: { staging: 1, production: 1 }, pendingSwaps: [], pendingUndeploys: [{ environment: "staging", task: "20261130T100000Z-staging-api-undeploy-0a1b2c", notBefore: "2026-12-24T02:00:00.000Z" }] }],
    };
    const body = render(
      [
        step("create", "CertificateVersion", "api/v2", { certificate: "api", method: "upload", sans: ["api.example.test"], notAfter: "2027-06-01T00:00:00.000Z" }),
        step("update", "EnvironmentDeployment", "api/production", { certificate: "api", environment: "production", version: UNKNOWN }, { old: { outputs: { deployedVersion: 1 } }, dependencies: { version: [urnOf("CertificateVersion", "api/v2")] } }),
        step("same", "EnvironmentDeployment", "api/staging", { certificate: "api", environment: "staging", version: 1, state: "undeployed", mode: "standby" }),
      ],
      {},
      view,
    );
    expect(body).toContain("- :warning: staging stops serving api (v1) when a standby undeploy already queued runs, not before 2026-12-24T02:00:00.000Z (task 20261130T100000Z-staging-api-undeploy-0a1b2c); this change leaves it queued\n");
    expect(body).toContain("| `staging` | v1 (unchanged) | a standby undeploy is queued for 2026-12-24T02:00:00.000Z (task `20261130T100000Z-staging-api-undeploy-0a1b2c`) |\n");
    expect(body).toContain("| `production` | v1 → **v2** | nothing: swapped during up |\n");
  });

  it("shows an undeploy this change queues in standby: still served after up, then undeployed by a task", () => {
    const view: StoreView = { store: "file store", certificates: [{ name: "api", lastVersion: 1, versions: [], deployments: { staging: 1 }, pendingSwaps: [], pendingUndeploys: [] }] };
    const body = render([step("update", "EnvironmentDeployment", "api/staging", { certificate: "api", environment: "staging", version: 1, state: "undeployed", mode: "standby", notBefore: "2026-12-24T02:00:00Z" }, { old: { outputs: { deployedVersion: 1 } } })], {}, view);
    expect(body).toContain("- :warning: staging keeps serving api v1 after up, then stops: the undeploy is a standby task, not before 2026-12-24T02:00:00Z\n");
    expect(body).toContain("| `staging` | v1 (unchanged) | standby: a task undeploys it not before 2026-12-24T02:00:00Z (`certstage tasks run`) |\n");
  });

  it("refuses a project or stack name that would break the marker", () => {
    expect(() => renderSummary(planFromPreview(parsePreviewJson("{}"), EMPTY), { project: "a -->", stack: "s", now: NOW, expiringWithinDays: 30 })).toThrow(/SUMMARY_ARGUMENT_INVALID/);
  });

  it("stays within GitHub's limit for any number of certificates, names of any length and any diagnostics, summary first", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1500 }),
        fc.array(fc.string({ unit: "grapheme", maxLength: 300 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 200 }),
        (count, messages, sanCount, sanLength) => {
          const sans = (index: number) => Array.from({ length: sanCount }, (_, san) => `${"x".repeat(sanLength)}-${index}-${san}.example.test`);
          const body = render(manyCertificates(count, sans), { diagnostics: messages.map((message) => ({ severity: "warning", message })) });
          expect(characters(body)).toBeLessThanOrEqual(SUMMARY_LIMIT);
          expect(body.startsWith("<!-- certstage:preview-summary project=infra stack=production -->\n")).toBe(true);
          // The first risk is shown, and above every fold.
          if (count > 0) {
            const firstRisk = body.indexOf("staging would serve svc-0 v1");
            expect(firstRisk).toBeGreaterThan(0);
            if (body.includes("<details>")) expect(firstRisk).toBeLessThan(body.indexOf("<details>"));
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("counts what it trims: certificates, and resources of the raw diff", () => {
    const body = render(manyCertificates(5000, (index) => [`svc-${index}.example.test`]));
    expect(characters(body)).toBeLessThanOrEqual(SUMMARY_LIMIT);
    expect(body).toMatch(/… and [\d,]+ more warnings not shown/);
    expect(body).toMatch(/… and [\d,]+ more certificates not shown/);
    expect(body).toMatch(/… and [\d,]+ more resources not shown/);
    const shown = (body.match(/^#### `svc-/gm) ?? []).length;
    const [, more] = /… and ([\d,]+) more certificates not shown/.exec(body)!;
    expect(shown + Number(more.replace(/,/g, ""))).toBe(5000);
  });

  it("trims to a lower limit the same way, for any limit a comment can have", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4_000, max: SUMMARY_LIMIT }), (limit) => {
        const body = render(manyCertificates(300, (index) => [`svc-${index}.example.test`]), {}, EMPTY, limit);
        expect(characters(body)).toBeLessThanOrEqual(limit);
        expect(body).toContain("### certstage preview:");
      }),
      { numRuns: 20 },
    );
  });

  it("escapes what a subject or a diagnostic could use to format, link or mention", () => {
    const body = render(
      [step("create", "CertificateVersion", "api/v2", { certificate: "api", method: "upload", subject: "CN=<img src=x>|@team", issuer: "CN=`x`", sans: ["a.test"], notAfter: "2027-01-01T00:00:00.000Z", keyAlgorithm: "RSA 2048" })],
      { diagnostics: [{ severity: "warning", message: "see [here](http://x) <script> @admins" }] },
    );
    // Inside the raw diff's code fence nothing is read as Markdown; everywhere else it is escaped.
    const outsideFence = body.replace(/````diff[\s\S]*?````/, "");
    expect(body).toContain("````diff");
    expect(outsideFence).not.toContain("<img");
    expect(outsideFence).not.toContain("<script>");
    expect(outsideFence).not.toContain("[here](");
    expect(outsideFence).not.toMatch(/@admins|@team/);
  });

  it("refuses with SUMMARY_KEY_MATERIAL when a diagnostic carries a private key, in any form", async () => {
    const { privateKeyPem } = makeTestCertificate(temporaryDirectory("summary-pki"), "leak.example.test");
    const base64 = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, "");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const ed = generateKeyPairSync("ed25519").privateKey;
    const forms = [
      privateKeyPem,
      `private key: ${base64(privateKeyPem)}`,
      ...[ec, rsa, ed].map((key) => `a key: ${base64(key.export({ type: "pkcs8", format: "pem" }) as string)}`),
      `SEC 1: ${base64(ec.export({ type: "sec1", format: "pem" }) as string)}`,
      `PKCS#1: ${base64(rsa.export({ type: "pkcs1", format: "pem" }) as string)}`,
      JSON.stringify(ec.export({ format: "jwk" })),
      JSON.stringify(rsa.export({ format: "jwk" })),
      `jwk k: "${"b".repeat(32)}"`,
    ];
    const der = base64(privateKeyPem);
    for (const message of forms) {
      let caught: unknown;
      try {
        render([], { diagnostics: [{ severity: "error", message }] });
      } catch (error) {
        caught = error;
      }
      expect(isCertstageError(caught, "SUMMARY_KEY_MATERIAL"), message.slice(0, 40)).toBe(true);
      expect((caught as Error).message).not.toContain(der.slice(0, 20));
    }
  });

  it("lets through what looks like a key but is public: certificates, fingerprints, JWK public members", async () => {
    const { certificatePem, chainPem } = makeTestCertificate(temporaryDirectory("summary-pki"), "ok.example.test");
    expect(keyMaterialIn(chainPem)).toBeUndefined();
    expect(keyMaterialIn(certificatePem)).toBeUndefined();
    expect(keyMaterialIn(`{"kty":"EC","x":"${"A".repeat(43)}","y":"${"B".repeat(43)}","kid":"${"c".repeat(43)}"}`)).toBeUndefined();
    expect(keyMaterialIn("publicKeySha256: 9c038193361428520572056f7978cad43784c88244647d78b510940e5799acf9, d: 12")).toBeUndefined();
  });
});
