/**
 * The envelope encryption of stored private keys: what it seals opens again, in its own row only,
 * under the keys of the ring, through a rotation; every changed, cut or moved byte is refused with
 * KEY_DECRYPT_FAILED; and no message, ring or sealed field shows a key or the plaintext.
 */
import { execFileSync } from "node:child_process";
import { createDecipheriv, createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CertstageError } from "../../../provider/errors";
import { decodeSealed, encodeSealed, generateKeyRingText, KeyRing, open, parseKeyRing, rewrap, seal, SealedValue } from "../../../provider/store/key-envelope";
import { expectNoPrivateKeyMaterial } from "../../support/secrets";

const FIELD = "certstage:storeKey";
const CONTEXT = "version|store-1|api|3";

function refusal(call: () => unknown): CertstageError {
  try {
    call();
  } catch (error) {
    if (error instanceof CertstageError) return error;
    throw error;
  }
  throw new Error("expected a CertstageError, and the call returned");
}

function ringOf(...keyTexts: string[]): KeyRing {
  return parseKeyRing(keyTexts.join(","), FIELD);
}

const withBitFlipped = (bytes: Buffer, bit: number) => {
  const changed = Buffer.from(bytes);
  changed[bit >> 3] ^= 1 << (bit & 7);
  return changed;
};

/**
 * Every way a key's text could show: as written, and its bytes in hex and base64url, each whole
 * and in every window of 16 characters (shorter than 8, a rendering is too short to tell a key).
 */
function expectNoKeyText(output: string, keyTexts: readonly string[]): void {
  for (const keyText of keyTexts) {
    const renderings = [keyText, Buffer.from(keyText, "base64").toString("hex"), Buffer.from(keyText, "base64").toString("base64url")];
    for (const rendering of renderings.filter((text) => text.length >= 8)) {
      expect(output).not.toContain(rendering);
      for (let start = 0; start + 16 <= rendering.length; start += 1) expect(output).not.toContain(rendering.slice(start, start + 16));
    }
  }
}

