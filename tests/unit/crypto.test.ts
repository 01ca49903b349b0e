import { describe, expect, it } from "vitest";
import { createSealer } from "../../app/lib/aead.server";
import {
  deriveKey,
  hmacHex,
  randomCode,
  randomId,
  randomToken,
  requestNonce,
  safeEqual,
  sha256Hex,
} from "../../app/lib/crypto.server";

const OLD = "old-secret-0123456789abcdef0123456789abcdef";
const NEW = "new-secret-0123456789abcdef0123456789abcdef";

describe("S19 S24 sealing (AES-256-GCM)", () => {
  it("opens what it sealed, with a fresh IV each time", () => {
    const sealer = createSealer([NEW], "session");
    const a = sealer.seal("person@example.com");
    const b = sealer.seal("person@example.com");
    expect(a).not.toBe(b);
    expect(a).not.toContain("person");
    expect(sealer.open(a)).toBe("person@example.com");
    expect(sealer.open(sealer.seal(""))).toBe("");
  });

  it("a value sealed for one purpose (pending login) cannot be opened as another (session)", () => {
    const pending = createSealer([NEW], "pending-login").seal('{"sid":"x"}');
    expect(createSealer([NEW], "session").open(pending)).toBeNull();
    expect(createSealer([NEW], "pending-login").open(pending)).toBe('{"sid":"x"}');
  });

  it("S24 the first secret seals and every secret opens; an unknown secret opens nothing", () => {
    const before = createSealer([OLD], "session").seal("v");
    const rotated = createSealer([NEW, OLD], "session");
    expect(rotated.open(before)).toBe("v");
    // The new first secret seals: a sealer without the old secret opens the new value.
    expect(createSealer([NEW], "session").open(rotated.seal("w"))).toBe("w");
    expect(createSealer([OLD], "session").open(rotated.seal("w"))).toBeNull();
    expect(createSealer([NEW], "session").open(before)).toBeNull();
  });

  it("refuses tampered, truncated, oversized and non-string values", () => {
    const sealer = createSealer([NEW], "session");
    const sealed = sealer.seal("value");
    const raw = Buffer.from(sealed, "base64url");
    for (const index of [0, 12, raw.length - 1]) {
      const flipped = Buffer.from(raw);
      flipped[index] = (flipped[index] ?? 0) ^ 1;
      expect(sealer.open(flipped.toString("base64url"))).toBeNull();
    }
    // IV and tag alone (28 bytes) seal the empty string; 27 bytes is no sealed value at all.
    expect(sealer.open(raw.subarray(0, 27).toString("base64url"))).toBeNull();
    expect(sealer.open("A".repeat(8193))).toBeNull();
    expect(sealer.open(undefined as unknown as string)).toBeNull();
    const empty = Buffer.from(sealer.seal(""), "base64url");
    expect(empty).toHaveLength(28);
  });

  it("opens a value exactly as long as its cap, and refuses one character more", () => {
    const sealed = createSealer([NEW], "session").seal("value");
    expect(createSealer([NEW], "session", sealed.length).open(sealed)).toBe("value");
    expect(createSealer([NEW], "session", sealed.length - 1).open(sealed)).toBeNull();
  });

  it("a sealer needs a secret", () => {
    expect(() => createSealer([], "session")).toThrow(/at least one secret/);
  });
});

describe("S1 S5 S6 the primitives", () => {
  it("S1 tokens are 32 random bytes, ids 16, codes six digits", () => {
    expect(Buffer.from(randomToken(), "base64url")).toHaveLength(32);
    expect(Buffer.from(randomToken(16), "base64url")).toHaveLength(16);
    expect(randomId()).toMatch(/^[0-9a-f]{32}$/);
    expect(randomId(8)).toMatch(/^[0-9a-f]{16}$/);
    const codes = new Set(Array.from({ length: 200 }, () => randomCode()));
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(codes.size).toBeGreaterThan(190);
  });

  it("request nonces are 16 random bytes each, never one twice, across the pool's refills", () => {
    // 4 KiB a refill, 256 nonces: 1,000 cross three refills.
    const nonces = Array.from({ length: 1000 }, () => requestNonce());
    for (const nonce of nonces) expect(Buffer.from(nonce, "base64")).toHaveLength(16);
    expect(new Set(nonces).size).toBe(1000);
  });

  it("S5 hashes are keyed SHA-256; keys are derived per purpose", () => {
    expect(sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    const key = deriveKey(NEW, "login-hash");
    expect(key).toHaveLength(32);
    expect(hmacHex(key, "x")).toMatch(/^[0-9a-f]{64}$/);
    expect(hmacHex(key, "x")).not.toBe(hmacHex(deriveKey(NEW, "other"), "x"));
    expect(hmacHex(key, "x")).not.toBe(hmacHex(deriveKey(OLD, "login-hash"), "x"));
    expect(deriveKey(NEW, "login-hash").equals(key)).toBe(true);
  });

  it("derives the same key in every release: records and cookies sealed before an upgrade stay readable", () => {
    // HKDF-SHA-256(secret, salt "passwordless-starter", info = purpose): a known answer, so
    // a changed salt, hash or length fails here rather than signing everyone out.
    expect(deriveKey(NEW, "login-hash").toString("hex")).toBe(
      "7a42e26a380d45afdd0fb6db68dda7d176f5aafac36b3fd30c27c00624f1daba",
    );
  });

  it("S6 safeEqual: equal strings only, whatever their lengths", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
  });
});
