// A separate OS process that swaps certificate `api` between versions 1 and 2 in staging (nginx,
// directory target + `nginx -s reload`) and production (HAProxy runtime API), forever, through
// the same rollout `pulumi up` uses. The crash-safety test kills it with SIGKILL at random points.
//   node swap-worker.cjs <dist> <store> <environments.json>
// Prints `ready`, then `<environment> v<n>` after each completed swap.
const [dist, root, environmentsJson] = process.argv.slice(2);
const { openStore } = require(`${dist}/provider/store`);
const { rollout } = require(`${dist}/provider/targets/rollout`);
const { environmentDefinitionsFrom } = require(`${dist}/provider/settings/environments`);

async function main() {
  const store = openStore({ driver: "file", location: root });
  const context = { store, actor: { principal: `swap-worker-${process.pid}` }, environments: environmentDefinitionsFrom(JSON.parse(environmentsJson)) };
  process.stdout.write("ready\n");
  for (;;) {
    for (const environment of ["staging", "production"]) {
      const current = await store.getDeployment("api", environment);
      const version = current?.version === 1 ? 2 : 1;
      await rollout(context, { certificate: "api", environment, version });
      process.stdout.write(`${environment} v${version}\n`);
    }
  }
}
main().catch((error) => {
  process.stderr.write(String(error && error.stack));
  process.exit(1);
});
