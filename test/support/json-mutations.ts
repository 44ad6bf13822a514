/**
 * Damage to JSON as it happens to configuration and to files on disk: a value replaced by one of
 * another type (or a huge one), a member removed, the text cut short, bytes flipped. The
 * environment-definition and store-file properties both start from real values and mutate them.
 */
import fc from "fast-check";


/** Values a field should never hold, and some it might. */
export const strangeJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, "", " ", "\u0000", "../../etc", "a".repeat(10 * 1024), [], {}, [null], { "": null }, "2026-13-45T99:99:99Z"),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Every path to a value inside `value` (the root is `[]`). */
export function jsonPaths(value: unknown, prefix: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> {
  const paths: Array<ReadonlyArray<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...jsonPaths(item, [...prefix, index])));
  else if (value !== null && typeof value === "object") for (const [key, item] of Object.entries(value)) paths.push(...jsonPaths(item, [...prefix, key]));
  return paths;
}

/** `value` with the thing at `at` replaced by `replacement`, or removed when `replacement` is undefined. */
export function replacedAt(value: unknown, at: ReadonlyArray<string | number>, replacement: unknown): unknown {
  if (at.length === 0) return replacement;
  const [head, ...rest] = at;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) }) as Record<string | number, unknown>;
  const inner = replacedAt(copy[head], rest, replacement);
  if (inner === undefined && Array.isArray(copy)) (copy as unknown[]).splice(head as number, 1);
  else if (inner === undefined) delete copy[head];
  else copy[head] = inner;
  return copy;
}

export type JsonDamage =
  | { readonly kind: "replace"; readonly pick: number; readonly replacement: unknown }
  | { readonly kind: "remove"; readonly pick: number };

export const jsonDamage: fc.Arbitrary<JsonDamage> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), pick: fc.nat(), replacement: strangeJson }),
  fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
);

/** Applies `damage` at one of the value's paths (chosen by `pick`, so fast-check can shrink it). */
export function damaged(value: unknown, damage: JsonDamage): unknown {
  const paths = jsonPaths(value);
  const at = paths[damage.pick % paths.length];
  return replacedAt(value, at, damage.kind === "replace" ? damage.replacement : undefined);
}

export type TextDamage =
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "insert"; readonly at: number; readonly text: string }
  | { readonly kind: "replace-all"; readonly text: string };

export const textDamage: fc.Arbitrary<TextDamage> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("\u0000", "\n", "}", "{", "\"", ",", "\ufeff")) }),
  fc.record({ kind: fc.constant("replace-all" as const), text: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("", "null", "[]", "5", "\"x\"", "{}", "{\"format\": 1}")) }),
);

/** Bytes of a file after `damage`: what a crash, a bad disk or an editor can leave. */
export function damagedText(text: string, damage: TextDamage): Buffer {
  const bytes = Buffer.from(text);
  switch (damage.kind) {
    case "truncate":
      return bytes.subarray(0, damage.at % (bytes.length + 1));
    case "flip": {
      const flipped = Buffer.from(bytes);
      if (flipped.length > 0) flipped[damage.at % flipped.length] ^= 1 << damage.bit;
      return flipped;
    }
    case "insert": {
      const at = damage.at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(damage.text), bytes.subarray(at)]);
    }
    case "replace-all":
      return Buffer.from(damage.text);
  }
}

