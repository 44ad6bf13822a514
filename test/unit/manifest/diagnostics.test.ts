/**
 * How manifest problems print: actionlint-style lines, and GitHub workflow annotations whose
 * properties and message are escaped so a `:`, `,`, `%` or newline cannot end or corrupt them.
 */
import { describe, expect, it } from "vitest";
import { formatDiagnostic, formatGithubAnnotation, type ManifestDiagnostic } from "../../../provider/manifest/diagnostics";

const diagnostic: ManifestDiagnostic = { code: "MANIFEST_INVALID", file: "infra/certificates.yaml", line: 12, column: 7, path: "certificates.api.type", problem: 'must be one of "server", "ca"', fix: "server: a TLS server certificate" };

describe("manifest diagnostics", () => {
  it("print as file:line:col: CODE: path: problem. Fix: fix", () => {
    expect(formatDiagnostic(diagnostic)).toBe('infra/certificates.yaml:12:7: MANIFEST_INVALID: certificates.api.type: must be one of "server", "ca". Fix: server: a TLS server certificate');
  });

  it("print as ::error annotations with file, line, col and the code as title", () => {
    expect(formatGithubAnnotation(diagnostic)).toBe('::error file=infra/certificates.yaml,line=12,col=7,title=MANIFEST_INVALID::certificates.api.type: must be one of "server", "ca". Fix: server: a TLS server certificate');
  });

  it("escape what would end an annotation or its properties", () => {
    const annotation = formatGithubAnnotation({ ...diagnostic, file: "a,b:c.yaml", problem: "100% wrong\nsecond line", fix: "fix\r" });
    expect(annotation).toBe("::error file=a%2Cb%3Ac.yaml,line=12,col=7,title=MANIFEST_INVALID::certificates.api.type: 100%25 wrong%0Asecond line. Fix: fix%0D");
    expect(annotation).not.toMatch(/[\r\n]/);
  });
});
