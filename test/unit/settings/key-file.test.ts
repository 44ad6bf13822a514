/**
 * The key file's group and mode (settings/key-file.ts), as environments and the agent give them:
 * what is refused, with which code and words, and what a good setting comes to.
 */
import { describe, expect, it } from "vitest";
import { isCertstageError } from "../../../provider/errors";
import { environmentDefinitionsFrom } from "../../../provider/settings/environments";
import { groupIdOf, keyFileAccess } from "../../../provider/settings/key-file";

const environmentWith = (keyFile: unknown, extra: object = { path: "/srv/certs" }) => () => environmentDefinitionsFrom([{ name: "staging", target: { type: "directory", ...extra, keyFile } }]);

describe("keyFileAccess", () => {
  it.each([
    ["0644", /would let every user on the machine read/],
    ["0604", /would let every user on the machine read/],
    ["0660", /wider than 0640/],
    ["0740", /wider than 0640/],
    ["0040", /does not let the key's owner read it/],
    ["640x", /octal string such as "0640"/],
    ["0o640", /octal string/],
    ["", /octal string/],
  ])("refuses mode %j with KEY_FILE_MODE_INVALID, naming the field and the fix", (mode, problem) => {
    const refuse = () => keyFileAccess({ mode }, "--key-mode");
    expect(refuse).toThrow(problem);
    expect(refuse).toThrow(/^\[KEY_FILE_MODE_INVALID\] field '--key-mode': .* Fix: use "0640"/);
  });

  it("refuses a group this machine does not have with KEY_FILE_GROUP_UNKNOWN, saying how to make it", () => {
    expect(() => keyFileAccess({ group: "no-such-group-xyz" }, "--key-group")).toThrow(
      "[KEY_FILE_GROUP_UNKNOWN] field '--key-group': group 'no-such-group-xyz' does not exist on this machine. Fix: create it (groupadd --system no-such-group-xyz)",
    );
    expect(() => keyFileAccess({ group: "bad group" }, "--key-group")).toThrow(/KEY_FILE_GROUP_UNKNOWN.*group must be a group name/);
  });

  it("takes the group's gid from the system's group database, and 0640 by default with a group", () => {
    const root = groupIdOf("root");
    expect(root).toBe(0);
    expect(keyFileAccess({ group: "root" }, "f")).toEqual({ mode: 0o640, gid: 0 });
    expect(keyFileAccess({ group: "0", mode: "0600" }, "f")).toEqual({ mode: 0o600, gid: 0 });
    expect(keyFileAccess({ mode: "440" }, "f")).toEqual({ mode: 0o440 });
    expect(keyFileAccess(undefined, "f")).toEqual({ mode: 0o600 });
  });
});

describe("target.keyFile in certstage:environments", () => {
  it("is kept on the directory target", () => {
    const [definition] = environmentWith({ group: "root", mode: "0640" })();
    expect(definition.target).toEqual({ type: "directory", path: "/srv/certs", keyFile: { group: "root", mode: "0640" } });
  });

  it.each([
    ["a world-readable mode", { mode: "0644" }, { path: "/srv/certs" }, "KEY_FILE_MODE_INVALID", /environment 'staging', target\.keyFile.*would let every user/],
    ["an unknown group", { group: "no-such-group-xyz" }, { path: "/srv/certs" }, "KEY_FILE_GROUP_UNKNOWN", /group 'no-such-group-xyz' does not exist/],
    ["keyFile without path", { group: "root" }, {}, "CONFIG_INVALID", /target\.keyFile applies to the key published under path: set path too/],
    ["a misspelt member", { grop: "root" }, { path: "/srv/certs" }, "CONFIG_INVALID", /target\.keyFile must be \{"group": "<group>", "mode": "0640"\}/],
  ])("refuses %s", (_case, keyFile, extra, code, message) => {
    let caught: unknown;
    try {
      environmentWith(keyFile, extra)();
    } catch (error) {
      caught = error;
    }
    expect(isCertstageError(caught)).toBe(true);
    expect((caught as { code: string }).code).toBe(code);
    expect((caught as Error).message).toMatch(message);
  });
});
