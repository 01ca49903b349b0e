/**
 * app/auth/passkey-routes.server.ts: a failed passkey options request as JSON the page's
 * script puts into words. The person's case is a 409 with its code and, for the cases the
 * page has words for, the problem; a store or provider that does not answer is a 503 with
 * Retry-After (fail closed); anything else is thrown on, never answered; nothing is cached.
 */
import { describe, expect, it } from "vitest";
import { AuthError } from "../../adapters/errors";
import { passkeyJsonError } from "../../app/auth/passkey-routes.server";
import { PasskeyError } from "../../app/auth/passkeys.server";
import { StoreUnavailableError } from "../../app/store/errors";

async function answer(error: unknown) {
  const response = passkeyJsonError(error);
  return {
    status: response.status,
    cacheControl: response.headers.get("Cache-Control"),
    retryAfter: response.headers.get("Retry-After"),
    body: (await response.json()) as unknown,
  };
}

describe("a passkey options request that fails", () => {
  it("answers 503, try again in 5 s, when the store does not answer", async () => {
    expect(await answer(new StoreUnavailableError())).toEqual({
      status: 503,
      cacheControl: "no-store",
      retryAfter: "5",
      body: { error: { code: "unavailable" } },
    });
  });

  it("answers the same 503 for an adapter that is unavailable", async () => {
    expect(await answer(new AuthError("unavailable", "provider down"))).toEqual({
      status: 503,
      cacheControl: "no-store",
      retryAfter: "5",
      body: { error: { code: "unavailable" } },
    });
  });

  it("answers the person's case as 409 with its code and the problem the page words", async () => {
    expect(await answer(new PasskeyError("expired", "no_challenge"))).toEqual({
      status: 409,
      cacheControl: "no-store",
      retryAfter: null,
      body: { error: { code: "expired", problem: "no_challenge" } },
    });
  });

  it("keeps the log-only reasons out of the answer", async () => {
    expect((await answer(new PasskeyError("invalid", "user_mismatch"))).body).toEqual({
      error: { code: "invalid" },
    });
    expect(await answer(new AuthError("rate_limited"))).toEqual({
      status: 409,
      cacheControl: "no-store",
      retryAfter: null,
      body: { error: { code: "rate_limited" } },
    });
  });

  it("throws anything else on as it is", () => {
    const bug = new TypeError("x is undefined");
    expect(() => passkeyJsonError(bug)).toThrow(bug);
    const response = new Response(null, { status: 302 });
    expect(() => passkeyJsonError(response)).toThrow(response);
  });
});
