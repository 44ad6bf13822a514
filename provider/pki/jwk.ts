/**
 * A version's public key as a JSON Web Key (RFC 7517), so services that verify signatures made
 * with the certificate's key (JWT, webhooks) can follow its rotation from a JWKS.
 */
import { createHash, X509Certificate } from "node:crypto";
import { CertstageError } from "../errors";
import { describeKeyAlgorithm } from "./certificate";
import { certificateBlocks } from "./pem";

export interface PublicJwk {
  readonly kty: string;
  /** RFC 7638 thumbprint: stable for the key, whatever certificate carries it. */
  readonly kid: string;
  readonly alg?: string;
  readonly n?: string;
  readonly e?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  /** Leaf first, then the chain; standard base64 DER (RFC 7517 §4.7). */
  readonly x5c: string[];
  readonly "x5t#S256": string;
}

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  RSA: ["e", "kty", "n"],
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
};

export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members) throw new Error(`certstage: no RFC 7638 thumbprint for key type ${String(jwk.kty)}`);
  const canonical = `{${members.map((member) => `${JSON.stringify(member)}:${JSON.stringify(jwk[member])}`).join(",")}}`;
  return createHash("sha256").update(canonical).digest("base64url");
}

const ALGORITHMS: Record<string, string> = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };

/** Refuses, with KEY_ALGORITHM_NOT_ALLOWED, a key JWK has no form for (DSA, RSA-PSS, brainpool curves). */
export function publicJwk(leaf: X509Certificate, chain: readonly X509Certificate[], field = "certificate"): PublicJwk {
  let key: Record<string, string>;
  try {
    key = leaf.publicKey.export({ format: "jwk" }) as Record<string, string>;
  } catch {
    throw new CertstageError("KEY_ALGORITHM_NOT_ALLOWED", `the certificate's ${describeKeyAlgorithm(leaf.publicKey)} key has no JSON Web Key form, which every version publishes`, {
      field,
      fix: "issue the certificate for an RSA 2048+ or ECDSA P-256/P-384 key",
    });
  }
  const alg = key.kty === "RSA" ? "RS256" : ALGORITHMS[key.crv];
  return {
    ...key,
    kty: key.kty,
    kid: jwkThumbprint(key),
    ...(alg ? { alg } : {}),
    x5c: [leaf, ...chain].map((certificate) => certificate.raw.toString("base64")),
    "x5t#S256": createHash("sha256").update(leaf.raw).digest("base64url"),
  };
}

/**
 * The version's JWK from its `certificatePem` and `chainPem` outputs, as the program makes it
 * (resources/certificate-version.ts): equal to the store's `jwk.json`, and not kept in Pulumi's
 * state, where its `x5c` would repeat the certificate and chain at every checkpoint. The PEMs are
 * a stored version's, which `check` already proved have a JWK form.
 */
export function publicJwkOfPems(certificatePem: string, chainPem: string): PublicJwk {
  const chain = certificateBlocks(chainPem).map((block) => new X509Certificate(block));
  return publicJwk(new X509Certificate(certificatePem), chain);
}

/** A JWK without its certificate chain: what a verifier needs, as a JWKS carries it. */
export type PublicKeyJwk = Omit<PublicJwk, "x5c">;

/**
 * The JWK as a deployment's and a certificate's outputs carry it: without `x5c`. The chain is the
 * version's (`certificatePem` and `chainPem`, and its own `jwk`), and repeating it in every
 * deployment put it in Pulumi's state four times per certificate, paid again at every checkpoint.
 * `x5t#S256` still names the certificate.
 */
export function withoutChain(jwk: PublicJwk): PublicKeyJwk {
  const { x5c: _chain, ...key } = jwk;
  return key;
}
