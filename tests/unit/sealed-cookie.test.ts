import type * as NodeCrypto from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";

// Every decipher the sealer makes, counted: a remembered value makes none.
const deciphers = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:crypto", async (original) => {
  const crypto = await original<typeof NodeCrypto>();
  return {
    ...crypto,
    createDecipheriv: (...args: Parameters<typeof NodeCrypto.createDecipheriv>) => {
      deciphers.count++;
      return crypto.createDecipheriv(...args);
    },
  };
});
beforeEach(() => {
  deciphers.count = 0;
});
// Loaded afresh, so that the sealer takes the counting crypto even where an earlier test
// file in the same worker has loaded it already (the mutation run shares one).
vi.resetModules();
const { cookieValue, createSealedCookie } = await import("../../app/lib/sealed-cookie.server");

const OLD = "old-secret-0123456789abcdef0123456789";
const NEW = "new-secret-0123456789abcdef0123456789";

const options = { name: "session", secrets: [NEW], purpose: "session", secure: false };

const sessionCookie = (secrets: string[], secure = false) =>
  createSealedCookie({
    name: secure ? "__Host-session" : "session",
    secrets,
    purpose: "session",
    secure,
  });

/** The `name=value` pair a browser sends back for a Set-Cookie header. */
const pair = (setCookie: string) => setCookie.split(";")[0] as string;
const valueOf = (setCookie: string) => pair(setCookie).split("=").slice(1).join("=");

