import { describe, expect, it } from "vitest";
import { isUnknown, UNKNOWN_INPUT } from "../../../provider/resources/handler";
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

  it("does not judge values a preview does not know yet", () => {
    expect(validateAgainstSchema("environment-deployment", { certificate: "api", environment: "staging", version: UNKNOWN_INPUT }, isUnknown)).toEqual([]);
  });
});
