import { describe, expect, it } from "vitest";
import { AuthError, isAuthError, isAuthErrorCode } from "../../adapters/errors";

describe("AuthError", () => {
  it("carries its code, message, cause and options, named AuthError", () => {
    const cause = new Error("socket hang up");
    const error = new AuthError("rate_limited", "Slow down", {
      retryAfter: 9,
      requestId: "req_1",
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("AuthError");
    expect(String(error)).toBe("AuthError: Slow down");
    expect([error.code, error.message, error.retryAfter, error.requestId]).toEqual([
      "rate_limited",
      "Slow down",
      9,
      "req_1",
    ]);
    expect(error.cause).toBe(cause);
  });

  it("takes its code as its message when given none", () => {
    expect(new AuthError("expired").message).toBe("expired");
    expect(new AuthError("expired").cause).toBeUndefined();
  });
});

describe("isAuthError", () => {
  it("recognises an AuthError by its brand, even one made by another copy of the module", () => {
    expect(isAuthError(new AuthError("invalid"))).toBe(true);
    const foreign = { code: "invalid", [Symbol.for("passwordless-starter.AuthError")]: true };
    expect(isAuthError(foreign)).toBe(true);
  });

  it("is false for anything else, without throwing", () => {
    for (const value of [
      null,
      undefined,
      0,
      "AuthError",
      {},
      new Error("x"),
      { code: "invalid" },
    ]) {
      expect(isAuthError(value), String(value)).toBe(false);
    }
  });

  it("isAuthErrorCode also compares the code", () => {
    expect(isAuthErrorCode(new AuthError("used"), "used")).toBe(true);
    expect(isAuthErrorCode(new AuthError("used"), "expired")).toBe(false);
    expect(isAuthErrorCode({ code: "used" }, "used")).toBe(false);
  });
});
