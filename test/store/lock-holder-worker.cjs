// A process that always has changes waiting for the file store's lock: it queues 100,000 callers
// at once, each holding the lock for a millisecond, and says "holding" when the first runs.
// Usage: node lock-holder-worker.cjs <dist> <lock directory>
"use strict";
const path = require("node:path");
const [dist, lock] = process.argv.slice(2);
const { withFileLock } = require(path.join(dist, "provider", "store", "file-lock.js"));
let started = false;
for (let index = 0; index < 100_000; index += 1) {
  withFileLock(lock, async () => {
    if (!started) {
      started = true;
      process.stdout.write("holding\n");
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
