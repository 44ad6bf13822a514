/**
 * certstage at the size of a real platform, through the real Pulumi CLI: a program of N
 * certificates (`generate`, ECDSA P-256), each with one version deployed to three environments
 * (staging, then production, which requires staging, and dr), against a floor program with the
 * same number of dynamic resources in the same dependency shape whose provider does nothing.
 * Both run in the same benchmark, phase by phase (preview of the creation, `up`, `refresh`, a
 * preview with nothing to change, `destroy`), certstage first and then the floor.
 *
 * What is measured per phase: wall time of the `pulumi` command; for the stack after `up`, the
 * bytes of `pulumi stack export` (the checkpoint the engine rewrites after every step, which is
 * why state size costs time on every step).
 *
 *   CERTSTAGE_BENCH_SCALE_SIZES=100,300,1000   certificates per run (default), × 3 environments
 *   CERTSTAGE_BENCH_SCALE_CHECKPOINTS=skip     a diagnosis, not a way to run: both sides with
 *                                              PULUMI_SKIP_CHECKPOINTS=true, so what is left is
 *                                              the providers' and the engine's work per step
 *                                              without the checkpoint rewrites (its own section)
 *
 * The Pulumi CLI is the toolchain's (scripts/pulumi-toolchain.sh), with a file:// backend, a
 * passphrase and a PULUMI_HOME of the run's own, as the e2e tier runs it. Nothing leaves loopback.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync, spawnSync } = require("node:child_process");

const REPOSITORY = path.join(__dirname, "..");
const SIZES = (process.env.CERTSTAGE_BENCH_SCALE_SIZES ?? "100,300,1000").split(",").map(Number);
const ENVIRONMENTS = 3;
// Never what users should do (checkpoints are what lets an interrupted `up` recover): it separates
// the cost that grows with the stack (the engine rewriting the whole state after every step, on
// the file backend) from the cost per resource.
const SKIP_CHECKPOINTS = process.env.CERTSTAGE_BENCH_SCALE_CHECKPOINTS === "skip";

const CERTSTAGE_PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const { Certificate, CertificateVersion, EnvironmentDeployment } = require("certstage");
const count = new pulumi.Config().requireNumber("count");
for (let i = 0; i < count; i++) {
  const name = "c" + i;
  const certificate = new Certificate(name, { name });
  const version = new CertificateVersion(name, {
    certificate,
    generate: { keyAlgorithm: "ECDSA-P256", subject: { commonName: name + ".example.test" }, sans: [name + ".example.test"] },
  });
  const staging = new EnvironmentDeployment(name + "-staging", { version, environment: "staging" });
  new EnvironmentDeployment(name + "-production", { version, environment: "production" }, { dependsOn: [staging] });
  new EnvironmentDeployment(name + "-dr", { version, environment: "dr" });
}
`;

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

/** The directory holding the toolchain's `pulumi`, built on first use. */
function toolchainBin() {
  const output = execFileSync("bash", [path.join(REPOSITORY, "scripts", "pulumi-toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return output.trim().split("\n").at(-1);
}

/**
 * certstage as a user's project gets it from a registry: this checkout's `npm pack` tarball,
 * unpacked into `node_modules/certstage` (a real directory, not a link: Pulumi serializes the
 * provider of an installed package as a `require`, and a linked one by value).
 */
function packedCertstage(scratch) {
  const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: REPOSITORY, encoding: "utf8" }).trim().split("\n").at(-1);
  const unpacked = path.join(scratch, "certstage-package");
  fs.mkdirSync(unpacked);
  execFileSync("tar", ["-xzf", path.join(scratch, tarball), "-C", unpacked, "--strip-components=1"]);
  return unpacked;
}

/**
 * A project whose node_modules links this checkout's dependencies and, given `certstagePackage`,
 * holds a copy of the unpacked certstage (the floor needs none).
 */
function makeProject({ root, name, program, config, pulumiBin, certstagePackage }) {
  const project = path.join(root, name);
  const modules = path.join(project, "node_modules");
  fs.mkdirSync(modules, { recursive: true });
  fs.writeFileSync(path.join(project, "Pulumi.yaml"), `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n`);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name, private: true, main: "index.js" }));
  fs.writeFileSync(path.join(project, "index.js"), program);
  for (const entry of fs.readdirSync(path.join(REPOSITORY, "node_modules"))) {
    if (!entry.startsWith(".")) fs.symlinkSync(path.join(REPOSITORY, "node_modules", entry), path.join(modules, entry));
  }
  if (certstagePackage) fs.cpSync(certstagePackage, path.join(modules, "certstage"), { recursive: true });
  const home = path.join(root, `${name}-home`);
  const state = path.join(root, `${name}-state`);
  fs.mkdirSync(home);
  fs.mkdirSync(state);
  const env = {
    ...process.env,
    PATH: `${pulumiBin}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: "certstage-bench-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    NO_COLOR: "1",
    CERTSTAGE_PRINCIPAL: "bench",
    ...(SKIP_CHECKPOINTS ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
  };
  const pulumi = (args) => {
    const started = process.hrtime.bigint();
    const result = spawnSync("pulumi", [...args, "--non-interactive", "--color", "never"], { cwd: project, env, encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`${name}: pulumi ${args.join(" ")} exited ${result.status}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
    return { seconds, stdout: result.stdout };
  };
  pulumi(["stack", "init", "bench"]);
  for (const [key, value] of Object.entries(config)) pulumi(["config", "set", "--stack", "bench", key, value]);
  return { name, pulumi };
}

