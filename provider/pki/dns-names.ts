/**
 * DNS names as certificates hold them. A subjectAltName dNSName is an IA5String (RFC 5280
 * §4.2.1.6): ASCII only, so an internationalized name must be written in its A-label form
 * (RFC 5890: `bücher.example` is `xn--bcher-kva.example`). Names enter certstage in either form;
 * they are converted once, with UTS #46 processing as browsers do (Node's `domainToASCII`), then
 * checked against the "preferred name syntax" that clients and CAs enforce, and compared in
 * A-label form. Pure: no I/O.
 */
import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";
import { CertstageError, escaped, quoted } from "../errors";

export interface DnsName {
  /** What goes into a certificate and on the wire: lower case, A-labels. */
  readonly aLabel: string;
  /** The same name for people: U-labels where a label is internationalized. */
  readonly unicode: string;
}

export type DnsNameReading = ({ readonly ok: true } & DnsName) | { readonly ok: false; readonly problem: string };

/** RFC 1035 §2.3.4 / RFC 5890: a label is at most 63 octets, a name at most 253 (without the root dot). */
const MAX_LABEL = 63;
const MAX_NAME = 253;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** An IP address is a name too (an iPAddress SAN), kept as written. */
export const isIpAddress = (name: string) => isIP(name.replace(/^\[|\]$/g, "")) !== 0;

/**
 * What is wrong with a name already in A-label form, or undefined. `*` may only be the whole
 * left-most label (RFC 6125 §6.4.3, CA/B Forum BR 7.1.4.2.1).
 */
export function aLabelProblem(name: string): string | undefined {
  if (name.length === 0) return "the name is empty";
  if (name.length > MAX_NAME) return `the name is ${name.length} characters long; at most ${MAX_NAME} are allowed`;
  if (name.endsWith(".")) return "the name ends with a dot; write it without the trailing root dot";
  if (name.startsWith(".")) return "the name starts with a dot";
  const labels = name.split(".");
  const host = labels[0] === "*" ? labels.slice(1) : labels;
  if (labels[0] === "*" && host.length === 0) return "a wildcard needs a domain after it, e.g. *.example.com";
  for (const [index, label] of host.entries()) {
    const position = labels[0] === "*" ? index + 2 : index + 1;
    if (label === "") return `label ${position} is empty (two dots in a row)`;
    if (label.includes("*")) return labels[0] === "*" || index > 0 ? `'${label}': a wildcard may only be the whole left-most label` : `'${label}': a wildcard must be the whole left-most label, as in *.example.com`;
    if (label.length > MAX_LABEL) return `label '${label.slice(0, 20)}…' is ${label.length} characters long; at most ${MAX_LABEL} are allowed`;
    if (!LDH_LABEL.test(label)) return `label '${label}' may hold only letters, digits and inner hyphens`;
    // RFC 5891 §4.2.3.1: "--" in the third and fourth places is reserved for A-labels ("xn--").
    if (label.slice(2, 4) === "--" && !label.startsWith("xn--")) return `label '${label}' has '--' in the third and fourth places, which only A-labels (xn--) may`;
    if (label.startsWith("xn--") && domainToUnicode(label) === "") return `label '${label}' is not a valid A-label (its Punycode does not decode)`;
  }
  if (/^\d+$/.test(labels.at(-1)!)) return "the last label is all digits, so the name is neither an IP address nor a DNS name";
  return undefined;
}

/**
 * Reads a DNS name in either form: converts U-labels to A-labels, lower-cases, and checks the
 * result. Names a browser would map (full-width letters, upper case) are mapped the same way.
 */
