/**
 * mapWorkosError alone, field by field: which part of what the SDK threw decides the
 * answer, which answers are logged, and what a malformed error becomes. The SDK's own
 * exception classes are in client.test.ts; these are the shapes they reduce to.
 */
import { describe, expect, it } from "vitest";
import {
  callbackErrorToAuthError,
  classifyDescription,
  mapWorkosError,
  type WorkosFailureLog,
} from "../../../adapters/workos/errors";

function map(error: unknown, operation: "start" | "verify" = "verify") {
  const logged: WorkosFailureLog[] = [];
  const mapped = mapWorkosError(error, { operation, log: (entry) => logged.push(entry) });
  return { code: mapped.code, mapped, logged };
}

describe("mapWorkosError: which field decides", () => {
  it("429 by the exception's name alone or by the status alone", () => {
    expect(map({ name: "RateLimitExceededException" }).code).toBe("rate_limited");
    expect(map({ name: "GenericServerException", status: 429 }).code).toBe("rate_limited");
    expect(map({ name: "Error", rawStatus: 429 }).code).toBe("rate_limited");
  });

  it("reads rawStatus before status", () => {
    expect(map({ name: "ParseError", rawStatus: 401, status: 429 }).code).toBe("unavailable");
    expect(map({ name: "Error", rawStatus: 429, status: 401 }).code).toBe("rate_limited");
  });

  it("Retry-After: rounded up, zero kept, and a minute when negative, absent or not finite", () => {
    const after = (retryAfter: unknown) =>
      map({ name: "RateLimitExceededException", status: 429, retryAfter }).mapped.retryAfter;
    expect(after(1.2)).toBe(2);
    expect(after(0)).toBe(0);
    expect(after(-1)).toBe(60);
    expect(after(undefined)).toBe(60);
    expect(after(Number.POSITIVE_INFINITY)).toBe(60);
    expect(after(Number.NaN)).toBe(60);
    expect(after("30")).toBe(60);
  });

  it("an unreadable answer, a 408 or any 5xx is unavailable whatever its body says", () => {
    const grant = { error: "invalid_grant", error_description: "The code was already used." };
    expect(map({ name: "ParseError", rawStatus: 400, rawData: grant }).code).toBe("unavailable");
    expect(map({ name: "ParseError", rawData: { code: "invalid_one_time_code" } }).code).toBe(
      "unavailable",
    );
    expect(map({ name: "OauthException", status: 408, rawData: grant }).code).toBe("unavailable");
    expect(map({ name: "OauthException", status: 500, rawData: grant }).code).toBe("unavailable");
    expect(
      map({ name: "GenericServerException", status: 500, code: "invalid_one_time_code" }).code,
    ).toBe("unavailable");
    expect(map({ name: "GenericServerException", status: 499, rawData: grant }).code).toBe("used");
  });

  it("invalid_grant and access_denied, on the exception or in rawData, read the description", () => {
    expect(map({ error: "access_denied", errorDescription: "Link already used" }).code).toBe(
      "used",
    );
    expect(
      map({ status: 400, rawData: { error: "invalid_grant", error_description: "Code invalid" } })
        .code,
    ).toBe("invalid");
    expect(
      map({ status: 400, rawData: { error: "access_denied", error_description: "was redeemed" } })
        .code,
    ).toBe("used");
  });

  it("one-time-code errors in rawData alone", () => {
    expect(map({ status: 400, rawData: { code: "one_time_code_expired" } }).code).toBe("expired");
    expect(
      map({ status: 400, rawData: { code: "invalid_pending_authentication_token" } }).code,
    ).toBe("expired");
    expect(map({ status: 400, rawData: { code: "authentication_challenge_invalid" } }).code).toBe(
      "invalid",
    );
  });

  it("each sign of a credentials problem alone is misconfigured", () => {
    for (const error of [
      { name: "UnauthorizedException" },
      { name: "ApiKeyRequiredException" },
      { name: "NoApiKeyProvidedException" },
      { name: "Error", status: 401 },
      { name: "Error", status: 403 },
      { name: "OauthException", status: 400, error: "unauthorized_client" },
      { name: "BadRequestException", status: 400, code: "invalid_client" },
      { name: "GenericServerException", status: 400, rawData: { code: "unauthorized_client" } },
    ]) {
      expect(map(error, "start").code, JSON.stringify(error)).toBe("misconfigured");
    }
  });

  it("a plain 400 or 422 is invalid_input at start and invalid at verify", () => {
    for (const status of [400, 422]) {
      expect(map({ name: "GenericServerException", status }, "start").code).toBe("invalid_input");
      expect(map({ name: "GenericServerException", status }).code).toBe("invalid");
    }
    expect(map({ name: "GenericServerException", status: 409 }).code).toBe("unavailable");
  });

  it("something that is not an error object at all is unavailable", () => {
    for (const error of [null, undefined, 0, "boom", Symbol("x")]) {
      expect(map(error).code).toBe("unavailable");
    }
    expect(map({ status: 400, rawData: null }).code).toBe("invalid");
  });
});

