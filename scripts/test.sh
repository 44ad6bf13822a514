#!/usr/bin/env bash
# Every test tier: unit, store, provider and end to end (the real Pulumi CLI, built on first use).
# Extra arguments go to vitest (e.g. `npm test -- --project unit`). Under CI=true a skipped test
# fails the run: every tier must execute.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The default Node (22 LTS, scripts/node.sh) first on PATH: vitest and every node, npm and npx the
# tests start run on it. The compat tier starts Node 20 itself (test/compat/global-setup.ts).
PATH="$(bash scripts/node.sh | tail -n 1):$PATH"
export PATH

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build

report="$(mktemp -d)/vitest.json"
status=0
npx vitest run --config test/vitest.config.mts --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

node - "$report" "$status" <<'JS'
const [reportFile, vitestStatus] = process.argv.slice(2);
const fs = require("node:fs");
if (!fs.existsSync(reportFile)) {
  console.log(`vitest wrote no report (exit ${vitestStatus})`);
  process.exit(Number(vitestStatus) || 1);
}
const report = JSON.parse(fs.readFileSync(reportFile, "utf8"));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`\n${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (process.env.CI === "true" && skipped > 0) {
  console.log("CI=true: skipped tests are not allowed; every tier must run.");
  process.exit(1);
}
if (report.numTotalTests === 0) process.exit(1);
process.exit(Number(vitestStatus));
JS