describe("seal and open", () => {
  it("open returns what seal sealed, for any text and any context", () => {
    const ring = ringOf(generateKeyRingText());
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 2000 }), fc.string({ unit: "binary", minLength: 1, maxLength: 200 }), (plaintext, context) => {
        expect(open(seal(plaintext, context, ring), context, ring)).toBe(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it("writes the documented layout: the ring's key unwraps the data key, which decrypts the value", () => {
    const keyText = generateKeyRingText();
    const key = Buffer.from(keyText, "base64");
    const plaintext = "-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n";
    const sealed = seal(plaintext, CONTEXT, ringOf(keyText));

    const keyId = createHash("sha256").update("certstage:v1|kek-id|").update(key).digest("hex").slice(0, 16);
    expect(sealed.kekId).toBe(keyId);
    expect(sealed.wrappedKey).toHaveLength(61);
    expect(sealed.wrappedKey[0]).toBe(1);
    expect(sealed.ciphertext).toHaveLength(29 + Buffer.byteLength(plaintext));
    expect(sealed.ciphertext[0]).toBe(1);

    const gcmOpen = (withKey: Buffer, part: Buffer, associatedData: string) => {
      const decipher = createDecipheriv("aes-256-gcm", withKey, part.subarray(1, 13), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(part.subarray(part.length - 16));
      return Buffer.concat([decipher.update(part.subarray(13, part.length - 16)), decipher.final()]);
    };
    const dataKey = gcmOpen(key, sealed.wrappedKey, `certstage:v1|dek|${keyId}|${CONTEXT}`);
    expect(dataKey).toHaveLength(32);
    expect(gcmOpen(dataKey, sealed.ciphertext, `certstage:v1|key|${CONTEXT}`).toString()).toBe(plaintext);
  });

  it("uses a fresh data key and fresh nonces for every seal: two seals of the same text share no part", () => {
    const keyText = generateKeyRingText();
    const ring = ringOf(keyText);
    const [first, second] = [seal("the same private key", CONTEXT, ring), seal("the same private key", CONTEXT, ring)];
    const parts = (sealed: SealedValue) => ({
      wrapNonce: sealed.wrappedKey.subarray(1, 13),
      wrappedDataKey: sealed.wrappedKey.subarray(13, 45),
      wrapTag: sealed.wrappedKey.subarray(45),
      dataNonce: sealed.ciphertext.subarray(1, 13),
      encryptedValue: sealed.ciphertext.subarray(13, sealed.ciphertext.length - 16),
      dataTag: sealed.ciphertext.subarray(sealed.ciphertext.length - 16),
    });
    const [a, b] = [parts(first), parts(second)];
    for (const name of Object.keys(a) as Array<keyof typeof a>) expect(a[name].equals(b[name]), name).toBe(false);
    // The data keys themselves differ, not only their wrapping.
    const key = Buffer.from(keyText, "base64");
    const dataKeyOf = (sealed: SealedValue) => {
      const decipher = createDecipheriv("aes-256-gcm", key, sealed.wrappedKey.subarray(1, 13), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(`certstage:v1|dek|${sealed.kekId}|${CONTEXT}`));
      decipher.setAuthTag(sealed.wrappedKey.subarray(45));
      return Buffer.concat([decipher.update(sealed.wrappedKey.subarray(13, 45)), decipher.final()]);
    };
    expect(dataKeyOf(first).equals(dataKeyOf(second))).toBe(false);
  });

  it("holds the plaintext in no field of the sealed value, nor in its one-buffer encoding", () => {
    const ring = ringOf(generateKeyRingText());
    for (const type of ["ec", "rsa"] as const) {
      const { privateKey } = type === "ec" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
      const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      const sealed = seal(pem, CONTEXT, ring);
      for (const [name, bytes] of [["wrappedKey", sealed.wrappedKey], ["ciphertext", sealed.ciphertext], ["encodeSealed", encodeSealed(sealed)]] as const) {
        expect(bytes.includes(Buffer.from(pem)), name).toBe(false);
        for (const encoding of ["latin1", "hex", "base64"] as const) expectNoPrivateKeyMaterial(bytes.toString(encoding), [pem], `${name} as ${encoding}`);
      }
      expectNoPrivateKeyMaterial(JSON.stringify(sealed), [pem], "the sealed value as JSON");
      expect(sealed.kekId).toMatch(/^[0-9a-f]{16}$/);
      expect(open(sealed, CONTEXT, ring)).toBe(pem);
    }
  });

  it("refuses text UTF-8 cannot carry and a context that names nothing, instead of sealing something else", () => {
    const ring = ringOf(generateKeyRingText());
    expect(() => seal("half a pair \ud800", CONTEXT, ring)).toThrow(TypeError);
    expect(() => seal("key", "", ring)).toThrow(TypeError);
    expect(() => seal("key", "version|\udc00", ring)).toThrow(TypeError);
  });

  it("refuses a ring that parseKeyRing did not make", () => {
    const ring = ringOf(generateKeyRingText());
    const lookalike: KeyRing = { field: FIELD, currentKeyId: ring.currentKeyId, keyIds: ring.keyIds, has: (id) => ring.has(id) };
    expect(() => seal("key", CONTEXT, lookalike)).toThrow(TypeError);
  });
});

describe("a changed, cut or moved sealed value", () => {
  const ring = ringOf(generateKeyRingText(), generateKeyRingText());
  const sealed = seal("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n", CONTEXT, ring);

  it.each(["wrappedKey", "ciphertext"] as const)("fails with KEY_DECRYPT_FAILED for every single bit flipped in %s", (part) => {
    for (let bit = 0; bit < sealed[part].length * 8; bit += 1) {
      const changed = { ...sealed, [part]: withBitFlipped(sealed[part], bit) };
      expect(refusal(() => open(changed, CONTEXT, ring)).code, `bit ${bit}`).toBe("KEY_DECRYPT_FAILED");
    }
  });

  it.each(["wrappedKey", "ciphertext"] as const)("fails with KEY_DECRYPT_FAILED when %s is cut short (a truncated tag) or has bytes added", (part) => {
    for (let cut = 1; cut <= sealed[part].length; cut += 1) {
      const changed = { ...sealed, [part]: sealed[part].subarray(0, sealed[part].length - cut) };
      expect(refusal(() => open(changed, CONTEXT, ring)).code, `cut ${cut}`).toBe("KEY_DECRYPT_FAILED");
    }
    const longer = { ...sealed, [part]: Buffer.concat([sealed[part], Buffer.of(0)]) };
    expect(refusal(() => open(longer, CONTEXT, ring)).code).toBe("KEY_DECRYPT_FAILED");
  });

  it("fails when only the tag is shortened, the rest of the layout kept, as GCM without authTagLength would accept", () => {
    for (const tagLength of [4, 8, 12, 15]) {
      const shortTag = Buffer.concat([sealed.ciphertext.subarray(0, sealed.ciphertext.length - 16), sealed.ciphertext.subarray(sealed.ciphertext.length - 16, sealed.ciphertext.length - 16 + tagLength)]);
      expect(refusal(() => open({ ...sealed, ciphertext: shortTag }, CONTEXT, ring)).code, `${tagLength}-byte tag`).toBe("KEY_DECRYPT_FAILED");
    }
  });

  it("fails when relabelled with the id of another key of the ring", () => {
    const relabelled = { ...sealed, kekId: ring.keyIds[1] };
    expect(refusal(() => open(relabelled, CONTEXT, ring)).code).toBe("KEY_DECRYPT_FAILED");
  });

  it("opens in no other context, and the refusal names the context it was opened in and how to fix it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 100 }), (otherContext) => {
        fc.pre(otherContext !== CONTEXT);
        const error = refusal(() => open(sealed, otherContext, ring));
        expect(error.code).toBe("KEY_DECRYPT_FAILED");
        expect(error.fix).toMatch(/backup/);
      }),
      { numRuns: 200 },
    );
    const moved = refusal(() => open(sealed, "version|store-1|api|4", ring, "the private key of version 4 of 'api'"));
    expect(moved.message).toMatch(/^\[KEY_DECRYPT_FAILED\] the private key of version 4 of 'api' cannot be decrypted: it failed authentication.*Fix: restore the row from a backup/);
    expect(refusal(() => open(sealed, "version|store-2|api|3", ring)).message).toContain("'version|store-2|api|3'");
  });

  it("is refused with STORE_KEY_UNKNOWN by a ring without its key, naming the key id and the rekey", () => {
    const otherRing = ringOf(generateKeyRingText());
    const error = refusal(() => open(sealed, CONTEXT, otherRing));
    expect(error.code).toBe("STORE_KEY_UNKNOWN");
    expect(error.field).toBe(FIELD);
    expect(error.message).toContain(sealed.kekId);
    expect(error.message).toContain(otherRing.currentKeyId);
    expect(error.fix).toMatch(/new,old.*certstage store rekey/);
  });
});

