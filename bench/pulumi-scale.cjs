/**
 * certstage at the size of a real platform, through the real Pulumi CLI: a program of N
 * certificates (`generate`, ECDSA P-256), each with one version deployed to three environments
 * (staging, then production, which requires staging, and dr), against a floor program with the
 * same number of dynamic resources in the same dependency shape whose provider does nothing.
 * Both run in the same benchmark, phase by phase (preview of the creation, `up`, `refresh`, a
 * preview with nothing to change, `destroy`), certstage first and then the floor.
 *
 * What is measured per phase: wall time of the `pulumi` command, and the CPU time of each process
 * it started (process-cpu.cjs: the engine, the program, the dynamic provider, the language host);
 * for the stack after `up`, the bytes of `pulumi stack export` (the checkpoint the engine rewrites
 * after every step, which is why state size costs time on every step).
 *
 *   CERTSTAGE_BENCH_SCALE_SIZES=100,300,1000   certificates per run (default), × 3 environments
 *   CERTSTAGE_BENCH_SCALE_CHECKPOINTS=skip     a diagnosis, not a way to run: both sides with
 *                                              PULUMI_SKIP_CHECKPOINTS=true, so what is left is
 *                                              the providers' and the engine's work per step
 *                                              without the checkpoint rewrites (its own section)
 *
 * The Pulumi CLI is the toolchain's (scripts/pulumi-toolchain.sh), with a file:// backend, a
 * passphrase and a PULUMI_HOME of the run's own, as the e2e tier runs it (pulumi-projects.cjs).
 * Nothing leaves loopback.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { CERTSTAGE_ENVIRONMENTS, CERTSTAGE_PROGRAM, makeProject, packedCertstage, toolchainBin } = require("./pulumi-projects.cjs");

const REPOSITORY = path.join(__dirname, "..");
const SIZES = (process.env.CERTSTAGE_BENCH_SCALE_SIZES ?? "100,300,1000").split(",").map(Number);
const ENVIRONMENTS = 3;
// Never what users should do (checkpoints are what lets an interrupted `up` recover): it separates
// the cost that grows with the stack (the engine rewriting the whole state after every step, on
// the file backend) from the cost per resource.
const SKIP_CHECKPOINTS = process.env.CERTSTAGE_BENCH_SCALE_CHECKPOINTS === "skip";
const CHECKPOINT_ENV = SKIP_CHECKPOINTS ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {};

// The floor: what any Node dynamic provider costs the engine per resource. Its provider is the
// smallest Pulumi lets a dynamic provider be, and its resources carry one short input each.
const FLOOR_PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const provider = { create: async (inputs) => ({ id: inputs.name, outs: inputs }) };
class Noop extends pulumi.dynamic.Resource {
  constructor(name, inputs, opts) { super(provider, name, inputs, opts); }
}
const count = new pulumi.Config().requireNumber("count");
for (let i = 0; i < count; i++) {
  const name = "c" + i;
  const certificate = new Noop(name, { name });
  const version = new Noop(name + "-v", { name, certificate: certificate.id });
  const staging = new Noop(name + "-staging", { name, version: version.id });
  new Noop(name + "-production", { name, version: version.id }, { dependsOn: [staging] });
  new Noop(name + "-dr", { name, version: version.id });
}
`;

const PHASES = [
  ["preview", ["preview", "--stack", "bench"]],
  ["up", ["up", "--yes", "--skip-preview", "--stack", "bench"]],
  ["refresh", ["refresh", "--yes", "--skip-preview", "--stack", "bench"]],
  ["preview, no change", ["preview", "--stack", "bench", "--expect-no-changes"]],
];

/** How the CPU table names each kind of process (process-cpu.cjs). */
const CPU_KINDS = { engine: "engine (`pulumi`)", provider: "dynamic provider", program: "program (Node)", languageHost: "language host" };

/** Seconds to a tenth, with no "-0.0" for a difference that rounds to nothing. */
function signedTenths(seconds) {
  const tenths = Math.round(seconds * 10);
  return (tenths === 0 ? 0 : tenths / 10).toFixed(1);
}

function ratio(a, b) {
  return `${(a / b).toFixed(2)}×`;
}

async function measureSize({ scratch, certificates, pulumiBin, certstagePackage }) {
  const root = path.join(scratch, `n${certificates}`);
  fs.mkdirSync(root);
  const sides = [
    makeProject({ root, name: "certstage-scale", program: CERTSTAGE_PROGRAM, pulumiBin, packages: { certstage: certstagePackage }, env: CHECKPOINT_ENV, config: { count: String(certificates), "certstage:store": path.join(root, "store"), "certstage:environments": CERTSTAGE_ENVIRONMENTS } }),
    makeProject({ root, name: "floor", program: FLOOR_PROGRAM, pulumiBin, env: CHECKPOINT_ENV, config: { count: String(certificates) } }),
  ];
  const resources = certificates * (2 + ENVIRONMENTS);
  const figures = { certificates, resources, phases: {}, cpu: {}, stateBytes: {} };
  const run = async (side, phase, args) => {
    console.log(`  ${certificates} certificates: ${side.name} ${phase} …`);
    const result = await side.pulumiSampled(args);
    (figures.phases[phase] ??= {})[side.name] = result.seconds;
    (figures.cpu[phase] ??= {})[side.name] = result.cpu;
  };
  for (const [phase, args] of PHASES) {
    for (const side of sides) await run(side, phase, args);
    if (phase === "up") {
      for (const side of sides) figures.stateBytes[side.name] = Buffer.byteLength(side.pulumi(["stack", "export", "--stack", "bench"]).stdout);
    }
  }
  for (const side of sides) await run(side, "destroy", ["destroy", "--yes", "--skip-preview", "--stack", "bench"]);
  fs.rmSync(root, { recursive: true, force: true });
  return figures;
}

