/**
 * One warning line per risk, each rule alone: a certificate close to expiry, names a swap drops,
 * a key used again, a renewal due, a swap held back (standby, promotion, a queued task), an
 * environment left without a certificate (by the change, or by a standby undeploy already queued),
 * and a preview that failed.
 */
import { describe, expect, it } from "vitest";
import { planFromPreview } from "../../../provider/summary/plan";
import { parsePreviewJson } from "../../../provider/summary/preview-json";
import { risksOf } from "../../../provider/summary/risks";
import type { CertificateView, VersionFacts } from "../../../provider/summary/store-view";
import { previewDocument, step, UNKNOWN, urnOf } from "./steps";

const NOW = new Date("2026-12-01T12:00:00Z");

function facts(version: number, overrides: Partial<VersionFacts> = {}): VersionFacts {
  return {
    version,
    method: "upload",
    subject: "CN=api.example.test",
    issuer: "CN=Example CA",
    sans: ["api.example.test", "www.example.test"],
    notBefore: "2026-11-01T00:00:00.000Z",
    notAfter: "2027-06-01T00:00:00.000Z",
    keyAlgorithm: "ECDSA P-256",
    fingerprintSha256: `FP${version}`,
    publicKeySha256: `key${version}`,
    ...overrides,
  };
}

function api(overrides: Partial<CertificateView> = {}): CertificateView {
  return { name: "api", lastVersion: 1, versions: [facts(1)], deployments: { staging: 1, production: 1 }, pendingSwaps: [], pendingUndeploys: [], ...overrides };
}

/** A new version of api (facts as check adds them to its inputs) that `environments` are swapped to. */
function newVersion(inputs: Record<string, unknown>, environments: Record<string, Record<string, unknown>> = { production: {} }) {
  return [
    step("create", "CertificateVersion", "api/v2", { certificate: "api", method: "upload", upload: "[secret]", ...inputs }),
    ...Object.entries(environments).map(([environment, extra]) =>
      step("update", "EnvironmentDeployment", `api/${environment}`, { certificate: "api", environment, version: UNKNOWN, ...extra }, { old: { outputs: { deployedVersion: 1 } }, dependencies: { version: [urnOf("CertificateVersion", "api/v2")] } }),
    ),
  ];
}

/** An update of api's staging deployment that keeps version 1, with `inputs` (state, mode…). */
function deployment(inputs: Record<string, unknown>) {
  return step("update", "EnvironmentDeployment", "api/staging", { certificate: "api", environment: "staging", version: 1, ...inputs }, { old: { outputs: { deployedVersion: 1 } } });
}

const V2 = { sans: ["api.example.test", "www.example.test"], subject: "CN=api.example.test", issuer: "CN=Example CA", notAfter: "2027-09-01T00:00:00.000Z", keyAlgorithm: "ECDSA P-256", publicKeySha256: "key2" };

function risks(steps: Record<string, unknown>[], view: CertificateView = api(), extra: Record<string, unknown> = {}, within = 30) {
  const plan = planFromPreview(parsePreviewJson(previewDocument(steps, extra)), { store: "file store", certificates: [view] });
  return risksOf(plan, NOW, { expiringWithinDays: within }).map((risk) => `${risk.kind}: ${risk.text}`);
}