describe("rotation", () => {
  it("opens a value sealed under the old key with `new,old`, rewraps it under the new key with the same ciphertext bytes, and then opens it with `new` alone", () => {
    const [oldKey, newKey] = [generateKeyRingText(), generateKeyRingText()];
    const plaintext = "-----BEGIN EC PRIVATE KEY-----\nrotated\n-----END EC PRIVATE KEY-----\n";
    const sealed = seal(plaintext, CONTEXT, ringOf(oldKey));
    const ciphertextBefore = Buffer.from(sealed.ciphertext);

    const during = ringOf(newKey, oldKey);
    expect(open(sealed, CONTEXT, during)).toBe(plaintext);
    const rewrapped = rewrap(sealed, CONTEXT, during);
    expect(rewrapped.kekId).toBe(during.currentKeyId);
    expect(rewrapped.kekId).not.toBe(sealed.kekId);
    expect(rewrapped.wrappedKey.equals(sealed.wrappedKey)).toBe(false);
    expect(rewrapped.ciphertext.equals(ciphertextBefore)).toBe(true);

    const after = ringOf(newKey);
    expect(open(rewrapped, CONTEXT, after)).toBe(plaintext);
    expect(refusal(() => open(sealed, CONTEXT, after)).code).toBe("STORE_KEY_UNKNOWN");
    expect(rewrap(rewrapped, CONTEXT, after)).toBe(rewrapped);
  });

  it("refuses to rewrap a value whose ciphertext was changed, or that belongs to another row", () => {
    const [oldKey, newKey] = [generateKeyRingText(), generateKeyRingText()];
    const sealed = seal("key", CONTEXT, ringOf(oldKey));
    const during = ringOf(newKey, oldKey);
    expect(refusal(() => rewrap({ ...sealed, ciphertext: withBitFlipped(sealed.ciphertext, 100) }, CONTEXT, during)).code).toBe("KEY_DECRYPT_FAILED");
    expect(refusal(() => rewrap(sealed, "version|store-1|api|4", during)).code).toBe("KEY_DECRYPT_FAILED");
    expect(refusal(() => rewrap(sealed, CONTEXT, ringOf(newKey))).code).toBe("STORE_KEY_UNKNOWN");
  });
});

