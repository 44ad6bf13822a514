/**
 * `@pulumi/tls` keys and certificates plug into certstage's `upload`: examples/pulumi-tls runs
 * under `pulumi.runtime.setMocks`, with certstage's own provider (check, then create) answering
 * for certstage's resources against a temporary file store.
 *
 * Why mocks and not the real CLI: the `tls` resource plugin is a bridged Terraform provider, and
 * its Terraform provider (github.com/hashicorp/terraform-provider-tls) does not build from the Go
 * module proxy here, so no `pulumi-resource-tls` can run on this machine. The mocks stand in for
 * that plugin only, and do what it does with OpenSSL: a real key per `PrivateKey`, a real CSR per
 * `CertRequest`, real certificates for `SelfSignedCert` and `LocallySignedCert`, from the inputs
 * the program gave them (subject, names, validity, allowed uses). certstage's side is real.
 */
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { configure, providerFor } from "../../provider/resources/runtime";
import { createFileStore } from "../../provider/store/drivers/file";
import { temporaryDirectory } from "../support/certificates";

type Inputs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const work = temporaryDirectory("pulumi-tls-openssl");
let counter = 0;

function openssl(args: string[], files: Record<string, string>): string {
  const directory = path.join(work, String(++counter));
  execFileSync("mkdir", ["-p", directory]);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(directory, name), text);
  execFileSync("openssl", args, { cwd: directory, stdio: "pipe" });
  return readFileSync(path.join(directory, "out.pem"), "utf8");
}

/** `@pulumi/tls`'s subject block as an OpenSSL -subj. */
function subjectOf(subject: Inputs | undefined): string {
  return `${subject?.organization ? `/O=${subject.organization}` : ""}/CN=${subject?.commonName ?? ""}`;
}

const KEY_USAGES: Record<string, string> = { digital_signature: "digitalSignature", key_encipherment: "keyEncipherment", cert_signing: "keyCertSign", crl_signing: "cRLSign" };
const EXTENDED_USAGES: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

/** The extensions `allowedUses` asks for, as the tls provider writes them. */
function usageExtensions(allowedUses: readonly string[], isCa: boolean): string {
  const keyUsage = allowedUses.flatMap((use) => KEY_USAGES[use] ?? []);
  const extendedUsage = allowedUses.flatMap((use) => EXTENDED_USAGES[use] ?? []);
  return [
    `basicConstraints=critical,CA:${isCa ? "TRUE" : "FALSE"}`,
    ...(keyUsage.length ? [`keyUsage=critical,${keyUsage.join(",")}`] : []),
    ...(extendedUsage.length ? [`extendedKeyUsage=${extendedUsage.join(",")}`] : []),
  ].join("\n");
}

/** What the tls plugin would answer, per resource type. */
const TLS_RESOURCES: Record<string, (inputs: Inputs) => Inputs> = {
  "tls:index/privateKey:PrivateKey": (inputs) => {
    expect(inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    // The plugin's privateKeyPem for ECDSA is SEC 1 ("EC PRIVATE KEY"), not PKCS #8.
    return { privateKeyPem: privateKey.export({ type: "sec1", format: "pem" }), publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) };
  },
  "tls:index/selfSignedCert:SelfSignedCert": (inputs) => ({
    certPem: openssl(["req", "-x509", "-new", "-key", "key.pem", "-subj", subjectOf(inputs.subject), "-days", String(Math.floor(inputs.validityPeriodHours / 24)), "-extensions", "v3", "-config", "req.cnf", "-out", "out.pem"], {
      "key.pem": inputs.privateKeyPem,
      "req.cnf": `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${usageExtensions(inputs.allowedUses, inputs.isCaCertificate === true)}\nsubjectKeyIdentifier=hash\n`,
    }),
  }),
  "tls:index/certRequest:CertRequest": (inputs) => ({
    certRequestPem: openssl(["req", "-new", "-key", "key.pem", "-subj", subjectOf(inputs.subject), ...(inputs.dnsNames ? ["-addext", `subjectAltName=${inputs.dnsNames.map((name: string) => `DNS:${name}`).join(",")}`] : []), "-out", "out.pem"], { "key.pem": inputs.privateKeyPem }),
  }),
  "tls:index/locallySignedCert:LocallySignedCert": (inputs) => ({
    certPem: openssl(["x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-set_serial", String(Date.now()), "-days", String(Math.floor(inputs.validityPeriodHours / 24)), "-copy_extensions", "copy", "-extfile", "ext.cnf", "-out", "out.pem"], {
      "csr.pem": inputs.certRequestPem,
      "ca.pem": inputs.caCertPem,
      "ca-key.pem": inputs.caPrivateKeyPem,
      "ext.cnf": `${usageExtensions(inputs.allowedUses, inputs.isCaCertificate === true)}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`,
    }),
  }),
};

