/**
 * Imported first by the command line, before any other module of certstage: Node (22.1 and
 * later) keeps the code it compiles for the modules loaded after this on disk, and the next
 * `certstage` reuses it instead of compiling them again (some 5–8 ms of each short command such
 * as `certstage status`). Entries are keyed by each file's contents, so a stale one is never used.
 *
 * The cache is the user's own, `$XDG_CACHE_HOME/certstage/compile-cache` (or `~/.cache/…`), made
 * 0700, never Node's default under the shared temporary directory: code read from there would run
 * as whoever runs certstage, root on an edge server. A directory that is not the user's alone is
 * not used. NODE_DISABLE_COMPILE_CACHE turns it off; Node 20 has no such cache and skips this.
 */
import { lstatSync, mkdirSync } from "node:fs";
import * as nodeModule from "node:module";
import { homedir } from "node:os";
import * as path from "node:path";

function privateCacheDirectory(): string | undefined {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  if (!path.isAbsolute(base)) return undefined;
  const directory = path.join(base, "certstage", "compile-cache");
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const stats = lstatSync(directory);
  const ownedAlone = stats.isDirectory() && (process.getuid === undefined || stats.uid === process.getuid()) && (stats.mode & 0o077) === 0;
  return ownedAlone ? directory : undefined;
}

/**
 * Only when certstage's command line is what this process runs: the cache is process-wide, and a
 * program or a test that imports the command's module is not the command line's to configure.
 */
function isTheCommandLine(): boolean {
  return typeof require !== "undefined" && require.main?.filename === path.join(__dirname, "main.js");
}

const withCache = nodeModule as typeof nodeModule & { enableCompileCache?: (directory: string) => unknown };
if (withCache.enableCompileCache !== undefined && !process.env.NODE_DISABLE_COMPILE_CACHE && isTheCommandLine()) {
  try {
    const directory = privateCacheDirectory();
    if (directory !== undefined) withCache.enableCompileCache(directory);
  } catch {
    // No cache (a read-only home, no home at all) only costs the compile.
  }
}
