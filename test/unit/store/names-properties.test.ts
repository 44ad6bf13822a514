/**
 * Names reach certstage through resource inputs (the schemas), the environment setting, the file
 * store's entry points and task ids; wherever one arrives, a name no path segment should hold is
 * refused with NAME_INVALID, and the refusal quotes it harmlessly.
 *
 * Property                                                                 runs
 *   NAME_PATTERN is the README's rule written out in code, for any text     300
 *   every schema field that is a name refuses exactly the bad ones          200
 *   environment definitions refuse a bad name with NAME_INVALID             200
 *   the file store refuses a bad name before it touches the disk            200
 *   task ids: only the form queueTask makes names a task file               200
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isUnknown } from "../../../provider/resources/handler";
import { environmentDefinitionsFrom } from "../../../provider/settings/environments";
import { NAME_PATTERN } from "../../../provider/store";
import { createFileStore } from "../../../provider/store/drivers/file";
import { SchemaName, validateAgainstSchema } from "../../../provider/validation/schema";
import { isBoringName, nameArbitrary } from "../../support/bad-names";
import { temporaryDirectory } from "../../support/certificates";
import { outcomeOf, settledOutcome } from "../../support/refusals";

const NAME_FIELDS: ReadonlyArray<readonly [SchemaName, (name: string) => object, readonly string[]]> = [
  ["certificate", (name) => ({ name, type: "server" }), ["name"]],
  ["certificate-version", (name) => ({ certificate: name, upload: { certificatePem: "x", privateKeyPem: "y" } }), ["certificate"]],
  ["environment-deployment", (name) => ({ certificate: name, environment: name, version: 1 }), ["certificate", "environment"]],
  ["acme-renewal", (name) => ({ certificate: name }), ["certificate"]],
];

/** environment-certificate, both of which may hold '-': some split gives two good names. */
const canBeSplit = (names: string) => names.split("-").some((_, index, parts) => isBoringName(parts.slice(0, index + 1).join("-")) && isBoringName(parts.slice(index + 1).join("-")));

describe("names", () => {
  it("NAME_PATTERN is the README's rule written out in code, for any text", () => {
    fc.assert(fc.property(nameArbitrary, (name) => {
        expect(NAME_PATTERN.test(name)).toBe(isBoringName(name));
      }), { numRuns: 300 });
  });

  it("every schema field that is a name refuses exactly the bad ones, with NAME_INVALID naming the field", () => {
    fc.assert(
      fc.property(nameArbitrary, fc.constantFrom(...NAME_FIELDS), (name, [schema, inputs, fields]) => {
        const refusals = validateAgainstSchema(schema, inputs(name), isUnknown).filter((problem) => problem.code === "NAME_INVALID");
        expect(refusals.map((problem) => problem.field)).toEqual(isBoringName(name) ? [] : fields);
        for (const refusal of refusals) outcomeOf(() => { throw refusal; });
      }),
      { numRuns: 200 },
    );
  });

  it("environment definitions refuse a bad name with NAME_INVALID, as a string or an object", () => {
    fc.assert(
      fc.property(nameArbitrary, fc.boolean(), (name, asObject) => {
        const outcome = outcomeOf(() => environmentDefinitionsFrom([asObject ? { name } : name], undefined, "/project"));
        if (isBoringName(name)) expect(outcome.accepted?.map((definition) => definition.name)).toEqual([name]);
        else expect([outcome.refused?.code, outcome.refused?.field]).toEqual(["NAME_INVALID", "certstage:environments"]);
      }),
      { numRuns: 200 },
    );
  });

  it("the file store refuses a bad name at every entry point before it touches the disk", async () => {
    await fc.assert(
      fc.asyncProperty(nameArbitrary, async (name) => {
        const root = path.join(temporaryDirectory("names"), "store");
        const store = createFileStore({ root });
        const calls: Array<() => Promise<unknown>> = [
          () => store.getCertificate(name),
          () => store.listVersions(name),
          () => store.getVersion(name, 1),
          () => store.getDeployment(name, "staging"),
          () => store.getDeployment("api", name),
          () => store.readHistory({ certificate: name }),
          () => store.listTasks({ environment: name }),
          () => store.getAcmeRenewal(name),
          () => store.createCertificate({ name, displayName: name, type: "server", owner: "o", shareWith: [], description: "" }, { principal: "p" }),
        ];
        for (const call of calls.slice(0, isBoringName(name) ? -1 : undefined)) {
          const outcome = await settledOutcome(call);
          expect(outcome.refused?.code).toBe(isBoringName(name) ? undefined : "NAME_INVALID");
        }
        if (!isBoringName(name)) expect(existsSync(root)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("task ids: only the form queueTask makes names a task file", async () => {
    const store = createFileStore({ root: temporaryDirectory("task-ids") });
    const made = fc
      .tuple(fc.date({ min: new Date("2000-01-01"), max: new Date("2999-12-31"), noInvalidDate: true }), nameArbitrary, nameArbitrary, fc.integer({ min: 1, max: 99_999 }), fc.stringMatching(/^[0-9a-f]{6}$/))
      .map(([at, environment, certificate, version, suffix]) => ({
        id: `${at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${environment}-${certificate}-v${version}-${suffix}`,
        valid: canBeSplit(`${environment}-${certificate}`),
      }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(made, nameArbitrary.map((id) => ({ id, valid: false }))), async ({ id, valid }) => {
        const outcome = await settledOutcome(() => store.getTask(id));
        if (valid) expect(outcome).toEqual({ accepted: undefined });
        else expect(outcome.refused?.code).toBe("NAME_INVALID");
      }),
      { numRuns: 200 },
    );
  });
});
