/**
 * What every property over bad input asks of an outcome: the call returns, or it throws a
 * CertstageError with a code from ERROR_CODES, a fix, and a message that holds no private key
 * material of the keys the input was made from and no character a terminal would act on. Anything
 * else (a TypeError, a RangeError, a raw OpenSSL error) fails the property, and fast-check shows
 * the smallest input that did it.
 */
import { expect } from "vitest";
import { CertstageError, ERROR_CODES } from "../../provider/errors";
import { expectNoPrivateKeyMaterial } from "./secrets";

export type Outcome<T> = { readonly accepted: T; readonly refused?: undefined } | { readonly accepted?: undefined; readonly refused: CertstageError };

/** Control characters, and the invisible ones that reorder or hide text (bidi overrides, zero-width). */
const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

export function expectCleanRefusal(error: unknown, keys: readonly string[] = []): asserts error is CertstageError {
  if (!(error instanceof CertstageError)) throw new Error(`expected a CertstageError, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`);
  expect(Object.keys(ERROR_CODES)).toContain(error.code);
  expect(error.fix, `${error.code} without a fix: ${error.message}`).toBeTruthy();
  expect(error.message).not.toMatch(UNSAFE_CHARACTER);
  expectNoPrivateKeyMaterial(error.message, keys, `the ${error.code} message`);
}

export function outcomeOf<T>(call: () => T, keys: readonly string[] = []): Outcome<T> {
  let accepted: T;
  try {
    accepted = call();
  } catch (error) {
    expectCleanRefusal(error, keys);
    return { refused: error };
  }
  return { accepted };
}

export async function settledOutcome<T>(call: () => Promise<T>, keys: readonly string[] = []): Promise<Outcome<T>> {
  let accepted: T;
  try {
    accepted = await call();
  } catch (error) {
    expectCleanRefusal(error, keys);
    return { refused: error };
  }
  return { accepted };
}

/** The error `action` rejects with; fails the test when it resolves instead. */
export async function rejectionOf(action: Promise<unknown>): Promise<Error> {
  try {
    await action;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

/** The CertstageError `action` is refused with; any other failure, or none, fails the test. */
export async function certstageRefusalOf(action: Promise<unknown>): Promise<CertstageError> {
  const error = await rejectionOf(action);
  if (error instanceof CertstageError) return error;
  throw error;
}
