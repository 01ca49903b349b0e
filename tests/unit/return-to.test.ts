import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETURN_TO, safeReturnTo } from "../../app/auth/return-to";

describe("S16 return paths are local", () => {
  it.each(["/dashboard", "/account/sessions?tab=1", "/a/b#c", "/search?q=%2Fx"])(
    "keeps %j",
    (path) => {
      expect(safeReturnTo(path)).toBe(path);
    },
  );

  it.each([
    "//evil.com",
    "/\\evil.com",
    "\\/evil.com",
    "https://evil.com",
    "javascript:alert(1)",
    "evil.com",
    "/%2F/evil.com",
    "/%5Cevil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "%2F%2Fevil.com",
    "/%09/evil.com",
    "/login",
    "/auth/link?token=x",
    "",
    null,
    42,
  ])("refuses %j", (value) => {
    expect(safeReturnTo(value)).toBe(DEFAULT_RETURN_TO);
  });

  it("whatever the input, the result is a path on this origin", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl(),
          fc.string({ unit: "binary" }).map((s) => `/${s}`),
        ),
        (input) => {
          const out = safeReturnTo(input);
          expect(out.startsWith("/")).toBe(true);
          expect(out.startsWith("//")).toBe(false);
          expect(out).not.toMatch(/[\\\u0000-\u001f]/);
          expect(new URL(out, "https://app.example").origin).toBe("https://app.example");
        },
      ),
      { numRuns: 3000 },
    );
    // 3000 runs take a few seconds on an idle machine; a shared one under load is slower.
  }, 60_000);

  it.each([
    "/login/check",
    "/login/",
    "/login?x=1",
    "/auth/callback?code=x&state=y",
    "/a/../login/check",
  ])("never sends a person back into the sign-in flow: refuses %j", (path) => {
    expect(safeReturnTo(path)).toBe(DEFAULT_RETURN_TO);
  });

  it.each(["/loginx", "/logins/list", "/authors", "/account/login/check"])(
    "keeps paths that only look like the sign-in flow: %j",
    (path) => {
      expect(safeReturnTo(path)).toBe(path);
    },
  );

  it("caps the length at 1024 characters, and falls back to the fallback given", () => {
    const longest = `/${"a".repeat(1023)}`;
    expect(safeReturnTo(longest)).toBe(longest);
    expect(safeReturnTo(`${longest}a`)).toBe(DEFAULT_RETURN_TO);
    expect(safeReturnTo(`${longest}a`, "/home")).toBe("/home");
    expect(safeReturnTo("//evil.test", "/home")).toBe("/home");
  });

  it.each(["/%00", "/%1F", "/%1f/x", "/%7F", "/%5c", "/a%0a", "/%e0%a4%a"])(
    "refuses the percent-encoded control character or backslash (or broken encoding) %j",
    (path) => {
      expect(safeReturnTo(path)).toBe(DEFAULT_RETURN_TO);
    },
  );

  it.each(["/.//evil.test", "/a/..//evil.test", "/%2e//evil.test"])(
    "refuses dot segments that collapse into a host: %j",
    (path) => {
      expect(safeReturnTo(path)).toBe(DEFAULT_RETURN_TO);
    },
  );

  it("falls back to /dashboard, the page the contract names", () => {
    expect(DEFAULT_RETURN_TO).toBe("/dashboard");
    expect(safeReturnTo("//evil.test")).toBe("/dashboard");
  });

  it("keeps a path that only ends in a double slash: only a leading one names a host", () => {
    expect(safeReturnTo("/docs//")).toBe("/docs//");
  });

  it("keeps the query and the fragment, normalised as the browser would send them", () => {
    expect(safeReturnTo("/a/./b/../c?x=1#top")).toBe("/a/c?x=1#top");
  });
});
