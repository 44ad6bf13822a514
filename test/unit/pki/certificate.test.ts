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

  it("refuses a certificate whose subjectAltName neither Node nor @peculiar/x509 can read with CERTIFICATE_UNPARSEABLE", () => {
    // An Ed25519 certificate (found by certificate-properties.test.ts) with one byte inside its
    // subjectAltName's DER set to 0x30: Node refuses the extension, and @peculiar/x509 throws a
    // decoding error of its own, which reached the user as is.
    const der = Buffer.from(DAMAGEABLE_ED25519.replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[279] = 0x30;
    const damaged = `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`;
    let error: CertstageError | undefined;
    try {
      parseCertificatePem(damaged, "upload.certificatePem");
    } catch (caught) {
      error = caught as CertstageError;
    }
    expect(error?.code).toBe("CERTIFICATE_UNPARSEABLE");
    expect(error?.message).toContain("subjectAltName");
    expect(error?.field).toBe("upload.certificatePem");
    // Undamaged, the same certificate parses, names included.
    expect(parseCertificatePem(DAMAGEABLE_ED25519, "upload.certificatePem").facts.sans).toEqual(["ed25519.example.test"]);
  });
});

/** A self-signed Ed25519 certificate for ed25519.example.test (public material only). */
const DAMAGEABLE_ED25519 = [
  "-----BEGIN CERTIFICATE-----",
  "MIIBdDCCASagAwIBAgIUDhWPE/Iz9qcqpq4nMtqdMytsN0UwBQYDK2VwMB8xHTAb",
  "BgNVBAMMFGVkMjU1MTkuZXhhbXBsZS50ZXN0MB4XDTI2MTIwNTA3MTYzMVoXDTI3",
  "MDEwNDA3MTYzMVowHzEdMBsGA1UEAwwUZWQyNTUxOS5leGFtcGxlLnRlc3QwKjAF",
  "BgMrZXADIQCpcAD63wvneZzs9HQpC8o2a4CiT6m5dObZxqGZLgStcaN0MHIwHQYD",
  "VR0OBBYEFE7B2IQdjl/oWO/dNPzPULZ/DlA8MB8GA1UdIwQYMBaAFE7B2IQdjl/o",
  "WO/dNPzPULZ/DlA8MA8GA1UdEwEB/wQFMAMBAf8wHwYDVR0RBBgwFoIUZWQyNTUx",
  "OS5leGFtcGxlLnRlc3QwBQYDK2VwA0EAQcldWuTj3aNyGGvRMaWLQAWfy56Ap6nf",
  "sVLOR5d+XEvzHN4j94mM7LfqSGq1m+FX/NjqFm2CCTcf5+57ZxQjDA==",
  "-----END CERTIFICATE-----",
  "",
].join("\n");

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
