/**
 * What a Pulumi checkpoint costs, by what state holds: a diagnosis behind how certstage shapes the
 * outputs it keeps in state. The engine rewrites the whole state after every step, so everything
 * a resource keeps there is paid for again at every later step; this asks whether that cost
 * follows the bytes of state or the number of values in it.
 *
 * Floor programs with the dependency shape of pulumi-scale.cjs (N certificates × 3 environments,
 * 5 resources each) whose provider only returns its inputs, in four variants, each run through
 * `up` and `destroy` by the real CLI:
 *   - floor: one short input per resource (and the resource's kind);
 *   - certstage's values: each resource carries the inputs and outputs a certstage resource of its
 *     kind has in state (taken from a real certstage stack of 2 certificates made first);
 *   - certstage's bytes as one value: the same bytes per resource as the previous variant, in one
 *     string;
 *   - certstage's count of values, few bytes: as many values per resource as the certstage-shaped
 *     variant, each a small number.
 * and certstage's own program of the same size, as the check that the certstage-shaped floor costs
 * what certstage costs. Every floor's provider is a package (`require`d from state like
 * certstage's), so all sides serialize a provider of the same kind. Rounds alternate the order.
 *
 *   CERTSTAGE_BENCH_SHAPE_CERTIFICATES=100   certificates per program (default 100), × 3 environments
 *   CERTSTAGE_BENCH_SHAPE_ROUNDS=2           rounds (default 2)
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { CERTSTAGE_ENVIRONMENTS, CERTSTAGE_PROGRAM, makeProject, packedCertstage, toolchainBin } = require("./pulumi-projects.cjs");

const REPOSITORY = path.join(__dirname, "..");
const CERTIFICATES = Number(process.env.CERTSTAGE_BENCH_SHAPE_CERTIFICATES ?? 100);
const ROUNDS = Number(process.env.CERTSTAGE_BENCH_SHAPE_ROUNDS ?? 2);
const RESOURCES_PER_CERTIFICATE = 5;
const KINDS = ["Certificate", "CertificateVersion", "EnvironmentDeployment"];

/**
 * The floors' provider, a package: its check adds the inputs its variant's check adds for the
 * resource's kind (as certstage's check adds what it read from the inputs), its create returns
 * the inputs with the outputs the variant gives.
 */
const FLOOR_PROVIDER = `"use strict";
const shapes = JSON.parse(require("node:fs").readFileSync(process.env.CERTSTAGE_BENCH_SHAPES, "utf8"));
const shapeOf = (inputs) => shapes[inputs.kind] || {};
exports.check = async (olds, news) => ({ inputs: { ...news, ...(shapeOf(news).checked || {}) } });
exports.create = async (inputs) => ({ id: inputs.name, outs: { ...inputs, ...(shapeOf(inputs).outputs || {}) } });
`;

const FLOOR_PROGRAM = `"use strict";
const fs = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const provider = require("bench-floor-provider");
const shapes = JSON.parse(fs.readFileSync(process.env.CERTSTAGE_BENCH_SHAPES, "utf8"));
class Noop extends pulumi.dynamic.Resource {
  constructor(name, inputs, opts) { super(provider, name, inputs, opts); }
}
const inputsOf = (kind, own) => ({ ...((shapes[kind] || {}).inputs || {}), ...own, kind });
const count = new pulumi.Config().requireNumber("count");
for (let i = 0; i < count; i++) {
  const name = "c" + i;
  const certificate = new Noop(name, inputsOf("Certificate", { name }));
  const version = new Noop(name + "-v", inputsOf("CertificateVersion", { name, certificate: certificate.id }));
  const staging = new Noop(name + "-staging", inputsOf("EnvironmentDeployment", { name, version: version.id }));
  new Noop(name + "-production", inputsOf("EnvironmentDeployment", { name, version: version.id }), { dependsOn: [staging] });
  new Noop(name + "-dr", inputsOf("EnvironmentDeployment", { name, version: version.id }));
}
`;

/** Every JSON value under `value` (objects, arrays and scalars alike), not counting `value` itself. */
function valuesIn(value) {
  if (value === null || typeof value !== "object") return 0;
  let count = 0;
  for (const member of Object.values(value)) count += 1 + valuesIn(member);
  return count;
}

