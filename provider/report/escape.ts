/**
 * Every piece of store text the page shows (certificate and display names, owners, subjects,
 * who queued a task) goes through here: anyone who may create a certificate chooses those
 * strings, and a report is opened by people with more rights than its authors. The five
 * characters that can end a text node or an attribute value are replaced, so a display name of
 * `<script>` is shown as those eight characters. Control characters other than tab and line
 * breaks are shown as U+FFFD: HTML forbids them in text, and they would hide what a name says.
 */
import { PRIVATE_KEY_PEM_BLOCK } from "../pki/key-material";

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** Text safe in an element's content and in a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character]).replace(CONTROL, "\ufffd");
}


/** Whether `text` holds anything like a private key block; the renderer refuses to write it. */
export function containsPrivateKeyBlock(text: string): boolean {
  return PRIVATE_KEY_PEM_BLOCK.test(text);
}
