/**
 * schema/manifest.schema.json is what editors read: it must be exactly what manifest/schema.ts
 * builds from the resources' schemas (so it cannot drift from what `check` enforces), pass Ajv
 * strict, and follow SchemaStore's conventions: draft-07, a title, a description and an example
 * on every field, unknown keys refused, enumerations as oneOf const + description. The examples
 * themselves are valid, and the constraints are the resources' own.
 */
import Ajv from "ajv";
import { readdirSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { manifestSchema } from "../../../provider/manifest/schema";
import { PKCS12_PROFILES } from "../../../provider/pki/pkcs12";
import { SECRET_SOURCE } from "../../../provider/settings/secret-source";
import { REPO_ROOT } from "../../support/certificates";

type Node = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const committed = JSON.parse(readFileSync(path.join(REPO_ROOT, "schema", "manifest.schema.json"), "utf8")) as Node;
const resource = (name: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, "schema", `${name}.schema.json`), "utf8")) as Node;

/** Every field schema (a property or a definition) with where it is. */
function fields(schema: Node): Array<[string, Node]> {
  const found: Array<[string, Node]> = [];
  const visit = (node: Node, where: string) => {
    for (const [name, property] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
      found.push([`${where}.${name}`, property]);
      visit(property, `${where}.${name}`);
    }
  };
  found.push(["(root)", schema]);
  visit(schema, "(root)");
  for (const [name, definition] of Object.entries(schema.definitions as Record<string, Node>)) {
    found.push([`#${name}`, definition]);
    visit(definition, `#${name}`);
  }
  return found;
}

describe("the manifest schema", () => {
  it("is what manifest/schema.ts builds (regenerate: node dist/provider/manifest/schema.js > schema/manifest.schema.json)", () => {
    expect(committed).toEqual(manifestSchema());
  });

  it("is draft-07 and compiles under Ajv strict", () => {
    expect(committed.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(() => new Ajv({ strict: true, allowUnionTypes: true }).compile(committed)).not.toThrow();
  });

  it("gives every field a title, a description and an example (a $ref's are its definition's)", () => {
    const undocumented = fields(committed).filter(([, node]) => node.$ref === undefined && !(typeof node.title === "string" && typeof node.description === "string" && Array.isArray(node.examples) && node.examples.length > 0));
    expect(undocumented.map(([where]) => where)).toEqual([]);
  });

  it("refuses unknown keys in every object, and checks the names of maps", () => {
    const open = fields(committed).filter(([, node]) => node.type === "object" && node.additionalProperties !== false && node.propertyNames === undefined);
    expect(open.map(([where]) => where)).toEqual([]);
  });

  it("writes enumerations as oneOf const + description, never enum", () => {
    expect(JSON.stringify(committed)).not.toContain('"enum"');
    const enumerations = fields(committed).filter(([, node]) => node.oneOf !== undefined);
    expect(enumerations.length).toBeGreaterThanOrEqual(7);
    for (const [, node] of enumerations) for (const choice of node.oneOf) expect(Object.keys(choice).sort()).toEqual(["const", "description"]);
  });

  it("each field's example is valid for that field", () => {
    const invalid = fields(committed).filter(([, node]) => {
      if (node.$ref !== undefined) return false;
      const { examples, $id: _id, $schema: _schema, ...schema } = node;
      const validate = new Ajv({ strict: false, allowUnionTypes: true }).compile({ ...schema, definitions: committed.definitions });
      return !validate(examples[0]);
    });
    expect(invalid.map(([where]) => where)).toEqual([]);
  });

  it("takes its constraints from the resources' schemas", () => {
    const definitions = committed.definitions as Record<string, Node>;
    const certificate = resource("certificate");
    const version = resource("certificate-version");
    const deployment = resource("environment-deployment");
    expect(committed.properties.certificates.propertyNames.pattern).toBe(certificate.properties.name.pattern);
    expect(definitions.certificate.properties.displayName.maxLength).toBe(certificate.properties.displayName.maxLength);
    expect(definitions.generate.properties.keyAlgorithm.oneOf.map((choice: Node) => choice.const)).toEqual(version.properties.generate.properties.keyAlgorithm.enum);
    expect(definitions.subject.properties.country.pattern).toBe(version.properties.generate.properties.subject.properties.country.pattern);
    expect(definitions.deployment.properties.notBefore.pattern).toBe(deployment.properties.notBefore.pattern);
    expect(definitions.verify.properties.timeoutMs.maximum).toBe(deployment.properties.verify.properties.timeoutMs.maximum);
    // The keystore's password source is the settings' rule (an http target's tokenFrom takes the same), its profiles pki/pkcs12.ts's.
    expect(definitions.keystore.properties.passwordFrom.pattern).toBe(SECRET_SOURCE.source);
    expect(definitions.keystore.properties.profile.oneOf.map((choice: Node) => choice.const)).toEqual([...PKCS12_PROFILES]);
    expect(definitions.keystore.required).toEqual(["passwordFrom"]);
  });

  it("as a file, alone (as an editor or SchemaStore's tests use it), accepts the positive fixtures and refuses the schema's negative ones", () => {
    const validate = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true }).compile(committed);
    const fixtures = path.join(REPO_ROOT, "test", "fixtures", "manifest");
    const read = (kind: string, file: string) => parse(readFileSync(path.join(fixtures, kind, file), "utf8"), { uniqueKeys: false }) as unknown;
    for (const file of readdirSync(path.join(fixtures, "positive"))) expect(validate(read("positive", file)), file).toBe(true);
    const schemaNegatives = readdirSync(path.join(fixtures, "negative")).filter((file) => /^# expect: MANIFEST_INVALID \S+ \S+$/m.test(readFileSync(path.join(fixtures, "negative", file), "utf8")) && !["two-methods.yaml", "no-method.yaml", "signed-key-cycle.yaml", "acme-domains.yaml", "keystore-acme.yaml"].includes(file));
    expect(schemaNegatives.length).toBeGreaterThanOrEqual(7);
    for (const file of schemaNegatives) expect(validate(read("negative", file)), file).toBe(false);
    // A password written into the manifest is refused by the schema alone too: an editor flags it as it is typed.
    const literals = readdirSync(path.join(fixtures, "negative")).filter((file) => /^# expect: MANIFEST_SECRET_LITERAL /m.test(readFileSync(path.join(fixtures, "negative", file), "utf8")));
    expect(literals.length).toBeGreaterThanOrEqual(3);
    for (const file of literals) expect(validate(read("negative", file)), file).toBe(false);
  });

  it("the example repository's modeline points at the schema the package ships", () => {
    const manifest = readFileSync(path.join(REPO_ROOT, "examples", "gitops", "certificates.yaml"), "utf8");
    const modeline = /^# yaml-language-server: \$schema=(\S+)$/m.exec(manifest);
    expect(modeline?.[1]).toBe("./node_modules/certstage/schema/manifest.schema.json");
    const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { files: string[] };
    expect(packageJson.files).toContain("schema");
  });
});
