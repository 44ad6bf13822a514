/**
 * Test certificates made by OpenSSL at test time (never committed): a root, an intermediate and
 * leaves, through the same script the quickstart uses.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface TestCertificate {
  readonly directory: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly chainPem: string;
  readonly rootPem: string;
}

/** A fresh leaf for `dnsName`, signed by the CA kept in `pkiDirectory` (made on first use). */
export function makeTestCertificate(pkiDirectory: string, dnsName = "api.example.test", days = 90): TestCertificate {
  const directory = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "make-test-certificates.sh"), pkiDirectory, dnsName, String(days)], {
    encoding: "utf8",
  }).trim();
  const read = (file: string) => readFileSync(path.join(directory, file), "utf8");
  return {
    directory,
    certificatePem: read("cert.pem"),
    privateKeyPem: read("key.pem"),
    chainPem: read("chain.pem"),
    rootPem: readFileSync(path.join(pkiDirectory, "ca", "root.pem"), "utf8"),
  };
}

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `certstage-${prefix}-`));
}

/** Runs openssl with arguments (no shell) and returns stdout. */
export function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}