export function readDnsName(name: string): DnsNameReading {
  if (typeof name !== "string") return { ok: false, problem: "the name is not text" };
  // Characters that are never part of a name, whatever the mapping would make of them.
  if (/[\u0000-\u0020\u007f]/.test(name)) return { ok: false, problem: "the name holds a space or a control character" };
  const wildcard = name.startsWith("*.");
  const rest = wildcard ? name.slice(2) : name;
  if (/[*]/.test(rest)) return { ok: false, problem: aLabelProblem(name.toLowerCase()) ?? "a wildcard may only be the whole left-most label" };
  // domainToASCII refuses what UTS #46 cannot convert (invalid Punycode, disallowed code points)
  // with an empty string; plain ASCII passes through untouched.
  const ascii = /^[\x21-\x7e]*$/.test(rest) ? rest.toLowerCase() : domainToASCII(rest);
  if (ascii === "" && rest !== "") return { ok: false, problem: `'${name}' cannot be converted to an A-label (IDNA): it holds characters no DNS name may` };
  const aLabel = wildcard ? `*.${ascii}` : ascii;
  const problem = aLabelProblem(aLabel);
  if (problem) return { ok: false, problem };
  return { ok: true, aLabel, unicode: unicodeForm(aLabel) };
}

/** The U-label form of an A-label name, for showing beside it. */
export function unicodeForm(aLabel: string): string {
  if (!aLabel.split(".").some((label) => label.startsWith("xn--"))) return aLabel;
  const wildcard = aLabel.startsWith("*.");
  const unicode = domainToUnicode(wildcard ? aLabel.slice(2) : aLabel);
  return unicode === "" ? aLabel : wildcard ? `*.${unicode}` : unicode;
}

/** The A-label form used to compare names, or the lower-cased name when it is not a valid one. */
export function comparableName(name: string): string {
  if (isIpAddress(name)) return name.toLowerCase();
  const reading = readDnsName(name);
  return reading.ok ? reading.aLabel : name.toLowerCase();
}

/**
 * `xn--bcher-kva.example (bücher.example)`: both forms where they differ, for messages and
 * previews. A name that is no valid A-label (a certificate may hold any bytes) is shown escaped.
 */
export function describeName(aLabel: string): string {
  if (!/^[\x21-\x7e]*$/.test(aLabel)) return escaped(aLabel);
  const unicode = unicodeForm(aLabel);
  return unicode === aLabel ? aLabel : `${aLabel} (${unicode})`;
}

const isAscii = (text: string) => /^[\x00-\x7f]*$/.test(text);

/**
 * Names as a user wrote them (SANs to generate, domains to cover or to order from a CA), as
 * certstage uses them: internationalized names converted to A-labels; ASCII names and IP addresses
 * as written, so a stack that wrote them keeps its versions. Each malformed name is a
 * DNS_NAME_INVALID problem naming `field.index`.
 */
export function readNameInputs(names: readonly string[], field: string, options: { readonly wildcards?: boolean } = {}): { readonly names: string[]; readonly problems: CertstageError[] } {
  const problems: CertstageError[] = [];
  const read = names.map((name, index) => {
    const reading = isIpAddress(name) ? undefined : readDnsName(name);
    const problem = reading === undefined ? (name.includes("%") ? "an IP address with a zone, which a certificate cannot hold" : undefined) : !reading.ok ? reading.problem : options.wildcards === false && reading.aLabel.startsWith("*.") ? "a wildcard cannot be used here" : undefined;
    if (problem === undefined) return reading?.ok && !isAscii(name) ? reading.aLabel : name;
    problems.push(
      new CertstageError("DNS_NAME_INVALID", `${quoted(name)}: ${problem}`, {
        field: `${field}.${index}`,
        fix: "write a host name (letters, digits and inner hyphens; an internationalized name in either form), a wildcard only as the whole left-most label, or an IP address",
      }),
    );
    return name;
  });
  return { names: read, problems };
}

/** A single host name input (an SNI server name, a CN): its A-label form when it is an internationalized host name. */
export function aLabelOf(name: string): string {
  if (isAscii(name) || !name.includes(".")) return name;
  const reading = readDnsName(name);
  return reading.ok ? reading.aLabel : name;
}

