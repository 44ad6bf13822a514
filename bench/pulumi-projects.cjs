/**
 * Pulumi projects for the benchmarks that run the real CLI (pulumi-scale.cjs,
 * pulumi-state-shape.cjs): the toolchain's CLI, certstage as a user installs it, and a project
 * with a file:// backend, a passphrase and a PULUMI_HOME of its own, as the e2e tier runs it.
 * Nothing leaves loopback.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { execFileSync, spawnSync } = require("node:child_process");
const { runSampled } = require("./process-cpu.cjs");

const REPOSITORY = path.join(__dirname, "..");

/** N certificates (`generate`, ECDSA P-256), one version each, deployed to staging, production (after staging) and dr. */
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

/** The environments CERTSTAGE_PROGRAM deploys to, as its `certstage:environments` setting. */
const CERTSTAGE_ENVIRONMENTS = JSON.stringify([{ name: "staging" }, { name: "production", promotion: { requires: "staging" } }, { name: "dr" }]);

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
 * A project whose node_modules links this checkout's dependencies and holds a copy of each of
 * `packages` (name → directory: the unpacked certstage, a floor's provider). `env` is added to
 * every `pulumi` command's environment. Returns `pulumi(args)`, which runs one command and
 * returns its wall time and stdout, failing on a non-zero exit, and `pulumiSampled(args)`, which
 * does the same asynchronously and adds the CPU time of each kind of process the command started.
 */
function makeProject({ root, name, program, config, pulumiBin, packages = {}, env: extraEnv = {} }) {
  const project = path.join(root, name);
  const modules = path.join(project, "node_modules");
  fs.mkdirSync(modules, { recursive: true });
  fs.writeFileSync(path.join(project, "Pulumi.yaml"), `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n`);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name, private: true, main: "index.js" }));
  fs.writeFileSync(path.join(project, "index.js"), program);
  for (const entry of fs.readdirSync(path.join(REPOSITORY, "node_modules"))) {
    if (!entry.startsWith(".") && !(entry in packages)) fs.symlinkSync(path.join(REPOSITORY, "node_modules", entry), path.join(modules, entry));
  }
  for (const [packageName, directory] of Object.entries(packages)) fs.cpSync(directory, path.join(modules, packageName), { recursive: true });
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
    ...extraEnv,
  };
  const commandLine = (args) => [...args, "--non-interactive", "--color", "never"];
  const failure = (args, result) => new Error(`${name}: pulumi ${args.join(" ")} exited ${result.status}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  const pulumi = (args) => {
    const started = process.hrtime.bigint();
    const result = spawnSync("pulumi", commandLine(args), { cwd: project, env, encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw failure(args, result);
    return { seconds, stdout: result.stdout };
  };
  /** pulumi(args), with the CPU time of each kind of process it started (process-cpu.cjs). */
  const pulumiSampled = async (args) => {
    const result = await runSampled("pulumi", commandLine(args), { cwd: project, env });
    if (result.status !== 0) throw failure(args, result);
    return { seconds: result.seconds, stdout: result.stdout, cpu: result.cpu };
  };
  pulumi(["stack", "init", "bench"]);
  for (const [key, value] of Object.entries(config)) pulumi(["config", "set", "--stack", "bench", key, value]);
  return { name, pulumi, pulumiSampled };
}

module.exports = { CERTSTAGE_PROGRAM, CERTSTAGE_ENVIRONMENTS, toolchainBin, packedCertstage, makeProject };
