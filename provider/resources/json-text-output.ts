/**
 * Outputs whose value is an object with many members (a JWK, a JWKS per environment) kept in
 * Pulumi's state as one JSON text instead, and turned back into the object in the program.
 *
 * Why: the engine rewrites the whole state after every step, and what that costs grows with the
 * number of values in it as much as with its bytes (bench/pulumi-state-shape.cjs: floor programs
 * carrying certstage's bytes as one string, or as many values as certstage with few bytes, each
 * cost about half of what carrying certstage's values costs). A deployment's JWK is seven values
 * as an object and one as text; a certificate's `jwks` after a refresh is about thirty.
 *
 * A program sees the object either way: `parsedJsonText` accepts the text this provider writes
 * and the object that states written before it hold.
 */
import * as pulumi from "@pulumi/pulumi";

/** What the provider returns for such an output: compact JSON. */
export function asJsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** The object again, from the text (or from an object an earlier provider wrote). */
function fromJsonText<T>(stored: unknown): T {
  return (typeof stored === "string" ? JSON.parse(stored) : stored) as T;
}

/**
 * The program's view of an output the provider keeps as JSON text: the object. `name` is a
 * declared output, which the SDK has set on `resource` by the time its constructor returns. The
 * class declares it with `declare`: a class field would be set back to undefined after super().
 */
export function parsedJsonText<T>(resource: pulumi.CustomResource, name: string): pulumi.Output<T> {
  const stored = (resource as unknown as Record<string, pulumi.Output<unknown>>)[name];
  return stored.apply((value) => fromJsonText<T>(value));
}
