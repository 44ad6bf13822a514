/**
 * The manifest's TypeScript types (provider/manifest/types.ts) and its schema agree: for each
 * interface, the same properties, the same optionality, and where a property is a union of string
 * literals, the same values as the schema's enumeration. Read with the TypeScript compiler API,
 * so a field added to one and not the other fails here.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../support/certificates";

type Node = { properties?: Record<string, Node>; required?: string[]; oneOf?: Array<{ const: unknown }> };

const schema = JSON.parse(readFileSync(path.join(REPO_ROOT, "schema", "manifest.schema.json"), "utf8")) as Node & { definitions: Record<string, Node> };
const TYPES_FILE = "provider/manifest/types.ts";
const source = ts.createSourceFile(TYPES_FILE, readFileSync(path.join(REPO_ROOT, TYPES_FILE), "utf8"), ts.ScriptTarget.ES2022, true);

interface Member {
  readonly optional: boolean;
  /** The string literals of a union of them, else undefined. */
  readonly literals?: string[];
}

function interfaceMembers(name: string): Record<string, Member> {
  let members: Record<string, Member> | undefined;
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== name) return;
    members = Object.fromEntries(
      node.members.filter(ts.isPropertySignature).map((member) => {
        const type = member.type;
        const literals = type && ts.isUnionTypeNode(type) && type.types.every((part) => ts.isLiteralTypeNode(part) && ts.isStringLiteral(part.literal)) ? type.types.map((part) => ((part as ts.LiteralTypeNode).literal as ts.StringLiteral).text) : undefined;
        return [member.name.getText(source), { optional: member.questionToken !== undefined, ...(literals ? { literals } : {}) }];
      }),
    );
  });
  if (!members) throw new Error(`interface ${name} not found in ${TYPES_FILE}`);
  return members;
}

function schemaMembers(node: Node, literalsOf: readonly string[]): Record<string, Member> {
  return Object.fromEntries(
    Object.entries(node.properties ?? {}).map(([property, field]) => {
      const values = literalsOf.includes(property) ? field.oneOf?.map((choice) => String(choice.const)) : undefined;
      return [property, { optional: !(node.required ?? []).includes(property), ...(values ? { literals: values } : {}) }];
    }),
  );
}

describe("manifest types and schema agree", () => {
  it.each([
    ["ManifestFile", schema],
    ["ManifestCertificate", schema.definitions.certificate],
    ["ManifestVersion", schema.definitions.version],
    ["ManifestKeystore", schema.definitions.keystore],
    ["ManifestUpload", schema.definitions.upload],
    ["ManifestGenerate", schema.definitions.generate],
    ["ManifestSubject", schema.definitions.subject],
    ["ManifestSigned", schema.definitions.signed],
    ["ManifestAcme", schema.definitions.acme],
    ["ManifestChallenge", schema.definitions.challenge],
    ["ManifestDeployment", schema.definitions.deployment],
    ["ManifestVerify", schema.definitions.verify],
    ["ManifestAgents", schema.definitions.agents],
  ] as const)("%s", (name, node) => {
    const typed = interfaceMembers(name);
    const literalProperties = Object.entries(typed).filter(([, member]) => member.literals).map(([property]) => property);
    expect(typed).toEqual(schemaMembers(node, literalProperties));
  });

  it("every definition of the schema has its interface", () => {
    expect(Object.keys(schema.definitions).sort()).toEqual(["acme", "agents", "certificate", "challenge", "deployment", "generate", "keystore", "signed", "subject", "upload", "verify", "version"]);
  });
});
