import { describe, expect, it } from "vitest";
import {
  CERTIFICATE_RULES,
  CERTIFICATE_VERSION_RULES,
  decideDiff,
  ENVIRONMENT_DEPLOYMENT_RULES,
  known,
  sameValue,
  unknown,
} from "../../../provider/lifecycle/diff";

const deployment = { certificate: "api", environment: "production", version: 1 };
const version = { certificate: "api", method: "upload", contentDigest: "AA", domains: [], acknowledge: [] };
const certificate = { name: "api", type: "server", displayName: "API", owner: "team-a", shareWith: [], description: "" };

describe("EnvironmentDeployment diff", () => {
  it.each([
    ["nothing changed", { certificate: known("api"), environment: known("production"), version: known(1) }, { changed: false, replaces: [] }],
    ["a new version is an in-place swap", { certificate: known("api"), environment: known("production"), version: known(2) }, { changed: true, replaces: [] }],
    ["a version not yet known is a swap", { certificate: known("api"), environment: known("production"), version: unknown }, { changed: true, replaces: [] }],
    ["another environment is a new deployment", { certificate: known("api"), environment: known("staging"), version: known(1) }, { changed: true, replaces: ["environment"] }],
    ["another certificate is a new deployment", { certificate: known("web"), environment: known("production"), version: known(1) }, { changed: true, replaces: ["certificate"] }],
  ])("%s", (_name, desired, expected) => {
    const decision = decideDiff(ENVIRONMENT_DEPLOYMENT_RULES, deployment, desired);
    expect({ changed: decision.changed, replaces: decision.replaces }).toEqual(expected);
  });
});

describe("CertificateVersion diff", () => {
  it.each([
    ["same content", { certificate: known("api"), method: known("upload"), contentDigest: known("AA"), domains: known([]), acknowledge: known([]) }, { replaces: [], changed: [] }],
    ["new content", { certificate: known("api"), method: known("upload"), contentDigest: known("CC"), domains: known([]), acknowledge: known([]) }, { replaces: ["contentDigest"], changed: ["contentDigest"] }],
    ["content not yet known", { certificate: known("api"), method: known("upload"), contentDigest: unknown, domains: known([]), acknowledge: known([]) }, { replaces: ["contentDigest"], changed: ["contentDigest"] }],
    ["another method", { certificate: known("api"), method: known("generate"), contentDigest: known("AA"), domains: known([]), acknowledge: known([]) }, { replaces: ["method"], changed: ["method"] }],
    ["another certificate", { certificate: known("web"), method: known("upload"), contentDigest: known("AA"), domains: known([]), acknowledge: known([]) }, { replaces: ["certificate"], changed: ["certificate"] }],
    ["acknowledging a warning changes in place", { certificate: known("api"), method: known("upload"), contentDigest: known("AA"), domains: known([]), acknowledge: known(["CHAIN_INCLUDES_ROOT"]) }, { replaces: [], changed: ["acknowledge"] }],
    ["declaring domains changes in place", { certificate: known("api"), method: known("upload"), contentDigest: known("AA"), domains: known(["api.test"]), acknowledge: known([]) }, { replaces: [], changed: ["domains"] }],
  ])("%s", (_name, desired, expected) => {
    const decision = decideDiff(CERTIFICATE_VERSION_RULES, version, desired);
    expect({ replaces: decision.replaces, changed: decision.changedFields }).toEqual(expected);
  });
});

describe("Certificate diff", () => {
  it.each([
    ["a rename of the display name updates in place", { displayName: known("API gateway") }, { changedFields: ["displayName"], replaces: [] }],
    ["new sharing updates in place", { shareWith: known(["team-b"]) }, { changedFields: ["shareWith"], replaces: [] }],
    ["a new type replaces", { type: known("ca") }, { changedFields: ["type"], replaces: ["type"] }],
    ["a new name replaces", { name: known("api2") }, { changedFields: ["name"], replaces: ["name"] }],
    ["an owner left unset keeps the current one", { owner: undefined }, { changedFields: [], replaces: [] }],
  ])("%s", (_name, desired, expected) => {
    const decision = decideDiff(CERTIFICATE_RULES, certificate, desired);
    expect({ changedFields: decision.changedFields, replaces: decision.replaces }).toEqual(expected);
  });
});

describe("sameValue", () => {
  it.each([
    [1, 1, true],
    ["a", "b", false],
    [["a", "b"], ["a", "b"], true],
    [["a", "b"], ["b", "a"], false],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: [1] }, { a: [2] }, false],
    [null, {}, false],
  ])("%j vs %j -> %s", (left, right, expected) => {
    expect(sameValue(left, right)).toBe(expected);
  });
});