describe("encodeSealed and decodeSealed", () => {
  it("round-trip a sealed value through one buffer", () => {
    const ring = ringOf(generateKeyRingText());
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (plaintext) => {
        const decoded = decodeSealed(encodeSealed(seal(plaintext, CONTEXT, ring)));
        expect(open(decoded, CONTEXT, ring)).toBe(plaintext);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses a buffer too short to hold a sealed value, or of another format, as a damaged value", () => {
    const encoded = encodeSealed(seal("", CONTEXT, ringOf(generateKeyRingText())));
    expect(refusal(() => decodeSealed(encoded.subarray(0, encoded.length - 1))).code).toBe("KEY_DECRYPT_FAILED");
    expect(refusal(() => decodeSealed(Buffer.alloc(0))).code).toBe("KEY_DECRYPT_FAILED");
    expect(refusal(() => decodeSealed(Buffer.concat([Buffer.of(2), encoded.subarray(1)]))).message).toMatch(/format 2/);
  });
});

describe("parseKeyRing", () => {
  it("reads keys as `openssl rand -base64 32` prints them, separated by commas with whitespace around: the first seals", () => {
    const printed = [1, 2, 3].map(() => execFileSync("openssl", ["rand", "-base64", "32"], { encoding: "utf8" }));
    const ring = parseKeyRing(`  ${printed[0].trim()} ,\n${printed[1]},${printed[2].trim().replace(/=$/, "")}\n`, FIELD);
    const idOf = (text: string) => parseKeyRing(text, FIELD).currentKeyId;
    expect(ring.keyIds).toEqual(printed.map(idOf));
    expect(ring.currentKeyId).toBe(ring.keyIds[0]);
    expect(ring.keyIds.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
    expect(ring.has(ring.keyIds[2])).toBe(true);
    expect(ring.has("0000000000000000")).toBe(false);
  });

  const good = generateKeyRingText();
  const bad: Array<[string, string, RegExp]> = [
    ["nothing", "", /the key ring holds no key/],
    ["only whitespace", " \n\t", /the key ring holds no key/],
    ["an empty entry between commas", `${good},,${generateKeyRingText()}`, /key 2 of 3 is empty/],
    ["a trailing comma", `${good},`, /key 2 of 2 is empty/],
    ["base64url characters", randomBytes(32).toString("base64url").replace(/^./, "-"), /the key is not base64/],
    ["a character outside base64", `${randomBytes(30).toString("base64")}!`, /the key is not base64/],
    ["16 bytes", randomBytes(16).toString("base64"), /the key decodes to 16 bytes, not 32/],
    ["33 bytes", `${good},${randomBytes(33).toString("base64")}`, /key 2 of 2 decodes to 33 bytes, not 32/],
    ["hex", randomBytes(32).toString("hex"), /the key is 64 hex digits, not base64/],
    ["wrong padding", `${good.slice(0, 43)}==`, /the key is not base64 \(its last character or its padding is wrong\)/],
    ["two keys on two lines without a comma", `${good}\n${generateKeyRingText()}`, /the key holds whitespace \(keys are separated by commas\)/],
    ["the same key twice", `${generateKeyRingText()},${good}, ${good}`, /key 3 of 3 is the same key as key 2/],
  ];

  it.each(bad)("refuses %s with STORE_KEY_INVALID, by position and reason, without the key text", (_case, text, reason) => {
    const error = refusal(() => parseKeyRing(text, "CERTSTAGE_STORE_KEY"));
    expect(error.code).toBe("STORE_KEY_INVALID");
    expect(error.field).toBe("CERTSTAGE_STORE_KEY");
    expect(error.message).toMatch(reason);
    expect(error.fix).toMatch(/openssl rand -base64 32/);
    expectNoKeyText(error.message, text.split(/[\s,]+/).filter((entry) => entry.length > 0));
  });

  it("reports every wrong key at once", () => {
    const error = refusal(() => parseKeyRing(`${good},${randomBytes(8).toString("base64")},${good}`, FIELD));
    expect(error.message).toMatch(/key 2 of 3 decodes to 8 bytes, not 32; key 3 of 3 is the same key as key 1/);
  });

  it("never quotes a key in its messages, whatever the ring holds", () => {
    const entry = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("base64")),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString("base64")),
      fc.uint8Array({ minLength: 24, maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("hex")),
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), fc.boolean(), (entries, repeatFirst) => {
        const texts = repeatFirst ? [...entries, entries[0]] : entries;
        try {
          parseKeyRing(texts.join(","), FIELD);
        } catch (error) {
          if (!(error instanceof CertstageError)) throw error;
          expect(error.code).toBe("STORE_KEY_INVALID");
          expectNoKeyText(error.message, texts);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("shows ids and never keys through JSON.stringify, util.inspect, String and spreading", () => {
    const keys = [generateKeyRingText(), generateKeyRingText()];
    const ring = ringOf(...keys);
    const json = JSON.stringify({ ring });
    expect(JSON.parse(json)).toEqual({ ring: { field: FIELD, currentKeyId: ring.currentKeyId, keyIds: ring.keyIds } });
    expect(inspect(ring)).toContain(ring.keyIds[1]);
    for (const shown of [json, inspect(ring), inspect(ring, { showHidden: true, depth: Infinity, customInspect: false }), String(ring), JSON.stringify({ ...ring })]) {
      expectNoKeyText(shown, keys);
    }
  });

  it("gives a key the same id in every ring, and an id that is not part of the key", () => {
    const key = generateKeyRingText();
    const other = generateKeyRingText();
    expect(ringOf(key).currentKeyId).toBe(ringOf(other, key).keyIds[1]);
    expect(Buffer.from(key, "base64").toString("hex")).not.toContain(ringOf(key).currentKeyId);
  });
});
