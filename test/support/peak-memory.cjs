// Preloaded with `node --require`: when the process exits, writes its peak resident set size (KiB,
// from getrusage) to the file $CERTSTAGE_TEST_PEAK_RSS_FILE, for tests that bound a command's memory.
"use strict";
process.on("exit", () => {
  require("node:fs").writeFileSync(process.env.CERTSTAGE_TEST_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS));
});
