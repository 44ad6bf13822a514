/**
 * The code Pulumi serializes into every certstage resource's `__provider` in state.
 *
 * Pulumi stores a dynamic provider's closure as source text and re-evaluates it in a separate
 * provider process, also for deletes and refreshes long after the program changed. So what is
 * serialized here is deliberately tiny: the resource kind and a loader that finds the installed
 * certstage package from the program's directory at run time. Nothing absolute (a checkout path),
 * large (the PKI code) or secret is captured, so state stays small, a CI clone in another
 * directory can still delete what a laptop created, and upgrading certstage upgrades the code
 * that manages existing resources, as it would with a provider plugin.
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

function makeDynamicProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
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

const providers = new Map<ResourceKind, pulumi.dynamic.ResourceProvider>();

/** One provider object per kind, so Pulumi serializes each once per program run. */
export function sharedDynamicProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  let provider = providers.get(kind);
  if (!provider) {
    provider = makeDynamicProvider(kind);
    providers.set(kind, provider);
  }
  return provider;
}
