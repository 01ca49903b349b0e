import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  EnvelopeError,
  decrypt,
  deriveSharedKey,
  encrypt,
  generateKeyPair,
  keyPairFromPrivateKey,
} from "../../adapters/blockid/envelope";

// Fixed vectors, generated once with plain node:crypto (createECDH + aes-256-gcm), not with
// the module under test. They pin the wire format: a change of curve, key encoding, IV
// length, layout (iv ‖ ciphertext ‖ tag) or base64 flavour fails here.
const CLIENT = {
  privateKey: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", // bytes 0x01..0x20
  publicKey:
    "hL91YiYrvWlACFdI875q+lKuMXFVGB7OMbZjUcz/pLCMxD1jsoWdRp/uFfMcnttTJCZub9BAfoc4LWD8RRGs2A==",
};
const COMMUNITY = {
  privateKey: "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8=", // bytes 0x80..0x9f
  publicKey:
    "sYMW67+xjKfqSJ2JriYQQB33D3Wa8rYTOaYP6KtfZcpowmeFgde+sLSeFz7gfhRnzWAiGn6IfoUL+zOmhtTy+g==",
};
const SHARED_KEY = "kJCvmzjssbW4Mbh7FGHVNPdleiaIuQaIA6Hx2u1b49o=";
const IV = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const VECTORS: Array<[plaintext: string, envelope: string]> = [
  [
    '{"createdBy":"app","version":"v0","type":"verification_link","emailTo":"ada@example.com"}',
    "oKGio6SlpqeoqaqrrK2uryxVWlZ+bee8pwilwXcYYvvhPrQUsOzAPSTi+5wcmz67bkRZ6lE1vOJO/P6jLfpYEEZG5Tzrhhe5gdEbo6i4t+aC5bG8MOV7yg9OSaRzdIj7349X5PHdjDYWSf6F5KFHB7bzM2O5xOWJ/g==",
  ],
  [
    "0b6e6c4c-4f1e-4c4b-9c1a-2d7f3c9e8a11",
    "oKGio6SlpqeoqaqrrK2ur2cVD0Etb6e67n660igXN+ilfrUPpbjTY3/potgV2nHudAlKr3E0WYiUfeXy9fpCBF0FmAk=",
  ],
  ["", "oKGio6SlpqeoqaqrrK2ur/I7GJMYBKGsWvRanEvVnQc="],
];

const key = () => Buffer.from(SHARED_KEY, "base64");

/** Flip one bit of the decoded envelope at `index` (negative counts from the end). */
function flip(envelope: string, index: number): string {
  const raw = Buffer.from(envelope, "base64");
  const at = index < 0 ? raw.length + index : index;
  raw[at] = (raw[at] as number) ^ 0x01;
  return raw.toString("base64");
}

describe("BlockID envelope: key agreement", () => {
  it("encodes public keys as the raw 64-byte point without the 0x04 prefix", () => {
    expect(keyPairFromPrivateKey(CLIENT.privateKey)).toEqual(CLIENT);
    expect(keyPairFromPrivateKey(COMMUNITY.privateKey)).toEqual(COMMUNITY);
    const fresh = generateKeyPair();
    expect(Buffer.from(fresh.publicKey, "base64")).toHaveLength(64);
    expect(Buffer.from(fresh.privateKey, "base64")).toHaveLength(32);
  });

  it("derives the fixed shared key, the same from both sides", () => {
    expect(deriveSharedKey(CLIENT.privateKey, COMMUNITY.publicKey).toString("base64")).toBe(
      SHARED_KEY,
    );
    expect(deriveSharedKey(COMMUNITY.privateKey, CLIENT.publicKey).toString("base64")).toBe(
      SHARED_KEY,
    );
  });

  it("agrees on a key for fresh pairs", () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(deriveSharedKey(a.privateKey, b.publicKey)).toEqual(
      deriveSharedKey(b.privateKey, a.publicKey),
    );
    expect(deriveSharedKey(a.privateKey, b.publicKey)).toHaveLength(32);
  });

  it("rejects malformed keys and points off the curve", () => {
    const offCurve = Buffer.alloc(64, 7).toString("base64");
    expect(() => deriveSharedKey(CLIENT.privateKey, offCurve)).toThrow(EnvelopeError);
    expect(() => deriveSharedKey(CLIENT.privateKey, CLIENT.publicKey.slice(0, 40))).toThrow(
      EnvelopeError,
    );
    expect(() => deriveSharedKey(CLIENT.privateKey, "not base64!")).toThrow(EnvelopeError);
    // A 65-byte point with the prefix still on is not the protocol's encoding.
    const prefixed = Buffer.concat([Buffer.from([4]), Buffer.from(COMMUNITY.publicKey, "base64")]);
    expect(() => deriveSharedKey(CLIENT.privateKey, prefixed.toString("base64"))).toThrow(
      EnvelopeError,
    );
    expect(() => keyPairFromPrivateKey(Buffer.alloc(32).toString("base64"))).toThrow(EnvelopeError);
    expect(() => keyPairFromPrivateKey(Buffer.alloc(31, 1).toString("base64"))).toThrow(
      EnvelopeError,
    );
  });
});

