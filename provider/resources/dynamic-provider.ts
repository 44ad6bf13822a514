/**
 * The code Pulumi serializes into every certstage resource's `__provider` in state.
 *
 * Pulumi stores a dynamic provider's closure as source text, twice per resource (inputs and
 * outputs), and re-evaluates it in a separate provider process, also for deletes and refreshes
 * long after the program changed. The engine rewrites the whole state after every step, so every
 * byte of it is paid once per step: at a few thousand resources, a 4 KB provider text made `up`
 * several times slower than the same stack with a small one (bench/pulumi-scale.cjs).
 *
 * So the provider of each kind is a module of its own in `kind-providers/`, whose exports are the
 * methods. Pulumi's closure serializer writes a module object that comes from a package under
 * `node_modules` (certstage installed from a registry or a tarball) as one
 * `require("certstage/dist/provider/resources/kind-providers/<kind>.js")`: about 240 bytes.
 * When certstage is not under `node_modules` (a checkout running its own examples, or a linked
 * install), the serializer writes the object by value instead: the methods below and the loader
 * they call, about 3.9 KB, which still works from any directory.
 *
 * Either way nothing absolute (a checkout path), large (the PKI code) or secret is captured, so a
 * CI clone in another directory can still delete what a laptop created, and upgrading certstage
 * upgrades the code that manages existing resources, as it would with a provider plugin. The
 * diffs ignore `__provider` (handler.ts withoutProvider), so a new text never shows as a change.
 */
import type * as pulumi from "@pulumi/pulumi";

export type ResourceKind = "Certificate" | "CertificateVersion" | "EnvironmentDeployment" | "AcmeRenewal";

/** What `runtime.ts` exports; typed loosely here because this file must not import it. */
interface ProviderRuntime {
  configure(config: pulumi.dynamic.Config): void;
  providerFor(kind: ResourceKind): Required<Omit<pulumi.dynamic.ResourceProvider, "configure">>;
}

/**
 * Finds certstage's provider runtime. Evaluated in the provider process, whose working directory
 * is the Pulumi program's: first the package as the program installed it, then (when the program
 * lives inside certstage's own repository, as the quickstart and examples do) that checkout.
 */
function loadCertstageRuntime(): ProviderRuntime {
  const nodePath = require("path") as typeof import("path");
  const nodeFs = require("fs") as typeof import("fs");
  const entry = "dist/provider/resources/runtime.js";
  try {
    return require(require.resolve(`certstage/${entry}`, { paths: [process.cwd()] })) as ProviderRuntime;
  } catch (error) {
    if ((error as { code?: string }).code !== "MODULE_NOT_FOUND") throw error;
  }
  for (let directory = process.cwd(); ; directory = nodePath.dirname(directory)) {
    const manifest = nodePath.join(directory, "package.json");
    if (nodeFs.existsSync(manifest) && JSON.parse(nodeFs.readFileSync(manifest, "utf8")).name === "certstage") {
      return require(nodePath.join(directory, entry)) as ProviderRuntime;
    }
    if (nodePath.dirname(directory) === directory) break;
  }
  throw new Error(`certstage: cannot find the certstage package from ${process.cwd()}; add it to the Pulumi program's dependencies (npm install certstage)`);
}

/** The provider of one kind; called only by the modules in `kind-providers/`, once each. */
export function makeDynamicProvider(kind: ResourceKind): Required<pulumi.dynamic.ResourceProvider> {
  return {
    configure: async (request) => loadCertstageRuntime().configure(request.config),
    check: (olds, news) => loadCertstageRuntime().providerFor(kind).check(olds, news),
    diff: (id, olds, news) => loadCertstageRuntime().providerFor(kind).diff(id, olds, news),
    create: (inputs) => loadCertstageRuntime().providerFor(kind).create(inputs),
    read: (id, props) => loadCertstageRuntime().providerFor(kind).read(id, props),
    update: (id, olds, news) => loadCertstageRuntime().providerFor(kind).update(id, olds, news),
    delete: (id, props) => loadCertstageRuntime().providerFor(kind).delete(id, props),
  };
}

/**
 * The provider object to hand Pulumi for a `kind-providers/` module imported with `import * as`.
 * Compiled to CommonJS (as certstage ships) that is the module's own exports object, which the
 * serializer can write as a `require`. Loaded as an ES module (a test runner running the
 * TypeScript sources) it is a module namespace, which the serializer cannot write by value; a
 * plain copy of its methods serializes as the linked case does.
 */
export function providerObject(module: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  if ((module as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] !== "Module") return module;
  const { configure, check, diff, create, read, update, delete: deleteResource } = module as Required<pulumi.dynamic.ResourceProvider>;
  return { configure, check, diff, create, read, update, delete: deleteResource };
}
