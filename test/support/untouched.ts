/**
 * Proof that nothing read or wrote a directory tree. Contents, modes, link targets and
 * modification times are compared before and after; and every access time is first set far in
 * the past, so a read shows too (Linux's default `relatime` updates an access time older than a
 * day on the next read, of a file or of a directory's entries). The file system is checked to
 * record reads at all, so the proof cannot pass vacuously on a `noatime` mount.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";

const LONG_AGO = new Date("2000-01-01T00:00:00Z");

interface Entry {
  readonly mode: number;
  readonly mtimeMs: number;
  readonly content: string;
}

function snapshot(root: string): Record<string, Entry> {
  const entries: Record<string, Entry> = {};
  const walk = (current: string) => {
    const stats = lstatSync(current);
    const relative = path.relative(root, current) || ".";
    if (stats.isSymbolicLink()) entries[relative] = { mode: stats.mode, mtimeMs: stats.mtimeMs, content: `-> ${readlinkSync(current)}` };
    else if (stats.isDirectory()) {
      const names = readdirSync(current).sort();
      entries[relative] = { mode: stats.mode, mtimeMs: stats.mtimeMs, content: names.join("\n") };
      for (const name of names) walk(path.join(current, name));
    } else entries[relative] = { mode: stats.mode, mtimeMs: stats.mtimeMs, content: createHash("sha256").update(readFileSync(current)).digest("hex") };
  };
  walk(root);
  return entries;
}

/**
 * Sets every access time under `root` (links themselves excepted) to LONG_AGO, keeping modification
 * times to the millisecond (utimes drops the rest), and returns the entries with those times.
 */
function ageAccessTimes(root: string, entries: Record<string, Entry>): Record<string, Entry> {
  const aged: Record<string, Entry> = {};
  for (const [relative, entry] of Object.entries(entries)) {
    const file = path.join(root, relative);
    if (!entry.content.startsWith("-> ")) utimesSync(file, LONG_AGO, new Date(entry.mtimeMs));
    aged[relative] = { ...entry, mtimeMs: lstatSync(file).mtimeMs };
  }
  return aged;
}

function expectReadsRecorded(): void {
  const directory = mkdtempSync(path.join(os.tmpdir(), "certstage-atime-"));
  const probe = path.join(directory, "probe");
  writeFileSync(probe, "probe");
  utimesSync(probe, LONG_AGO, new Date());
  readFileSync(probe);
  const recorded = lstatSync(probe).atimeMs !== LONG_AGO.getTime();
  rmSync(directory, { recursive: true, force: true });
  if (!recorded) throw new Error(`${os.tmpdir()} does not record reads (mounted noatime?): the proof that nothing was read needs relatime or strictatime`);
}

/** Watches `roots`; the returned function asserts that nothing under them was read or changed since. */
export function watchUntouched(...roots: string[]): () => void {
  expectReadsRecorded();
  const before = roots.map((root) => ageAccessTimes(root, snapshot(root)));
  return () => {
    roots.forEach((root, index) => {
      const read = Object.keys(before[index]).filter((relative) => !before[index][relative].content.startsWith("-> ") && lstatSync(path.join(root, relative)).atimeMs !== LONG_AGO.getTime());
      expect(read, `read under ${root}`).toEqual([]);
      expect(snapshot(root), `changed under ${root}`).toEqual(before[index]);
      ageAccessTimes(root, before[index]);
    });
  };
}
