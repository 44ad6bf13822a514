/**
 * The page's text: escaping of store text, the policy that allows only its own stylesheet, the
 * refusal to write anything like a private key block, and the timeline's ticks.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isCertstageError } from "../../../provider/errors";
import { containsPrivateKeyBlock, escapeHtml } from "../../../provider/report/escape";
import { contentSecurityPolicy, renderReportHtml } from "../../../provider/report/html";
import { buildReportModel, type ReportInputs } from "../../../provider/report/model";
import { axisTicks } from "../../../provider/report/timeline";
import type { CertificateRecord } from "../../../provider/store";

const NOW = new Date("2027-03-01T00:00:00.000Z");

function inputsWith(record: Partial<CertificateRecord>, storeDescription = "file store /srv/certs"): ReportInputs {
  const certificate = { name: "api", displayName: "api", type: "server", owner: "team-a", shareWith: [], description: "", lastVersion: 1, createdAt: "", updatedAt: "", ...record } as CertificateRecord;
  const version = { certificate: "api", version: 1, method: "upload", notBefore: "2027-01-01T00:00:00.000Z", notAfter: "2027-04-01T00:00:00.000Z", subject: "CN=api", sans: ["api.example.test"], serial: "01" };
  return { storeDescription, certificates: [certificate], versions: [version as never], deployments: [{ certificate: "api", environment: "production", version: 1, deployedAt: "2027-01-02T00:00:00.000Z" }], tasks: [] };
}

describe("escapeHtml", () => {
  it.each([
    ["<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"],
    [`" onmouseover="x`, "&quot; onmouseover=&quot;x"],
    ["it's", "it&#39;s"],
    ["&amp;", "&amp;amp;"],
    ["a\u0000b\u001bc\u007fd", "a\ufffdb\ufffdc\ufffdd"],
    ["tab\tand\nline", "tab\tand\nline"],
    ["Grüße, 証明書", "Grüße, 証明書"],
  ])("%j becomes %j", (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
  });
});

describe("renderReportHtml", () => {
  it("shows every store text escaped: display name, owner and the store's description", () => {
    const html = renderReportHtml(buildReportModel(inputsWith({ displayName: "<b onclick=x>API</b>", owner: `"><svg onload=alert(1)>` }, "file store /tmp/<i>"), NOW));
    expect(html).toContain("&lt;b onclick=x&gt;API&lt;/b&gt;");
    expect(html).toContain("owner &quot;&gt;&lt;svg onload=alert(1)&gt;");
    expect(html).toContain("file store /tmp/&lt;i&gt;");
    expect(html).not.toMatch(/<b onclick|<svg onload|<i>/);
  });

  it("allows its own stylesheet by hash and nothing else", () => {
    const html = renderReportHtml(buildReportModel(inputsWith({}), NOW));
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    const hash = createHash("sha256").update(style).digest("base64");
    expect(contentSecurityPolicy()).toBe(`default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'`);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy())}">`);
    // The policy comes before anything it governs.
    expect(html.indexOf("Content-Security-Policy")).toBeLessThan(html.indexOf("<style>"));
    expect(html).not.toMatch(/\sstyle=|<script|<link|<img|url\(/);
  });

  it.each(["-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----", "-----BEGIN ENCRYPTED PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----"])(
    "refuses a page that would hold %s (REPORT_KEY_MATERIAL)",
    (header) => {
      expect(containsPrivateKeyBlock(`x ${header}\nMIIB`)).toBe(true);
      let thrown: unknown;
      try {
        renderReportHtml(buildReportModel(inputsWith({ owner: `${header}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC` }), NOW));
      } catch (error) {
        thrown = error;
      }
      expect(isCertstageError(thrown, "REPORT_KEY_MATERIAL")).toBe(true);
      expect((thrown as Error).message).not.toContain("MIIEvQ");
    },
  );

  it("shows a pending standby undeploy in its cell, its own table and the counts; none waiting says so", () => {
    const undeploy = { id: "20270301T000000Z-production-api-undeploy-abc123", certificate: "api", environment: "production", action: "undeploy", fromVersion: 1, notBefore: "2027-03-05T02:00:00.000Z", createdAt: "2027-02-28T09:30:00.000Z", createdBy: "bob <ops>", state: "pending", environments: [] } as const;
    const html = renderReportHtml(buildReportModel({ ...inputsWith({}), tasks: [undeploy] }, NOW));
    expect(html).toContain(`<span class="undeploy" data-pending-undeploy="${undeploy.id}">✕ undeploy on standby, not before 2027-03-05 02:00 UTC</span>`);
    expect(html).toContain(
      `<tr data-task="${undeploy.id}" data-certificate="api" data-environment="production" data-version="1"><td>api</td><td>production</td><td>v1, served now</td><td>not before 2027-03-05 02:00 UTC</td><td>2027-02-28 09:30 UTC<span class="who">by bob &lt;ops&gt;</span></td><td><code>${undeploy.id}</code></td></tr>`,
    );
    expect(html).toContain("<li><b>1</b>pending undeploy</li>");
    expect(html).toContain("<p class=\"empty\">No standby swap is waiting.</p>");
    const none = renderReportHtml(buildReportModel(inputsWith({}), NOW));
    expect(none).toContain("<p class=\"empty\">No standby undeploy is waiting.</p>");
    expect(none).toContain("<li><b>0</b>pending undeploys</li>");
    expect(none).not.toContain('class="undeploy"');
  });

  it("lets public PEM and the words themselves through", () => {
    expect(containsPrivateKeyBlock("-----BEGIN CERTIFICATE-----")).toBe(false);
    expect(containsPrivateKeyBlock("-----BEGIN PUBLIC KEY-----")).toBe(false);
    expect(() => renderReportHtml(buildReportModel(inputsWith({ displayName: "private key rotation drill" }), NOW))).not.toThrow();
  });
});

describe("axisTicks", () => {
  const ticksOf = (start: string, end: string) => axisTicks(Date.parse(start), Date.parse(end)).map((tick) => tick.label);

  it("marks the first of each month over a few months", () => {
    expect(ticksOf("2027-01-15T00:00:00Z", "2027-05-20T00:00:00Z")).toEqual(["Feb 2027", "Mar 2027", "Apr 2027", "May 2027"]);
  });

  it("marks every other month over a year, starting on a month the step divides", () => {
    expect(ticksOf("2026-12-10T00:00:00Z", "2028-01-05T00:00:00Z")).toEqual(["Jan 2027", "Mar 2027", "May 2027", "Jul 2027", "Sep 2027", "Nov 2027", "Jan 2028"]);
  });

  it("marks days over a week, and years over a decade, never more than ten", () => {
    expect(ticksOf("2027-03-01T12:00:00Z", "2027-03-06T00:00:00Z")).toEqual(["2 Mar", "3 Mar", "4 Mar", "5 Mar", "6 Mar"]);
    const decade = ticksOf("2020-06-01T00:00:00Z", "2031-01-01T00:00:00Z");
    expect(decade).toEqual(["2022", "2024", "2026", "2028", "2030"]);
    expect(ticksOf("2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z")).toEqual(["1 Jan"]);
  });
});
