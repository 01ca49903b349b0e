/**
 * The 1Kosmos BlockID envelope: ECDH on secp256k1 between our key pair and the community's
 * public key gives a 32-byte shared secret, used directly as the AES-256-GCM key;
 * `ENC(x) = base64(iv[16] ‖ ciphertext ‖ tag[16])`. Public keys travel as base64 of the raw
 * 64-byte point (x ‖ y, the 0x04 prefix removed), private keys as base64 of 32 bytes.
 *
 * Implemented from the public helper's source (see "Using 1Kosmos BlockID" in the README) with node:crypto only.
 * Every failure (bad key, bad base64, short input, wrong key, tampering) throws an
 * {@link EnvelopeError}; callers map it to their own errors.
 */
import { createCipheriv, createDecipheriv, createECDH, randomBytes } from "node:crypto";

const CURVE = "secp256k1";
const ALGORITHM = "aes-256-gcm";
/** The helper uses a 16-byte IV (not GCM's usual 12); the wire format depends on it. */
export const IV_BYTES = 16;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
const POINT_BYTES = 64;

/** Thrown for every envelope failure; its message never contains key or plaintext material. */
export class EnvelopeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnvelopeError";
  }
}

/** A secp256k1 key pair in the protocol's encoding (both base64). */
export interface KeyPair {
  /** 32 bytes, base64. A secret: never log it, never send it. */
  privateKey: string;
  /** The raw 64-byte point without the 0x04 prefix, base64: what the `publickey` header carries. */
  publicKey: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64: Buffer.from silently skips junk, which would hide a malformed answer. */
function fromBase64(value: string, what: string): Buffer {
  if (typeof value !== "string" || !BASE64.test(value)) {
    throw new EnvelopeError(`${what} is not base64`);
  }
  return Buffer.from(value, "base64");
}

function ecdhFor(privateKey: string) {
  const raw = fromBase64(privateKey, "The private key");
  if (raw.length !== KEY_BYTES) throw new EnvelopeError("The private key is not 32 bytes");
  const ecdh = createECDH(CURVE);
  try {
    ecdh.setPrivateKey(raw);
  } catch (error) {
    throw new EnvelopeError("The private key is not a secp256k1 key", { cause: error });
  }
  return ecdh;
}

/**
 * The private key as exactly 32 bytes: node drops leading zero bytes (about one key in 256
 * has one), and the other side expects the fixed width.
 */
function encodePrivateKey(key: Buffer): string {
  const padded = Buffer.alloc(KEY_BYTES);
  key.copy(padded, KEY_BYTES - key.length);
  return padded.toString("base64");
}

function encodePublicKey(uncompressed: Buffer): string {
  // Drop the 0x04 "uncompressed point" prefix, as the protocol does.
  return uncompressed.subarray(1).toString("base64");
}

/** A fresh random key pair (node:crypto's CSPRNG, S1). */
export function generateKeyPair(): KeyPair {
  const ecdh = createECDH(CURVE);
  ecdh.generateKeys();
  return {
    privateKey: encodePrivateKey(ecdh.getPrivateKey()),
    publicKey: encodePublicKey(ecdh.getPublicKey()),
  };
}

/** The key pair of a known private key (for configured or fixed test keys). */
export function keyPairFromPrivateKey(privateKey: string): KeyPair {
  const ecdh = ecdhFor(privateKey);
  return {
    privateKey: encodePrivateKey(ecdh.getPrivateKey()),
    publicKey: encodePublicKey(ecdh.getPublicKey()),
  };
}

/**
 * The AES-256-GCM key shared with the holder of `peerPublicKey`: the ECDH secret (the
 * x coordinate, 32 bytes) used as is, without a KDF, because that is what the other side
 * does. Throws {@link EnvelopeError} when either key is malformed or the point is not on
 * the curve (which also rejects invalid-curve points).
 */
export function deriveSharedKey(privateKey: string, peerPublicKey: string): Buffer {
  const ecdh = ecdhFor(privateKey);
  const point = fromBase64(peerPublicKey, "The public key");
  if (point.length !== POINT_BYTES)
    throw new EnvelopeError("The public key is not a 64-byte point");
  try {
    return ecdh.computeSecret(Buffer.concat([Buffer.from([0x04]), point]));
  } catch (error) {
    throw new EnvelopeError("The public key is not a secp256k1 point", { cause: error });
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new EnvelopeError("The shared key is not 32 bytes");
}

export interface EncryptOptions {
  /**
   * A fixed IV, for the wire-format test vectors only. Production code must never pass it:
   * reusing an IV with the same GCM key breaks both secrecy and integrity.
   */
  iv?: Uint8Array;
}

/** `ENC(plaintext)`: base64(iv ‖ ciphertext ‖ tag) under `key`, with a fresh random IV. */
export function encrypt(plaintext: string, key: Uint8Array, options: EncryptOptions = {}): string {
  checkKey(key);
  const iv = options.iv ? Buffer.from(options.iv) : randomBytes(IV_BYTES);
  if (iv.length !== IV_BYTES) throw new EnvelopeError("The IV is not 16 bytes");
  const cipher = createCipheriv(ALGORITHM, key, iv);
  // Stryker disable next-line StringLiteral: Node encodes a string as UTF-8 when given no encoding.
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The reverse of {@link encrypt}. Throws {@link EnvelopeError} unless the tag verifies
 * under `key` (a tampered IV, ciphertext or tag, or the wrong key) and the plaintext is
 * valid UTF-8. Nothing of a failed decryption is returned.
 */
export function decrypt(envelope: string, key: Uint8Array): string {
  checkKey(key);
  const raw = fromBase64(envelope, "The envelope");
  if (raw.length < IV_BYTES + TAG_BYTES) throw new EnvelopeError("The envelope is too short");
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
  let plain: Buffer;
  try {
    // Stryker disable next-line ObjectLiteral: the tag is always the last 16 bytes, the length GCM assumes.
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (error) {
    throw new EnvelopeError("The envelope does not authenticate", { cause: error });
  }
  try {
    return UTF8.decode(plain);
  } catch (error) {
    throw new EnvelopeError("The envelope does not hold UTF-8 text", { cause: error });
  }
}
