/**
 * What every certstage resource class shares: its dynamic provider (a `kind-providers/` module),
 * its type token (`pulumi-nodejs:dynamic/certstage:<kind>`), and a registration that does not pay
 * for the SDK's debugging stacks.
 *
 * Registering a resource, the SDK makes four promises per property (value, known, secret,
 * dependencies) and gives each one `new Error().stack`, kept only to name a promise in its
 * "leaked promise" report. Formatting a stack goes through the source-map support the SDK
 * installs, frame by frame. A certstage resource has a few dozen properties (its inputs and every
 * output it declares), so at a few thousand resources these stacks were most of the program's
 * time in a preview: 50 certificates × 3 environments previewed in 10.5 s, and in 6.6 s without
 * them, against 6.5 s for a floor program of no-op resources (bench/pulumi-scale.cjs measures it).
 *
 * So each resource class lowers `Error.stackTraceLimit` to 0 while the SDK registers the resource,
 * and puts it back afterwards, also when registration throws:
 *
 *     const restoreStackLimit = withoutPromiseStacks();
 *     try { super(...registration("Certificate", kindProvider, name, inputs, OUTPUTS, opts)); } finally { restoreStackLimit(); }
 *
 * Nothing a user sees changes: the SDK records the resource's source position with a limit of its
 * own, error messages keep their text, and with PULUMI_DEBUG_PROMISE_LEAKS set (someone is
 * debugging a leak and needs the stacks) the limit is left alone.
 *
 * Why no shared base class: the SDK records a resource's stack trace in state, skipping a fixed
 * number of frames (its own constructors), so the first frame kept is the constructor of the class
 * right below `dynamic.Resource`. A base class with a constructor of its own added a frame to every
 * resource's state (about 110 bytes each, paid again at every checkpoint) and made each resource's
 * `sourcePosition` name the base class instead of its kind.
 */
import * as pulumi from "@pulumi/pulumi";
import { providerObject, type ResourceKind } from "./dynamic-provider";

/**
 * The arguments of `dynamic.Resource`'s constructor for a certstage kind. The SDK makes an output
 * (and its four promises) for every property it is given, so `props` holds the inputs that are set
 * and the names in `outputs` (the class's declared outputs, some of which are inputs too), and no
 * input left undefined: the engine would never see one anyway, since undefined is not sent.
 */
export function registration(
  kind: ResourceKind,
  kindProvider: pulumi.dynamic.ResourceProvider,
  resourceName: string,
  inputs: pulumi.Inputs,
  outputs: readonly string[],
  opts?: pulumi.CustomResourceOptions,
): ConstructorParameters<typeof pulumi.dynamic.Resource> {
  return [providerObject(kindProvider), resourceName, registeredProperties(inputs, outputs), opts, "certstage", kind];
}

/** The declared outputs (undefined until the engine answers), then every input that is set. */
export function registeredProperties(inputs: pulumi.Inputs, outputs: readonly string[]): pulumi.Inputs {
  const properties: pulumi.Inputs = Object.fromEntries(outputs.map((name) => [name, undefined]));
  for (const [name, value] of Object.entries(inputs)) if (value !== undefined) properties[name] = value;
  return properties;
}

/** Lowers the stack limit for a registration; returns what puts it back. */
export function withoutPromiseStacks(): () => void {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return () => undefined;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return () => {
    Error.stackTraceLimit = limit;
  };
}