/** The mocked engine hands secrets over in their wire form; a plugin sees their values. */
const SECRET_SIGNATURE = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"] as const;
function revealed(value: unknown): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (Array.isArray(value)) return value.map(revealed);
  if (value === null || typeof value !== "object") return value;
  const object = value as Inputs;
  if (object[SECRET_SIGNATURE[0]] === SECRET_SIGNATURE[1]) return revealed(object.value);
  return Object.fromEntries(Object.entries(object).map(([key, field]) => [key, revealed(field)]));
}

let storeRoot: string;
const registered: Record<string, Inputs> = {};
let program: Record<string, pulumi.Output<unknown>>;

const resolved = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

beforeAll(async () => {
  storeRoot = temporaryDirectory("pulumi-tls-store");
  const settings: Record<string, string> = { "certstage:store": storeRoot, "certstage:principal": "tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const inputs = revealed(args.inputs);
        registered[args.name] = { type: args.type, inputs, wire: args.inputs };
        const tls = TLS_RESOURCES[args.type];
        if (tls) return { id: `${args.name}-id`, state: { ...inputs, ...tls(inputs) } };
        // certstage's own resources: its provider, as the engine would call it.
        const kind = args.type.split(":").at(-1) as "Certificate" | "CertificateVersion" | "EnvironmentDeployment";
        const provider = providerFor(kind);
        const checked = await provider.check!({}, inputs);
        if (checked.failures?.length) throw new Error(`${args.name}: ${checked.failures.map((failure) => failure.reason).join("; ")}`);
        const created = await provider.create(checked.inputs);
        return { id: created.id, state: created.outs };
      },
      call: () => ({}),
    },
    "certstage-pulumi-tls",
    "test",
    false,
  );
  program = (await import("../../examples/pulumi-tls/index")) as unknown as Record<string, pulumi.Output<unknown>>;
  // Production's deployment is the program's last resource (it depends on staging's).
  await resolved(program.productionServes);
});