describe("sealed cookies (S18, S19, S24, S26)", () => {
  it("round-trips a value, and the cookie holds nothing but one base64url seal", () => {
    const cookie = sessionCookie([NEW]);
    const set = cookie.serialize('{"sid":"abc","email":"person@example.com"}', 3600);
    expect(valueOf(set)).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(valueOf(set), "base64url").toString("utf8")).not.toContain("person@");
    expect(cookie.open(pair(set))).toBe('{"sid":"abc","email":"person@example.com"}');
  });

  it("S18 attributes: HttpOnly, SameSite=Lax, Path=/, no Domain; Secure over https; Max-Age as given", () => {
    const plain = sessionCookie([NEW]).serialize("x", 600.9);
    expect(plain).toMatch(/^session=[A-Za-z0-9_-]+; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/);
    const secure = sessionCookie([NEW], true);
    expect(secure.serialize("x", 60)).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    expect(secure.clear).toBe(
      "__Host-session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
    );
    expect(`${plain}${secure.clear}`).not.toMatch(/Domain/i);
  });

  it("S24 the first secret seals, every secret opens; an unknown secret's cookie is invalid", () => {
    const sealedWithOld = pair(sessionCookie([OLD]).serialize("old", 60));
    expect(sessionCookie([NEW, OLD]).open(sealedWithOld)).toBe("old");
    expect(sessionCookie([NEW]).open(sealedWithOld)).toBe("invalid");
    const sealedWithNew = pair(sessionCookie([NEW, OLD]).serialize("new", 60));
    expect(sessionCookie([NEW]).open(sealedWithNew)).toBe("new");
    expect(sessionCookie([OLD]).open(sealedWithNew)).toBe("invalid");
  });

  it("refuses every changed character: the seal is the cookie's only signature and it holds", () => {
    const cookie = sessionCookie([NEW]);
    const value = valueOf(cookie.serialize('{"sid":"abc"}', 60));
    for (let i = 0; i < value.length; i++) {
      const flipped = value[i] === "A" ? "B" : "A";
      const forged = `${value.slice(0, i)}${flipped}${value.slice(i + 1)}`;
      // The last character can carry padding bits base64url decoding ignores.
      if (Buffer.from(forged, "base64url").equals(Buffer.from(value, "base64url"))) continue;
      expect(cookie.open(`session=${forged}`)).toBe("invalid");
    }
  });

  it("a value sealed for one purpose opens for no other, even under the same name and secret", () => {
    const session = sessionCookie([NEW]);
    const pending = createSealedCookie({
      name: "session",
      secrets: [NEW],
      purpose: "pending-login",
      secure: false,
    });
    expect(pending.open(pair(session.serialize("x", 60)))).toBe("invalid");
  });

  it("S26 absent, empty, malformed and oversized cookies are absent or invalid, never a throw", () => {
    const cookie = sessionCookie([NEW]);
    const good = pair(cookie.serialize("x", 60));
    expect(cookie.open(null)).toBe("absent");
    expect(cookie.open("")).toBe("absent");
    expect(cookie.open("other=1; xsession=abc")).toBe("absent");
    for (const header of [
      "session=",
      "session=%%%",
      "session=a.b.c",
      'session="quoted"',
      `session=${"A".repeat(9000)}`,
    ])
      expect(cookie.open(header)).toBe("invalid");
    expect(cookie.open(`${good}; pad=${"x".repeat(17_000)}`)).toBe("invalid");
  });

  it("finds the cookie among others, with or without spaces, and takes the first of two", () => {
    const cookie = sessionCookie([NEW]);
    const good = pair(cookie.serialize("x", 60));
    expect(cookie.open(`a=1; ${good}; b=2`)).toBe("x");
    expect(cookie.open(`a=1;${good}`)).toBe("x");
    expect(cookieValue("xsession=1; session=2", "session")).toBe("2");
    expect(cookieValue("session=1; session=2", "session")).toBe("1");
    expect(cookieValue("a=1", "session")).toBeUndefined();
  });

  it("reads a cookie after a tab or leading spaces, and trims the spaces around its value", () => {
    expect(cookieValue("a=1;\tsession=2", "session")).toBe("2");
    expect(cookieValue("  session=2", "session")).toBe("2");
    expect(cookieValue("session= 2 ; a=1", "session")).toBe("2");
  });

  it("reads a Cookie header of exactly 16 KiB, and treats a longer one as invalid", () => {
    const cookie = sessionCookie([NEW]);
    const good = pair(cookie.serialize("x", 60));
    const padded = (length: number) => `${good}; pad=${"x".repeat(length - good.length - 6)}`;
    expect(padded(16_384)).toHaveLength(16_384);
    expect(cookie.open(padded(16_384))).toBe("x");
    expect(cookie.open(padded(16_385))).toBe("invalid");
  });

  it("remembers what it opened: a cookie sent again is not deciphered again, the oldest is forgotten first", () => {
    const cookie = createSealedCookie({ ...options, remember: 2 });
    const [a, b, c] = ["a", "b", "c"].map((value) => pair(cookie.serialize(value, 60))) as [
      string,
      string,
      string,
    ];
    expect([cookie.open(a), cookie.open(a), cookie.open(`x=1; ${a}`)]).toEqual(["a", "a", "a"]);
    expect(deciphers.count).toBe(1);
    cookie.open(b);
    cookie.open(c);
    deciphers.count = 0;
    expect([cookie.open(b), cookie.open(c)]).toEqual(["b", "c"]);
    expect(deciphers.count).toBe(0);
    // Two remembered at most: `a` was the oldest, and is opened again.
    expect(cookie.open(a)).toBe("a");
    expect(deciphers.count).toBe(1);
  });

  it("remembers only what opened, and what it remembers changes no refusal", () => {
    const cookie = createSealedCookie({ ...options, remember: 10 });
    const value = valueOf(cookie.serialize('{"sid":"abc"}', 60));
    expect(cookie.open(`session=${value}`)).toBe('{"sid":"abc"}');
    deciphers.count = 0;
    let forgeries = 0;
    for (let i = 0; i < value.length; i++) {
      const flipped = value[i] === "A" ? "B" : "A";
      const forged = `${value.slice(0, i)}${flipped}${value.slice(i + 1)}`;
      if (Buffer.from(forged, "base64url").equals(Buffer.from(value, "base64url"))) continue;
      // Each forgery twice: a refused value is deciphered, and refused, every time.
      expect(cookie.open(`session=${forged}`)).toBe("invalid");
      expect(cookie.open(`session=${forged}`)).toBe("invalid");
      forgeries++;
    }
    expect(deciphers.count).toBe(forgeries * 2);
    // A remembered value in an oversized header is refused like any other (S26).
    expect(cookie.open(`session=${value}; pad=${"x".repeat(16_384)}`)).toBe("invalid");
  });

  it("remembers nothing unless asked", () => {
    const cookie = sessionCookie([NEW]);
    const set = pair(cookie.serialize("x", 60));
    expect([cookie.open(set), cookie.open(set)]).toEqual(["x", "x"]);
    expect(deciphers.count).toBe(2);
  });
});
