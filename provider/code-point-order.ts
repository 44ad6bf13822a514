/**
 * Text by code point, the same on every machine and in every locale: the order of names, times
 * and task ids wherever certstage sorts them. localeCompare ordered by the locale's rules instead,
 * and its first call in a process builds a collator (some 15 ms, a tenth of `certstage status`);
 * names, ISO times and task ids are ASCII, whose code-point order is the one users read.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
