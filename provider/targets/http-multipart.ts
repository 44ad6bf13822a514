/**
 * multipart/form-data (RFC 7578), written by hand: Node has no encoder that gives a Buffer with a
 * known length and a boundary we choose, and a retry must send the very same bytes again.
 */
import { randomBytes } from "node:crypto";

export type FormPart =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly filename: string; readonly contentType: string; readonly content: string };

/** A boundary no PEM or text field can contain by chance (RFC 2046 §5.1.1: at most 70 characters). */
export function newBoundary(): string {
  return `certstage-${randomBytes(18).toString("hex")}`;
}

/**
 * Names and file names are quoted strings in Content-Disposition; as the HTML standard's
 * encoder does, `"` becomes %22 and line breaks %0D / %0A, so no field can forge a header.
 */
function quotedParameter(value: string): string {
  return `"${value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;
}

export function multipartBody(parts: readonly FormPart[], boundary: string): Buffer {
  if (parts.some((part) => ("content" in part ? part.content : part.value).includes(`--${boundary}`))) throw new Error("a form field contains the boundary");
  const chunks = parts.map((part) => {
    const disposition = `Content-Disposition: form-data; name=${quotedParameter(part.name)}`;
    const head = "content" in part ? `${disposition}; filename=${quotedParameter(part.filename)}\r\nContent-Type: ${part.contentType}` : disposition;
    return `--${boundary}\r\n${head}\r\n\r\n${"content" in part ? part.content : part.value}\r\n`;
  });
  return Buffer.from(`${chunks.join("")}--${boundary}--\r\n`, "utf8");
}

export function multipartContentType(boundary: string): string {
  return `multipart/form-data; boundary=${boundary}`;
}
