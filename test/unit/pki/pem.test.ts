import { describe, expect, it } from "vitest";
import { CertstageError } from "../../../provider/errors";
import { encodePem, expectLabels, MAX_PEM_INPUT_BYTES, splitPem } from "../../../provider/pki/pem";

const field = { field: "upload.certificatePem" };
const der = Buffer.from(Array.from({ length: 200 }, (_, index) => index % 256));

function failure(action: () => unknown): CertstageError {
  try {
    action();
  } catch (error) {
    if (error instanceof CertstageError) return error;
    throw error;
  }
  throw new Error("expected a CertstageError");
}

describe("splitPem", () => {
  it("finds every block and ignores the text OpenSSL writes between them", () => {
    const bundle = `subject=CN = leaf\n${encodePem("CERTIFICATE", der)}Bag Attributes\n  friendlyName: x\n${encodePem("CERTIFICATE", der.subarray(1))}`;
    const blocks = splitPem(bundle, field);
    expect(blocks.map((block) => block.label)).toEqual(["CERTIFICATE", "CERTIFICATE"]);
    expect(blocks[0].der.equals(der)).toBe(true);
    expect(blocks[1].der.equals(der.subarray(1))).toBe(true);
  });

  it("reads CRLF line endings and re-encodes to the same canonical PEM", () => {
    const canonical = encodePem("CERTIFICATE", der);
    const [block] = splitPem(canonical.replace(/\n/g, "\r\n"), field);
    expect(encodePem(block.label, block.der)).toBe(canonical);
  });

  it("keeps RFC 1421 headers of legacy encrypted keys", () => {
    const text = encodePem("RSA PRIVATE KEY", der, [
      ["Proc-Type", "4,ENCRYPTED"],
      ["DEK-Info", "AES-128-CBC,0011"],
    ]);
    expect(splitPem(text, field)[0].headers).toEqual([
      ["Proc-Type", "4,ENCRYPTED"],
      ["DEK-Info", "AES-128-CBC,0011"],
    ]);
  });

  it.each([
    ["plain garbage", "this is not a certificate", /no PEM block found/],
    ["a truncated block", encodePem("CERTIFICATE", der).split("\n").slice(0, 3).join("\n"), /truncated/],
    ["a mismatched END label", encodePem("CERTIFICATE", der).replace("END CERTIFICATE", "END PRIVATE KEY"), /ends with END "PRIVATE KEY"/],
    ["a BEGIN inside a block", encodePem("CERTIFICATE", der).replace("-----END CERTIFICATE-----\n", "") + encodePem("CERTIFICATE", der), /no END line before the next BEGIN/],
    ["non-base64 characters", encodePem("CERTIFICATE", der).replace(/\n[A-Za-z0-9+/]{10}/, "\n!!!!!!!!!!"), /not base64/],
    ["a body cut mid-quantum", encodePem("CERTIFICATE", der).replace(/\n([A-Za-z0-9+/=]+)\n-----END/, (_m, last: string) => `\n${last.slice(0, -1)}\n-----END`), /truncated or padded-wrong/],
  ])("refuses %s with PEM_MALFORMED naming the field", (_name, text, message) => {
    const error = failure(() => splitPem(text, field));
    expect(error.code).toBe("PEM_MALFORMED");
    expect(error.field).toBe("upload.certificatePem");
    expect(error.message).toMatch(message);
    expect(error.message).toContain("Fix:");
  });

  it("refuses oversized input before looking at it", () => {
    const huge = `${"-----BEGIN CERTIFICATE-----\n"}${"A".repeat(MAX_PEM_INPUT_BYTES)}\n-----END CERTIFICATE-----\n`;
    const error = failure(() => splitPem(huge, field));
    expect(error.code).toBe("PEM_TOO_LARGE");
    expect(error.message).toContain(`${MAX_PEM_INPUT_BYTES} bytes`);
  });
});

describe("expectLabels", () => {
  it("names the offending block and the expected label", () => {
    const blocks = splitPem(encodePem("CERTIFICATE", der) + encodePem("PRIVATE KEY", der), field);
    const error = failure(() => expectLabels(blocks, ["CERTIFICATE"], field));
    expect(error.message).toContain('block 2 is "PRIVATE KEY", expected \'CERTIFICATE\'');
  });
});
