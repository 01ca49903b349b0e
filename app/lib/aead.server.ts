import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { deriveKey } from "./crypto.server";

/**
 * AES-256-GCM sealing for cookie payloads (S19): React Router's cookies are signed, not
 * encrypted, so anything personal in them is sealed here first. The first secret seals;
 * every secret opens, so rotating SESSION_SECRETS signs nobody out (S24).
 */
export interface Sealer {
  seal(plaintext: string): string;
  /** The plaintext, or null when the value was not sealed by any of our keys. */
  open(sealed: string): string | null;
}

export function createSealer(
  secrets: readonly string[],
  purpose: string,
  /** Longest sealed value `open` accepts (cookies: 8192; records in the store may be larger). */
  maxLength = 8192,
): Sealer {
  if (secrets.length === 0) throw new Error("createSealer needs at least one secret");
  // Derived once per process and held as KeyObjects: a raw Buffer key is wrapped into a new
  // key object by every createCipheriv/createDecipheriv, which costs more than the AES itself.
  const keys = secrets.map((secret) => createSecretKey(deriveKey(secret, `aead:${purpose}`)));
  const [sealKey] = keys as [KeyObject, ...KeyObject[]];
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", sealKey, iv);
      // Stryker disable next-line StringLiteral: equivalent, UTF-8 is also what Node reads a string as by default
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    open(sealed) {
      if (typeof sealed !== "string" || sealed.length > maxLength) return null;
      const raw = Buffer.from(sealed, "base64url");
      if (raw.length < 12 + 16) return null;
      const iv = raw.subarray(0, 12);
      const tag = raw.subarray(raw.length - 16);
      const body = raw.subarray(12, raw.length - 16);
      for (const key of keys) {
        try {
          const decipher = createDecipheriv("aes-256-gcm", key, iv);
          decipher.setAuthTag(tag);
          return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
        } catch {
          // Not this key (or tampered): try the next.
        }
      }
      return null;
    },
  };
}
