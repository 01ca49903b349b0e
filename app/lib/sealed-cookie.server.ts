import { createSealer } from "./aead.server";

/**
 * A cookie whose whole value is one AES-256-GCM seal (S19): the seal is what authenticates
 * it, so it carries no second signature. Its tag fails for any value not sealed by one of
 * our keys (tampered, forged, or sealed for another purpose), and every configured secret
 * opens it while only the first seals, so rotating SESSION_SECRETS signs nobody out (S24).
 *
 * React Router's signed cookies would add an HMAC over the sealed value, computed with Web
 * Crypto (a key import per sign and per verify) and base64 of JSON around it: the same
 * guarantee paid for twice on every request that carries a session.
 */
export interface SealedCookie {
  readonly name: string;
  /**
   * The opened value of this cookie in a `Cookie` header: "absent" when the header does not
   * carry it, "invalid" when it does but no key of ours opens it (tampered, forged, expired
   * key, malformed or oversized: S26 treats all of these as no cookie, never an error).
   */
  open(header: string | null): string | "absent" | "invalid";
  /** The Set-Cookie header sealing `plaintext`, kept by the browser for `maxAgeSeconds`. */
  serialize(plaintext: string, maxAgeSeconds: number): string;
  /** The Set-Cookie header that removes the cookie. */
  readonly clear: string;
}

export interface SealedCookieOptions {
  name: string;
  secrets: readonly string[];
  /** Derives this cookie's own keys: a value sealed for one purpose opens for no other. */
  purpose: string;
  /** Over https: the Secure attribute (and the caller's __Host- name, S18). */
  secure: boolean;
  /**
   * Keep the plaintext of this many recently opened values, so a cookie sent again (a
   * session's, on every request until it rolls) is not deciphered again. Default 0: none.
   */
  remember?: number;
}

/** Longest Cookie header read at all; a bigger one is treated as carrying no cookie (S26). */
const MAX_HEADER = 16_384;

export function createSealedCookie(options: SealedCookieOptions): SealedCookie {
  const { name } = options;
  const sealer = createSealer(options.secrets, options.purpose);
  // HttpOnly, SameSite=Lax, Path=/ and no Domain for every cookie of ours (S18); computed once.
  const flags = `HttpOnly${options.secure ? "; Secure" : ""}; SameSite=Lax`;
  const attributes = `; Path=/; ${flags}`;
  const clear = `${name}=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${flags}`;
  const remember = options.remember ?? 0;
  // Only values that opened, keyed by the whole value: the same characters always open to
  // the same plaintext under the same keys, and the keys never change in a running process.
  // The oldest goes first once it is full.
  const opened = new Map<string, string>();
  const open = (value: string): string | null => {
    const known = opened.get(value);
    if (known !== undefined) return known;
    const plaintext = sealer.open(value);
    if (plaintext !== null && remember > 0) {
      if (opened.size >= remember) opened.delete(opened.keys().next().value as string);
      opened.set(value, plaintext);
    }
    return plaintext;
  };
  return {
    name,
    clear,
    open(header) {
      if (!header) return "absent";
      const value = cookieValue(header, name);
      if (value === undefined) return "absent";
      if (header.length > MAX_HEADER) return "invalid";
      return open(value) ?? "invalid";
    },
    serialize(plaintext, maxAgeSeconds) {
      // base64url needs no quoting or escaping in a cookie value.
      return `${name}=${sealer.seal(plaintext)}; Max-Age=${Math.floor(maxAgeSeconds)}${attributes}`;
    },
  };
}

/**
 * The value of the first `name=` pair in a Cookie header, as browsers send it
 * (`a=1; b=2`); undefined when there is none. "xsession=" is not "session=".
 */
export function cookieValue(header: string, name: string): string | undefined {
  const key = `${name}=`;
  for (let at = header.indexOf(key); at !== -1; at = header.indexOf(key, at + key.length)) {
    let before = at - 1;
    while (before >= 0 && (header[before] === " " || header[before] === "\t")) before--;
    if (before >= 0 && header[before] !== ";") continue;
    const end = header.indexOf(";", at + key.length);
    return header.slice(at + key.length, end === -1 ? undefined : end).trim();
  }
  return undefined;
}
