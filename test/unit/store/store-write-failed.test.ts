/**
 * How a write the filesystem refused reads to the user: each errno certstage names gets the
 * store's path, the file being written, a fix that fits the cause, and a stable code. The errno
 * error is kept as the cause, for logs.
 */
import { userInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { isCertstageError } from "../../../provider/errors";
import { isWriteFailure, storeVanished, storeWriteFailed } from "../../../provider/store/store-errors";

const STORE = "/srv/certstage";
const FILE = "/srv/certstage/certificates/api/certificate.json";

function errno(code: string, file?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, write`), { code, ...(file === undefined ? {} : { path: file }) });
}

describe("storeWriteFailed", () => {
  it.each([
    ["ENOSPC", /the disk holding the store \/srv\/certstage is full \(writing \/srv\/certstage\/certificates\/api\/certificate\.json\)\. Fix: free space on that filesystem \(or give the store a larger volume\) and run `pulumi up` again; nothing was changed$/],
    ["EDQUOT", /the disk quota of user .+ is used up on the filesystem holding the store \/srv\/certstage \(writing .+certificate\.json\)\. Fix: free space within that quota/],
    ["EROFS", /the store \/srv\/certstage is on a read-only filesystem \(writing .+certificate\.json\)\. Fix: remount that filesystem read-write \(or point certstage:store at a writable directory\)/],
    ["EACCES", /user .+ may not write \/srv\/certstage\/certificates\/api\/certificate\.json in the store \/srv\/certstage\. Fix: run `pulumi up` as the user that owns the store, or give .+ write access to all of it \(for example `chown -R .+ \/srv\/certstage`\)/],
    ["EPERM", /user .+ may not write \/srv\/certstage\/certificates\/api\/certificate\.json in the store \/srv\/certstage\. Fix: run `pulumi up` as the user that owns the store/],
    ["ENOENT", /the store directory \/srv\/certstage vanished while certstage was using it\. Fix: restore it .+ or point certstage:store at where the store is now.+certstage does not create it again/],
  ])("%s names the store, the file and the fix", (code, message) => {
    const cause = errno(code, FILE);
    const error = storeWriteFailed(cause, STORE, FILE);
    expect(isCertstageError(error, "STORE_WRITE_FAILED")).toBe(true);
    expect(error.message.startsWith("[STORE_WRITE_FAILED] ")).toBe(true);
    expect(error.message).toMatch(message);
    expect(error.cause).toBe(cause);
  });

  it("names the user the operating system says is writing", () => {
    const error = storeWriteFailed(errno("EACCES", FILE), STORE, FILE);
    expect(error.message).toContain(`user ${userInfo().username} (uid ${process.getuid!()})`);
  });

  it("takes the file from the errno error when the caller does not name one", () => {
    expect(storeWriteFailed(errno("ENOSPC", FILE), STORE).message).toContain(`(writing ${FILE})`);
    expect(storeWriteFailed(errno("ENOSPC"), STORE).message).toContain("the disk holding the store /srv/certstage is full. Fix:");
  });

  it("does not promise nothing changed when undoing failed too", () => {
    const error = storeWriteFailed(errno("ENOSPC", FILE), STORE, FILE, errno("EIO", `${STORE}/history.jsonl`));
    expect(error.message).not.toContain("nothing was changed");
    expect(error.message).toContain("undoing what this change had already written failed too (EIO on /srv/certstage/history.jsonl), so compare `certstage status` with the stack");
  });

  it("says a vanished store is not made again", () => {
    const cause = errno("ENOENT", STORE);
    const error = storeVanished(STORE, cause);
    expect(error.code).toBe("STORE_WRITE_FAILED");
    expect(error.cause).toBe(cause);
    expect(error.message).toContain("certstage does not create it again, because an empty new store would forget every certificate and deployment");
  });
});

describe("isWriteFailure", () => {
  it.each(["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "ENOENT"])("%s is a write failure", (code) => {
    expect(isWriteFailure(errno(code))).toBe(true);
  });

  it.each([["EIO"], ["EMFILE"], ["EEXIST"]])("%s is not one certstage can explain", (code) => {
    expect(isWriteFailure(errno(code))).toBe(false);
  });

  it("is false for what is not an errno error", () => {
    expect(isWriteFailure(new Error("no code"))).toBe(false);
    expect(isWriteFailure(undefined)).toBe(false);
    expect(isWriteFailure("ENOSPC")).toBe(false);
  });
});
