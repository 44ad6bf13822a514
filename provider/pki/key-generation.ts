/**
 * New private keys for the `generate` method, made with Node's crypto (native: an RSA-2048 key
 * takes ~0.1 s where a pure-JavaScript one takes seconds).
 */
import { generateKeyPair, KeyObject } from "node:crypto";
import { promisify } from "node:util";

/** The algorithms certstage generates, and the ones its validation accepts for TLS keys. */
export const KEY_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

const generate = promisify(generateKeyPair);

export async function generatePrivateKey(algorithm: KeyAlgorithm): Promise<KeyObject> {
  switch (algorithm) {
    case "RSA-2048":
    case "RSA-3072":
    case "RSA-4096":
      return (await generate("rsa", { modulusLength: Number(algorithm.slice(4)) })).privateKey;
    case "ECDSA-P256":
      return (await generate("ec", { namedCurve: "P-256" })).privateKey;
    case "ECDSA-P384":
      return (await generate("ec", { namedCurve: "P-384" })).privateKey;
  }
}
