/**
 * A keystore.p12 as a Java or Windows service would get it, opened with `openssl pkcs12 -in …
 * -passin` (the password through the environment, never the command line): the leaf and the key
 * inside, comparable with the PEMs published beside it.
 */
import { spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

export interface OpenedKeystore {
  /** SHA-256 fingerprints of the certificates inside, leaf first. */
  readonly certificates: string[];
  /** The key inside, as a JWK (comparable with another key's). */
  readonly key: unknown;
}

/** Opens `file` with `password`; throws with openssl's words when it cannot. */
export function openKeystore(file: string, password: string): OpenedKeystore {
  const run = spawnSync("openssl", ["pkcs12", "-in", file, "-passin", "env:P12_PASSWORD", "-nodes"], { encoding: "utf8", env: { ...process.env, P12_PASSWORD: password } });
  if (run.status !== 0) throw new Error(`openssl pkcs12 could not open ${file}: ${run.stderr.trim()}`);
  const certificates = (run.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(run.stdout);
  return { certificates, key: key ? createPrivateKey(key[0]).export({ format: "jwk" }) : undefined };
}

/** What a keystore of the version published as `fullchainFile` (leaf, then chain) and `keyFile` holds. */
export function pemsAsKeystoreSees(fullchainFile: string, keyFile: string): OpenedKeystore {
  const certificates = (readFileSync(fullchainFile, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
  return { certificates, key: createPrivateKey(readFileSync(keyFile)).export({ format: "jwk" }) };
}
