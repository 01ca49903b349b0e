/** Passkey rules the pages need as well as the server (no secrets here). */

/** Most passkeys one person keeps; adding one more is refused with words, not dropped. */
export const MAX_PASSKEYS_PER_USER = 20;

/** Longest name a person can give a passkey. */
export const MAX_PASSKEY_NAME = 64;

/** A name as people type it: trimmed, one line, at most {@link MAX_PASSKEY_NAME} characters. */
export function cleanName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const clean = name
    .normalize("NFC")
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (clean === "") return undefined;
  return [...clean].slice(0, MAX_PASSKEY_NAME).join("");
}
