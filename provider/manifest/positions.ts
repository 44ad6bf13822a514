/**
 * From a field path to where it is written in the YAML source. The `yaml` parser keeps every
 * node's offsets (`range`), and a LineCounter turns an offset into a line and column. A path that
 * does not exist (a missing field) resolves to the nearest node that does: its parent map.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

export type FieldPath = readonly (string | number)[];

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export class SourcePositions {
  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** Where the value at `path` starts, or its nearest ancestor's when it is missing. */
  ofValue(path: FieldPath): SourcePosition {
    return this.at(this.nearest(path).node);
  }

  /** Where the key `key` of the map at `path` is written (for an unknown key); the map's start without one. */
  ofKey(path: FieldPath, key: string): SourcePosition {
    const found = this.nearest(path);
    if (found.depth === path.length && isMap(found.node)) {
      const pair = found.node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key);
      if (pair && isScalar(pair.key)) return this.at(pair.key);
    }
    return this.at(found.node);
  }

  /** A path exists when every part of it does. */
  has(path: FieldPath): boolean {
    return this.nearest(path).depth === path.length;
  }

  private nearest(path: FieldPath): { node: Node | null; depth: number } {
    let node: Node | null = this.document.contents;
    for (const [depth, part] of path.entries()) {
      const child = childOf(node, part);
      if (child === undefined) return { node, depth };
      node = child;
    }
    return { node, depth: path.length };
  }

  private at(node: Node | null): SourcePosition {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }
}

function childOf(node: Node | null, part: string | number): Node | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(part));
    // A key written with no value (`v1:`) is where that value is.
    return (pair?.value as Node | null | undefined) ?? (pair?.key as Node | undefined);
  }
  if (isSeq(node)) {
    const index = typeof part === "number" ? part : /^\d+$/.test(part) ? Number(part) : -1;
    return (node.items[index] as Node | undefined) ?? undefined;
  }
  return undefined;
}

/** A JSON Pointer (`/certificates/api/versions`) as path parts. */
export function pointerToPath(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer.split("/").slice(1).map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function dotted(path: FieldPath): string {
  return path.join(".");
}