describe("risk lines", () => {
  const cases: Array<[string, () => string[], string[]]> = [
    ["a change with nothing risky has no line", () => risks(newVersion(V2)), []],
    [
      "an environment the change leaves alone that serves a certificate inside the window",
      () => risks(newVersion(V2), api({ versions: [facts(1, { notAfter: "2026-12-20T00:00:00.000Z" })] })),
      ["expiring: staging keeps serving api v1, which expires in 18 days (2026-12-20; warning below 30 days)"],
    ],
    [
      "a swap to a version that itself expires inside the window, with the window as given",
      () => risks(newVersion({ ...V2, notAfter: "2027-01-15T00:00:00.000Z" }), api(), {}, 60),
      ["expiring: production would serve api v2, which expires in 44 days (2027-01-15; warning below 60 days)"],
    ],
    ["an expired certificate served", () => risks([], api({ versions: [facts(1, { notAfter: "2026-11-28T00:00:00.000Z" })], deployments: { production: 1 } })), []],
    [
      "names a swap drops",
      () => risks(newVersion({ ...V2, sans: ["api.example.test", "new.example.test"] })),
      ["names-dropped: production would stop serving www.example.test for api (v1 → v2 drops it)"],
    ],
    ["the key of an earlier version used again", () => risks(newVersion({ ...V2, publicKeySha256: "key1" })), ["key-reused: api v2 reuses the key of v1"]],
    [
      "a signed version on its CSR's key says it is by design",
      () => risks(newVersion({ ...V2, method: "signed", publicKeySha256: "key1" })),
      ["key-reused: api v2 reuses the key of v1 (a signed version reuses its CSR's key by design)"],
    ],
    [
      "a standby swap holds the environment on what it serves",
      () => risks(newVersion(V2, { production: { mode: "standby", notBefore: "2026-12-05T02:00:00Z" } })),
      ["swap-held: production keeps v1 of api after up: the swap to v2 is a standby task, not before 2026-12-05T02:00:00Z"],
    ],
    [
      "a promotion rule the change does not satisfy",
      () => risks(newVersion(V2), api(), { config: { "certstage:environments": JSON.stringify([{ name: "staging" }, { name: "production", promotion: { requires: "staging" } }]) } }),
      ["swap-held: production takes only versions promoted from staging, which does not serve api v2: up refuses this swap"],
    ],
    [
      "a standby task already queued is replaced",
      () => risks(newVersion(V2), api({ pendingSwaps: [{ environment: "production", version: 1, notBefore: "2026-12-02T00:00:00Z" }] })),
      ["swap-held: production already has a standby swap of api to v1 queued for 2026-12-02T00:00:00Z; this change replaces it"],
    ],
    [
      "an environment undeployed",
      () => risks([step("delete", "EnvironmentDeployment", "api/staging", undefined, { old: { inputs: { certificate: "api", environment: "staging", version: 1 } } })]),
      ["undeploy: staging would stop serving api (v1 is undeployed)"],
    ],
    [
      "a standby undeploy already queued, in an environment the change leaves alone",
      () => risks(newVersion(V2), api({ pendingUndeploys: [{ environment: "staging", task: "20261130T100000Z-staging-api-undeploy-0a1b2c", notBefore: "2026-12-24T02:00:00.000Z" }] })),
      ["undeploy-queued: staging stops serving api (v1) when a standby undeploy already queued runs, not before 2026-12-24T02:00:00.000Z (task 20261130T100000Z-staging-api-undeploy-0a1b2c); this change leaves it queued"],
    ],
    [
      "a standby undeploy already queued with no notBefore, its deployment deleted by the change (and the change's own undeploy said too)",
      () =>
        risks([step("delete", "EnvironmentDeployment", "api/staging", undefined, { old: { inputs: { certificate: "api", environment: "staging", version: 1 } } })], api({ pendingUndeploys: [{ environment: "staging", task: "t-1" }] })),
      [
        "undeploy: staging would stop serving api (v1 is undeployed)",
        "undeploy-queued: staging stops serving api (v1) when a standby undeploy already queued runs, at the next `certstage tasks run` (task t-1); this change undeploys at once instead and cancels the task",
      ],
    ],
    [
      "a standby undeploy already queued, its deployment set deployed again by the change",
      () => risks(newVersion(V2, { staging: {} }), api({ pendingUndeploys: [{ environment: "staging", task: "t-2" }] })),
      ["undeploy-queued: staging stops serving api (v1) when a standby undeploy already queued runs, at the next `certstage tasks run` (task t-2); this change sets it deployed again, which cancels the task"],
    ],
    [
      "state: undeployed, now: up undeploys (a planned undeploy, as a delete is)",
      () => risks([deployment({ state: "undeployed" })]),
      ["undeploy: staging would stop serving api (v1 is undeployed)"],
    ],
    [
      "state: undeployed in standby: up queues the undeploy and keeps serving until it runs",
      () => risks([deployment({ state: "undeployed", mode: "standby", notBefore: "2026-12-24T02:00:00Z" })]),
      ["undeploy: staging keeps serving api v1 after up, then stops: the undeploy is a standby task, not before 2026-12-24T02:00:00Z"],
    ],
    [
      "state: undeployed in standby with the queued task's notBefore: up keeps that task, said once",
      () => risks([deployment({ state: "undeployed", mode: "standby", notBefore: "2026-12-24T02:00:00Z", verify: { endpoints: ["127.0.0.1:443"] } })], api({ pendingUndeploys: [{ environment: "staging", task: "t-3", notBefore: "2026-12-24T02:00:00.000Z" }] })),
      ["undeploy-queued: staging stops serving api (v1) when a standby undeploy already queued runs, not before 2026-12-24T02:00:00.000Z (task t-3); this change keeps it queued"],
    ],
    [
      "state: undeployed in standby with another notBefore: up queues it again",
      () => risks([deployment({ state: "undeployed", mode: "standby", notBefore: "2026-12-31T02:00:00Z" })], api({ pendingUndeploys: [{ environment: "staging", task: "t-4", notBefore: "2026-12-24T02:00:00.000Z" }] })),
      [
        "undeploy: staging keeps serving api v1 after up, then stops: the undeploy is a standby task, not before 2026-12-31T02:00:00Z",
        "undeploy-queued: staging stops serving api (v1) when a standby undeploy already queued runs, not before 2026-12-24T02:00:00.000Z (task t-4); this change queues it again, not before 2026-12-31T02:00:00Z",
      ],
    ],
    [
      "an undeployed deployment up leaves alone is no swap and no undeploy",
      () => risks([step("same", "EnvironmentDeployment", "api/staging", { certificate: "api", environment: "staging", version: 1, state: "undeployed" }, { old: { outputs: { deployedVersion: 0 } } })], api({ deployments: { production: 1 } })),
      [],
    ],
    [
      "an ACME renewal due",
      () => risks([step("replace", "AcmeRenewal", "api", { certificate: "api", domains: ["api.example.test"], renewal: "renewal due: the CA's renewal window (ARI) opened at 2026-11-30T00:00:00Z" })]),
      ["renewal-due: api: renewal due: the CA's renewal window (ARI) opened at 2026-11-30T00:00:00Z; up issues v2 from the CA"],
    ],
    [
      "a preview that failed comes first",
      () => risks([], api(), { diagnostics: [{ severity: "error", message: "boom" }, { severity: "warning", message: "hm" }] }),
      ["preview-failed: the preview failed with 1 error (below): up would change nothing until it is fixed"],
    ],
  ];
  for (const [name, run, expected] of cases) it(name, () => expect(run()).toEqual(expected));

  it("an expired certificate served reads as expired", () => {
    const view = api({ versions: [facts(1, { notAfter: "2026-11-28T00:00:00.000Z" })], deployments: { production: 1 } });
    expect(risks([step("same", "Certificate", "api", { name: "api" })], view)).toEqual(["expiring: production keeps serving api v1, which expired 4 days ago (2026-11-28; warning below 30 days)"]);
  });
});
