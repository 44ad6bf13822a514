import { beforeAll, describe, expect, it } from "vitest";
import { inspectUpload } from "../../../provider/pki/version-material";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../../support/certificates";

let leaf: TestCertificate;
let other: TestCertificate;
beforeAll(() => {
  const pki = temporaryDirectory("unit-material");
  leaf = makeTestCertificate(pki, "api.example.test");
  other = makeTestCertificate(pki, "other.example.test");
});

describe("inspectUpload", () => {
  it("assembles canonical files: fullchain is the leaf followed by the chain", () => {
    const inspection = inspectUpload({ certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem });
    if (!inspection.ok) throw new Error(inspection.problems.map((problem) => problem.message).join("\n"));
    expect(inspection.value.fullchainPem).toBe(inspection.value.certificatePem + inspection.value.chainPem);
    expect(inspection.value.chainFingerprints).toHaveLength(1);
    expect(inspection.value.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it("reports every problem at once, each naming its field", () => {
    const inspection = inspectUpload({ certificatePem: "garbage", privateKeyPem: "also garbage", chainPem: "-----BEGIN CERTIFICATE-----\nAAAA\n" });
    expect(inspection.ok).toBe(false);
    if (inspection.ok) return;
    expect(inspection.problems.map((problem) => [problem.code, problem.field])).toEqual([
      ["PEM_MALFORMED", "upload.certificatePem"],
      ["PEM_MALFORMED", "upload.privateKeyPem"],
      ["PEM_MALFORMED", "upload.chainPem"],
    ]);
  });

  it("refuses a key of another certificate with KEY_MISMATCH and never prints the key", () => {
    const inspection = inspectUpload({ certificatePem: leaf.certificatePem, privateKeyPem: other.privateKeyPem });
    expect(inspection.ok).toBe(false);
    if (inspection.ok) return;
    expect(inspection.problems).toHaveLength(1);
    expect(inspection.problems[0].code).toBe("KEY_MISMATCH");
    expect(inspection.problems[0].field).toBe("upload.privateKeyPem");
    expect(inspection.problems[0].message).not.toMatch(/PRIVATE KEY/);
  });
});
