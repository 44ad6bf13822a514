import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_FINISHED_TASK_DAYS, DEFAULT_PUBLISHED_VERSIONS_KEPT, taskRetentionOf } from "../../../provider/settings/retention";
import { readProviderSettings } from "../../../provider/settings/stack-settings";

const config = (values: Record<string, string>) => (key: string) => values[key];

describe("readProviderSettings", () => {
  it("defaults to a .certstage file store, staging and production, and user@host", () => {
    const settings = readProviderSettings(config({}), {}, "/project");
    expect(settings.store).toEqual({ driver: "file", location: ".certstage" });
    expect(settings.environments).toEqual(["staging", "production"]);
    expect(settings.principal).toMatch(/.+@.+/);
    expect(settings.baseDirectory).toBe("/project");
  });

  it("reads the stack configuration before the environment", () => {
    const settings = readProviderSettings(
      config({ "certstage:store": "/srv/certs", "certstage:principal": "ci-bot", "certstage:environments": '["staging","production","edge"]' }),
      { CERTSTAGE_STORE: "/ignored", CERTSTAGE_PRINCIPAL: "ignored" },
      "/project",
    );
    expect(settings.store).toEqual({ driver: "file", location: "/srv/certs" });
    expect(settings.principal).toBe("ci-bot");
    expect(settings.environments).toEqual(["staging", "production", "edge"]);
  });

  it("accepts environment objects (as richer definitions will be) and comma lists", () => {
    expect(readProviderSettings(config({ "certstage:environments": '[{"name":"qa"}]' }), {}, "/").environments).toEqual(["qa"]);
    expect(readProviderSettings(config({ "certstage:environments": "qa, prod" }), {}, "/").environments).toEqual(["qa", "prod"]);
  });

  it("refuses environment names that cannot be store paths, naming the setting", () => {
    expect(() => readProviderSettings(config({ "certstage:environments": '["../etc"]' }), {}, "/")).toThrow(
      /^\[NAME_INVALID\] field 'certstage:environments': environment name "\.\.\/etc" is not allowed\. Fix: use 1-64 lower-case ASCII letters/,
    );
  });

  it("reads full definitions and refuses malformed targets, endpoints and promotion rules", () => {
    const definitions = [
      { name: "staging", target: { type: "directory", reload: ["nginx", "-s", "reload"] }, verify: { endpoints: ["127.0.0.1:443"] } },
      { name: "production", target: { type: "haproxy", socket: "/run/haproxy/admin.sock", certificatePath: "/etc/haproxy/certs/api.pem" }, promotion: { requires: "staging" } },
    ];
    expect(readProviderSettings(config({ "certstage:environments": JSON.stringify(definitions) }), {}, "/").environmentDefinitions).toEqual(definitions);
    const refused = (value: unknown) => () => readProviderSettings(config({ "certstage:environments": JSON.stringify(value) }), {}, "/");
    expect(refused([{ name: "p", target: { type: "haproxy", socket: "/s" } }])).toThrow(/\[CONFIG_INVALID\].*an haproxy target needs socket and certificatePath/);
    expect(refused([{ name: "s", target: { type: "directory", reload: "nginx -s reload" } }])).toThrow(/reload must be a command as a list/);
    expect(refused([{ name: "s", target: { type: "ftp" } }])).toThrow(/target type must be directory, haproxy or http/);
    expect(refused([{ name: "s", verify: { endpoints: ["localhost"] } }])).toThrow(/verify\.endpoints must be a list of "host:port"/);
    expect(refused([{ name: "p", promotion: { requires: "qa" } }])).toThrow(/'p' requires "qa", which is not defined/);
    expect(refused(["s", "s"])).toThrow(/environment 's' is defined twice/);
    expect(refused([{ name: "s", promotion: { requires: "s" } }])).toThrow(/environment 's': it cannot require itself/);
    expect(refused([{ name: "a", promotion: { requires: "b" } }, { name: "b", promotion: { requires: "a" } }])).toThrow(/environments 'a' -> 'b' -> 'a' require each other/);
    expect(refused([{ name: "s", verfiy: { endpoints: ["127.0.0.1:443"] } }])).toThrow(/environment 's': "verfiy" is not a setting of an environment \(name, target, verify, promotion, finishedTasks\)/);
    expect(refused([{ name: "s", verify: { endpoints: ["127.0.0.1:70000"] } }])).toThrow(/verify\.endpoints: "127\.0\.0\.1:70000" has port 70000; ports are 1 to 65535/);
    expect(refused([{ name: "s", target: { type: "directory", reload: ["nginx", 7] } }])).toThrow(/reload must be a command as a list/);
    expect(refused([{ name: "s", verify: null }])).toThrow(/\[CONFIG_INVALID\].*verify\.endpoints must be a list/);
  });

  it("reads retention settings, with the defaults where they are left out, and refuses values no retention can have", () => {
    const read = (value: unknown) => readProviderSettings(config({ "certstage:environments": JSON.stringify(value) }), {}, "/").environmentDefinitions;
    const definitions = [{ name: "edge", target: { type: "directory", path: "/etc/nginx/certs", keepVersions: 0 }, finishedTasks: { keepDays: 7, keepLast: 1 } }, { name: "staging", finishedTasks: { keepLast: 10 } }];
    expect(read(definitions)).toEqual([definitions[0], { name: "staging", target: { type: "directory" }, finishedTasks: { keepLast: 10 } }]);
    expect(taskRetentionOf(read(definitions)[1].finishedTasks)).toEqual({ keepDays: DEFAULT_FINISHED_TASK_DAYS, keepLast: 10 });
    expect(taskRetentionOf(undefined)).toEqual({ keepDays: 30, keepLast: 3 });
    expect(DEFAULT_PUBLISHED_VERSIONS_KEPT).toBe(3);
    const refused = (value: unknown) => () => read(value);
    const prefix = "\\[CONFIG_INVALID\\] field 'certstage:environments': environment 'edge': ";
    expect(refused([{ name: "edge", target: { type: "directory", path: "/c", keepVersions: -1 } }])).toThrow(new RegExp(`^${prefix}target\\.keepVersions must be a whole number from 0 to 100, not -1`));
    expect(refused([{ name: "edge", target: { type: "directory", path: "/c", keepVersions: "3" } }])).toThrow(/target\.keepVersions must be a whole number from 0 to 100, not "3"/);
    expect(refused([{ name: "edge", target: { type: "directory", keepVersions: 3 } }])).toThrow(new RegExp(`^${prefix}target\\.keepVersions applies to the versions published under path: set path too, or remove keepVersions`));
    expect(refused([{ name: "edge", finishedTasks: { keepDays: 1.5 } }])).toThrow(new RegExp(`^${prefix}finishedTasks\\.keepDays must be a whole number from 0 to 3650, not 1\\.5`));
    expect(refused([{ name: "edge", finishedTasks: { keepLast: 5000 } }])).toThrow(/finishedTasks\.keepLast must be a whole number from 0 to 1000, not 5000/);
    expect(refused([{ name: "edge", finishedTasks: { days: 30 } }])).toThrow(/'days' is not a setting of finishedTasks \(keepDays, keepLast\), e\.g\. \{"keepDays": 30, "keepLast": 3\}/);
    expect(refused([{ name: "edge", finishedTasks: 30 }])).toThrow(/finishedTasks must be an object/);
  });

  it("refuses a verification whose settle period the timeout leaves no room for, or timings that are not milliseconds", () => {
    const refused = (verify: object) => () => readProviderSettings(config({ "certstage:environments": JSON.stringify([{ name: "s", verify: { endpoints: ["127.0.0.1:443"], ...verify } }]) }), {}, "/");
    expect(refused({ timeoutMs: 800 })).toThrow(/\[CONFIG_INVALID\] field 'certstage:environments': environment 's': verify\.settleMs \(1000 ms\) must be shorter than verify\.timeoutMs \(800 ms\), or no verification can pass/);
    expect(refused({ settleMs: 30_000 })).toThrow(/verify\.settleMs \(30000 ms\) must be shorter than verify\.timeoutMs \(30000 ms\)/);
    expect(refused({ settleMs: -1 })).toThrow(/verify\.settleMs must be a whole number of milliseconds from 0 to 60000/);
    expect(refused({ timeoutMs: "soon" })).toThrow(/verify\.timeoutMs must be a whole number of milliseconds from 100 to 600000/);
    expect(refused({ timeoutMs: 800, settleMs: 0 })).not.toThrow();
  });

  it("refuses a damaged ACME account key at once, naming the setting and quoting no key", () => {
    expect(() => readProviderSettings(config({ "certstage:acmeAccountKey": "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n" }), {}, "/")).toThrow(
      /^\[PRIVATE_KEY_UNPARSEABLE\] field 'certstage:acmeAccountKey': the key data is damaged/,
    );
    expect(() => readProviderSettings(config({ "certstage:acmeAccountKey": "not a key" }), {}, "/")).toThrow(/^\[PEM_MALFORMED\] field 'certstage:acmeAccountKey'/);
  });

  it("falls back to CERTSTAGE_STORE and CERTSTAGE_PRINCIPAL", () => {
    const settings = readProviderSettings(config({}), { CERTSTAGE_STORE: "file:" + path.join("/tmp", "s"), CERTSTAGE_PRINCIPAL: "alice" }, "/");
    expect(settings.store).toEqual({ driver: "file", location: "/tmp/s" });
    expect(settings.principal).toBe("alice");
  });

  it("reads the teams the principal acts for from certstage:teams, then CERTSTAGE_TEAMS, as a JSON or a comma list; none by default", () => {
    expect(readProviderSettings(config({}), {}, "/").teams).toEqual([]);
    expect(readProviderSettings(config({ "certstage:teams": '["team-edge","team-web"]' }), { CERTSTAGE_TEAMS: "ignored" }, "/").teams).toEqual(["team-edge", "team-web"]);
    expect(readProviderSettings(config({}), { CERTSTAGE_TEAMS: "team-edge, team-web,team-edge" }, "/").teams).toEqual(["team-edge", "team-web"]);
    expect(readProviderSettings(config({ "certstage:teams": " " }), {}, "/").teams).toEqual([]);
  });

  it("refuses teams that are not a list of names, naming the setting", () => {
    expect(() => readProviderSettings(config({ "certstage:teams": '{"team":"edge"}' }), {}, "/")).toThrow(/^\[CONFIG_INVALID\] field 'certstage:teams': "\{\\"team\\":\\"edge\\"}" is not a list of team names\. Fix: write the teams as a JSON list/);
    expect(() => readProviderSettings(config({ "certstage:teams": '["team-edge", 7]' }), {}, "/")).toThrow(/^\[CONFIG_INVALID\] field 'certstage:teams': "7" is not a team name/);
    expect(() => readProviderSettings(config({}), { CERTSTAGE_TEAMS: "team-edge,,team-web" }, "/")).toThrow(/^\[CONFIG_INVALID\] field 'certstage:teams': "\\"\\"" is not a team name/);
  });
});