module.exports = async function pulumiScale() {
  const pulumiBin = toolchainBin();
  const version = execFileSync(path.join(pulumiBin, "pulumi"), ["version"], { encoding: "utf8" }).trim();
  const sdk = require(path.join(REPOSITORY, "node_modules", "@pulumi", "pulumi", "package.json")).version;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-scale-"));
  const results = [];
  try {
    const certstagePackage = packedCertstage(scratch);
    for (const certificates of SIZES) results.push(await measureSize({ scratch, certificates, pulumiBin, certstagePackage }));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const phases = [...PHASES.map(([phase]) => phase), "destroy"];
  const timeRows = results.flatMap((result) =>
    phases.map((phase) => {
      const ours = result.phases[phase]["certstage-scale"];
      const floor = result.phases[phase].floor;
      return [`${result.certificates} × ${ENVIRONMENTS}`, String(result.resources), phase, `${ours.toFixed(1)} s`, `${floor.toFixed(1)} s`, ratio(ours, floor), `${((ours * 1000) / result.resources).toFixed(1)} ms`, `${((floor * 1000) / result.resources).toFixed(1)} ms`];
    }),
  );
  // Whose work the difference is: the phases that change the stack, where the engine writes checkpoints.
  const cpuRows = results.flatMap((result) =>
    // destroy runs no program.
    [["up", ["engine", "provider", "program", "languageHost"]], ["destroy", ["engine", "provider"]]].flatMap(([phase, kinds]) => {
      const ours = result.cpu[phase]["certstage-scale"];
      const floor = result.cpu[phase].floor;
      return kinds.map((kind) => [`${result.certificates} × ${ENVIRONMENTS}`, phase, CPU_KINDS[kind], `${ours[kind].toFixed(1)} s`, `${floor[kind].toFixed(1)} s`, `${signedTenths(ours[kind] - floor[kind])} s`]);
    }),
  );
  const stateRows = results.map((result) => {
    const ours = result.stateBytes["certstage-scale"];
    const floor = result.stateBytes.floor;
    return [`${result.certificates} × ${ENVIRONMENTS}`, String(result.resources), `${(ours / 1024 ** 2).toFixed(2)} MiB`, `${(floor / 1024 ** 2).toFixed(2)} MiB`, `${Math.round(ours / result.resources)} B`, `${Math.round(floor / result.resources)} B`, ratio(ours, floor)];
  });
  return {
    title: SKIP_CHECKPOINTS ? "Pulumi at scale without checkpoints (a diagnosis): certstage against a floor program" : "Pulumi at scale: certstage against a floor program",
    description: [
      ...(SKIP_CHECKPOINTS
        ? ["Both sides ran with `PULUMI_SKIP_CHECKPOINTS=true` (`CERTSTAGE_BENCH_SCALE_CHECKPOINTS=skip`): not a setting to run with, since the checkpoints are what lets an interrupted `up` recover, but it takes away the one cost that grows with the stack (the file backend rewrites the whole state after every step), so time per resource shows what each resource itself costs."]
        : []),
      `N certificates (\`generate\`, ECDSA P-256), one version each, deployed to staging, production (which requires staging) and dr, on the file store: 5 resources per certificate. The floor is the same number of dynamic resources in the same dependency shape, whose provider only returns its inputs. Pulumi CLI ${version}, @pulumi/pulumi ${sdk}, ${process.version}, file:// backend, certstage installed from its \`npm pack\` tarball. One run of each command; each row ran certstage's command and then the floor's.`,
      "Time per resource is the command's wall time over its resources: it stays flat only while nothing grows faster than the stack (the engine rewrites the whole checkpoint after every step, for the floor too).",
      "The last table splits the CPU time of `up` and `destroy` by process (bench/process-cpu.cjs, from /proc while each command ran): the engine is the `pulumi` process itself, which writes the checkpoints; the provider is the Node process serving both programs' dynamic resources (certstage's store work, for certstage); the program is the Node process running index.js.",
    ].join(" "),
    tables: [
      { headers: ["certificates × environments", "resources", "phase", "certstage", "floor", "certstage / floor", "certstage per resource", "floor per resource"], rows: timeRows },
      { headers: ["certificates × environments", "resources", "state: certstage", "state: floor", "certstage per resource", "floor per resource", "certstage / floor"], rows: stateRows },
      { headers: ["certificates × environments", "phase", "CPU of", "certstage", "floor", "certstage − floor"], rows: cpuRows },
    ],
  };
};
