/**
 * Private keys in every encoding certstage reads, made with OpenSSL: PKCS#8, SEC1 ("EC PRIVATE
 * KEY"), PKCS#1 ("RSA PRIVATE KEY"), encrypted PKCS#8 (PBKDF2, scrypt, PKCS#12 PBE) and legacy
 * encrypted PEM (Proc-Type, DEK-Info); given the right passphrase, a wrong one or none, then
 * damaged. Each is read or refused with a CertstageError that holds no key material. Decryption
 * work is counted: the iterations of every key OpenSSL is asked to decrypt are read from what it
 * was handed, and never exceed MAX_KEY_DERIVATION_ITERATIONS.
 *
 * Property                                                                        runs
 *   every encoding, with the right, a wrong or no passphrase: the key, or the        100
 *     refusal that says why
 *   damaged in its PEM text or its DER, with any passphrase: read or refused         300
 *   encrypted PKCS#8 claiming any key derivation cost: OpenSSL derives at most       200
 *     MAX_KEY_DERIVATION_ITERATIONS (or scrypt within bounds), counted per call
 *   a passphrase of any length and characters: read or refused                       100
 */
import * as crypto from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { keyDerivationOf, MAX_KEY_DERIVATION_ITERATIONS, MAX_SCRYPT_COST } from "../../../provider/pki/key-encryption";
import { splitPem } from "../../../provider/pki/pem";
import { parsePrivateKeyPem } from "../../../provider/pki/private-key";
import { makeTestCertificate, openssl, temporaryDirectory } from "../../support/certificates";
import { applyPemDamage, pemDamage } from "../../support/pem-mutations";
import { outcomeOf } from "../../support/refusals";

/** Every key OpenSSL is asked to read, as certstage hands it over (the leak scanner's own calls pass a string). */
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, createPrivateKey: vi.fn(actual.createPrivateKey) };
});
const createPrivateKey = vi.mocked(crypto.createPrivateKey);

const RIGHT = "correct horse";

interface Encoding {
  readonly name: string;
  readonly pem: string;
  /** The unencrypted key it holds, for comparison and for the leak scanner. */
  readonly plain: string;
  readonly encrypted: boolean;
}

let encodings: Encoding[];
let plainKeys: string[];

beforeAll(() => {
  const directory = temporaryDirectory("private-key-properties");
  const ec = path.join(makeTestCertificate(directory).directory, "key.pem");
  const rsa = path.join(directory, "rsa.pem");
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa]);
  const pass = ["-passout", `pass:${RIGHT}`];
  const made: Array<[string, string, boolean, string[]]> = [
    ["EC PKCS#8", ec, false, ["pkey", "-in", ec]],
    ["EC SEC1", ec, false, ["ec", "-in", ec]],
    ["RSA PKCS#8", rsa, false, ["pkey", "-in", rsa]],
    ["RSA PKCS#1", rsa, false, ["rsa", "-in", rsa, "-traditional"]],
    ["EC encrypted PKCS#8, PBKDF2", ec, true, ["pkcs8", "-topk8", "-in", ec, "-v2", "aes-256-cbc", "-iter", "2048", ...pass]],
    ["RSA encrypted PKCS#8, PBKDF2 with one iteration", rsa, true, ["pkcs8", "-topk8", "-in", rsa, "-v2", "aes-128-cbc", "-iter", "1", ...pass]],
    ["EC encrypted PKCS#8, scrypt", ec, true, ["pkcs8", "-topk8", "-in", ec, "-scrypt", "-scrypt_N", "1024", "-scrypt_r", "8", "-scrypt_p", "1", ...pass]],
    ["EC encrypted PKCS#8, PKCS#12 3DES", ec, true, ["pkcs8", "-topk8", "-in", ec, "-v1", "PBE-SHA1-3DES", ...pass]],
    ["EC legacy encrypted PEM", ec, true, ["ec", "-in", ec, "-aes256", ...pass]],
    ["RSA legacy encrypted PEM", rsa, true, ["rsa", "-in", rsa, "-traditional", "-des3", ...pass]],
  ];
  encodings = made.map(([name, source, encrypted, args]) => ({ name, pem: openssl(args), plain: readFileSync(source, "utf8"), encrypted }));
  plainKeys = [readFileSync(ec, "utf8"), readFileSync(rsa, "utf8")];
});


