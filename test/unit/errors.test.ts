import { describe, expect, it } from "vitest";
import { CertstageError, ERROR_CODES, isCertstageError } from "../../provider/errors";

describe("CertstageError", () => {
  it("says code, resource, field, problem and fix in one line", () => {
    const error = new CertstageError("KEY_MISMATCH", "the private key does not belong to the certificate", {
      resource: "api",
      field: "upload.privateKeyPem",
      fix: "pass the certificate's own key",
    });
    expect(error.message).toBe(
      "[KEY_MISMATCH] resource 'api', field 'upload.privateKeyPem': the private key does not belong to the certificate. Fix: pass the certificate's own key",
    );
    expect(isCertstageError(error, "KEY_MISMATCH")).toBe(true);
    expect(isCertstageError(error, "PEM_MALFORMED")).toBe(false);
  });

  it("documents every code", () => {
    for (const [code, description] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z_]+$/);
      expect(description.length).toBeGreaterThan(10);
    }
  });
});
