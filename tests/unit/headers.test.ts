import { describe, expect, it } from "vitest";
import { signInPageHeaders } from "../../app/auth/headers";
import { isCrossSite } from "../../app/auth/middleware.server";

const ORIGIN = "https://app.example";

describe("S23 the sign-in pages' headers", () => {
  const h = (init: Record<string, string> = {}) => new Headers(init);

  it("are never cached, and carry the extra headers a page asks for", () => {
    const headers = signInPageHeaders(
      { loaderHeaders: h(), actionHeaders: h() },
      { "Referrer-Policy": "same-origin" },
    );
    expect([...headers]).toEqual([
      ["cache-control", "no-store"],
      ["referrer-policy", "same-origin"],
    ]);
  });

  it("keep the action's Retry-After first, else the loader's, else none", () => {
    const both = {
      loaderHeaders: h({ "Retry-After": "9" }),
      actionHeaders: h({ "Retry-After": "3" }),
    };
    expect(signInPageHeaders(both).get("Retry-After")).toBe("3");
    const loaderOnly = { loaderHeaders: h({ "Retry-After": "9" }), actionHeaders: h() };
    expect(signInPageHeaders(loaderOnly).get("Retry-After")).toBe("9");
    expect(signInPageHeaders({ loaderHeaders: h(), actionHeaders: h() }).has("Retry-After")).toBe(
      false,
    );
  });
});

describe("S25 isCrossSite", () => {
  const request = (method: string, headers: Record<string, string> = {}) =>
    new Request(`${ORIGIN}/login`, { method, headers });

  it("never refuses GET, HEAD or OPTIONS, whatever they carry", () => {
    for (const method of ["GET", "HEAD", "OPTIONS"]) {
      expect(isCrossSite(request(method, { Origin: "https://evil.test" }), ORIGIN)).toBe(false);
      expect(isCrossSite(request(method, { "Sec-Fetch-Site": "cross-site" }), ORIGIN)).toBe(false);
    }
  });

  it("judges writes by Origin first: only the configured origin passes", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect(isCrossSite(request(method, { Origin: ORIGIN }), ORIGIN)).toBe(false);
      expect(isCrossSite(request(method, { Origin: "https://evil.test" }), ORIGIN)).toBe(true);
    }
    expect(isCrossSite(request("POST", { Origin: "null" }), ORIGIN)).toBe(true);
    expect(isCrossSite(request("POST", { Origin: `${ORIGIN}.evil.test` }), ORIGIN)).toBe(true);
    // Origin decides even when Sec-Fetch-Site says otherwise.
    expect(
      isCrossSite(
        request("POST", { Origin: "https://evil.test", "Sec-Fetch-Site": "same-origin" }),
        ORIGIN,
      ),
    ).toBe(true);
    expect(
      isCrossSite(request("POST", { Origin: ORIGIN, "Sec-Fetch-Site": "cross-site" }), ORIGIN),
    ).toBe(false);
  });

  it("without Origin, by Sec-Fetch-Site: same-origin and none pass, same-site and cross-site do not", () => {
    const site = (value: string) =>
      isCrossSite(request("POST", { "Sec-Fetch-Site": value }), ORIGIN);
    expect(site("same-origin")).toBe(false);
    expect(site("none")).toBe(false);
    expect(site("same-site")).toBe(true);
    expect(site("cross-site")).toBe(true);
  });

  it("a write with neither header (curl, a server) carries no victim's cookies and passes", () => {
    expect(isCrossSite(request("POST"), ORIGIN)).toBe(false);
  });
});