describe("@pulumi/tls interop (examples/pulumi-tls)", () => {
  it("the LocallySignedCert and its key become version 1, which staging and production serve", async () => {
    const store = createFileStore({ root: storeRoot });
    expect((await store.listVersions("internal-api")).map((version) => version.version)).toEqual([1]);
    const served = Object.fromEntries((await store.listDeployments("internal-api")).map((deployment) => [deployment.environment, deployment.version]));
    expect(served).toEqual({ staging: 1, production: 1 });
    expect(await resolved(program.versionNumber)).toBe(1);
    expect(await resolved(program.productionServes)).toBe(1);

    const versionDirectory = path.join(storeRoot, "certificates", "internal-api", "versions", "1");
    expect(registered["internal-api-cert"].inputs.allowedUses).toEqual(["digital_signature", "server_auth"]);
    const certificatePem = readFileSync(path.join(versionDirectory, "cert.pem"), "utf8");
    const intermediatePem = await resolved(program.intermediateCertificatePem as pulumi.Output<string>);
    const rootPem = await resolved(program.rootCertificatePem as pulumi.Output<string>);
    expect(new X509Certificate(certificatePem).checkIssued(new X509Certificate(intermediatePem))).toBe(true);
    expect(new X509Certificate(intermediatePem).checkIssued(new X509Certificate(rootPem))).toBe(true);
    expect(readFileSync(path.join(versionDirectory, "chain.pem"), "utf8").trim()).toBe(intermediatePem.trim());
    // OpenSSL agrees: the stored chain leads to the tls root.
    const rootFile = path.join(work, "root.pem");
    writeFileSync(rootFile, rootPem);
    const verified = execFileSync("openssl", ["verify", "-CAfile", rootFile, "-untrusted", path.join(versionDirectory, "chain.pem"), path.join(versionDirectory, "cert.pem")], { encoding: "utf8" });
    expect(verified.trim()).toBe(`${path.join(versionDirectory, "cert.pem")}: OK`);
    expect(await resolved(program.fingerprint)).toBe(fingerprintOf(certificatePem));
  });

  it("the server key from tls.PrivateKey (SEC 1) is stored as the version's key, mode 0600, and stays a secret", async () => {
    const versionDirectory = path.join(storeRoot, "certificates", "internal-api", "versions", "1");
    const keyFile = path.join(versionDirectory, "privkey.pem");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const spki = (pem: string) => createHash("sha256").update(createPublicKey(pem).export({ type: "spki", format: "der" })).digest("hex");
    const serverKeyInputs = registered["internal-api-csr"].inputs as Inputs;
    expect(spki(readFileSync(keyFile, "utf8"))).toBe(spki(serverKeyInputs.privateKeyPem));
    expect(spki(readFileSync(path.join(versionDirectory, "cert.pem"), "utf8"))).toBe(spki(createPrivateKey(serverKeyInputs.privateKeyPem).export({ type: "pkcs8", format: "pem" }) as string));
    // The program sends the whole upload as one secret, which the engine encrypts in state.
    const wire = registered["internal-api"].wire as Inputs;
    expect(wire.upload[SECRET_SIGNATURE[0]]).toBe(SECRET_SIGNATURE[1]);
    expect(registered["internal-api"].inputs.upload.privateKeyPem).toContain("PRIVATE KEY");
  });

  it("a tls certificate without server_auth is refused by certstage at check, naming the field and the fix", async () => {
    const caKey = TLS_RESOURCES["tls:index/privateKey:PrivateKey"]({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const ca = TLS_RESOURCES["tls:index/selfSignedCert:SelfSignedCert"]({ privateKeyPem: caKey.privateKeyPem, subject: { commonName: "CA" }, isCaCertificate: true, validityPeriodHours: 24 * 365, allowedUses: ["cert_signing"] });
    const key = TLS_RESOURCES["tls:index/privateKey:PrivateKey"]({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const request = TLS_RESOURCES["tls:index/certRequest:CertRequest"]({ privateKeyPem: key.privateKeyPem, subject: { commonName: "client.example.test" }, dnsNames: ["client.example.test"] });
    const clientOnly = TLS_RESOURCES["tls:index/locallySignedCert:LocallySignedCert"]({ certRequestPem: request.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: caKey.privateKeyPem, validityPeriodHours: 24 * 30, allowedUses: ["digital_signature", "client_auth"] });
    const checked = await providerFor("CertificateVersion").check!({}, { certificate: "internal-api", upload: { certificatePem: clientOnly.certPem, privateKeyPem: key.privateKeyPem } });
    const reasons = checked.failures?.map((failure) => failure.reason) ?? [];
    expect(reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^\[[A-Z_]+\] field 'upload\.certificatePem': .*serverAuth.*Fix: /s)]));
    expect(reasons.join("\n")).not.toContain("PRIVATE KEY");
  });
});
