/**
 * The manifest's negative fixtures (test/fixtures/manifest/negative/*.yaml), each of which says in
 * `# expect: CODE line:col path` lines exactly which problems it has and where: every problem is
 * reported at once, an unknown key at the key, a missing field at the map that lacks it. The
 * positive fixture, which uses every field, parses clean.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../../provider/errors";
import { parseManifest } from "../../../provider/manifest/parse";
import { REPO_ROOT } from "../../support/certificates";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "manifest");

function fixtures(kind: "negative" | "positive"): string[] {
  return readdirSync(path.join(FIXTURES, kind)).filter((file) => file.endsWith(".yaml")).sort();
}

function expectations(text: string): string[] {
  return [...text.matchAll(/^# expect: (.+)$/gm)].map((match) => match[1].trim());
}

describe("negative fixtures", () => {
  it("there are enough of them to cover each kind of problem", () => {
    expect(fixtures("negative").length).toBeGreaterThanOrEqual(14);
  });

  it.each(fixtures("negative"))("%s reports its problems at their line:col", (file) => {
    const text = readFileSync(path.join(FIXTURES, "negative", file), "utf8");
    const parsed = parseManifest(text, file);
    expect(parsed.manifest).toBeUndefined();
    expect(parsed.diagnostics.map((diagnostic) => `${diagnostic.code} ${diagnostic.line}:${diagnostic.column}${diagnostic.path ? ` ${diagnostic.path}` : ""}`)).toEqual(expectations(text));
    for (const diagnostic of parsed.diagnostics) {
      expect(diagnostic.file).toBe(file);
      expect(Object.keys(ERROR_CODES)).toContain(diagnostic.code);
      expect(diagnostic.problem.length).toBeGreaterThan(5);
      expect(diagnostic.fix.length).toBeGreaterThan(5);
    }
  });
});

describe("messages", () => {
  const messageOf = (text: string) => parseManifest(text, "certificates.yaml").diagnostics.map((diagnostic) => `${diagnostic.problem}. Fix: ${diagnostic.fix}`);

  it("an unknown key names the fields there are", () => {
    expect(messageOf("certificates:\n  api:\n    displayname: API\n")).toEqual([expect.stringMatching(/^'displayname' is not a field here\. Fix: remove it or check its spelling; the fields are displayName, type, /)]);
  });

  it("a missing field shows an example from the schema", () => {
    expect(messageOf("certificates:\n  api:\n    versions:\n      v1:\n        upload: {}\n")).toEqual(["'certificateFile' is required but missing. Fix: add certificateFile, e.g. certificateFile: \"certs/api.pem\""]);
  });

  it("a value outside an enumeration lists the values with what each means", () => {
    expect(messageOf("certificates:\n  api:\n    profile: secret\n")).toEqual(['must be one of "public", "private". Fix: public: the Web PKI\'s rules (CA/Browser Forum Baseline Requirements), for publicly trusted certificates; private: an internal CA\'s rules: only what every TLS client enforces']);
  });

  it("an empty file says what it needs", () => {
    expect(parseManifest("", "certificates.yaml").diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.line, diagnostic.column, diagnostic.path])).toEqual([["MANIFEST_INVALID", 1, 1, "certificates"]]);
  });

  it("a keystore password written in the manifest is refused by code, naming the certificate, the version, the field and the fix, and is never repeated", () => {
    const withKeystore = (keystore: string) => `certificates:\n  web-api:\n    versions:\n      v7:\n        upload: { certificateFile: certs/api.pem, privateKeyFile: certs/api.key }\n        keystore: ${keystore}\n`;
    for (const [keystore, field] of [
      ["{ password: s3cret-Passw0rd }", "keystore.password"],
      ["{ password: s3cret-Passw0rd, passwordFrom: env:API_P12 }", "keystore.password"],
      ["{ passwordFrom: s3cret-Passw0rd }", "keystore.passwordFrom"],
      ["{ passwordFrom: 'config:s3cret-Passw0rd' }", "keystore.passwordFrom"],
      ["s3cret-Passw0rd", "keystore"],
    ] as const) {
      const { diagnostics, manifest } = parseManifest(withKeystore(keystore), "certificates.yaml");
      expect(manifest, keystore).toBeUndefined();
      // One problem: the schema's own complaints about the same password (unknown key, missing passwordFrom, pattern) would only restate it.
      expect(diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.path]), keystore).toEqual([["MANIFEST_SECRET_LITERAL", `certificates.web-api.versions.v7.${field}`]]);
      const [{ problem, fix }] = diagnostics;
      expect(problem).toMatch(new RegExp(`^certificate 'web-api', version 'v7': ${field.replace(".", "\\.")} `));
      expect(fix).toContain("passwordFrom: certstage:webApiKeystorePassword after pulumi config set --secret certstage:webApiKeystorePassword <password>, or passwordFrom: env:<NAME>");
      expect(JSON.stringify(diagnostics)).not.toContain("s3cret");
    }
  });

  it("a keystore naming its password's source parses, with an optional profile and friendly name", () => {
    for (const keystore of ['{ passwordFrom: "certstage:apiKeystorePassword" }', "{ passwordFrom: env:API_P12_PASSWORD, profile: legacy, friendlyName: api }", "{ passwordFrom: certstage:api.p12-password, profile: modern }"]) {
      const parsed = parseManifest(`certificates:\n  api:\n    versions:\n      v1:\n        upload: { certificateFile: certs/api.pem, privateKeyFile: certs/api.key }\n        keystore: ${keystore}\n`, "certificates.yaml");
      expect(parsed.diagnostics, keystore).toEqual([]);
      expect(parsed.manifest!.certificates.api.versions!.v1.keystore!.passwordFrom, keystore).toMatch(/^(certstage|env):/);
    }
  });

  it("several YAML documents are refused, not half read", () => {
    expect(parseManifest("certificates: {}\n---\ncertificates: {}\n", "certificates.yaml").diagnostics.map((diagnostic) => diagnostic.code)).toEqual(["MANIFEST_YAML_INVALID"]);
  });
});

describe("positive fixtures", () => {
  it.each(fixtures("positive"))("%s parses without a problem", (file) => {
    const parsed = parseManifest(readFileSync(path.join(FIXTURES, "positive", file), "utf8"), file);
    expect(parsed.diagnostics).toEqual([]);
    expect(Object.keys(parsed.manifest!.certificates)).toEqual(["api"]);
  });

  it("the example repository's manifest parses without a problem", () => {
    const parsed = parseManifest(readFileSync(path.join(REPO_ROOT, "examples", "gitops", "certificates.yaml"), "utf8"), "certificates.yaml");
    expect(parsed.diagnostics).toEqual([]);
  });
});