const PHASES = [
  ["preview", ["preview", "--stack", "bench"]],
  ["up", ["up", "--yes", "--skip-preview", "--stack", "bench"]],
  ["refresh", ["refresh", "--yes", "--skip-preview", "--stack", "bench"]],
  ["preview, no change", ["preview", "--stack", "bench", "--expect-no-changes"]],
];

function ratio(a, b) {
  return `${(a / b).toFixed(2)}×`;
}

async function measureSize({ scratch, certificates, pulumiBin, certstagePackage }) {
  const root = path.join(scratch, `n${certificates}`);
  fs.mkdirSync(root);
  const environments = JSON.stringify([{ name: "staging" }, { name: "production", promotion: { requires: "staging" } }, { name: "dr" }]);
  const sides = [
    makeProject({ root, name: "certstage-scale", program: CERTSTAGE_PROGRAM, pulumiBin, certstagePackage, config: { count: String(certificates), "certstage:store": path.join(root, "store"), "certstage:environments": environments } }),
    makeProject({ root, name: "floor", program: FLOOR_PROGRAM, pulumiBin, config: { count: String(certificates) } }),
  ];
  const resources = certificates * (2 + ENVIRONMENTS);
  const figures = { certificates, resources, phases: {}, stateBytes: {} };
  for (const [phase, args] of PHASES) {
    for (const side of sides) {
      console.log(`  ${certificates} certificates: ${side.name} ${phase} …`);
      (figures.phases[phase] ??= {})[side.name] = side.pulumi(args).seconds;
    }
    if (phase === "up") {
      for (const side of sides) figures.stateBytes[side.name] = Buffer.byteLength(side.pulumi(["stack", "export", "--stack", "bench"]).stdout);
    }
  }
  for (const side of sides) {
    console.log(`  ${certificates} certificates: ${side.name} destroy …`);
    (figures.phases.destroy ??= {})[side.name] = side.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "bench"]).seconds;
  }
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
    ].join(" "),
    tables: [
      { headers: ["certificates × environments", "resources", "phase", "certstage", "floor", "certstage / floor", "certstage per resource", "floor per resource"], rows: timeRows },
      { headers: ["certificates × environments", "resources", "state: certstage", "state: floor", "certstage per resource", "floor per resource", "certstage / floor"], rows: stateRows },
    ],
  };
};
