/**
 * Test certificates made by OpenSSL at test time (never committed): a root, an intermediate and
 * leaves, through the same script the quickstart uses.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inspectUpload, VersionMaterial } from "../../provider/pki/version-material";

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

/** Version material (what the store saves) for a fresh leaf per name, all from the CA in `pkiDirectory`. */
export function makeTestMaterials(pkiDirectory: string, dnsNames: readonly string[]): VersionMaterial[] {
  return dnsNames.map((dnsName) => {
    const inspection = inspectUpload(makeTestCertificate(pkiDirectory, dnsName));
    if (!inspection.ok) throw new Error(`bad test certificate for ${dnsName}: ${inspection.problems.map((problem) => problem.message).join("; ")}`);
    return inspection.value;
  });
}

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `certstage-${prefix}-`));
}

/** Runs openssl with arguments (no shell) and returns stdout. */
export function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

export interface TestChain {
  /** Root first: root, intermediate 1, …, intermediate n. */
  readonly authorities: string[];
  readonly leafPem: string;
  readonly leafKeyPem: string;
}

/**
 * root -> `intermediates` CAs -> leaf, made with OpenSSL in `directory`; for chain-order tests.
 */
export function makeTestChain(directory: string, intermediates: number, dnsName = "api.example.test"): TestChain {
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: directory, stdio: ["ignore", "pipe", "pipe"] });
  const caExtensions = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
  require("node:fs").writeFileSync(path.join(directory, "ca.ext"), caExtensions);
  require("node:fs").writeFileSync(
    path.join(directory, "leaf.ext"),
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${dnsName}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`,
  );
  const newKey = (name: string) => run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
  newKey("ca0");
  run(["req", "-x509", "-new", "-key", "ca0.key", "-subj", "/CN=chain test root", "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca0.pem"]);
  for (let level = 1; level <= intermediates; level += 1) {
    newKey(`ca${level}`);
    run(["req", "-new", "-key", `ca${level}.key`, "-subj", `/CN=chain test intermediate ${level}`, "-out", `ca${level}.csr`]);
    run(["x509", "-req", "-in", `ca${level}.csr`, "-CA", `ca${level - 1}.pem`, "-CAkey", `ca${level - 1}.key`, "-CAcreateserial", "-days", "1825", "-extfile", "ca.ext", "-out", `ca${level}.pem`]);
  }
  newKey("leaf");
  run(["req", "-new", "-key", "leaf.key", "-subj", `/CN=${dnsName}`, "-out", "leaf.csr"]);
  run(["x509", "-req", "-in", "leaf.csr", "-CA", `ca${intermediates}.pem`, "-CAkey", `ca${intermediates}.key`, "-CAcreateserial", "-days", "90", "-extfile", "leaf.ext", "-out", "leaf.pem"]);
  const read = (file: string) => readFileSync(path.join(directory, file), "utf8");
  return {
    authorities: Array.from({ length: intermediates + 1 }, (_, level) => read(`ca${level}.pem`)),
    leafPem: read("leaf.pem"),
    leafKeyPem: read("leaf.key"),
  };
}

/** A file store at `root` holding certificate `api` (owner team-edge) with one upload version per leaf. */
export async function storeWithVersions(root: string, leaves: readonly TestCertificate[], actor: { principal: string }): Promise<import("../../provider/store").Store> {
  const { createFileStore } = await import("../../provider/store/drivers/file");
  const store = createFileStore({ root });
  await store.createCertificate({ name: "api", displayName: "api", type: "server", owner: "team-edge", shareWith: [], description: "" }, actor);
  for (const leaf of leaves) {
    const material = inspectUpload(leaf);
    if (!material.ok) throw new Error(`bad test certificate: ${material.problems.map((problem) => problem.message).join("; ")}`);
    await store.createVersion("api", "upload", material.value, actor);
  }
  return store;
}