describe("BlockID envelope: ENC", () => {
  it.each(VECTORS)("matches the fixed vector for %j", (plaintext, envelope) => {
    expect(encrypt(plaintext, key(), { iv: IV })).toBe(envelope);
    expect(decrypt(envelope, key())).toBe(plaintext);
  });

  it("round-trips text, including non-ASCII, with a fresh IV each time", () => {
    const text = JSON.stringify({ email: "zoë@例え.jp", n: 1 });
    const one = encrypt(text, key());
    const two = encrypt(text, key());
    expect(one).not.toBe(two);
    expect(Buffer.from(one, "base64").subarray(0, 16)).not.toEqual(
      Buffer.from(two, "base64").subarray(0, 16),
    );
    expect(decrypt(one, key())).toBe(text);
    expect(decrypt(two, key())).toBe(text);
    const long = "x".repeat(100_000);
    expect(decrypt(encrypt(long, key()), key())).toBe(long);
  });

  it("lays the envelope out as iv[16] ‖ ciphertext ‖ tag[16]", () => {
    const raw = Buffer.from(encrypt("abc", key(), { iv: IV }), "base64");
    expect(raw).toHaveLength(16 + 3 + 16);
    expect(Uint8Array.from(raw.subarray(0, 16))).toEqual(IV);
  });

  it("rejects a tampered IV, ciphertext or tag", () => {
    const [plaintext, envelope] = VECTORS[0] as [string, string];
    expect(decrypt(envelope, key())).toBe(plaintext);
    for (const index of [0, 15, 16, 40, -17, -16, -1]) {
      expect(() => decrypt(flip(envelope, index), key()), `byte ${index}`).toThrow(EnvelopeError);
    }
  });

  it("rejects truncated, extended and malformed envelopes", () => {
    const [, envelope] = VECTORS[1] as [string, string];
    const raw = Buffer.from(envelope, "base64");
    expect(() => decrypt(raw.subarray(0, raw.length - 1).toString("base64"), key())).toThrow(
      EnvelopeError,
    );
    expect(() => decrypt(Buffer.concat([raw, Buffer.from([0])]).toString("base64"), key())).toThrow(
      EnvelopeError,
    );
    expect(() => decrypt(raw.subarray(0, 31).toString("base64"), key())).toThrow(EnvelopeError);
    expect(() => decrypt("", key())).toThrow(EnvelopeError);
    expect(() => decrypt(`${envelope}!`, key())).toThrow(EnvelopeError);
    expect(() => decrypt(envelope.replace(/=+$/, ""), key())).toThrow(EnvelopeError);
  });

  it("rejects the wrong key", () => {
    const [, envelope] = VECTORS[0] as [string, string];
    const other = generateKeyPair();
    const wrong = deriveSharedKey(other.privateKey, COMMUNITY.publicKey);
    expect(() => decrypt(envelope, wrong)).toThrow(EnvelopeError);
    expect(() => decrypt(envelope, Buffer.alloc(16))).toThrow(EnvelopeError);
    expect(() => encrypt("x", Buffer.alloc(16))).toThrow(EnvelopeError);
  });

  it("refuses an IV that is not 16 bytes", () => {
    expect(() => encrypt("x", key(), { iv: new Uint8Array(12) })).toThrow(EnvelopeError);
  });

  it("rejects plaintext that is not UTF-8", () => {
    // Sealed with plain node:crypto, since the module itself only ever encrypts text.
    const cipher = createCipheriv("aes-256-gcm", key(), IV);
    const body = Buffer.concat([cipher.update(Buffer.from([0xc3, 0x28])), cipher.final()]);
    const envelope = Buffer.concat([IV, body, cipher.getAuthTag()]).toString("base64");
    expect(() => decrypt(envelope, key())).toThrow(EnvelopeError);
  });
});

