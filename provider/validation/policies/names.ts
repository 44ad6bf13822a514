/**
 * Names. Clients match the host they connect to against subjectAltName only (RFC 6125 §6.4.4;
 * the CN is ignored), so a server certificate needs at least one DNS name or IP address there.
 * Each dNSName must be an ASCII (IA5String) name in the preferred syntax, internationalized names
 * as A-labels. Names are compared in A-label form, so `bücher.example` and
 * `xn--bcher-kva.example` are the same name.
 */
import { CertstageError, escaped } from "../../errors";
import { aLabelProblem, comparableName, describeName, isIpAddress, readDnsName } from "../../pki/dns-names";
import { isReservedAddress } from "../../pki/ip-addresses";
import { extensionsOf, Policy } from "./policy";

/** RFC 6125 §6.4.3: a wildcard covers exactly one left-most label. Both names in any form. */
export function nameCovers(san: string, name: string): boolean {
  const pattern = comparableName(san);
  const wanted = comparableName(name);
  if (pattern === wanted) return true;
  if (!pattern.startsWith("*.") || wanted.startsWith("*.")) return false;
  const dot = wanted.indexOf(".");
  return dot > 0 && wanted.slice(dot + 1) === pattern.slice(2);
}

export const hasSubjectAltName: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType !== "server" || leaf.facts.sans.length > 0) return [];
  const { hasSubjectAltName: present } = extensionsOf(leaf);
  return [
    new CertstageError("SAN_MISSING", `the certificate has ${present ? "a subjectAltName without any DNS name or IP address" : "no subjectAltName"}; clients ignore the subject CN (${leaf.facts.subject || "empty"}) and will refuse it`, {
      field: certificateField,
      fix: "ask the CA for a certificate that lists every host name in subjectAltName",
    }),
  ];
};

export const wellFormedNames: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType !== "server") return [];
  const problems: string[] = [];
  for (const name of extensionsOf(leaf).dnsNames) {
    if (/[^\x00-\x7f]/.test(name)) {
      // The bytes were not IA5 (typically UTF-8 written as is): show what the A-label would be.
      const written = Buffer.from(name, "latin1").toString("utf8");
      const reading = readDnsName(written);
      problems.push(`'${escaped(written)}' is not ASCII (a dNSName is an IA5String)${reading.ok ? `; write it as ${reading.aLabel}` : ""}`);
      continue;
    }
    const problem = aLabelProblem(name.toLowerCase());
    if (problem) problems.push(`'${escaped(name)}': ${escaped(problem)}`);
  }
  if (problems.length === 0) return [];
  return [
    new CertstageError("DNS_NAME_INVALID", `the certificate's subjectAltName holds names clients refuse: ${problems.join("; ")}`, {
      field: certificateField,
      fix: "ask the CA for a certificate with well-formed names: letters, digits and inner hyphens, a wildcard only as the whole left-most label, internationalized names as A-labels (xn--…)",
    }),
  ];
};

/** Public profile: an address that is not on the public internet cannot be validated by a public CA. */
export const publicAddresses: Policy = ({ leaf, certificateType, certificateField }) => {
  if (certificateType !== "server") return [];
  const internal = leaf.facts.sans.filter((name) => isIpAddress(name) && isReservedAddress(name)).map(escaped);
  if (internal.length === 0) return [];
  return [
    new CertstageError("IP_ADDRESS_RESERVED", `the certificate names ${internal.join(", ")}, ${internal.length === 1 ? "an address" : "addresses"} reserved or private (IANA special-purpose), which no publicly trusted certificate may name`, {
      field: certificateField,
      fix: "name public addresses only, or use the private profile for a certificate of an internal CA",
    }),
  ];
};

export const coversDomains: Policy = ({ leaf, domains }) => {
  const missing = domains.filter((domain) => !leaf.facts.sans.some((san) => nameCovers(san, domain)));
  if (missing.length === 0) return [];
  return [
    new CertstageError("DOMAIN_NOT_COVERED", `${missing.map((name) => describeName(comparableName(name))).join(", ")} ${missing.length === 1 ? "is" : "are"} not in the certificate's names (${leaf.facts.sans.map(describeName).join(", ") || "none"})`, {
      field: "domains",
      fix: "request a certificate whose subjectAltName includes every declared domain, or remove the domain from `domains`",
    }),
  ];
};

export const keepsProductionNames: Policy = ({ leaf, productionSans, certificateType, certificateField }) => {
  if (certificateType === "ca" || !productionSans) return [];
  const dropped = productionSans.filter((name) => !leaf.facts.sans.some((san) => nameCovers(san, name)));
  if (dropped.length === 0) return [];
  return [
    new CertstageError("SANS_REMOVED", `production serves ${dropped.map(describeName).join(", ")}, which this version does not cover`, {
      field: certificateField,
      fix: "include the names in the new certificate, or acknowledge SANS_REMOVED if they are retired on purpose",
    }),
  ];
};
