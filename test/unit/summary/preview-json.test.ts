/**
 * The parser reads what the CLI prints as it prints it: text before the JSON object, step kinds
 * it does not know, fields missing; and refuses, with PREVIEW_JSON_INVALID, a preview cut short.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { isCertstageError } from "../../../provider/errors";
import { parsePreviewJson } from "../../../provider/summary/preview-json";
import { REPO_ROOT } from "../../support/certificates";
import { previewDocument, step } from "./steps";

const RECORDED = readFileSync(path.join(REPO_ROOT, "test", "fixtures", "preview-json", "several-changes.preview.json"), "utf8");

function refusal(text: string): { code: string; message: string } {
  try {
    parsePreviewJson(text, "preview.json");
  } catch (error) {
    if (isCertstageError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("parsed");
}

describe("parsePreviewJson", () => {
  it("reads a recorded preview: every step, its kind and name, the change counts", () => {
    const preview = parsePreviewJson(RECORDED);
    expect(preview.steps.filter((candidate) => candidate.kind === "CertificateVersion").map((candidate) => `${candidate.op} ${candidate.name}`)).toEqual(["create api/v2", "create grafana/v2", "create shop/v1"].sort((a, b) => RECORDED.indexOf(a.split(" ")[1]) - RECORDED.indexOf(b.split(" ")[1])));
    expect(preview.changeSummary).toEqual({ create: 5, same: 6, update: 3 });
    expect(preview.prefix).toBe("");
  });

  it("skips text printed before the JSON object and keeps it for the reviewer", () => {
    const preview = parsePreviewJson(`warning: A new version of Pulumi is available.\nnpm WARN something {odd}\n${RECORDED}`);
    expect(preview.steps.length).toBe(parsePreviewJson(RECORDED).steps.length);
    expect(preview.prefix).toBe("warning: A new version of Pulumi is available.\nnpm WARN something {odd}");
  });

  it("keeps steps of ops it does not know, and of resources that are not certstage's, without a kind", () => {
    const preview = parsePreviewJson(
      previewDocument([
        step("import-replacement", "CertificateVersion", "api/v3", { certificate: "api" }),
        { op: "refresh-v2", urn: "urn:pulumi:edge::infra::aws:s3/bucket:Bucket::logs", newState: { type: "aws:s3/bucket:Bucket", inputs: {} } },
        { op: 7, urn: 12 },
        "not a step",
      ]),
    );
    expect(preview.steps.map((candidate) => [candidate.op, candidate.kind, candidate.name])).toEqual([
      ["import-replacement", "CertificateVersion", "api/v3"],
      ["refresh-v2", undefined, "logs"],
      ["unknown", undefined, ""],
    ]);
  });

  it("reads a preview with fields missing (no steps, no diagnostics, no newState) as empty, not as an error", () => {
    expect(parsePreviewJson("{}").steps).toEqual([]);
    const preview = parsePreviewJson(JSON.stringify({ steps: [{ op: "delete", urn: "urn:pulumi:edge::infra::pulumi-nodejs:dynamic/certstage:Certificate::old" }], diagnostics: [{ severity: "error" }, null] }));
    expect(preview.steps[0]).toMatchObject({ op: "delete", kind: "Certificate", name: "old", old: undefined, new: undefined });
    expect(preview.diagnostics).toEqual([{ severity: "error", message: "", urn: undefined }]);
  });

  it("refuses a preview cut short with PREVIEW_JSON_INVALID, naming the file and how to fix it", () => {
    const body = RECORDED.trimEnd();
    for (const cut of [body.length - 1, Math.floor(body.length / 2), 1]) {
      const { code, message } = refusal(body.slice(0, cut));
      expect(code).toBe("PREVIEW_JSON_INVALID");
      expect(message).toContain("preview.json");
      expect(message).toContain("pulumi preview --json");
    }
  });

  it("refuses text with no JSON object at all, and JSON that is not an object", () => {
    expect(refusal("error: no stack named 'edge' found\n")).toMatchObject({ code: "PREVIEW_JSON_INVALID" });
    expect(refusal("error: no stack named 'edge' found\n").message).toContain("error: no stack named");
    expect(refusal("")).toMatchObject({ code: "PREVIEW_JSON_INVALID" });
    expect(refusal("{\n}\n{").code).toBe("PREVIEW_JSON_INVALID");
  });
});
