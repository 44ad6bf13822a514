/**
 * The URN a certstage resource will have, as an input it sends to the provider. Pulumi does not
 * hand a dynamic provider the URN of the resource it creates, and certstage needs it: what a
 * create writes names the resource that wrote it, so the next create of the same resource can
 * adopt what an interrupted run left behind (lifecycle/ownership.ts), and messages can name the
 * resource as the program does.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ResourceOrigin } from "../store";
import type { ResourceKind } from "./dynamic-provider";
import type { Props } from "./handler";
import { digestOf } from "./version-methods/method";

/** The type token `pulumi.dynamic.Resource` registers for `module: "certstage"` and `type: kind`. */
export function dynamicTypeToken(kind: ResourceKind): string {
  return `pulumi-nodejs:dynamic/certstage:${kind}`;
}

export function resourceUrnInput(kind: ResourceKind, resourceName: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
  return pulumi.createUrn(resourceName, dynamicTypeToken(kind), opts?.parent === undefined ? undefined : urnWithoutDependency(opts.parent));
}

/**
 * The parent's URN as a value that depends on nothing. `parent.urn` would make this input depend
 * on the parent, and Pulumi expands a dependency on a component to all its children: two
 * children of one component (a Manifest's) would then each wait for the other, and the program
 * would hang. A URN is known even in a preview, so the callback always runs.
 */
function urnWithoutDependency(parent: pulumi.Resource): pulumi.Output<string> {
  return pulumi.output(new Promise<string>((resolve) => parent.urn.apply((urn) => (resolve(urn), urn))));
}

/** The origin a create records: the resource's URN (an input) and a digest of `decisive` (what decides the content). */
export function originOf(inputs: Props, decisive: unknown): ResourceOrigin | undefined {
  if (typeof inputs.resourceUrn !== "string" || inputs.resourceUrn === "") return undefined;
  return { urn: inputs.resourceUrn, inputs: digestOf(decisive) };
}