describe("private keys with leading zero bytes", () => {
  it("are always encoded as 32 bytes, and still agree on the shared key", () => {
    // One key in 256 starts with a zero byte, which node's getPrivateKey() drops.
    const withZero = Buffer.alloc(32, 7);
    withZero[0] = 0;
    const pair = keyPairFromPrivateKey(withZero.toString("base64"));
    expect(Buffer.from(pair.privateKey, "base64")).toHaveLength(32);
    const other = generateKeyPair();
    expect(deriveSharedKey(pair.privateKey, other.publicKey)).toEqual(
      deriveSharedKey(other.privateKey, pair.publicKey),
    );
  });

  it("holds for many generated pairs", () => {
    for (let i = 0; i < 600; i++) {
      expect(Buffer.from(generateKeyPair().privateKey, "base64")).toHaveLength(32);
    }
  });
});

describe("BlockID envelope: what each failure says", () => {
  /** The EnvelopeError `run` throws: its message, and whether it keeps the underlying cause. */
  function failure(run: () => unknown): { message: string; cause: boolean } {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(EnvelopeError);
      expect((error as Error).name).toBe("EnvelopeError");
      return { message: (error as Error).message, cause: (error as Error).cause !== undefined };
    }
    throw new Error("expected an EnvelopeError");
  }

  it("names the key or point that is wrong, and how", () => {
    expect(failure(() => keyPairFromPrivateKey("not base64!"))).toEqual({
      message: "The private key is not base64",
      cause: false,
    });
    expect(failure(() => keyPairFromPrivateKey(Buffer.alloc(31, 1).toString("base64")))).toEqual({
      message: "The private key is not 32 bytes",
      cause: false,
    });
    expect(failure(() => keyPairFromPrivateKey(Buffer.alloc(32).toString("base64")))).toEqual({
      message: "The private key is not a secp256k1 key",
      cause: true,
    });
    expect(failure(() => deriveSharedKey(CLIENT.privateKey, "not base64!"))).toEqual({
      message: "The public key is not base64",
      cause: false,
    });
    const prefixed = Buffer.concat([Buffer.from([4]), Buffer.from(COMMUNITY.publicKey, "base64")]);
    expect(failure(() => deriveSharedKey(CLIENT.privateKey, prefixed.toString("base64")))).toEqual({
      message: "The public key is not a 64-byte point",
      cause: false,
    });
    const offCurve = Buffer.alloc(64, 7).toString("base64");
    expect(failure(() => deriveSharedKey(CLIENT.privateKey, offCurve))).toEqual({
      message: "The public key is not a secp256k1 point",
      cause: true,
    });
  });

  it("names what is wrong with a key, an IV or an envelope", () => {
    const envelope = encrypt("hello", key());
    expect(failure(() => encrypt("x", Buffer.alloc(31)))).toEqual({
      message: "The shared key is not 32 bytes",
      cause: false,
    });
    expect(failure(() => decrypt(envelope, Buffer.alloc(31)))).toEqual({
      message: "The shared key is not 32 bytes",
      cause: false,
    });
    expect(failure(() => encrypt("x", key(), { iv: new Uint8Array(12) })).message).toBe(
      "The IV is not 16 bytes",
    );
    expect(failure(() => decrypt("not base64!", key()))).toEqual({
      message: "The envelope is not base64",
      cause: false,
    });
    // A number that reads as base64 once made a string is still not an envelope.
    expect(failure(() => decrypt(1234 as unknown as string, key())).message).toBe(
      "The envelope is not base64",
    );
    const short = Buffer.alloc(31, 1).toString("base64");
    expect(failure(() => decrypt(short, key()))).toEqual({
      message: "The envelope is too short",
      cause: false,
    });
    expect(failure(() => decrypt(flip(envelope, -1), key()))).toEqual({
      message: "The envelope does not authenticate",
      cause: true,
    });
  });

  it("an envelope of exactly IV and tag holds the empty text", () => {
    const empty = encrypt("", key());
    expect(Buffer.from(empty, "base64")).toHaveLength(32);
    expect(decrypt(empty, key())).toBe("");
  });

  it("names an envelope whose text is not UTF-8, keeping the decoder's error", () => {
    const iv = Buffer.alloc(16, 3);
    const cipher = createCipheriv("aes-256-gcm", key(), iv);
    const body = Buffer.concat([cipher.update(Buffer.from([0xff, 0xfe])), cipher.final()]);
    const envelope = Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
    expect(failure(() => decrypt(envelope, key()))).toEqual({
      message: "The envelope does not hold UTF-8 text",
      cause: true,
    });
  });
});