const someEncoding = fc.nat().map((index) => encodings[index % encodings.length]);
const passphrase = fc.oneof(fc.constant(RIGHT), fc.constant(undefined), fc.string({ maxLength: 20 }), fc.constantFrom("", RIGHT.toUpperCase(), `${RIGHT} `, `${RIGHT}\u0000`));
const spki = (key: crypto.KeyObject) => crypto.createPublicKey(key).export({ type: "spki", format: "der" }).toString("hex");

/** Reads `text`, counting the iterations (or scrypt N*r*p) of each encrypted PKCS#8 key handed to OpenSSL meanwhile. */
function readCountingDerivations(text: string, given: string | undefined) {
  createPrivateKey.mockClear();
  const outcome = outcomeOf(() => parsePrivateKeyPem(text, "upload.privateKeyPem", given), plainKeys);
  const attempted = createPrivateKey.mock.calls.flatMap(([options]) => {
    if (typeof options !== "object" || options === null || !("key" in options) || typeof options.key !== "string" || !options.key.includes("ENCRYPTED PRIVATE KEY")) return [];
    const derivation = keyDerivationOf(splitPem(options.key, { field: "handed to OpenSSL" })[0].der);
    return [derivation === undefined ? Number.POSITIVE_INFINITY : derivation.kind === "iterations" ? derivation.iterations : derivation.n * derivation.r * derivation.p];
  });
  return { outcome, attempted };
}

/** DER, encoded minimally: enough to build EncryptedPrivateKeyInfo with chosen parameters. */
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const value = Buffer.concat(parts);
  const length = value.length < 0x80 ? Buffer.from([value.length]) : (() => {
    const bytes = Buffer.from(value.length.toString(16).padStart(value.length > 0xffff ? 6 : 4, "0"), "hex");
    return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
  })();
  return Buffer.concat([Buffer.from([tag]), length, value]);
}
const integer = (value: bigint) => {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return tlv(0x02, Buffer.from(hex, "hex"));
};
const oid = (dotted: string) => {
  const [first, second, ...rest] = dotted.split(".").map(Number);
  const arcs = [first * 40 + second, ...rest].map((arc) => {
    const bytes = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) bytes.unshift(0x80 | (value & 0x7f));
    return Buffer.from(bytes);
  });
  return tlv(0x06, ...arcs);
};
const octets = (bytes: Buffer) => tlv(0x04, bytes);
const sequence = (...parts: Buffer[]) => tlv(0x30, ...parts);

type Claimed = { readonly kdf: "pbkdf2" | "pkcs12"; readonly iterations: bigint } | { readonly kdf: "scrypt"; readonly n: bigint; readonly r: bigint; readonly p: bigint };

