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
  });
});
