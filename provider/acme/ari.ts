/**
 * ACME Renewal Information (RFC 9773), which acme-client does not implement: the certificate's
 * ARI identifier, and the CA's suggested renewal window for it.
 */
import { X509Certificate } from "node:crypto";
import type { SuggestedWindow } from "../lifecycle/renewal";

/**
 * RFC 9773 §4.1: base64url(authorityKeyIdentifier keyIdentifier) "." base64url(serial DER
 * content octets). Undefined when the certificate has no AKI (the CA cannot offer ARI for it).
 */
export function ariCertificateId(certificatePem: string): string | undefined {
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  const certificate = new x509.X509Certificate(certificatePem);
  const authority = certificate.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!authority?.keyId) return undefined;
  let serial = Buffer.from(new X509Certificate(certificatePem).serialNumber.padStart(2, "0").replace(/^(.(..)*)$/, "0$1"), "hex");
  // DER INTEGER content: minimal, with a 0x00 prefix when the high bit would make it negative.
  while (serial.length > 1 && serial[0] === 0 && serial[1] < 0x80) serial = serial.subarray(1);
  if (serial[0] >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${Buffer.from(authority.keyId, "hex").toString("base64url")}.${serial.toString("base64url")}`;
}

export interface RenewalInfo {
  readonly suggestedWindow: SuggestedWindow;
  readonly explanationURL?: string;
}

/** GET <renewalInfo>/<certificate id>; undefined when the CA has no ARI. */
export async function fetchRenewalInfo(renewalInfoUrl: string | undefined, certificateId: string | undefined): Promise<RenewalInfo | undefined> {
  if (!renewalInfoUrl || !certificateId) return undefined;
  const acme = require("acme-client") as typeof import("acme-client");
  const response = await acme.axios.get(`${renewalInfoUrl.replace(/\/$/, "")}/${certificateId}`, { validateStatus: (status: number) => status === 200 || status === 404 });
  if (response.status === 404) return undefined;
  const window = response.data?.suggestedWindow;
  if (!window?.start || !window?.end) return undefined;
  return { suggestedWindow: { start: window.start, end: window.end }, explanationURL: response.data.explanationURL };
}
