/**
 * app/auth/passkey-rules.ts: the passkey name as people type it (one line, trimmed, at most
 * 64 characters, counted as people count them), and the limits the pages show.
 */
import { describe, expect, it } from "vitest";
import { cleanName, MAX_PASSKEY_NAME, MAX_PASSKEYS_PER_USER } from "../../app/auth/passkey-rules";

describe("a passkey's name", () => {
  it("is trimmed, and spaces, tabs and line breaks inside become one space", () => {
    expect(cleanName("  Work laptop \t")).toBe("Work laptop");
    expect(cleanName("Work   laptop")).toBe("Work laptop");
    expect(cleanName("Work\r\n\tlaptop")).toBe("Work laptop");
  });

  it("has no control characters: each run of them reads as a space", () => {
    expect(cleanName("Work\u0000laptop")).toBe("Work laptop");
    expect(cleanName("Work\u001flaptop")).toBe("Work laptop");
    expect(cleanName("Work\u007flaptop")).toBe("Work laptop");
    expect(cleanName("Work\u0001\u0002\u0003laptop")).toBe("Work laptop");
    expect(cleanName("\u0000Phone\u0007")).toBe("Phone");
    // Printable characters either side of the control range are kept.
    expect(cleanName("A !~\u0080é")).toBe("A !~\u0080é");
  });

  it("is normalised (NFC), so that one name typed two ways is the same name", () => {
    expect(cleanName("Caf\u0065\u0301")).toBe("Caf\u00e9");
  });

  it("is no name at all when nothing is left, or when none was given", () => {
    expect(cleanName(undefined)).toBeUndefined();
    expect(cleanName("")).toBeUndefined();
    expect(cleanName(" \t\n ")).toBeUndefined();
    expect(cleanName("\u0000\u0001")).toBeUndefined();
  });

  it(`is cut at ${MAX_PASSKEY_NAME} characters, counted as characters, not UTF-16 units`, () => {
    expect(MAX_PASSKEY_NAME).toBe(64);
    expect(cleanName("a".repeat(64))).toBe("a".repeat(64));
    expect(cleanName("a".repeat(65))).toBe("a".repeat(64));
    // An emoji is two UTF-16 units: 64 of them are kept whole, none cut in half.
    expect(cleanName("🔑".repeat(70))).toBe("🔑".repeat(64));
  });

  it("keeps one person to at most 20 passkeys", () => {
    expect(MAX_PASSKEYS_PER_USER).toBe(20);
  });
});