function encryptedKeyClaiming(claimed: Claimed): string {
  const salt = octets(crypto.randomBytes(16));
  const algorithm =
    claimed.kdf === "pkcs12"
      ? sequence(oid("1.2.840.113549.1.12.1.3"), sequence(salt, integer(claimed.iterations)))
      : sequence(
          oid("1.2.840.113549.1.5.13"),
          sequence(
            claimed.kdf === "scrypt"
              ? sequence(oid("1.3.6.1.4.1.11591.4.11"), sequence(salt, ...[claimed.n, claimed.r, claimed.p].map(integer)))
              : sequence(oid("1.2.840.113549.1.5.12"), sequence(salt, integer(claimed.iterations), sequence(oid("1.2.840.113549.2.9"), tlv(0x05)))),
            sequence(oid("2.16.840.1.101.3.4.1.42"), octets(crypto.randomBytes(16))),
          ),
        );
  const der = sequence(algorithm, octets(crypto.randomBytes(160)));
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** Cheap enough to let OpenSSL try (a few thousand), or over the bound, up to absurd: never the slow middle. */
const iterations = fc.oneof(fc.bigInt({ min: 1n, max: 4096n }), fc.bigInt({ min: BigInt(MAX_KEY_DERIVATION_ITERATIONS) + 1n, max: 2n ** 64n }), fc.constantFrom(0n, 2n ** 31n - 1n, 2n ** 53n, 2n ** 53n + 1n));
const claimed: fc.Arbitrary<Claimed> = fc.oneof(
  fc.record({ kdf: fc.constantFrom("pbkdf2" as const, "pkcs12" as const), iterations }),
  fc.record({ kdf: fc.constant("scrypt" as const), n: fc.constantFrom(2n, 1024n, 2n ** 20n, 2n ** 40n), r: fc.constantFrom(1n, 8n, 2n ** 20n), p: fc.constantFrom(1n, 2n, 2n ** 30n) }),
);
const cost = (claim: Claimed) => (claim.kdf === "scrypt" ? claim.n * claim.r * claim.p : claim.iterations);

describe("private key properties", () => {
  it("every encoding, with the right, a wrong or no passphrase, gives the key or the refusal that says why", () => {
    fc.assert(
      fc.property(someEncoding, passphrase, (encoding, given) => {
        const outcome = outcomeOf(() => parsePrivateKeyPem(encoding.pem, "upload.privateKeyPem", given), plainKeys);
        if (!encoding.encrypted || given === RIGHT) expect(spki(outcome.accepted!)).toBe(spki(crypto.createPrivateKey(encoding.plain)));
        else if (given === undefined) expect(outcome.refused?.code).toBe("PRIVATE_KEY_ENCRYPTED");
        // A wrong passphrase can, once in a while, decrypt legacy PEM to bytes that still parse.
        else if (outcome.refused) expect(outcome.refused.code).toBe("PRIVATE_KEY_UNPARSEABLE");
      }),
      { numRuns: 100 },
    );
  });

  it("damaged in its PEM text or its DER, with any passphrase, a key is read or refused", () => {
    fc.assert(
      fc.property(someEncoding, pemDamage([encodings[0].pem, encodings[4].pem]), passphrase, (encoding, damage, given) => {
        const { outcome, attempted } = readCountingDerivations(applyPemDamage(encoding.pem, damage), given);
        if (outcome.refused) expect(outcome.refused.field).toBe("upload.privateKeyPem");
        expect(attempted.length).toBeLessThanOrEqual(1);
        expect(attempted.every((iterations) => iterations <= MAX_KEY_DERIVATION_ITERATIONS)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("encrypted PKCS#8 claiming any key derivation cost: OpenSSL is asked for at most the bound, counted per call", () => {
    fc.assert(
      fc.property(claimed, fc.constantFrom(RIGHT, "wrong"), (claim, given) => {
        const { outcome, attempted } = readCountingDerivations(encryptedKeyClaiming(claim), given);
        // The data is random, so no passphrase decrypts it: it is always refused, quickly or after OpenSSL tried.
        expect(outcome.refused?.code).toBe("PRIVATE_KEY_UNPARSEABLE");
        const bound = claim.kdf === "scrypt" ? BigInt(MAX_SCRYPT_COST) : BigInt(MAX_KEY_DERIVATION_ITERATIONS);
        expect(attempted.length).toBe(cost(claim) <= bound && cost(claim) > 0n && (claim.kdf !== "scrypt" || 128n * claim.n * claim.r <= 32n * 1024n * 1024n) ? 1 : 0);
        expect(attempted.every((value) => BigInt(value) <= bound)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("a passphrase of any length and characters gives the key or a refusal", () => {
    fc.assert(
      fc.property(someEncoding, fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.integer({ min: 1000, max: 70_000 }).map((length) => "p".repeat(length))), (encoding, given) => {
        const outcome = outcomeOf(() => parsePrivateKeyPem(encoding.pem, "upload.privateKeyPem", given), plainKeys);
        if (!encoding.encrypted) expect(outcome.accepted).toBeDefined();
      }),
      { numRuns: 100 },
    );
  });
});
