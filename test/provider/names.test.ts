/**
 * Bad names are refused at preview: every resource's `check`, the environment setting that
 * `configure` reads, and the command line's names and task ids, each with NAME_INVALID, the field
 * or option it came from, and the rule as the fix. Nothing is written to the store.
 */
import { Writable } from "node:stream";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../provider/cli/main";
import { configure, providerFor } from "../../provider/resources/runtime";
import { storeFingerprint } from "../support/store-on-disk";
import { BAD_NAMES } from "../support/bad-names";
import { makeTestCertificate, temporaryDirectory, TestCertificate } from "../support/certificates";
import { expectCleanRefusal } from "../support/refusals";

const RULE = "Fix: use 1-64 lower-case ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit, with no '..'";

let leaf: TestCertificate;
let storeRoot: string;
let settings: Record<string, string>;

beforeAll(() => {
  leaf = makeTestCertificate(temporaryDirectory("names-pki"), "api.example.test");
});

beforeEach(() => {
  storeRoot = temporaryDirectory("names-store");
  settings = { "certstage:store": storeRoot, "certstage:principal": "tester" };
  configure({ get: (key) => settings[key], require: (key) => settings[key] });
});

const refusal = (field: string) => `[NAME_INVALID] field '${field}': is not a valid name. ${RULE}`;

describe.each(BAD_NAMES)("a name with %s", (_case, name) => {
  it("is refused by every resource's check, naming the field, and nothing is written", async () => {
    const before = storeFingerprint(storeRoot);
    const reasons = async (kind: Parameters<typeof providerFor>[0], inputs: Record<string, unknown>) =>
      ((await providerFor(kind).check({}, inputs)).failures ?? []).map((failure) => failure.reason).filter((reason) => reason.startsWith("[NAME_INVALID]"));
    expect(await reasons("Certificate", { name })).toEqual([refusal("name")]);
    expect(await reasons("CertificateVersion", { certificate: name, upload: { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, chainPem: leaf.chainPem } })).toEqual([refusal("certificate")]);
    expect(await reasons("EnvironmentDeployment", { certificate: name, environment: "staging", version: 1 })).toEqual([refusal("certificate")]);
    expect(await reasons("EnvironmentDeployment", { certificate: "api", environment: name, version: 1 })).toEqual([refusal("environment")]);
    const renewal = { domains: ["api.example.test"], directory: "https://acme.example.test/directory", acceptTermsOfService: true, challenge: { type: "http-01", listen: "127.0.0.1:80" } };
    expect(await reasons("AcmeRenewal", { certificate: name, ...renewal })).toEqual([refusal("certificate")]);
    expect(storeFingerprint(storeRoot)).toBe(before);
  });

  it("is refused in certstage:environments when the provider is configured, naming the setting", () => {
    settings["certstage:environments"] = JSON.stringify(["staging", name]);
    let thrown: unknown;
    try {
      configure({ get: (key) => settings[key], require: (key) => settings[key] });
    } catch (error) {
      thrown = error;
    }
    expectCleanRefusal(thrown);
    expect(thrown.message).toMatch(/^\[NAME_INVALID\] field 'certstage:environments': environment name "[^"]*"( \(\d+ characters\))? is not allowed\. Fix: use 1-64 lower-case ASCII/);
  });

  it("is refused by the command line as a certificate, an environment or a task id", async () => {
    const run = (args: string[]) => main([...args, "--store", storeRoot], new Writable({ write: (_chunk, _encoding, done) => done() }));
    for (const args of [["history", "--certificate", name], ["history", "--environment", name], ["tasks", "list", "--environment", name], ["tasks", "cancel", name], ["tasks", "run", "--task", name]]) {
      const outcome = await run(args).then(
        () => undefined,
        (error: unknown) => error,
      );
      expectCleanRefusal(outcome);
      expect(outcome.code, args.join(" ")).toBe("NAME_INVALID");
    }
  });
});
