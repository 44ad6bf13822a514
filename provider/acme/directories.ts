/**
 * ACME directory URLs (RFC 8555 §7.1.1): presets for the public CAs teams use most, or any URL.
 */
import { CertstageError } from "../errors";

export const DIRECTORY_PRESETS: Record<string, string> = {
  letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
};

export function resolveDirectoryUrl(directory: string): string {
  const preset = DIRECTORY_PRESETS[directory];
  if (preset) return preset;
  let url: URL;
  try {
    url = new URL(directory);
  } catch {
    throw new CertstageError("INPUT_SCHEMA", `'${directory}' is neither a directory preset nor a URL`, {
      field: "directory",
      fix: `use one of ${Object.keys(DIRECTORY_PRESETS).join(", ")} or the https:// URL of your CA's ACME directory`,
    });
  }
  if (url.protocol !== "https:") {
    throw new CertstageError("INPUT_SCHEMA", `the ACME directory must be https (RFC 8555 §6.1), not ${url.protocol}`, { field: "directory", fix: "use the https:// URL of the directory" });
  }
  return url.toString();
}
