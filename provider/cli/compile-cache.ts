/**
 * Imported first by the command line, before any other module of certstage: Node (22.1 and
 * later) keeps the code it compiles for the modules loaded after this on disk, in its own
 * directory under the system's temporary one (NODE_COMPILE_CACHE chooses another,
 * NODE_DISABLE_COMPILE_CACHE turns it off), and the next `certstage` reuses it instead of
 * compiling them again. Each command runs once per process, so compiling was a good share of
 * a short one such as `certstage status`. A stale entry is never used: entries are keyed by
 * each file's contents. Node 20 has no such cache and skips this.
 */
import * as nodeModule from "node:module";

const withCache = nodeModule as typeof nodeModule & { enableCompileCache?: () => unknown };
try {
  withCache.enableCompileCache?.();
} catch {
  // A cache that cannot be written (a read-only temporary directory) only costs the compile.
}
