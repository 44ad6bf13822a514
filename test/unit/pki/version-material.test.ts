import { beforeAll, describe, expect, it } from "vitest";
import { describeSplit, inspectUpload, parseVersionParts, UPLOAD_FIELDS } from "../../../provider/pki/version-material";
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

  it("accepts the leaf followed by its intermediates in the certificate input (certbot's fullchain.pem) and splits them", () => {
    const fullchain = inspectUpload({ certificatePem: leaf.certificatePem + leaf.chainPem, privateKeyPem: leaf.privateKeyPem });
    const apart = inspectUpload({ certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem });
    if (!fullchain.ok || !apart.ok) throw new Error("both forms should be accepted");
    expect(fullchain.value.certificatePem).toBe(apart.value.certificatePem);
    expect(fullchain.value.chainPem).toBe(apart.value.chainPem);
    expect(fullchain.value.chainFingerprints).toEqual(apart.value.chainFingerprints);
  });

  it("drops a copy of a carried intermediate from the chain input, and says what it split", () => {
    const parsed = parseVersionParts({ certificatePem: leaf.certificatePem + leaf.chainPem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem }, UPLOAD_FIELDS);
    if (!parsed.ok) throw new Error(parsed.problems.map((problem) => problem.message).join("\n"));
    expect(parsed.value.chain.ordered).toHaveLength(1);
    expect(parsed.value.chain.problems).toEqual([]);
    expect(describeSplit(parsed.value.split!, UPLOAD_FIELDS)).toBe(
      "upload.certificatePem held the certificate and 1 intermediate (O=certstage test, CN=certstage test intermediate CA), which became the chain; 1 identical certificate in upload.chainPem dropped",
    );
  });

  it("still refuses two leaves in the certificate input, naming both", () => {
    const inspection = inspectUpload({ certificatePem: leaf.certificatePem + other.certificatePem, privateKeyPem: leaf.privateKeyPem });
    expect(inspection.ok).toBe(false);
    if (inspection.ok) return;
    expect(inspection.problems.map((problem) => problem.code)).toEqual(["PEM_MALFORMED"]);
    expect(inspection.problems[0].message).toMatch(/found 2 certificates of which 2 could be the leaf \(CN=api\.example\.test; CN=other\.example\.test\)/);
  });
});