describe("mapWorkosError: the log", () => {
  it("logs what the operator must see, and not the person's own outcomes", () => {
    const logs = (error: unknown) => map(error).logged.map((entry) => entry.mappedTo);
    expect(logs({ name: "RateLimitExceededException", status: 429 })).toEqual([]);
    expect(logs({ status: 400, error: "invalid_grant", errorDescription: "expired" })).toEqual([]);
    expect(logs({ status: 400, code: "invalid_one_time_code" })).toEqual([]);
    expect(logs({ status: 500 })).toEqual(["unavailable"]);
    expect(logs({ status: 401 })).toEqual(["misconfigured"]);
    expect(logs({ status: 422 })).toEqual(["invalid"]);
  });

  it("names the exception class, or the network reason under a plain Error or no name", () => {
    const kind = (error: unknown) => map(error).logged[0]?.kind;
    expect(kind({ name: "GenericServerException", status: 500, code: "server_error" })).toBe(
      "GenericServerException",
    );
    expect(kind({ name: "Error", cause: { code: "ECONNRESET" } })).toBe("ECONNRESET");
    expect(kind({ cause: { name: "TimeoutError" } })).toBe("TimeoutError");
  });

  it("follows the cause chain five levels deep at most, and stops on a cycle", () => {
    let chain: Record<string, unknown> = { code: "LEVEL_7" };
    for (let level = 6; level >= 1; level--) chain = { code: `LEVEL_${level}`, cause: chain };
    expect(map({ name: "Error", cause: chain }).logged[0]?.kind).toBe("LEVEL_4");
    const cyclic: Record<string, unknown> = { name: "Error", code: "ELOOP" };
    cyclic.cause = cyclic;
    expect(map(cyclic).logged[0]?.kind).toBe("ELOOP");
  });

  it("keeps only a non-empty string request id, and logs with none when no log is given", () => {
    expect(map({ status: 500, requestID: "" }).mapped.requestId).toBeUndefined();
    expect(map({ status: 500, requestID: 7 }).mapped.requestId).toBeUndefined();
    expect(map({ status: 500, requestID: "req_1" }).mapped.requestId).toBe("req_1");
    expect(mapWorkosError({ status: 500 }, { operation: "start" }).code).toBe("unavailable");
  });
});

describe("callbackErrorToAuthError and classifyDescription", () => {
  it("reads invalid_grant in the callback query as access_denied is read", () => {
    expect(
      callbackErrorToAuthError({ error: "invalid_grant", error_description: "already used" })?.code,
    ).toBe("used");
  });

  it("reads no description as expired", () => {
    expect(classifyDescription(undefined)).toBe("expired");
    expect(classifyDescription("")).toBe("expired");
  });
});
