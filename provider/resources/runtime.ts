/**
 * The provider runtime: loaded in the Pulumi provider process by the serialized loader in
 * `dynamic-provider.ts`, it binds each resource's handler to the store and principal that the
 * stack configuration names.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isCertstageError } from "../errors";
import { openStore, Principal, Store } from "../store";
import { acmeRenewalHandler } from "./acme-renewal";
import { certificateHandler } from "./certificate";
import { certificateVersionHandler } from "./certificate-version";
import type { ResourceKind } from "./dynamic-provider";
import { environmentDeploymentHandler } from "./environment-deployment";
import type { HandlerContext, Props, ResourceHandler } from "./handler";
import { rememberHeld } from "./run-memory";
import { requireRecordedStore, storeIdOutput } from "./store-guard";
import { ProviderSettings, readProviderSettings } from "../settings/stack-settings";

const HANDLERS: Record<ResourceKind, ResourceHandler> = {
  Certificate: certificateHandler,
  CertificateVersion: certificateVersionHandler,
  EnvironmentDeployment: environmentDeploymentHandler,
  AcmeRenewal: acmeRenewalHandler,
};

let settings: ProviderSettings | undefined;
let store: Store | undefined;
let principal: Promise<Principal> | undefined;

/** Called by Pulumi once per provider kind with the stack's configuration. */
export function configure(config: pulumi.dynamic.Config): void {
  settings = readProviderSettings((key) => config.get(key));
  store = undefined;
  principal = undefined;
}

function context(resource?: string): HandlerContext {
  settings ??= readProviderSettings(() => undefined);
  const opened = (store ??= openStore(settings.store, settings.baseDirectory, settings.storeSecrets));
  const actor = { principal: settings.principal, teams: settings.teams };
  // Asked once: a database store looks the roles up, and they do not change during a run.
  const principalOf = () => (principal ??= opened.principal(actor).catch((error: unknown) => {
    principal = undefined;
    throw error;
  }));
  return { store: opened, settings, actor, principal: principalOf, resource };
}

/**
 * Pulumi's provider host prints a thrown error's stack under its message. For our own errors the
 * message says everything (code, resource, field, fix), so drop the stack to keep output readable.
 */
async function withReadableErrors<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (isCertstageError(error)) error.stack = "";
    throw error;
  }
}

/** The resource's name for messages: the last part of its URN when the program passed one, else its id. */
function resourceName(id: string | undefined, props: Props | undefined): string {
  return namedResource(id, props) ?? "?";
}

function namedResource(id: string | undefined, props: Props | undefined): string | undefined {
  const urn = typeof props?.resourceUrn === "string" ? props.resourceUrn : "";
  const name = urn.slice(urn.lastIndexOf("::") + 2);
  return name !== "" ? name : id;
}

/** What the runtime adds to every resource's outputs: its URN (an input, echoed) and its store. */
function withRuntimeOutputs(outs: Props | undefined, inputs: Props, storeId: { storeId?: string }): Props {
  const urn = typeof inputs.resourceUrn === "string" ? { resourceUrn: inputs.resourceUrn } : {};
  return { ...(outs ?? {}), ...urn, ...storeId };
}

/**
 * What every call about a resource the state holds does first: remember that the state holds it
 * (run-memory.ts), and make sure the store is the one it was recorded in.
 */
async function heldResource(kind: ResourceKind, id: string, recorded: Props) {
  rememberHeld(id);
  const bound = context(namedResource(id, recorded));
  const storeId = await requireRecordedStore(kind, resourceName(id, recorded), recorded, bound.store);
  return { bound, storeId };
}

/**
 * Each handler behind the same guards: the store must be the one the resource's state was
 * recorded in (STORE_MISMATCH otherwise, never "gone"), and outputs carry the store's identity.
 */
export function providerFor(kind: ResourceKind) {
  const handler = HANDLERS[kind];
  return {
    check: (olds: Props, news: Props) =>
      withReadableErrors(async () => {
        const bound = context(namedResource(undefined, news));
        const storeId = await requireRecordedStore(kind, resourceName(undefined, news), olds, bound.store);
        const result = await handler.check(olds, news, bound);
        return { ...result, inputs: result.inputs === undefined ? undefined : { ...result.inputs, ...storeId } };
      }),
    diff: (id: string, olds: Props, news: Props) =>
      withReadableErrors(async () => {
        const { bound } = await heldResource(kind, id, olds);
        return handler.diff(id, olds, news, bound);
      }),
    create: (inputs: Props) =>
      withReadableErrors(async () => {
        const bound = context(namedResource(undefined, inputs));
        const result = await handler.create(inputs, bound);
        return { ...result, outs: withRuntimeOutputs(result.outs, inputs, await storeIdOutput(bound.store)) };
      }),
    read: (id: string, props: Props) =>
      withReadableErrors(async () => {
        const { bound, storeId } = await heldResource(kind, id, props);
        const result = await handler.read(id, props, bound);
        if (result.props === undefined) {
          // The right store positively no longer holds it (someone removed it outside Pulumi).
          console.error(`certstage: ${kind} '${resourceName(id, props)}' (${id}) no longer exists in ${bound.store.description}; refresh removes it from the stack`);
          return result;
        }
        return { ...result, props: withRuntimeOutputs(result.props, props, storeId) };
      }),
    update: (id: string, olds: Props, news: Props) =>
      withReadableErrors(async () => {
        const { bound } = await heldResource(kind, id, olds);
        const result = await handler.update(id, olds, news, bound);
        // Read after the update: the first write of a store made before identities gives it one.
        return { ...result, outs: withRuntimeOutputs(result.outs, news, await storeIdOutput(bound.store)) };
      }),
    delete: (id: string, props: Props) =>
      withReadableErrors(async () => {
        const { bound } = await heldResource(kind, id, props);
        return handler.delete(id, props, bound);
      }),
  };
}
