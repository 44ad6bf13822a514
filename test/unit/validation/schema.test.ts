import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { isUnknown, UNKNOWN_INPUT } from "../../../provider/resources/handler";
import { NAME_PATTERN } from "../../../provider/store";
import { REPO_ROOT } from "../../support/certificates";
import { validateAgainstSchema } from "../../../provider/validation/schema";

const codesAndFields = (problems: ReturnType<typeof validateAgainstSchema>) => problems.map((problem) => [problem.code, problem.field]);

describe("input schemas", () => {
  it("accepts valid inputs", () => {
    expect(validateAgainstSchema("certificate", { name: "api", type: "server", shareWith: ["team-b"] }, isUnknown)).toEqual([]);
    expect(validateAgainstSchema("environment-deployment", { certificate: "api", environment: "staging", version: 2 }, isUnknown)).toEqual([]);
    expect(validateAgainstSchema("certificate-version", { certificate: "api", upload: { certificatePem: "x", privateKeyPem: "y" } }, isUnknown)).toEqual([]);
  });

  it("reports every problem at once with the field path", () => {
    const problems = validateAgainstSchema("certificate-version", { certificate: "API!", upload: { keyPem: "y" } }, isUnknown);
    expect(codesAndFields(problems)).toEqual(
      expect.arrayContaining([
        ["NAME_INVALID", "certificate"],
        ["INPUT_SCHEMA", "upload.keyPem"],
        ["INPUT_SCHEMA", "upload.certificatePem"],
      ]),
    );
    expect(problems).toHaveLength(3);
    expect(problems.every((problem) => problem.message.includes("Fix:"))).toBe(true);
  });

  it("names enum choices and integer bounds", () => {
    expect(validateAgainstSchema("certificate", { name: "api", type: "client" }, isUnknown)[0].message).toContain('must be one of "server", "ca"');
    expect(codesAndFields(validateAgainstSchema("environment-deployment", { certificate: "api", environment: "staging", version: 0 }, isUnknown))).toEqual([
      ["INPUT_SCHEMA", "version"],
    ]);
  });

  it("checks a deployment's mode, notBefore and verify", () => {
    const base = { certificate: "api", environment: "staging", version: 2 };
    expect(validateAgainstSchema("environment-deployment", { ...base, mode: "standby", notBefore: "2026-12-01T02:00:00Z", verify: { endpoints: ["127.0.0.1:8443", "[::1]:443"], timeoutMs: 5000 } }, isUnknown)).toEqual([]);
    expect(validateAgainstSchema("environment-deployment", { ...base, mode: "later" }, isUnknown)[0].message).toContain('must be one of "now", "standby"');
    const notATime = validateAgainstSchema("environment-deployment", { ...base, notBefore: "tomorrow" }, isUnknown);
    expect(codesAndFields(notATime)).toEqual([["INPUT_SCHEMA", "notBefore"]]);
    expect(notATime[0].message).toBe("[INPUT_SCHEMA] field 'notBefore': is not in the expected form. Fix: With mode standby, the task does not run before this time: write an RFC 3339 time, e.g. 2026-12-01T02:00:00Z");
    const notAnEndpoint = validateAgainstSchema("environment-deployment", { ...base, verify: { endpoints: ["localhost"] } }, isUnknown);
    expect(codesAndFields(notAnEndpoint)).toEqual([["INPUT_SCHEMA", "verify.endpoints.0"]]);
    expect(notAnEndpoint[0].message).toContain("Fix: write host:port, e.g. 127.0.0.1:8443");
    expect(codesAndFields(validateAgainstSchema("environment-deployment", { ...base, verify: { endpoints: [] } }, isUnknown))).toEqual([["INPUT_SCHEMA", "verify.endpoints"]]);
    expect(codesAndFields(validateAgainstSchema("environment-deployment", { ...base, verify: { endpoints: ["a:1"], timeoutMs: 10 } }, isUnknown))).toEqual([["INPUT_SCHEMA", "verify.timeoutMs"]]);
  });

  it("reports a malformed value that is not a name as INPUT_SCHEMA, with the schema's advice", () => {
    const country = validateAgainstSchema("certificate-version", { certificate: "api", generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: "a", country: "Germany" }, sans: ["a.test"] } }, isUnknown);
    expect(country.map((problem) => problem.message)).toEqual(["[INPUT_SCHEMA] field 'generate.subject.country': is not in the expected form. Fix: write a two-letter ISO 3166 country code in capitals, e.g. DE"]);
  });

  it("gives every name NAME_PATTERN letter for letter, which is how a failure becomes NAME_INVALID", () => {
    const namePatterns: Array<[string, string]> = [];
    for (const file of readdirSync(path.join(REPO_ROOT, "schema"))) {
      const properties = JSON.parse(readFileSync(path.join(REPO_ROOT, "schema", file), "utf8")).properties as Record<string, { pattern?: string }>;
      for (const [name, property] of Object.entries(properties)) {
        if (["name", "certificate", "environment"].includes(name)) namePatterns.push([`${file} ${name}`, property.pattern ?? "(none)"]);
      }
    }
    // The four input schemas' names, and the environment of certstage expiring's and notify's reports.
    expect(namePatterns).toHaveLength(7);
    for (const [where, pattern] of namePatterns) expect([where, pattern]).toEqual([where, NAME_PATTERN.source]);
  });

  it("does not judge values a preview does not know yet", () => {
    expect(validateAgainstSchema("environment-deployment", { certificate: "api", environment: "staging", version: UNKNOWN_INPUT }, isUnknown)).toEqual([]);
  });
});
