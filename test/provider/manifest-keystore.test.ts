/**
 * The Manifest component reads a version's keystore password where certificates.yaml names it:
 * a `certstage:<key>` stack config secret, or an `env:<NAME>` variable of the program, handed to
 * the CertificateVersion's `keystore` input with the profile; a source that is not set fails the
 * program before any of the manifest's resources is registered, naming the version, the field and
 * how to set it (every unset source at once).
 * Under `pulumi.runtime.setMocks`, whose engine records what each resource was given.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { temporaryDirectory } from "../support/certificates";

const CONFIG_PASSWORD = "config-keystore-pw-1";
const ENV_PASSWORD = "env-keystore-pw-2";
const registered = new Map<string, Record<string, unknown>>();
let directory: string;

beforeAll(async () => {
  directory = temporaryDirectory("manifest-keystore");
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.set(args.name, args.inputs as Record<string, unknown>);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "certstage-manifest-keystore",
    "test",
    false,
  );
  pulumi.runtime.setAllConfig({ "certstage:apiKeystorePassword": CONFIG_PASSWORD }, ["certstage:apiKeystorePassword"]);
});

function manifestWith(name: string, keystore: string, second?: string): string {
  const file = path.join(directory, `${name}.yaml`);
  const version = (label: string, settings: string) => `      ${label}:\n        generate: { keyAlgorithm: ECDSA-P256, subject: { commonName: ${name}.example.test }, sans: [${name}.example.test] }\n        keystore: ${settings}\n`;
  writeFileSync(file, `certificates:\n  ${name}:\n    versions:\n${version("v1", keystore)}${second ? version("v2", second) : ""}`);
  return file;
}

/** An input as the engine gets a secret: wrapped, so it is encrypted in state. */
const asSecret = (value: unknown) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });

/** What the engine was given for `name`, once registrations have run. */
async function inputsOf(name: string): Promise<Record<string, unknown>> {
  for (let turn = 0; turn < 100 && !registered.has(name); turn++) await new Promise((resolve) => setImmediate(resolve));
  return registered.get(name)!;
}

describe("a manifest keystore's password", () => {
  it("from certstage:<key> is the stack's config secret, with the profile", async () => {
    const { Manifest } = await import("../../provider");
    new Manifest("from-config", { file: manifestWith("api", '{ passwordFrom: "certstage:apiKeystorePassword", profile: legacy, friendlyName: gateway }') });
    expect((await inputsOf("api/v1")).keystore).toEqual(asSecret({ password: CONFIG_PASSWORD, profile: "legacy", friendlyName: "gateway" }));
  });

  it("from env:<NAME> is the program's environment variable", async () => {
    const { Manifest } = await import("../../provider");
    process.env.WEB_KEYSTORE_PASSWORD = ENV_PASSWORD;
    try {
      new Manifest("from-env", { file: manifestWith("web", "{ passwordFrom: env:WEB_KEYSTORE_PASSWORD }") });
    } finally {
      delete process.env.WEB_KEYSTORE_PASSWORD;
    }
    expect((await inputsOf("web/v1")).keystore).toEqual(asSecret({ password: ENV_PASSWORD }));
  });

  it("from a source that is not set fails the program with MANIFEST_SECRET_MISSING, naming the version and how to set it", async () => {
    const { Manifest } = await import("../../provider");
    expect(() => new Manifest("unset-config", { file: manifestWith("db", '{ passwordFrom: "certstage:dbKeystorePassword" }') })).toThrow(
      "[MANIFEST_SECRET_MISSING] resource 'db/v1', field 'keystore.passwordFrom': the keystore password's source certstage:dbKeystorePassword is not set.",
    );
    expect(() => new Manifest("unset-config-fix", { file: manifestWith("db2", '{ passwordFrom: "certstage:dbKeystorePassword" }') })).toThrow(/pulumi config set --secret certstage:dbKeystorePassword <password>/);
    expect(() => new Manifest("unset-env", { file: manifestWith("queue", "{ passwordFrom: env:QUEUE_KEYSTORE_PASSWORD }") })).toThrow(/\[MANIFEST_SECRET_MISSING\][\s\S]*export QUEUE_KEYSTORE_PASSWORD where pulumi up runs/);
    expect(() => new Manifest("unset-both", { file: manifestWith("cache", '{ passwordFrom: "certstage:cacheKeystorePassword" }', "{ passwordFrom: env:CACHE_P12 }") })).toThrow(
      "[MANIFEST_SECRET_MISSING] resource 'unset-both', field 'keystore.passwordFrom': the keystore passwords' sources are not set: certstage:cacheKeystorePassword (cache/v1), env:CACHE_P12 (cache/v2).",
    );
    // Nothing the failing manifests declare was registered, not even their certificates (given the
    // engine the turns in which the first tests' resources arrived).
    for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(registered.has("unset-config")).toBe(true);
    for (const name of ["db", "db/v1", "db2", "queue", "cache", "cache/v1", "cache/v2"]) expect(registered.has(name), name).toBe(false);
  });
});
