#!/usr/bin/env node
// A dns-01 hook as certstage runs one (no shell): `challtestsrv-hook.cjs <management-url>
// present|cleanup <record name> <value>`. It sets or clears the TXT record through
// pebble-challtestsrv's management API, standing in for a DNS provider's API in tests.
const [managementUrl, action, name, value] = process.argv.slice(2);
const path = action === "present" ? "/set-txt" : action === "cleanup" ? "/clear-txt" : undefined;
if (!path || !name) {
  console.error("usage: challtestsrv-hook.cjs <management-url> present|cleanup <name> [value]");
  process.exit(2);
}
const body = JSON.stringify(action === "present" ? { host: `${name}.`, value } : { host: `${name}.` });
fetch(new URL(path, managementUrl), { method: "POST", body, headers: { "content-type": "application/json" } }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  (error) => {
    console.error(String(error));
    process.exit(1);
  },
);
