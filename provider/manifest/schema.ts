/**
 * The JSON Schema of `certificates.yaml` (draft-07, which editors support best), built from the
 * resources' own input schemas: every constraint (name pattern, key algorithms, bounds, formats)
 * is taken from schema/<resource>.schema.json, so the manifest cannot accept what a resource's
 * `check` refuses, nor drift from it. This file adds what editors show: a title, a description
 * and an example on every field, and enumerations as `oneOf` const + description (SchemaStore's
 * conventions). schema/manifest.schema.json is this module's output, committed for editors;
 * a unit test fails when the two differ (`node dist/provider/manifest/schema.js` prints it).
 */
import { readFileSync } from "node:fs";
import { FRIENDLY_NAME_MAX_LENGTH, PKCS12_PROFILES } from "../pki/pkcs12";
import { SECRET_SOURCE } from "../settings/secret-source";
import { schemaPath, type SchemaName } from "../validation/schema";
import { FIELD_DOCS, type FieldDoc } from "./field-docs";

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };

export const MANIFEST_SCHEMA_ID = "https://certstage.dev/schema/manifest.schema.json";

function resourceSchema(name: SchemaName): JsonSchema {
  return JSON.parse(readFileSync(schemaPath(name), "utf8")) as JsonSchema;
}

/** Names of certificates, environments and versions: the store's name rule. */
function namePattern(): string {
  return (resourceSchema("certificate").properties!.name.pattern as string);
}

/** `source`'s constraints with `doc`'s annotations; an `enum` becomes `oneOf` const + description. */
function documented(doc: FieldDoc, source: JsonSchema = {}): JsonSchema {
  const { description: _description, title: _title, enum: values, ...constraints } = source;
  const annotated: JsonSchema = { title: doc.title, description: doc.description, examples: [doc.example] };
  if (Array.isArray(values)) {
    const meanings = doc.values ?? {};
    const missing = values.filter((value) => meanings[String(value)] === undefined);
    if (missing.length > 0) throw new Error(`manifest schema: no description for ${missing.join(", ")} of '${doc.title}'`);
    return { ...annotated, ...constraints, oneOf: values.map((value) => ({ const: value, description: meanings[String(value)] })) };
  }
  return { ...annotated, ...constraints };
}

/** An object whose properties are `fields` (documented by FIELD_DOCS[`${prefix}.${field}`]). */
function object(prefix: string, fields: Record<string, JsonSchema | undefined>, required: readonly string[] = [], sources: Record<string, JsonSchema | undefined> = {}): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [field, schema] of Object.entries(fields)) properties[field] = schema ?? documented(docOf(`${prefix}.${field}`), sources[field]);
  return { ...documented(docOf(prefix)), type: "object", additionalProperties: false, ...(required.length > 0 ? { required: [...required] } : {}), properties };
}

function docOf(key: string): FieldDoc {
  const doc = FIELD_DOCS[key];
  if (!doc) throw new Error(`manifest schema: no documentation for '${key}'`);
  return doc;
}

/** A map from names (the store's rule) to `values`. */
function namedMap(key: string, values: JsonSchema): JsonSchema {
  return { ...documented(docOf(key)), type: "object", propertyNames: { pattern: namePattern() }, additionalProperties: values };
}

/** Fields taken as they are from a resource schema's properties, but for `except`. */
function sameAs(source: JsonSchema, fields: readonly string[]): Record<string, JsonSchema> {
  return Object.fromEntries(fields.map((field) => [field, source.properties![field]]));
}

/** A version number in the store, or the name of a version in the manifest. */
function versionReference(key: string, numberSchema: JsonSchema): JsonSchema {
  return { ...documented(docOf(key)), type: ["string", "integer"], pattern: namePattern(), minimum: numberSchema.minimum };
}