/** What a resource keeps that its program and provider decide: inputs, outputs and the inputs' dependencies. */
function carried(resource) {
  return { inputs: resource.inputs ?? {}, outputs: resource.outputs ?? {}, propertyDependencies: resource.propertyDependencies ?? {} };
}

function withoutProvider(properties) {
  const { __provider: _provider, ...rest } = properties;
  return rest;
}

/** Per-resource figures of a stack's export: bytes (compact JSON, as the file backend writes it) and values. */
function stateFigures(exported) {
  const resources = JSON.parse(exported).deployment.resources.filter((resource) => resource.type.includes(":dynamic"));
  const bytes = resources.reduce((sum, resource) => sum + JSON.stringify(resource).length, 0);
  const values = resources.reduce((sum, resource) => sum + valuesIn(carried(resource)), 0);
  return { bytesPerResource: bytes / resources.length, valuesPerResource: values / resources.length };
}

/**
 * The variants' shapes from a certstage stack's resources and a plain floor's: per kind, the
 * inputs the program passes, those the provider's check adds, and the outputs its create adds.
 * certstage's program passes the inputs its propertyDependencies name; its check adds the rest.
 */
function shapesFrom(certstageResources, floorResources) {
  const kindOf = (resource) => KINDS.find((kind) => resource.type.endsWith(`:${kind}`));
  const certstage = Object.fromEntries(KINDS.map((kind) => [kind, certstageResources.find((resource) => kindOf(resource) === kind)]));
  const floor = Object.fromEntries(KINDS.map((kind) => [kind, floorResources.find((resource) => resource.inputs?.kind === kind)]));
  const values = {}, bytes = {}, count = {};
  for (const kind of KINDS) {
    const passed = new Set(Object.keys(certstage[kind].propertyDependencies ?? {}));
    const inputs = Object.entries(withoutProvider(certstage[kind].inputs));
    values[kind] = {
      inputs: Object.fromEntries(inputs.filter(([name]) => passed.has(name))),
      checked: Object.fromEntries(inputs.filter(([name]) => !passed.has(name))),
      outputs: withoutProvider(certstage[kind].outputs),
    };
    const extraBytes = JSON.stringify(carried(certstage[kind])).length - JSON.stringify(carried(floor[kind])).length;
    const extraValues = valuesIn(carried(certstage[kind])) - valuesIn(carried(floor[kind]));
    // An input is echoed into the outputs and listed in propertyDependencies: 3 values, its bytes twice.
    bytes[kind] = { inputs: { pad: "x".repeat(Math.max(0, Math.round(extraBytes / 2) - 16)) } };
    count[kind] = { inputs: Object.fromEntries(Array.from({ length: Math.max(0, Math.round(extraValues / 3)) }, (_, index) => [`v${index}`, 0])) };
  }
  return { values, bytes, count };
}

function run(side) {
  const up = side.pulumi(["up", "--yes", "--skip-preview", "--stack", "bench"]).seconds;
  const state = stateFigures(side.pulumi(["stack", "export", "--stack", "bench"]).stdout);
  const destroy = side.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "bench"]).seconds;
  return { up, destroy, ...state };
}

