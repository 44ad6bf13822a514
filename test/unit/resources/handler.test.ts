import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { CertstageError } from "../../../provider/errors";
import { checkResult, isUnknown, planned, UNKNOWN_INPUT, withoutProvider } from "../../../provider/resources/handler";

describe("provider helpers", () => {
  it("uses the engine's marker for unknown inputs", () => {
    expect(UNKNOWN_INPUT).toBe(unknownValue);
  });

  it("finds unknown values nested anywhere", () => {
    expect(isUnknown({ upload: { certificatePem: UNKNOWN_INPUT } })).toBe(true);
    expect(isUnknown([1, [UNKNOWN_INPUT]])).toBe(true);
    expect(isUnknown({ upload: { certificatePem: "x" } })).toBe(false);
    expect(planned(UNKNOWN_INPUT)).toEqual({ known: false });
    expect(planned(3)).toEqual({ known: true, value: 3 });
    expect(planned(undefined)).toBeUndefined();
  });

  it("reports check failures without a property, so the engine never prints an input's value", () => {
    const result = checkResult({ a: 1 }, [new CertstageError("KEY_MISMATCH", "the key is wrong", { field: "upload.privateKeyPem", fix: "use the right key" })]);
    expect(result.failures).toEqual([{ property: "", reason: "[KEY_MISMATCH] field 'upload.privateKeyPem': the key is wrong. Fix: use the right key" }]);
  });

  it("judges inputs without the serialized provider", () => {
    expect(withoutProvider({ __provider: "code", name: "api" })).toEqual({ name: "api" });
  });
});
