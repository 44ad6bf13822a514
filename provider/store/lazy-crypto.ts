/**
 * node:crypto for the store's writes, loaded on first use. The file store needs it only to name
 * temporary files, locks and tasks and to make ids; a command that only reads (`certstage status`,
 * `history`) never does, and loading it cost each such command some 5 ms.
 */
import type * as NodeCrypto from "node:crypto";

let loaded: typeof NodeCrypto | undefined;

export function nodeCrypto(): typeof NodeCrypto {
  loaded ??= require("node:crypto") as typeof NodeCrypto;
  return loaded;
}

/** `bytes` random bytes as hex: the random part of a temporary name, a token, an id's tail. */
export function randomHex(bytes: number): string {
  return nodeCrypto().randomBytes(bytes).toString("hex");
}