module.exports = async function pulumiStateShape() {
  const pulumiBin = toolchainBin();
  const version = execFileSync(path.join(pulumiBin, "pulumi"), ["version"], { encoding: "utf8" }).trim();
  const sdk = require(path.join(REPOSITORY, "node_modules", "@pulumi", "pulumi", "package.json")).version;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "certstage-bench-shape-"));
  const figures = {};
  try {
    const certstagePackage = packedCertstage(scratch);
    const floorProvider = path.join(scratch, "bench-floor-provider");
    fs.mkdirSync(floorProvider);
    fs.writeFileSync(path.join(floorProvider, "package.json"), JSON.stringify({ name: "bench-floor-provider", version: "1.0.0", main: "index.js" }));
    fs.writeFileSync(path.join(floorProvider, "index.js"), FLOOR_PROVIDER);
    const shapeFile = (name) => path.join(scratch, `${name}.json`);
    fs.writeFileSync(shapeFile("floor"), "{}");

    const project = (root, name, shapes, count) =>
      shapes === undefined
        ? makeProject({ root, name, program: CERTSTAGE_PROGRAM, pulumiBin, packages: { certstage: certstagePackage }, config: { count: String(count), "certstage:store": path.join(root, `${name}-store`), "certstage:environments": CERTSTAGE_ENVIRONMENTS } })
        : makeProject({ root, name, program: FLOOR_PROGRAM, pulumiBin, packages: { "bench-floor-provider": floorProvider }, env: { CERTSTAGE_BENCH_SHAPES: shapeFile(shapes) }, config: { count: String(count) } });

    // The shapes: what a certstage stack of 2 certificates and a plain floor of 2 keep per resource.
    const sample = path.join(scratch, "sample");
    fs.mkdirSync(sample);
    const exportAfterUp = (side) => (side.pulumi(["up", "--yes", "--skip-preview", "--stack", "bench"]), JSON.parse(side.pulumi(["stack", "export", "--stack", "bench"]).stdout).deployment.resources);
    const shapes = shapesFrom(exportAfterUp(project(sample, "certstage-sample", undefined, 2)), exportAfterUp(project(sample, "floor-sample", "floor", 2)));
    for (const [name, shape] of Object.entries(shapes)) fs.writeFileSync(shapeFile(name), JSON.stringify(shape));

    const variants = [
      ["floor", "floor: one short input per resource"],
      ["values", "floor with certstage's inputs and outputs"],
      ["bytes", "floor with certstage's bytes as one value"],
      ["count", "floor with certstage's count of values, few bytes"],
      [undefined, "certstage"],
    ];
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      const root = path.join(scratch, `round${round}`);
      fs.mkdirSync(root);
      for (const [shape, label] of order) {
        console.log(`  round ${round + 1}: ${label} …`);
        (figures[label] ??= []).push(run(project(root, shape ?? "certstage", shape, CERTIFICATES)));
      }
      fs.rmSync(root, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const mean = (runs, key) => runs.reduce((sum, one) => sum + one[key], 0) / runs.length;
  const floorUp = mean(figures["floor: one short input per resource"], "up");
  const floorDestroy = mean(figures["floor: one short input per resource"], "destroy");
  const seconds = (runs, key) => runs.map((one) => one[key].toFixed(1)).join(" / ") + " s";
  const rows = Object.entries(figures).map(([label, runs]) => [
    label,
    `${Math.round(mean(runs, "bytesPerResource"))} B`,
    mean(runs, "valuesPerResource").toFixed(0),
    seconds(runs, "up"),
    `${(mean(runs, "up") / floorUp).toFixed(2)}×`,
    seconds(runs, "destroy"),
    `${(mean(runs, "destroy") / floorDestroy).toFixed(2)}×`,
  ]);
  const resources = CERTIFICATES * RESOURCES_PER_CERTIFICATE;
  return {
    title: "What a checkpoint costs: values in state against bytes (a diagnosis)",
    description: [
      `Floor programs of ${CERTIFICATES} certificates × 3 environments (${resources} dynamic resources in pulumi-scale's dependency shape) whose provider only returns its inputs, carrying: one short input each; the inputs and outputs a certstage resource of the same kind keeps in state (from a certstage stack made first); the same bytes as one string; the same count of values, each a small number. Then certstage's own program of that size.`,
      `Each ran \`up\` and \`destroy\` through Pulumi CLI ${version}, @pulumi/pulumi ${sdk}, ${process.version}, file:// backend; ${ROUNDS} rounds, the order reversed every other round; times are each round's, ratios their mean over the plain floor's.`,
      "Bytes are per resource in the compact JSON the file backend writes; values count every JSON value of a resource's inputs, outputs and propertyDependencies. If the cost followed bytes, the one-string variant would cost what certstage's values cost; if it follows values, the few-bytes variant does.",
    ].join(" "),
    tables: [{ headers: ["program", "state per resource", "values per resource", "up", "up / floor", "destroy", "destroy / floor"], rows }],
  };
};
