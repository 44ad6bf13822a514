import { beforeAll, describe, expect, it } from "vitest";
import { CertstageError } from "../../../provider/errors";
import { parseCertificateChainPem, parseCertificatePem, parseSubjectAltName, validityTime } from "../../../provider/pki/certificate";
import { makeTestCertificate, openssl, temporaryDirectory, TestCertificate } from "../../support/certificates";

let leaf: TestCertificate;
beforeAll(() => {
  leaf = makeTestCertificate(temporaryDirectory("unit-certificate"), "api.example.test", 30);
});

describe("parseCertificatePem", () => {
  it("reports the same facts as OpenSSL", () => {
    const { facts } = parseCertificatePem(leaf.certificatePem, "upload.certificatePem");
    const fingerprint = openssl(["x509", "-noout", "-fingerprint", "-sha256"], leaf.certificatePem).trim().split("=")[1];
    const serial = openssl(["x509", "-noout", "-serial"], leaf.certificatePem).trim().split("=")[1].toLowerCase();
    const endDate = openssl(["x509", "-noout", "-enddate"], leaf.certificatePem).trim().split("=")[1];
    expect(facts.fingerprintSha256).toBe(fingerprint);
    expect(facts.serial).toBe(serial);
    expect(facts.notAfter).toBe(new Date(endDate).toISOString());
    expect(facts.subject).toBe("CN=api.example.test");
    expect(facts.issuer).toBe("O=certstage test, CN=certstage test intermediate CA");
    expect(facts.sans).toEqual(["api.example.test"]);
    expect(facts.keyAlgorithm).toBe("ECDSA P-256");
    expect(facts.isCa).toBe(false);
  });

  it("refuses a bundle where one certificate is expected", () => {
    const error = (() => {
      try {
        parseCertificatePem(leaf.certificatePem + leaf.chainPem, "upload.certificatePem");
      } catch (caught) {
        return caught as CertstageError;
      }
    })();
    expect(error?.code).toBe("PEM_MALFORMED");
    expect(error?.message).toContain("expected one certificate, found 2");
  });

  it("refuses base64 that is not a certificate with CERTIFICATE_UNPARSEABLE", () => {
    const notDer = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END CERTIFICATE-----\n";
    expect(() => parseCertificatePem(notDer, "upload.certificatePem")).toThrow(/CERTIFICATE_UNPARSEABLE/);
  });
});

describe("parseCertificateChainPem", () => {
  it("treats an absent or blank chain as empty", () => {
    expect(parseCertificateChainPem(undefined, "upload.chainPem")).toEqual([]);
    expect(parseCertificateChainPem(" \n", "upload.chainPem")).toEqual([]);
  });

  it("parses each certificate of a chain in order", () => {
    const chain = parseCertificateChainPem(leaf.chainPem + leaf.rootPem, "upload.chainPem");
    expect(chain.map((certificate) => certificate.facts.subject)).toEqual([
      "O=certstage test, CN=certstage test intermediate CA",
      "O=certstage test, CN=certstage test root CA",
    ]);
    expect(chain.every((certificate) => certificate.facts.isCa)).toBe(true);
  });
});

describe("parseSubjectAltName", () => {
  it.each([
    [undefined, []],
    ["DNS:a.test", ["a.test"]],
    ["DNS:a.test, DNS:b.test, IP Address:127.0.0.1", ["a.test", "b.test", "127.0.0.1"]],
    ['DNS:"we, ird.test", DNS:c.test', ["we, ird.test", "c.test"]],
    ["email:a@b.test, DNS:d.test, URI:https://x.test", ["d.test"]],
  ])("%s -> %j", (rendered, names) => {
    expect(parseSubjectAltName(rendered)).toEqual(names);
  });
});

describe("validityTime", () => {
  it.each([
    ["Jan  2 03:04:05 2026 GMT", "2026-01-02T03:04:05.000Z"],
    ["Dec 31 23:59:59 9999 GMT", "9999-12-31T23:59:59.000Z"],
    // Date would read these years as 2000 and 2001.
    ["Jan  1 00:00:00 0 GMT", "0000-01-01T00:00:00.000Z"],
    ["Jan  1 00:00:00 1 GMT", "0001-01-01T00:00:00.000Z"],
    ["Mar  4 05:06:07.5 2026 GMT", "2026-03-04T05:06:07.000Z"],
    ["Bad time value", undefined],
    ["Feb 30 00:00:00 2026 GMT", undefined],
    ["Jan  1 24:00:00 2026 GMT", undefined],
    ["Foo  1 00:00:00 2026 GMT", undefined],
  ])("%s -> %s", (printed, expected) => {
    expect(validityTime(printed)).toBe(expected);
  });
});

describe("a subjectAltName Node will not render", () => {
  it("an empty one (no names at all) is described as no names, not a crash", async () => {
    const { craftCertificate } = await import("../../support/crafted-certificates");
    const crafted = await craftCertificate({ sans: [] });
    // What validation then refuses with SAN_MISSING, as for any certificate without a name.
    expect(parseCertificatePem(crafted.pem, "certificatePem").facts.sans).toEqual([]);
  });
});
