/**
 * What each resource implements in the provider process: Pulumi's dynamic-provider methods, with
 * the store and the acting principal handed in instead of reached for.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { CertstageError } from "../errors";
import { known, Planned, unknown } from "../lifecycle/diff";
import type { Actor, Principal, Store } from "../store";
import type { ProviderSettings } from "../settings/stack-settings";

export interface HandlerContext {
  readonly store: Store;
  readonly settings: ProviderSettings;
  readonly actor: Actor;
  /** Who the actor is in this store, with every role it holds there (asked once per provider process). */
  readonly principal: () => Promise<Principal>;
  /** The Pulumi resource the call is about, for messages; undefined when the engine did not say. */
  readonly resource?: string;
}

/** Property bags as the engine sends them: plain JSON, shape checked by the schema. */
export type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ResourceHandler {
  check(olds: Props, news: Props, context: HandlerContext): Promise<pulumi.dynamic.CheckResult>;
  diff(id: string, olds: Props, news: Props, context: HandlerContext): Promise<pulumi.dynamic.DiffResult>;
  create(inputs: Props, context: HandlerContext): Promise<pulumi.dynamic.CreateResult>;
  read(id: string, props: Props, context: HandlerContext): Promise<pulumi.dynamic.ReadResult>;
  update(id: string, olds: Props, news: Props, context: HandlerContext): Promise<pulumi.dynamic.UpdateResult>;
  delete(id: string, props: Props, context: HandlerContext): Promise<void>;
}

/**
 * The value the engine sends for an input that is not known yet (an output of a resource that a
 * preview has not created). Pinned to `@pulumi/pulumi/runtime/rpc`'s `unknownValue` by a test.
 */
export const UNKNOWN_INPUT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  if (value === UNKNOWN_INPUT) return true;
  if (Array.isArray(value)) return value.some(isUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(isUnknown);
  return false;
}

/** An input as the diff tables see it; `undefined` inputs stay undefined ("not managed"). */
export function planned<T>(value: T | undefined): Planned<T> | undefined {
  if (value === undefined) return undefined;
  return isUnknown(value) ? unknown : known(value);
}

/**
 * The inputs the provider judges: everything but the serialized provider itself and what the
 * runtime adds to every resource (its URN, and the identity of the store it lives in).
 */
export function withoutProvider(inputs: Props): Props {
  const { __provider: _provider, resourceUrn: _urn, storeId: _store, ...rest } = inputs;
  return rest;
}

/**
 * Reports problems without a property name, so the engine prints our message as is and never the
 * input's value (which, for a key, would be secret material); the field is named in the message.
 */
export function checkResult(inputs: Props, problems: readonly CertstageError[]): pulumi.dynamic.CheckResult {
  const result = { inputs, failures: problems.map((problem) => ({ property: "", reason: problem.message })) };
  problemsOfResults.set(result, problems);
  return result;
}

const problemsOfResults = new WeakMap<pulumi.dynamic.CheckResult, readonly CertstageError[]>();

/**
 * The problems behind a check result, as errors (code, field, problem, fix) rather than the
 * engine's message strings: `certstage lint` runs the same checks and places each in the manifest.
 */
export function problemsOfCheck(result: pulumi.dynamic.CheckResult): readonly CertstageError[] {
  return problemsOfResults.get(result) ?? [];
}
