/**
 * Envelope encryption of the private keys a shared store keeps (of certificate versions, ACME
 * accounts and ACME orders), so that a database row, a dump or a backup holds no usable key.
 *
 * Each sealed value gets its own random 256-bit data key (DEK); the value is encrypted under it
 * with AES-256-GCM, and the DEK is encrypted ("wrapped") with AES-256-GCM under a key-encryption
 * key (KEK) of the key ring the user configures. Only the wrapped DEK depends on the KEK, so a
 * KEK rotation re-wraps 61 bytes per value and leaves the data ciphertext, which the store keeps
 * immutable, byte-for-byte as it was (`rewrap`).
 *
 * Both encryptions take a `context` as associated data: a string naming where the value lives,
 * such as `version|<store id>|api|3`. A sealed value copied into another row is opened with that
 * row's context, fails authentication, and is refused, as Vault's barrier binds a value to its
 * storage path and Kubernetes' GCM transformer to its etcd key.
 *
 * Every tag is 16 bytes, and `authTagLength: 16` is given to the cipher and to the decipher: Node
 * otherwise accepts a tag cut short, which a forger needs far fewer tries to match (DEP0182).
 * Nonces are random (96 bits); each DEK encrypts one value, and a KEK wraps one DEK per sealed
 * value, far below the 2^32 random-nonce encryptions NIST SP 800-38D §8.3 allows one key.
 *
 * Byte layout, format version 1 (the version byte lets a later format coexist with this one):
 * ```
 * wrappedKey = 0x01 | nonce (12) | encrypted DEK (32) | tag (16)      61 bytes
 *              AAD: "certstage:v1|dek|<kekId>|<context>"
 * ciphertext = 0x01 | nonce (12) | encrypted value (n) | tag (16)     29 + n bytes
 *              AAD: "certstage:v1|key|<context>"
 * encodeSealed(...) = 0x01 | kekId (8, the id's 16 hex digits as bytes) | wrappedKey (61) | ciphertext
 * ```
 * The KEK id is in the DEK's associated data, so a row relabelled with another key's id fails too.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { CertstageError, type ErrorCode, escaped } from "../errors";

type KeyEnvelopeErrorCode = Extract<ErrorCode, "STORE_KEY_INVALID" | "STORE_KEY_UNKNOWN" | "KEY_DECRYPT_FAILED">;

function envelopeError(code: KeyEnvelopeErrorCode, problem: string, details: { field?: string; fix: string; cause?: unknown }): CertstageError {
  return new CertstageError(code, problem, details);
}

const FORMAT_VERSION = 1;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 8;
const WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const SHORTEST_CIPHERTEXT = 1 + NONCE_BYTES + TAG_BYTES;
/** Hashed with the key for its id, so an id is of no use against any other hash of the key. */
const KEY_ID_LABEL = "certstage:v1|kek-id|";

/** A private key as the store keeps it: none of its three fields reveals the key without the KEK. */
export interface SealedValue {
  /** Id of the KEK that wrapped the DEK (16 hex digits, see `KeyRing.keyIds`). */
  readonly kekId: string;
  /** 0x01 | nonce (12) | encrypted DEK (32) | tag (16). */
  readonly wrappedKey: Buffer;
  /** 0x01 | nonce (12) | encrypted value | tag (16). */
  readonly ciphertext: Buffer;
}

/**
 * The configured key-encryption keys, by id. The first seals; all of them open, which is how a
 * rotation runs (`new,old`, then `certstage store rekey`, then `new`). The keys themselves are
 * reachable only from this file: JSON.stringify and util.inspect show the ids.
 */
export interface KeyRing {
  /** Where the ring was configured (`certstage:storeKey`), for messages. */
  readonly field: string;
  /** Id of the key that seals and that `rewrap` moves values under. */
  readonly currentKeyId: string;
  /** Ids of every key in the ring, the sealing key first. */
  readonly keyIds: readonly string[];
  has(keyId: string): boolean;
}

const KEYS_OF_RING = new WeakMap<KeyRing, ReadonlyMap<string, Buffer>>();

class ConfiguredKeyRing implements KeyRing {
  readonly currentKeyId: string;
  readonly keyIds: readonly string[];

  constructor(
    readonly field: string,
    keys: ReadonlyMap<string, Buffer>,
  ) {
    this.keyIds = Object.freeze([...keys.keys()]);
    this.currentKeyId = this.keyIds[0];
    KEYS_OF_RING.set(this, keys);
    Object.freeze(this);
  }

  has(keyId: string): boolean {
    return this.keyIds.includes(keyId);
  }

