/**
 * The TypeScript input types users write against and the JSON Schemas `check` enforces must not
 * drift apart: same properties, same optionality, same enumerations. Read with the TypeScript
 * compiler API from the sources, so a new input in one place and not the other fails here.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";
import { KEY_ALGORITHMS } from "../../../provider/pki/key-generation";
import { REPO_ROOT } from "../../support/certificates";

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  required?: string[];
  enum?: string[];
}

function schema(name: string): SchemaNode {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, "schema", `${name}.schema.json`), "utf8")) as SchemaNode;
}

/** property name -> optional? for an exported interface in a source file. */
function interfaceShape(file: string, name: string): Record<string, boolean> {
  const source = ts.createSourceFile(file, readFileSync(path.join(REPO_ROOT, file), "utf8"), ts.ScriptTarget.ES2022, true);
  let shape: Record<string, boolean> | undefined;
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === name) {
      shape = Object.fromEntries(node.members.filter(ts.isPropertySignature).map((member) => [member.name.getText(source), member.questionToken !== undefined]));
    }
  });
  if (!shape) throw new Error(`interface ${name} not found in ${file}`);
  return shape;
}

function schemaShape(node: SchemaNode): Record<string, boolean> {
  return Object.fromEntries(Object.keys(node.properties ?? {}).map((property) => [property, !(node.required ?? []).includes(property)]));
}

const version = schema("certificate-version");

describe("input types and schemas agree", () => {
  it.each([
    ["Certificate", "provider/resources/certificate.ts", "CertificateArgs", schema("certificate"), {}],
    // certificateType and certificateProfile are filled in by the wrapper from the Certificate resource, not written by users.
    ["CertificateVersion", "provider/resources/certificate-version.ts", "CertificateVersionArgs", version, { certificateType: true, certificateProfile: true }],
    ["CertificateVersion.upload", "provider/resources/certificate-version.ts", "UploadArgs", version.properties!.upload, {}],
    ["CertificateVersion.generate", "provider/resources/certificate-version.ts", "GenerateArgs", version.properties!.generate, {}],
    ["CertificateVersion.generate.subject", "provider/pki/certificate-request.ts", "SubjectInput", version.properties!.generate.properties!.subject, {}],
    ["CertificateVersion.signed", "provider/resources/certificate-version.ts", "SignedArgs", version.properties!.signed, {}],
    // `certificate` may be left out when `version` is a CertificateVersion: the wrapper sends it then.
    ["EnvironmentDeployment", "provider/resources/environment-deployment.ts", "EnvironmentDeploymentArgs", schema("environment-deployment"), { certificate: false }],
    ["AcmeRenewal", "provider/resources/acme-renewal.ts", "AcmeRenewalArgs", schema("acme-renewal"), {}],
  ] as const)("%s", (_name, file, interfaceName, node, wrapperSupplied: Record<string, boolean>) => {
    const typed = interfaceShape(file, interfaceName);
    const schemaSide = schemaShape(node);
    for (const [property, optionalInSchema] of Object.entries(wrapperSupplied)) {
      expect(schemaSide[property]).toBe(optionalInSchema);
      typed[property] = optionalInSchema;
    }
    expect(typed).toEqual(schemaSide);
  });

  it("enumerations agree", () => {
    expect(version.properties!.generate.properties!.keyAlgorithm.enum).toEqual([...KEY_ALGORITHMS]);
    expect(schema("certificate").properties!.type.enum).toEqual(["server", "ca"]);
    const certificateSource = readFileSync(path.join(REPO_ROOT, "provider/store/store.ts"), "utf8");
    expect(certificateSource).toContain('export type CertificateType = "server" | "ca";');
  });
});
