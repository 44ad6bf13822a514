import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readProviderSettings } from "../../../provider/resources/provider-settings";

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
      /\[CONFIG_INVALID\] field 'certstage:environments'.*Fix:/,
    );
  });

  it("falls back to CERTSTAGE_STORE and CERTSTAGE_PRINCIPAL", () => {
    const settings = readProviderSettings(config({}), { CERTSTAGE_STORE: "file:" + path.join("/tmp", "s"), CERTSTAGE_PRINCIPAL: "alice" }, "/");
    expect(settings.store).toEqual({ driver: "file", location: "/tmp/s" });
    expect(settings.principal).toBe("alice");
  });
});