  toJSON(): { field: string; currentKeyId: string; keyIds: readonly string[] } {
    return { field: this.field, currentKeyId: this.currentKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `KeyRing { field: '${this.field}', currentKeyId: '${this.currentKeyId}', keyIds: [${this.keyIds.map((id) => `'${id}'`).join(", ")}] }`;
  }
}

/** A key's id: the first 16 hex digits of SHA-256 over a fixed label and the key. */
function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(KEY_ID_LABEL).update(key).digest("hex").slice(0, 2 * KEY_ID_BYTES);
}

/**
 * Reads a key ring as the user writes it: keys from `openssl rand -base64 32`, separated by
 * commas, the sealing key first. Every wrong entry is reported at once, by its position and
 * never by its text, which is (part of) a secret.
 */
export function parseKeyRing(text: string, field: string): KeyRing {
  const fix = `set ${field} to one or more keys made with \`openssl rand -base64 32\`, separated by commas, the key that seals first`;
  if (text.trim() === "") throw envelopeError("STORE_KEY_INVALID", "the key ring holds no key", { field, fix });
  const entries = text.split(",").map((entry) => entry.trim());
  const keys = new Map<string, Buffer>();
  const positions = new Map<string, number>();
  const problems: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const position = entries.length === 1 ? "the key" : `key ${index + 1} of ${entries.length}`;
    const key = decodeKey(entry);
    if (typeof key === "string") {
      problems.push(`${position} ${key}`);
      continue;
    }
    const id = keyIdOf(key);
    const first = positions.get(id);
    if (first !== undefined) {
      problems.push(`${position} is the same key as key ${first + 1}`);
      continue;
    }
    positions.set(id, index);
    keys.set(id, key);
  }
  if (problems.length > 0) throw envelopeError("STORE_KEY_INVALID", problems.join("; "), { field, fix });
  return new ConfiguredKeyRing(field, keys);
}

/** The key an entry holds, or why it holds none (phrased to follow "key 2 of 3"). */
function decodeKey(entry: string): Buffer | string {
  if (entry === "") return "is empty (a comma too many?)";
  if (/\s/.test(entry)) return "holds whitespace (keys are separated by commas)";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(entry)) return "is not base64 (it holds a character other than A-Z, a-z, 0-9, +, / and = at the end)";
  if (/^[0-9a-fA-F]{64}$/.test(entry)) return "is 64 hex digits, not base64 (write the same 32 bytes in base64)";
  const key = Buffer.from(entry, "base64");
  if (key.length !== KEY_BYTES) return `decodes to ${key.length} bytes, not ${KEY_BYTES}`;
  const canonical = key.toString("base64");
  if (entry !== canonical && entry !== canonical.replace(/=+$/, "")) return "is not base64 (its last character or its padding is wrong)";
  return key;
}

