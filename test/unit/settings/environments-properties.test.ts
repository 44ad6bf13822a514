/**
 * Environment definitions come from a stack setting a person writes, and from the copy a standby
 * task keeps on disk. Whatever JSON arrives, environmentDefinitionsFrom accepts definitions the
 * targets, the rollout and the promotion rule can use as they are, or refuses with a CertstageError.
 *
 * Property                                                                    runs
 *   valid definitions are accepted and read back the same from a task's copy    200
 *   one value replaced or removed anywhere: accepted and usable, or refused     300
 *   any JSON at all: accepted and usable, or refused                            200
 */
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnvironmentDefinition, environmentDefinitionsFrom } from "../../../provider/settings/environments";
import { NAME_PATTERN } from "../../../provider/store";
import { damaged, jsonDamage } from "../../support/json-mutations";
import { outcomeOf } from "../../support/refusals";

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const command = fc.array(fc.stringMatching(/^[a-z./-]{1,12}$/), { minLength: 1, maxLength: 3 });
const directoryTarget = fc
  .record({ type: fc.constant("directory"), reload: command, reloadTimeoutMs: fc.integer({ min: 100, max: 60_000 }), path: fc.constantFrom("certs", "/etc/nginx/certs"), keepVersions: fc.integer({ min: 0, max: 100 }) }, { requiredKeys: ["type"] })
  // keepVersions counts versions published under path: without a path it is refused.
  .map(({ keepVersions, ...target }) => (target.path === undefined || keepVersions === undefined ? target : { ...target, keepVersions }));
const finishedTasks = fc.record({ keepDays: fc.integer({ min: 0, max: 3650 }), keepLast: fc.integer({ min: 0, max: 1000 }) }, { requiredKeys: [] });
const haproxyTarget = fc.record({ type: fc.constant("haproxy"), socket: fc.constantFrom("/run/haproxy/admin.sock"), certificatePath: fc.constantFrom("/etc/haproxy/certs/{certificate}.pem") });
const endpoint = fc.tuple(fc.constantFrom("127.0.0.1", "[::1]", "api.example.test"), fc.integer({ min: 1, max: 65_535 })).map(([host, port]) => `${host}:${port}`);
const verification = fc
  .record({ endpoints: fc.array(endpoint, { minLength: 1, maxLength: 3 }), serverName: fc.constantFrom("api.example.test"), timeoutMs: fc.integer({ min: 2000, max: 600_000 }), settleMs: fc.integer({ min: 0, max: 1000 }) }, { requiredKeys: ["endpoints"] });

/** A list of distinct environments, each perhaps requiring one defined before it (so no cycle). */
const definitions = fc
  .uniqueArray(fc.tuple(name, fc.option(fc.oneof(directoryTarget, haproxyTarget), { nil: undefined }), fc.option(verification, { nil: undefined }), fc.option(fc.nat(), { nil: undefined }), fc.boolean(), fc.option(finishedTasks, { nil: undefined })), {
    minLength: 1,
    maxLength: 4,
    selector: ([environment]) => environment,
  })
  .map((entries) =>
    entries.map(([environment, target, verify, requires, bare, retention], index) => {
      if (bare && target === undefined && verify === undefined && retention === undefined) return environment;
      const promotion = requires !== undefined && index > 0 ? { requires: entries[requires % index][0] } : undefined;
      return { name: environment, ...(target ? { target } : {}), ...(verify ? { verify } : {}), ...(promotion ? { promotion } : {}), ...(retention ? { finishedTasks: retention } : {}) };
    }),
  );

/** What the targets, the rollout and the promotion rule rely on, checked on an accepted result. */
function expectUsable(accepted: EnvironmentDefinition[]): void {
  const names = accepted.map((definition) => definition.name);
  expect(new Set(names).size).toBe(names.length);
  for (const definition of accepted) {
    expect(definition.name).toMatch(NAME_PATTERN);
    const { target } = definition;
    if (target.type === "directory") {
      if (target.reload !== undefined) expect(target.reload.length > 0 && target.reload.every((part) => typeof part === "string" && part !== "" && !part.includes("\u0000"))).toBe(true);
      if (target.reloadTimeoutMs !== undefined) expect(Number.isInteger(target.reloadTimeoutMs) && target.reloadTimeoutMs > 0).toBe(true);
      if (target.path !== undefined) expect(path.isAbsolute(target.path) && !target.path.includes("\u0000")).toBe(true);
      if (target.keepVersions !== undefined) expect(Number.isInteger(target.keepVersions) && target.keepVersions >= 0 && target.path !== undefined).toBe(true);
    } else {
      expect(target.type).toBe("haproxy");
      for (const value of [target.socket, target.certificatePath]) expect(typeof value === "string" && value !== "" && !value.includes("\u0000")).toBe(true);
    }
    if (definition.verify) {
      for (const endpoint of definition.verify.endpoints) {
        const port = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
        expect(Number.isInteger(port) && port >= 1 && port <= 65_535).toBe(true);
      }
      if (definition.verify.serverName !== undefined) expect(typeof definition.verify.serverName).toBe("string");
    }
    // What the task rule and the store drivers take as they are: whole numbers of 0 or more.
    for (const value of [definition.finishedTasks?.keepDays, definition.finishedTasks?.keepLast]) if (value !== undefined) expect(Number.isInteger(value) && value >= 0).toBe(true);
    if (definition.promotion) {
      expect(typeof definition.promotion.requires).toBe("string");
      expect(names).toContain(definition.promotion.requires);
    }
  }
  // Following the requirements from any environment ends: a cycle would let no version in anywhere.
  for (const start of accepted) {
    const seen = new Set<string>();
    for (let current: EnvironmentDefinition | undefined = start; current?.promotion; current = accepted.find((other) => other.name === current!.promotion!.requires)) {
      expect(seen.has(current.name)).toBe(false);
      seen.add(current.name);
    }
  }
}

function judge(value: unknown): void {
  const outcome = outcomeOf(() => environmentDefinitionsFrom(value, undefined, "/project"));
  if (outcome.accepted) {
    expectUsable(outcome.accepted);
    // A standby task keeps the accepted definitions as JSON and reads them again where it runs.
    const copy = JSON.stringify(outcome.accepted);
    expect(JSON.stringify(environmentDefinitionsFrom(JSON.parse(copy), undefined, "/elsewhere"))).toBe(copy);
  }
}

describe("environment definition properties", () => {
  it("valid definitions are accepted, and read back the same from a task's copy", () => {
    fc.assert(
      fc.property(definitions, (value) => {
        expect(outcomeOf(() => environmentDefinitionsFrom(value, undefined, "/project")).refused).toBeUndefined();
        judge(value);
      }),
      { numRuns: 200 },
    );
  });

  it("with one value replaced or removed anywhere, they are accepted and usable, or refused", () => {
    fc.assert(fc.property(definitions, jsonDamage, (value, damage) => judge(damaged(value, damage))), { numRuns: 300 });
  });

  it("any JSON at all is accepted and usable, or refused", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => judge(value)), { numRuns: 200 });
  });
});
