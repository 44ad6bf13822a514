// Runs file store operations in a separate OS process, for the fault tests that need another
// user: root ignores file permissions, so EACCES is only real for a process started as nobody.
//   node fault-worker.cjs <dist> <store> <material.json>
// Tries createVersion("api") with the material, then deploy("api", "production", 2), and prints
// what each did as JSON: { version } or { code, message }.
const [dist, root, materialFile] = process.argv.slice(2);
const { openStore } = require(`${dist}/provider/store`);
const material = JSON.parse(require("node:fs").readFileSync(materialFile, "utf8"));

async function outcome(call) {
  try {
    const result = await call();
    return { version: result.version };
  } catch (error) {
    return { code: error.code, message: error.message, name: error.constructor.name };
  }
}

async function main() {
  const store = openStore({ driver: "file", location: root });
  const actor = { principal: `worker-${process.pid}` };
  const created = await outcome(() => store.createVersion("api", "upload", material, actor));
  const deployed = await outcome(() => store.deploy("api", "production", 2, actor));
  process.stdout.write(JSON.stringify({ created, deployed }));
}
main().catch((error) => {
  process.stderr.write(String(error && error.stack));
  process.exit(1);
});
