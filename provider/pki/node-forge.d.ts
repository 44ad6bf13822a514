/**
 * The few parts of node-forge that pki/pkcs12.ts uses. node-forge ships no types and
 * @types/node-forge is not a dependency; declaring only what is called keeps the surface visible.
 */
declare module "node-forge" {
  namespace forge {
  interface ByteStringBuffer {
    getBytes(): string;
    length(): number;
  }
  interface Asn1 {
    readonly tagClass: number;
    readonly type: number;
    readonly value: string | Asn1[];
  }
  interface MessageDigest {
    readonly digestLength: number;
  }
  interface Hmac {
    start(md: MessageDigest, key: ByteStringBuffer | string): void;
    update(bytes: string): void;
    getMac(): ByteStringBuffer;
  }
  const asn1: {
      Class: { UNIVERSAL: number; CONTEXT_SPECIFIC: number };
      Type: { SEQUENCE: number; SET: number; OID: number; OCTETSTRING: number; INTEGER: number; NULL: number; BMPSTRING: number };
      create(tagClass: number, type: number, constructed: boolean, value: string | Asn1[]): Asn1;
      fromDer(bytes: string): Asn1;
      toDer(object: Asn1): ByteStringBuffer;
      oidToDer(oid: string): ByteStringBuffer;
      integerToDer(value: number): ByteStringBuffer;
    };
  const pki: {
      oids: Record<string, string>;
      encryptPrivateKeyInfo(privateKeyInfo: Asn1, password: string, options: { algorithm: string; prfAlgorithm?: string; count: number; saltSize: number }): Asn1;
      pbe: { generatePkcs12Key(password: string, salt: ByteStringBuffer, id: number, iterations: number, length: number, md?: MessageDigest): ByteStringBuffer };
    };
  const md: { sha1: { create(): MessageDigest }; sha256: { create(): MessageDigest } };
  const hmac: { create(): Hmac };
  const random: { getBytesSync(count: number): string };
  const util: { ByteStringBuffer: new (bytes?: string) => ByteStringBuffer; encodeUtf8(text: string): string };
  }
  export = forge;
}
