// A separate OS process that hammers a file store, for the race and crash tests.
//   node race-worker.cjs <dist> <store> <materials.json> <deploys> <versions> [progress]
// Interleaves `deploys` swaps of api/production between versions 1 and 2 with `versions` new
// versions, then prints a JSON summary of what it did. With `progress`, it prints
// `step <n> <what>` after each completed write instead, so a test can kill it mid-run.
const [dist, root, materialsFile, deploys, versions, progress] = process.argv.slice(2);
const { openStore } = require(`${dist}/provider/store`);
const materials = JSON.parse(require("node:fs").readFileSync(materialsFile, "utf8"));

async function main() {
  const store = openStore({ driver: "file", location: root });
  const actor = { principal: `worker-${process.pid}` };
  const created = [];
  let swaps = 0;
  const total = Number(deploys) + Number(versions);
  for (let step = 0; step < total; step += 1) {
    if (step % Math.max(1, Math.floor(total / Math.max(1, Number(versions)))) === 0 && created.length < Number(versions)) {
      created.push((await store.createVersion("api", "upload", materials[step % materials.length], actor)).version);
      if (progress) process.stdout.write(`step ${step + 1} version ${created.at(-1)}\n`);
    } else {
      await store.deploy("api", "production", (step % 2) + 1, actor);
      swaps += 1;
      if (progress) process.stdout.write(`step ${step + 1} deploy ${(step % 2) + 1}\n`);
    }
  }
  if (!progress) process.stdout.write(JSON.stringify({ pid: process.pid, created, swaps }));
}
main().catch((error) => {
  process.stderr.write(String(error && error.stack));
  process.exit(1);
});
