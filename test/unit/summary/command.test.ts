/**
 * `certstage preview-summary` at its edge: options, standard input, the store read (a real file
 * store, left byte for byte as it was), the summary written whole or not at all, exit codes.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { previewSummaryCommand } from "../../../provider/cli/preview-summary";
import { createFileStore } from "../../../provider/store/drivers/file";
import { makeTestMaterials, temporaryDirectory } from "../../support/certificates";
import { previewDocument, step, UNKNOWN, urnOf } from "./steps";

const actor = { principal: "tester" };
let storeRoot: string;
let work: string;

/** Every path under `root` with its content (or link target) and modification time. */
function tree(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (current: string) => {
    const stats = lstatSync(current);
    const key = path.relative(root, current) || ".";
    if (stats.isSymbolicLink()) entries[key] = `${stats.mtimeMs} -> ${readlinkSync(current)}`;
    else if (stats.isDirectory()) {
      entries[key] = `${stats.mtimeMs} ${readdirSync(current).sort().join(",")}`;
      for (const name of readdirSync(current)) walk(path.join(current, name));
    } else entries[key] = `${stats.mtimeMs} ${createHash("sha256").update(readFileSync(current)).digest("hex")}`;
  };
  walk(root);
  return entries;
}

const PREVIEW = previewDocument([
  step("create", "CertificateVersion", "api/v2", { certificate: "api", method: "generate", generate: { keyAlgorithm: "ECDSA-P256", sans: ["api.example.test"] }, sans: ["api.example.test"], keyAlgorithm: "ECDSA P-256" }),
  step("update", "EnvironmentDeployment", "api/production", { certificate: "api", environment: "production", version: UNKNOWN }, { old: { outputs: { deployedVersion: 1 } }, dependencies: { version: [urnOf("CertificateVersion", "api/v2")] } }),
]);

async function run(options: Record<string, string>, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = new PassThrough();
  let stdout = "";
  output.on("data", (chunk) => (stdout += chunk));
  let stderr = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await previewSummaryCommand(options, output, { CERTSTAGE_NOW: "2026-12-01T12:00:00Z" }, async () => stdin ?? "");
    return { code, stdout, stderr };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  storeRoot = path.join(temporaryDirectory("summary-store"), "store");
  work = temporaryDirectory("summary-work");
  const store = createFileStore({ root: storeRoot });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "tester", shareWith: [], description: "" }, actor);
  const [material] = makeTestMaterials(temporaryDirectory("summary-pki"), ["api.example.test"]);
  await store.createVersion("api", "upload", material, actor);
  await store.deploy("api", "production", 1, actor);
  await store.close();
});

afterEach(() => vi.restoreAllMocks());

describe("certstage preview-summary", () => {
  it("reads the preview from standard input and the store read-only, leaving the store as it was", async () => {
    const before = tree(storeRoot);
    const result = await run({ project: "infra", stack: "edge", store: storeRoot }, PREVIEW);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe("<!-- certstage:preview-summary project=infra stack=edge -->");
    expect(result.stdout).toContain("New version **v2** (generate)");
    expect(result.stdout).toContain("| `production` | v1 → **v2** |");
    expect(result.stdout).toMatch(/against v1 \(production\)/);
    expect(tree(storeRoot)).toEqual(before);
  });

  it("warns of a standby undeploy already queued in the store, read-only, beside the change's own rows", async () => {
    const root = path.join(temporaryDirectory("summary-undeploy-store"), "store");
    const store = createFileStore({ root });
    await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "tester", shareWith: [], description: "" }, actor);
    const [material] = makeTestMaterials(temporaryDirectory("summary-undeploy-pki"), ["api.example.test"]);
    await store.createVersion("api", "upload", material, actor);
    await store.deploy("api", "production", 1, actor);
    await store.deploy("api", "staging", 1, actor);
    const task = await store.queueTask({ certificate: "api", environment: "staging", action: "undeploy", notBefore: "2026-12-24T02:00:00.000Z", environments: [{ name: "staging" }] }, actor);
    await store.close();
    const before = tree(root);
    const result = await run({ project: "infra", stack: "edge", store: root }, PREVIEW);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`- :warning: staging stops serving api (v1) when a standby undeploy already queued runs, not before 2026-12-24T02:00:00.000Z (task ${task.id}); this change leaves it queued\n`);
    expect(result.stdout).toContain(`| \`staging\` | v1 (unchanged) | a standby undeploy is queued for 2026-12-24T02:00:00.000Z (task \`${task.id}\`) |`);
    // The swap the change plans is not mistaken for the undeploy, nor the other way round.
    expect(result.stdout).toContain("| `production` | v1 → **v2** |");
    expect(result.stdout).not.toContain("would stop serving");
    expect(tree(root)).toEqual(before);
  });

  it("writes --output whole, and nothing on stdout", async () => {
    writeFileSync(path.join(work, "preview.json"), `Some warning a plugin printed\n${PREVIEW}`);
    const output = path.join(work, "summary.md");
    const result = await run({ preview: path.join(work, "preview.json"), project: "infra", stack: "edge", store: storeRoot, output });
    expect(result).toMatchObject({ code: 0, stdout: "" });
    expect(readFileSync(output, "utf8")).toContain("printed before the preview:** Some warning a plugin printed");
    expect(readdirSync(work).sort()).toEqual(["preview.json", "summary.md"]);
  });

  it("exits 2 with a stable code, naming the option and the fix, and writes nothing", async () => {
    const output = path.join(work, "never.md");
    const cases: Array<[Record<string, string>, string | undefined, RegExp]> = [
      [{ stack: "edge", output }, PREVIEW, /\[SUMMARY_ARGUMENT_INVALID\] field '--project': preview-summary needs --project <name>\. Fix: pass the `name:` of Pulumi\.yaml/],
      [{ project: "infra", output }, PREVIEW, /\[SUMMARY_ARGUMENT_INVALID\] field '--stack'/],
      [{ project: "infra", stack: "edge", "expiring-within": "soon", output }, PREVIEW, /\[SUMMARY_ARGUMENT_INVALID\] field '--expiring-within': 'soon' is not a number of days/],
      [{ project: "infra", stack: "edge", preview: path.join(work, "missing.json"), output }, undefined, /\[PREVIEW_UNREADABLE\] field '--preview': cannot read --preview .*missing\.json: ENOENT/],
      [{ project: "infra", stack: "edge", output }, "   \n", /\[PREVIEW_UNREADABLE\] field '--preview': standard input is empty/],
      [{ project: "infra", stack: "edge", output }, PREVIEW.slice(0, 200), /\[PREVIEW_JSON_INVALID\] field '-': the preview read from standard input is not complete JSON/],
      [{ project: "infra", stack: "edge", output, store: storeRoot }, previewDocument([], { diagnostics: [{ severity: "error", message: "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG" }] }), /\[SUMMARY_KEY_MATERIAL\]/],
    ];
    for (const [options, stdin, message] of cases) {
      const result = await run(options, stdin);
      expect(result.code, JSON.stringify(options)).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain("MIGHAgEAMBMG");
      expect(existsSync(output)).toBe(false);
    }
  });
});