export function manifestSchema(): JsonSchema {
  const certificate = resourceSchema("certificate");
  const version = resourceSchema("certificate-version");
  const deployment = resourceSchema("environment-deployment");
  const acme = resourceSchema("acme-renewal");
  const generate = version.properties!.generate;
  const signed = version.properties!.signed;
  const verify = deployment.properties!.verify;
  const challenge = acme.properties!.challenge;
  const path = { type: "string", minLength: 1 };

  const definitions = {
    certificate: object("certificate", { displayName: undefined, type: undefined, owner: undefined, shareWith: undefined, description: undefined, profile: undefined, versions: namedMap("certificate.versions", { $ref: "#/definitions/version" }), deployments: namedMap("certificate.deployments", { $ref: "#/definitions/deployment" }) }, [], sameAs(certificate, ["displayName", "type", "owner", "shareWith", "description", "profile"])),
    version: object("version", { upload: { $ref: "#/definitions/upload" }, generate: { $ref: "#/definitions/generate" }, signed: { $ref: "#/definitions/signed" }, acme: { $ref: "#/definitions/acme" }, domains: undefined, acknowledge: undefined, keystore: { $ref: "#/definitions/keystore" } }, [], sameAs(version, ["domains", "acknowledge"])),
    // The resource's schema leaves the keystore's fields to pki/pkcs12.ts (so no message quotes the
    // password); the manifest names the password's source instead, by the settings' own rule.
    keystore: object("keystore", { passwordFrom: undefined, profile: undefined, friendlyName: undefined }, ["passwordFrom"], {
      passwordFrom: { type: "string", pattern: SECRET_SOURCE.source },
      profile: { enum: [...PKCS12_PROFILES] },
      friendlyName: { type: "string", minLength: 1, maxLength: FRIENDLY_NAME_MAX_LENGTH, pattern: "^[\\x20-\\x7e]+$" },
    }),
    upload: object("upload", { certificateFile: undefined, privateKeyFile: undefined, chainFile: undefined }, ["certificateFile"], { certificateFile: path, privateKeyFile: path, chainFile: path }),
    generate: object("generate", { keyAlgorithm: undefined, subject: { $ref: "#/definitions/subject" }, sans: undefined }, generate.required, sameAs(generate, ["keyAlgorithm", "sans"])),
    subject: object("subject", Object.fromEntries(Object.keys(generate.properties!.subject.properties!).map((field) => [field, undefined])), generate.properties!.subject.required, generate.properties!.subject.properties),
    signed: object("signed", { keyFromVersion: versionReference("signed.keyFromVersion", signed.properties!.keyFromVersion), certificateFile: undefined, chainFile: undefined }, ["keyFromVersion", "certificateFile"], { certificateFile: path, chainFile: path }),
    acme: object(
      "acme",
      { domains: undefined, directory: undefined, directoryCaFile: undefined, contact: undefined, acceptTermsOfService: undefined, challenge: { $ref: "#/definitions/challenge" }, keyAlgorithm: undefined, keyPolicy: undefined, renewBefore: undefined, renewBeforePercent: undefined, profile: undefined, preferredChain: undefined, revokeOnDelete: undefined },
      acme.required!.filter((field) => field !== "certificate"),
      { ...sameAs(acme, ["domains", "directory", "contact", "acceptTermsOfService", "keyAlgorithm", "keyPolicy", "renewBefore", "renewBeforePercent", "profile", "preferredChain", "revokeOnDelete"]), directoryCaFile: path },
    ),
    challenge: object("challenge", { type: undefined, listen: undefined, webroot: undefined, hook: undefined }, challenge.required, challenge.properties),
    deployment: object("deployment", { version: versionReference("deployment.version", deployment.properties!.version), state: undefined, mode: undefined, notBefore: undefined, verify: { $ref: "#/definitions/verify" } }, ["version"], sameAs(deployment, ["state", "mode", "notBefore"])),
    verify: object("verify", { endpoints: undefined, agents: { $ref: "#/definitions/agents" }, serverName: undefined, timeoutMs: undefined, settleMs: undefined }, [], verify.properties),
    agents: object("agents", { minimum: undefined, liveWithinMs: undefined }, [], verify.properties!.agents.properties),
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: MANIFEST_SCHEMA_ID,
    ...documented(docOf("manifest")),
    type: "object",
    additionalProperties: false,
    required: ["certificates"],
    properties: {
      $schema: documented(docOf("manifest.$schema"), { type: "string" }),
      certificates: namedMap("manifest.certificates", { $ref: "#/definitions/certificate" }),
    },
    definitions,
  };
}

if (require.main === module) process.stdout.write(`${JSON.stringify(manifestSchema(), null, 2)}\n`);
