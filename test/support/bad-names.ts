/**
 * Names as they go wrong: path tricks, control characters, letters that only look like ASCII,
 * invisible characters, and lengths no path segment should have. The unit properties draw from
 * `nameArbitrary`; the provider tests walk `BAD_NAMES` through every resource's `check`.
 */
import fc from "fast-check";

export const BAD_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["consecutive dots", "a..b"],
  ["a parent directory", ".."],
  ["a slash", "api/prod"],
  ["a backslash", "api\\prod"],
  ["NUL", "api\u0000"],
  ["a control character", "api\u0007x"],
  ["a newline", "api\nx"],
  ["a Cyrillic 'а'", "\u0430pi"],
  ["fullwidth letters", "\uff41\uff50\uff49"],
  ["a zero-width joiner", "ap\u200di"],
  ["a right-to-left override", "api\u202eved"],
  ["the Kelvin sign, which lower-cases to k", "\u212aey"],
  ["upper case", "API"],
  ["10 KB", "a".repeat(10 * 1024)],
];

/** The rule in plain code, as the README states it, to check the pattern against. */
export function isBoringName(name: string): boolean {
  const alphanumeric = (character: string) => (character >= "a" && character <= "z") || (character >= "0" && character <= "9");
  const characters = [...name];
  if (characters.length < 1 || characters.length > 64 || name.includes("..")) return false;
  return characters.every((character) => alphanumeric(character) || ".-_".includes(character)) && alphanumeric(characters[0]) && alphanumeric(characters.at(-1)!);
}

const BORING = [..."abcxyz0189", ".", "_", "-"];
const TRICKY = ["/", "\\", "\u0000", "\u0001", "\u001f", "\u007f", "\n", "\t", " ", "%2e", "\u0430", "\u0435", "\u03bf", "\uff41", "\uff11", "\u200b", "\u200d", "\u202e", "\ufeff", "\u0301", "\u212a", "\u017f", "A", "\u00df", ".."];

/** Near-valid names, valid names with one tricky character, arbitrary text, and very long names. */
export const nameArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...BORING), maxLength: 70 }),
  fc
    .tuple(fc.string({ unit: fc.constantFrom(...BORING), minLength: 1, maxLength: 64 }), fc.constantFrom(...TRICKY), fc.nat())
    .map(([name, tricky, at]) => name.slice(0, at % (name.length + 1)) + tricky + name.slice(at % (name.length + 1))),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.integer({ min: 60, max: 10 * 1024 }).map((length) => "a".repeat(length - 1) + "z"),
  fc.constantFrom(...BAD_NAMES.map(([, name]) => name)),
);
