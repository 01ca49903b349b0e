import {
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomFillSync,
  randomInt,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";

/** 32 random bytes, base64url: a link token (S1). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** 256 nonces of 16 bytes: one refill of the request-nonce pool. */
const noncePool = Buffer.alloc(4096);
let noncePoolUsed = noncePool.length;

/**
 * 16 random bytes, base64, for the value every page request makes (the CSP nonce): cut from
 * a buffer that one call to the CSPRNG fills (Node buffers its own random ids so), each byte
 * handed out once. Asking the CSPRNG for 16 bytes per request cost several times the
 * slicing (about 10 µs a request on a page server, against 2).
 */
export function requestNonce(): string {
  if (noncePoolUsed === noncePool.length) {
    randomFillSync(noncePool);
    noncePoolUsed = 0;
  }
  const nonce = noncePool.toString("base64", noncePoolUsed, noncePoolUsed + 16);
  noncePoolUsed += 16;
  return nonce;
}

/** A six-digit code, uniform over 000000–999999 (S1). */
export function randomCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, "0");
}

/** A random id (hex) for records and sessions; 16 bytes = 128 bits (S20). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString("hex");
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/**
 * The KeyObject of each key given to `hmacHex`, made once: handed a raw Buffer, every
 * createHmac wraps it into a new key object first, which costs several times the HMAC.
 * Keys are derived once per process and never changed in place.
 */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/** Keyed hash: what the store keeps instead of a secret (S5). */
export function hmacHex(key: Uint8Array, value: string): string {
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return createHmac("sha256", keyObject).update(value).digest("hex");
}

/** Constant-time equality of two strings (S6); unequal lengths are simply unequal. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** Derive an independent 32-byte key for one purpose from a configured secret. */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "passwordless-starter", purpose, 32));
}