/** A new random key, as a one-key ring's text (for a quickstart, documentation and tests). */
export function generateKeyRingText(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

/** Encrypts `plaintext` under a fresh DEK, bound to `context`, the DEK wrapped by the ring's current key. */
export function seal(plaintext: string, context: string, ring: KeyRing): SealedValue {
  requireWellFormed(plaintext, "the plaintext");
  const dataKey = randomBytes(KEY_BYTES);
  try {
    return {
      kekId: ring.currentKeyId,
      wrappedKey: wrapDataKey(dataKey, context, ring),
      ciphertext: encrypt(dataKey, Buffer.from(plaintext, "utf8"), dataAssociatedData(context)),
    };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Decrypts a value sealed for `context`. `subject` names the value in messages ("the private key
 * of version 3 of 'api'"); by default they quote the context.
 */
export function open(sealed: SealedValue, context: string, ring: KeyRing, subject = describeContext(context)): string {
  const dataKey = unwrapDataKey(sealed, context, ring, subject);
  try {
    return decrypt(dataKey, sealed.ciphertext, dataAssociatedData(context), subject, "its ciphertext").toString("utf8");
  } finally {
    dataKey.fill(0);
  }
}

/**
 * The same value with its DEK wrapped under the ring's current key, and its ciphertext the same
 * bytes: a KEK rotation never rewrites what the store holds immutable. The ciphertext is
 * authenticated on the way, so a rotation reports a damaged row instead of passing it on. A value
 * already under the current key comes back as it is.
 */
export function rewrap(sealed: SealedValue, context: string, ring: KeyRing, subject = describeContext(context)): SealedValue {
  if (sealed.kekId === ring.currentKeyId) return sealed;
  const dataKey = unwrapDataKey(sealed, context, ring, subject);
  try {
    decrypt(dataKey, sealed.ciphertext, dataAssociatedData(context), subject, "its ciphertext").fill(0);
    return { kekId: ring.currentKeyId, wrappedKey: wrapDataKey(dataKey, context, ring), ciphertext: sealed.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

/** One buffer for a store that keeps a sealed value in one column (layout in the file comment). */
export function encodeSealed(sealed: SealedValue): Buffer {
  return Buffer.concat([Buffer.of(FORMAT_VERSION), Buffer.from(sealed.kekId, "hex"), sealed.wrappedKey, sealed.ciphertext]);
}

/** The fields of `encodeSealed`'s buffer; a buffer too short to hold them fails as a damaged value would. */
export function decodeSealed(encoded: Buffer, subject = "a sealed value"): SealedValue {
  const wrappedKeyStart = 1 + KEY_ID_BYTES;
  const ciphertextStart = wrappedKeyStart + WRAPPED_KEY_BYTES;
  if (encoded.length < ciphertextStart + SHORTEST_CIPHERTEXT) throw decryptFailed(subject, `it is ${encoded.length} bytes, too short to be one`);
  if (encoded[0] !== FORMAT_VERSION) throw decryptFailed(subject, `it ${unknownFormat(encoded[0])}`);
  return {
    kekId: encoded.subarray(1, wrappedKeyStart).toString("hex"),
    wrappedKey: Buffer.from(encoded.subarray(wrappedKeyStart, ciphertextStart)),
    ciphertext: Buffer.from(encoded.subarray(ciphertextStart)),
  };
}

function dataAssociatedData(context: string): Buffer {
  return Buffer.from(`certstage:v${FORMAT_VERSION}|key|${binding(context)}`, "utf8");
}

function keyAssociatedData(kekId: string, context: string): Buffer {
  return Buffer.from(`certstage:v${FORMAT_VERSION}|dek|${kekId}|${binding(context)}`, "utf8");
}

/** Every context names a place; an empty one would bind a value to nowhere in particular. */
function binding(context: string): string {
  if (context === "") throw new TypeError("a sealed value needs a context naming where it lives");
  requireWellFormed(context, "the context");
  return context;
}

function wrapDataKey(dataKey: Buffer, context: string, ring: KeyRing): Buffer {
  return encrypt(keyOf(ring, ring.currentKeyId), dataKey, keyAssociatedData(ring.currentKeyId, context));
}

function unwrapDataKey(sealed: SealedValue, context: string, ring: KeyRing, subject: string): Buffer {
  if (!ring.has(sealed.kekId)) {
    throw envelopeError("STORE_KEY_UNKNOWN", `${subject} was sealed under key ${escaped(sealed.kekId)}, which ${ring.field} does not hold (it holds ${ring.keyIds.join(", ")})`, {
      field: ring.field,
      fix: `put the key with id ${escaped(sealed.kekId)} back into ${ring.field}, after the current one: during a rotation the ring is \`new,old\` until \`certstage store rekey\` has moved every value under the new key`,
    });
  }
  if (sealed.wrappedKey.length !== WRAPPED_KEY_BYTES) throw decryptFailed(subject, `its wrapped key is ${sealed.wrappedKey.length} bytes, not ${WRAPPED_KEY_BYTES}`);
  return decrypt(keyOf(ring, sealed.kekId), sealed.wrappedKey, keyAssociatedData(sealed.kekId, context), subject, "its wrapped key");
}

function keyOf(ring: KeyRing, keyId: string): Buffer {
  const key = KEYS_OF_RING.get(ring)?.get(keyId);
  if (key === undefined) throw new TypeError("a KeyRing must come from parseKeyRing");
  return key;
}

function encrypt(key: Buffer, plaintext: Buffer, associatedData: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT_VERSION), nonce, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer, associatedData: Buffer, subject: string, part: string): Buffer {
  if (sealed.length < SHORTEST_CIPHERTEXT) throw decryptFailed(subject, `${part} is ${sealed.length} bytes, too short to hold a nonce and a tag`);
  if (sealed[0] !== FORMAT_VERSION) throw decryptFailed(subject, `${part} ${unknownFormat(sealed[0])}`);
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plaintext = decipher.update(body);
  try {
    return Buffer.concat([plaintext, decipher.final()]);
  } catch {
    // GCM says nothing but "unauthenticated"; the bytes it produced are not to be used.
    plaintext.fill(0);
    throw decryptFailed(subject, "it failed authentication: its bytes were changed or cut short, or it was sealed for another row");
  }
}

function unknownFormat(version: number | undefined): string {
  return `is in format ${version}, which this certstage does not read (a newer certstage wrote it, or its bytes are damaged)`;
}

function decryptFailed(subject: string, why: string): CertstageError {
  return envelopeError("KEY_DECRYPT_FAILED", `${subject} cannot be decrypted: ${why}`, {
    fix: "restore the row from a backup of this store; a value copied from another row cannot be opened in this one, by design",
  });
}

function describeContext(context: string): string {
  return `the value stored for '${escaped(context)}'`;
}

/** A string UTF-8 carries unchanged: a lone surrogate would come back as U+FFFD, and two contexts would bind alike. */
function requireWellFormed(value: string, what: string): void {
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) throw new TypeError(`${what} holds a lone UTF-16 surrogate`);
}
