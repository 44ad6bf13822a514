/**
 * The README's severity table says what each code is under each profile; this holds it to the
 * table the code uses (validation/profiles.ts), so the two cannot drift apart.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { POLICY_SEVERITIES, PolicyCode, severityOf, ValidationProfile, WARNING_CODES } from "../../../provider/validation/profiles";
import { REPO_ROOT } from "../../support/certificates";

describe("validation profiles in the README", () => {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = /<!-- severities:start -->\n([\s\S]*?)\n<!-- severities:end -->/.exec(readme)?.[1] ?? "";
  const rows = section.split("\n").map((line) => line.split("|").map((cell) => cell.trim()));

  it("lists every policy code once, with the severities the code applies", () => {
    const listed = new Map<string, { public: string; private: string }>();
    for (const [, codes, publicSeverity, privateSeverity] of rows) {
      for (const code of codes.match(/`([A-Z_]+)`/g) ?? []) listed.set(code.replace(/`/g, ""), { public: publicSeverity, private: privateSeverity });
    }
    expect([...listed.keys()].sort()).toEqual(Object.keys(POLICY_SEVERITIES).sort());
    for (const [code, severities] of Object.entries(POLICY_SEVERITIES)) expect(listed.get(code), code).toEqual(severities);
  });

  it("acknowledge takes exactly the codes that are a warning in some profile", () => {
    const warnings = (Object.keys(POLICY_SEVERITIES) as PolicyCode[]).filter((code) => POLICY_SEVERITIES[code].public === "warning" || POLICY_SEVERITIES[code].private === "warning");
    expect([...WARNING_CODES].sort()).toEqual(warnings.sort());
  });

  it("a code or a profile the table does not know is an error, never off", () => {
    expect(severityOf("NO_SUCH_CODE", "public")).toBe("error");
    expect(severityOf("IP_ADDRESS_RESERVED", "intranet" as ValidationProfile)).toBe("error");
    expect(severityOf("IP_ADDRESS_RESERVED", "private")).toBe("off");
  });
});
