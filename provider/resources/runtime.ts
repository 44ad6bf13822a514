/**
 * The provider runtime: loaded in the Pulumi provider process by the serialized loader in
 * `dynamic-provider.ts`, it binds each resource's handler to the store and principal that the
 * stack configuration names.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isCertstageError } from "../errors";
import { openStore, Store } from "../store";
import { acmeRenewalHandler } from "./acme-renewal";
import { certificateHandler } from "./certificate";
import { certificateVersionHandler } from "./certificate-version";
import type { ResourceKind } from "./dynamic-provider";
import { environmentDeploymentHandler } from "./environment-deployment";
import type { HandlerContext, Props, ResourceHandler } from "./handler";
import { ProviderSettings, readProviderSettings } from "../settings/stack-settings";

const HANDLERS: Record<ResourceKind, ResourceHandler> = {
  Certificate: certificateHandler,
  CertificateVersion: certificateVersionHandler,
  EnvironmentDeployment: environmentDeploymentHandler,
  AcmeRenewal: acmeRenewalHandler,
};

let settings: ProviderSettings | undefined;
let store: Store | undefined;

/** Called by Pulumi once per provider kind with the stack's configuration. */
export function configure(config: pulumi.dynamic.Config): void {
  settings = readProviderSettings((key) => config.get(key));
  store = undefined;
}

function context(): HandlerContext {
  settings ??= readProviderSettings(() => undefined);
  store ??= openStore(settings.store, settings.baseDirectory);
  return { store, settings, actor: { principal: settings.principal } };
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

export function providerFor(kind: ResourceKind) {
  const handler = HANDLERS[kind];
  return {
    check: (olds: Props, news: Props) => withReadableErrors(() => handler.check(olds, news, context())),
    diff: (id: string, olds: Props, news: Props) => withReadableErrors(() => handler.diff(id, olds, news, context())),
    create: (inputs: Props) => withReadableErrors(() => handler.create(inputs, context())),
    read: (id: string, props: Props) => withReadableErrors(() => handler.read(id, props, context())),
    update: (id: string, olds: Props, news: Props) => withReadableErrors(() => handler.update(id, olds, news, context())),
    delete: (id: string, props: Props) => withReadableErrors(() => handler.delete(id, props, context())),
  };
}
