import { describe, expect, it } from "vitest";
import { parseStoreSetting } from "../../../provider/store";

describe("parseStoreSetting", () => {
  it.each([
    [undefined, { driver: "file", location: ".certstage" }],
    ["", { driver: "file", location: ".certstage" }],
    ["certs", { driver: "file", location: "certs" }],
    ["/srv/certs", { driver: "file", location: "/srv/certs" }],
    ["file:/srv/certs", { driver: "file", location: "/srv/certs" }],
    ["file:///srv/certs", { driver: "file", location: "/srv/certs" }],
    ["file:relative/dir", { driver: "file", location: "relative/dir" }],
  ])("%j -> %j", (value, expected) => {
    expect(parseStoreSetting(value)).toEqual(expected);
  });

  it("names the unknown driver and lists the ones that exist", () => {
    expect(() => parseStoreSetting("redis://localhost")).toThrow(/\[STORE_DRIVER_UNKNOWN\].*driver 'redis'.*use one of: file/);
  });
});
