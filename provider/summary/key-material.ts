/**
 * The last guard before a summary leaves the process: whatever the allow-list let through (a
 * diagnostic's message is free text from a provider), a summary that holds anything resembling
 * private key material is refused whole, never "redacted": a reviewer would not know what was cut.
 */
import { CertstageError } from "../errors";
import { keyMaterialIn } from "../pki/key-material";

/** Throws SUMMARY_KEY_MATERIAL when `text` holds anything that looks like a private key. */
export function refuseKeyMaterial(text: string): void {
  const found = keyMaterialIn(text);
  if (found === undefined) return;
  throw new CertstageError("SUMMARY_KEY_MATERIAL", `the summary would contain ${found}, so it is not written`, {
    field: "--preview",
    fix: "find what printed key material into the preview (a diagnostic, a program's console output) and remove it; rotate that key, since the preview's log already holds it",
  });
}
