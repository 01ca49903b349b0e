/**
 * Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), as an authenticator app
 * computes them: HMAC-SHA-1 of the 30-second step, dynamic truncation, six digits. The
 * WorkOS emulator validates codes with it, and tests use it to play the person's
 * authenticator app from the secret shown on the enrollment page.
 */
import { createHmac, randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding (what otpauth:// URIs and authenticator apps use). */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decode base32 (case-insensitive; spaces and padding ignored). Throws on other characters. */
export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s=]/g, "");
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new 160-bit secret in base32, as WorkOS issues for a TOTP factor. */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** HOTP (RFC 4226 §5.3) of `counter` with `key`: six digits, zero-padded. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** The 30-second step that `timeMs` falls in. */
export const totpStep = (timeMs: number, stepSeconds = 30) =>
  Math.floor(timeMs / 1000 / stepSeconds);

/** The TOTP code for a base32 `secret` at `timeMs` (ms since the epoch). */
export function totp(secret: string, timeMs: number): string {
  return hotp(base32Decode(secret), totpStep(timeMs));
}

/**
 * The step a `code` is valid for at `timeMs`, allowing one step of clock drift either way
 * (RFC 6238 §5.2), or null when it matches none.
 */
export function verifyTotp(secret: string, code: string, timeMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const key = base32Decode(secret);
  const now = totpStep(timeMs);
  for (const step of [now, now - 1, now + 1]) {
    if (hotp(key, step) === code) return step;
  }
  return null;
}
