/**
 * The pure parts of the http target: URL and field templates, JSON paths, multipart encoding,
 * redaction, and the retry plan. The multipart body is read back by the platform's own parser
 * (undici's FormData, which Node's fetch uses), not by ours.
 */
import { describe, expect, it } from "vitest";
import { multipartBody, multipartContentType, newBoundary } from "../../../provider/targets/http-multipart";
import { bodyExcerpt, redactor } from "../../../provider/targets/http-redaction";
import { backoffDelayMs, retryAfterMs, retryDecision } from "../../../provider/targets/http-retry";
import { fillTemplate, jsonPathSteps, valueAtPath } from "../../../provider/targets/http-templates";

describe("templates", () => {
  it.each([
    ["/certificates/{certificate}/", { certificate: "api" }, true, "/certificates/api/"],
    ["/projects/{project}/certificates/{certificate}/", { project: "My Project/x", certificate: "a?b" }, true, "/projects/My%20Project%2Fx/certificates/a%3Fb/"],
    ["certstage: {certificate} version {version}", { certificate: "api", version: "3" }, false, "certstage: api version 3"],
    ["{environment}", { environment: "production,staging" }, false, "production,staging"],
    ["no placeholders", {}, true, "no placeholders"],
  ])("%s", (template, values, encode, expected) => {
    expect(fillTemplate(template, values, encode)).toBe(expected);
  });

  it("a placeholder without a value is a bug, not an empty string", () => {
    expect(() => fillTemplate("/{nothing}", {})).toThrow("no value for {nothing}");
  });
});

describe("JSON paths", () => {
  const answer = { resource: { id: 7, service_ssl_crt: "PEM", names: ["a", "b"] }, items: [{ pem: "first" }, { pem: "second" }] };
  it.each([
    ["resource.service_ssl_crt", "PEM"],
    ["resource.names[1]", "b"],
    ["items.1.pem", "second"],
    ["items[0].pem", "first"],
    ["resource", answer.resource],
    ["resource.missing", undefined],
    ["items[5].pem", undefined],
    ["resource.id.deeper", undefined],
    ["items.pem", undefined],
    ["constructor", undefined],
  ])("%s", (path, expected) => {
    expect(valueAtPath(answer, path)).toEqual(expected);
  });

  it("refuses what is not a path", () => {
    expect(() => jsonPathSteps("a..b")).toThrow(/is not a JSON path/);
    expect(jsonPathSteps("a[0][1].b")).toEqual(["a", 0, 1, "b"]);
  });
});

describe("multipart/form-data", () => {
  it("is read back field by field, file names and types included, by undici's parser", async () => {
    const boundary = newBoundary();
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const body = multipartBody(
      [
        { name: "alias", value: "api" },
        { name: "environmentList", value: "production,staging" },
        { name: "pemEncodedFile", filename: "api-certificate.pem", contentType: "application/octet-stream", content: pem },
      ],
      boundary,
    );
    const form = await new Response(body, { headers: { "Content-Type": multipartContentType(boundary) } }).formData();
    expect([...form.keys()]).toEqual(["alias", "environmentList", "pemEncodedFile"]);
    expect(form.get("alias")).toBe("api");
    const file = form.get("pemEncodedFile") as File;
    expect(file.name).toBe("api-certificate.pem");
    expect(file.type).toBe("application/octet-stream");
    expect(await file.text()).toBe(pem);
  });

  it("escapes quotes and line breaks in names, so no field forges a header", () => {
    const text = multipartBody([{ name: 'a"\r\nX-Evil: 1', value: "v" }], "b").toString();
    expect(text).toBe('--b\r\nContent-Disposition: form-data; name="a%22%0D%0AX-Evil: 1"\r\n\r\nv\r\n--b--\r\n');
  });

  it("refuses a field that contains the boundary", () => {
    expect(() => multipartBody([{ name: "a", value: "x--b" }], "b")).toThrow(/boundary/);
  });
});

describe("redaction", () => {
  const token = "tok_5f2c8e1d9a7b4c3e";
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${"A".repeat(20)}QkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWmFiY2RlZmdoaWprbG1u\nb3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OTAxMjM0NTY3ODk=\n-----END PRIVATE KEY-----\n`;
  const redact = redactor([token, keyPem, undefined]);

  it.each([
    [`Bearer ${token} is not valid`, "Bearer *** is not valid"],
    [`{"service_ssl_key":${JSON.stringify(keyPem)}}`, '{"service_ssl_key":"[private key]\\n"}'],
    // An echo that re-wrapped the key's lines, without the PEM armour.
    [`key was ${keyPem.split("\n")[1]} and ${keyPem.split("\n")[2]}`, "key was *** and ***"],
    ["-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE", "[private key]"],
    ["nothing secret", "nothing secret"],
  ])("%s", (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it("an excerpt is one short line, redacted before it is cut", () => {
    const excerpt = bodyExcerpt(`${"x".repeat(190)}\n\n${token}${"y".repeat(100)}`, redact);
    expect(excerpt).toBe(`${"x".repeat(190)} ***${"y".repeat(6)}…`);
    expect(excerpt).not.toContain(token.slice(0, 8));
  });
});

describe("the retry plan", () => {
  const now = new Date("2026-12-03T12:00:00Z");
  it.each([
    [{ status: 500 }, 1, 4, { retry: true, delayMs: 500 }],
    [{ status: 503 }, 2, 4, { retry: true, delayMs: 1000 }],
    [{ status: 502 }, 3, 4, { retry: true, delayMs: 2000 }],
    [{ status: 500 }, 4, 4, { retry: false }],
    [{ status: 429, retryAfter: "3" }, 1, 4, { retry: true, delayMs: 3000 }],
    [{ status: 429, retryAfter: "Thu, 03 Dec 2026 12:00:05 GMT" }, 1, 4, { retry: true, delayMs: 5000 }],
    [{ status: 503, retryAfter: "0" }, 3, 4, { retry: true, delayMs: 2000 }],
    [{ status: 429, retryAfter: "120" }, 1, 4, { retry: false, why: "the API asked to wait 120 s (Retry-After), longer than certstage waits (60 s)" }],
    [{ status: 401 }, 1, 4, { retry: false }],
    [{ status: 404 }, 1, 4, { retry: false }],
    [{ status: 409 }, 1, 4, { retry: false }],
    [{ failure: "timeout" }, 1, 2, { retry: true, delayMs: 500 }],
    [{ failure: "connection" }, 2, 2, { retry: false }],
  ] as const)("%j, attempt %i of %i", (outcome, attempt, attempts, expected) => {
    expect(retryDecision(outcome, attempt, attempts, now)).toEqual(expected);
  });

  it("backs off exponentially to a cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(backoffDelayMs)).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs("Thu, 03 Dec 2026 11:00:00 GMT", now)).toBe(0);
  });
});
