import {
  BadRequestException,
  GenericServerException,
  NotFoundException,
  OauthException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
} from "@workos-inc/node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isAuthError } from "../../../adapters/errors";
import { createWorkosClient, parseWorkosApiUrl } from "../../../adapters/workos/client.server";
import { mapWorkosError, type WorkosFailureLog } from "../../../adapters/workos/errors";
import { startWorkosEmulator, type WorkosEmulator } from "../../emulators/workos/server";
import { authFailure, emulatorClient } from "./helpers";

describe("parseWorkosApiUrl", () => {
  it("splits an origin into the SDK's host, https and port", () => {
    expect(parseWorkosApiUrl("https://api.workos.com")).toEqual({
      apiHostname: "api.workos.com",
      https: true,
      port: undefined,
    });
    expect(parseWorkosApiUrl("http://127.0.0.1:8787/")).toEqual({
      apiHostname: "127.0.0.1",
      https: false,
      port: 8787,
    });
    expect(parseWorkosApiUrl("https://api.example.test:8443")).toEqual({
      apiHostname: "api.example.test",
      https: true,
      port: 8443,
    });
  });

  for (const bad of [
    "",
    "api.workos.com",
    "ftp://api.workos.com",
    "https://api.workos.com/v1",
    "https://u:p@api.workos.com",
    "https://api.workos.com?x=1",
  ]) {
    it(`refuses ${JSON.stringify(bad)} as misconfigured`, () => {
      let thrown: unknown;
      try {
        parseWorkosApiUrl(bad);
      } catch (error) {
        thrown = error;
      }
      expect(isAuthError(thrown) && thrown.code).toBe("misconfigured");
      expect(String((thrown as Error).message)).toMatch(/WORKOS_API_URL/);
    });
  }
});

describe("createWorkosClient", () => {
  it("names every missing setting at once", () => {
    expect(() => createWorkosClient({ apiKey: "", clientId: " " })).toThrow(
      /WORKOS_API_KEY is missing; WORKOS_CLIENT_ID is missing/,
    );
    expect(() => createWorkosClient({ apiKey: "k", clientId: "c", timeoutMs: 0 })).toThrow(
      /timeout/,
    );
    expect(() => createWorkosClient({ apiKey: "k", clientId: "c", maxRetries: -1 })).toThrow(
      /retry/,
    );
  });

  describe("against the emulator", () => {
    let emulator: WorkosEmulator;
    beforeAll(async () => {
      emulator = await startWorkosEmulator();
    });
    afterAll(async () => {
      await emulator.close();
    });
    beforeEach(() => emulator.reset());

    const createMagicAuth = (client: ReturnType<typeof emulatorClient>["client"]) =>
      client.call("start", (sdk) =>
        sdk.userManagement.createMagicAuth({ email: "ada@example.com" }),
      );

    it("retries a 502/503 or a dropped connection up to maxRetries, then succeeds", async () => {
      const { client } = emulatorClient(emulator, { maxRetries: 2 });
      emulator.failNext("/user_management/magic_auth", { status: 503 });
      emulator.failNext("/user_management/magic_auth", { drop: true });
      const magicAuth = await createMagicAuth(client);
      expect(magicAuth.email).toBe("ada@example.com");
      expect(emulator.requests()).toHaveLength(3);
    });

    it("gives up after maxRetries", async () => {
      const { client } = emulatorClient(emulator, { maxRetries: 1 });
      emulator.failNext("/user_management/magic_auth", { status: 503, times: 5 });
      expect((await authFailure(createMagicAuth(client))).code).toBe("unavailable");
      expect(emulator.requests()).toHaveLength(2);
    });

    it("does not retry a 500, a 429 or a timeout (WorkOS may have acted, or asked us to wait)", async () => {
      // A whole second: on a busy machine the one request still reaches the emulator (and
      // the 500 and the 429 come back) well within it; the slow answer is a minute away.
      const { client } = emulatorClient(emulator, { maxRetries: 3, timeoutMs: 1_000 });
      const cases = [
        [{ status: 500 }, "unavailable"],
        [{ status: 429, retryAfter: 5 }, "rate_limited"],
        [{ delayMs: 60_000 }, "unavailable"],
      ] as const;
      for (const [spec, code] of cases) {
        emulator.reset();
        emulator.failNext("/user_management/magic_auth", spec);
        expect((await authFailure(createMagicAuth(client))).code).toBe(code);
        expect(emulator.requests(), JSON.stringify(spec)).toHaveLength(1);
      }
    });

    it("keeps the whole call, retries included, within one timeout", async () => {
      // Each 503 takes 300 ms: a per-attempt timeout would allow all 11 attempts (3.3 s);
      // one deadline of 700 ms for the whole call leaves room for three at the most.
      const { client } = emulatorClient(emulator, {
        maxRetries: 10,
        timeoutMs: 700,
        retryDelayMs: 1,
      });
      emulator.failNext("/user_management/magic_auth", { status: 503, delayMs: 300, times: 20 });
      expect((await authFailure(createMagicAuth(client))).code).toBe("unavailable");
      expect(emulator.requests().length).toBeGreaterThanOrEqual(1);
      expect(emulator.requests().length).toBeLessThanOrEqual(3);
    });

    it("sends a 429 back at once, without the SDK's own retries", async () => {
      const { client } = emulatorClient(emulator, { maxRetries: 3 });
      emulator.failNext("/user_management/magic_auth", { status: 429, retryAfter: 30, times: 5 });
      expect(await authFailure(createMagicAuth(client))).toMatchObject({
        code: "rate_limited",
        retryAfter: 30,
      });
      expect(emulator.requests()).toHaveLength(1);
    });

    it("keeps each concurrent call's own request id", async () => {
      const { client, logged } = emulatorClient(emulator);
      emulator.failNext("/user_management/magic_auth", { status: 500, times: 3 });
      const errors = await Promise.all([1, 2, 3].map(() => authFailure(createMagicAuth(client))));
      const ids = errors.map((e) => e.requestId);
      expect(new Set(ids).size).toBe(3);
      expect(logged.map((l) => l.requestId).sort()).toEqual([...ids].sort());
    });

    it("an unreachable WorkOS is unavailable", async () => {
      const closed = await startWorkosEmulator();
      const url = closed.url;
      await closed.close();
      const { client } = emulatorClient(emulator, { apiUrl: url });
      expect((await authFailure(createMagicAuth(client))).code).toBe("unavailable");
    });
  });
});

describe("mapWorkosError: the reference's error table", () => {
  const map = (error: unknown, operation: "start" | "verify" = "verify") => {
    const logged: WorkosFailureLog[] = [];
    const mapped = mapWorkosError(error, { operation, log: (entry) => logged.push(entry) });
    return { mapped, logged };
  };

  it("invalid_grant reads the description: used, expired, invalid, else expired", () => {
    const grant = (description?: string) =>
      new OauthException(400, "req_1", "invalid_grant", description, {});
    expect(map(grant("The code has already been used.")).mapped.code).toBe("used");
    expect(map(grant("The code 'X' has expired or is invalid.")).mapped.code).toBe("expired");
    expect(map(grant("The code is invalid.")).mapped.code).toBe("invalid");
    expect(map(grant(undefined)).mapped.code).toBe("expired");
    expect(map(grant("x")).mapped.requestId).toBe("req_1");
  });

  it("one-time-code errors, whether the SDK puts the code on the exception or in rawData", () => {
    const generic = (code: string) =>
      new GenericServerException(400, "No.", { code, message: "No." }, "req_2");
    expect(map(generic("invalid_one_time_code")).mapped.code).toBe("invalid");
    expect(map(generic("one_time_code_previously_used")).mapped.code).toBe("used");
    expect(map(generic("one_time_code_expired")).mapped.code).toBe("expired");
    expect(map(generic("one_time_code_too_many_attempts")).mapped.code).toBe("too_many_attempts");
    const bad = new BadRequestException({
      code: "one_time_code_expired",
      errors: [],
      message: "x",
      requestID: "r",
    });
    expect(map(bad).mapped.code).toBe("expired");
  });

  it("401, 403 and invalid_client are misconfigured and logged", () => {
    for (const error of [
      new UnauthorizedException("req_3"),
      new GenericServerException(
        403,
        "Forbidden",
        { code: "email_verification_required" },
        "req_3",
      ),
      new OauthException(400, "req_3", "invalid_client", "Invalid client ID.", {}),
    ]) {
      const { mapped, logged } = map(error);
      expect(mapped.code).toBe("misconfigured");
      expect(logged[0]).toMatchObject({ mappedTo: "misconfigured", requestId: "req_3" });
    }
  });

  it("429 is rate_limited with Retry-After, or a minute when absent", () => {
    expect(map(new RateLimitExceededException("slow", "r", 12)).mapped).toMatchObject({
      code: "rate_limited",
      retryAfter: 12,
    });
    expect(map(new RateLimitExceededException("slow", "r", null)).mapped.retryAfter).toBe(60);
  });

  it("5xx (even with an OAuth body), 404, timeouts and unknown errors are unavailable and logged", () => {
    const timeout = new Error("Unexpected error: TimeoutError", {
      cause: Object.assign(new Error("t"), { name: "TimeoutError" }),
    });
    const network = new Error("Unexpected error: TypeError: fetch failed", {
      cause: Object.assign(new TypeError("fetch failed"), {
        cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
      }),
    });
    const cases: [unknown, string | undefined][] = [
      [new GenericServerException(502, "Bad gateway", {}, "r"), "GenericServerException"],
      [new OauthException(500, "r", "server_error", "boom", {}), "OauthException"],
      [new OauthException(408, "", "Request timeout", undefined, {}), "OauthException"],
      [
        new NotFoundException({ path: "/passwordless/sessions", requestID: "r" }),
        "NotFoundException",
      ],
      [timeout, "TimeoutError"],
      [network, "ECONNREFUSED"],
      ["a string", undefined],
    ];
    for (const [error, kind] of cases) {
      const { mapped, logged } = map(error);
      expect(mapped.code).toBe("unavailable");
      expect(logged[0]?.kind).toBe(kind);
    }
  });

  it("other 400/422 answers are invalid_input at start and invalid at verify", () => {
    const unprocessable = new UnprocessableEntityException({
      code: "invalid_request_parameters",
      message: "email",
      requestID: "r",
    });
    expect(map(unprocessable, "start").mapped.code).toBe("invalid_input");
    expect(map(unprocessable, "verify").mapped.code).toBe("invalid");
  });

  it("keeps no SDK object or wording, and never logs WorkOS's description (it may hold the code, S28)", () => {
    const error = new OauthException(500, "req_9", "server_error", "code 01SECRET failed", {});
    const { mapped, logged } = map(error);
    expect(mapped.cause).toBeUndefined();
    expect(mapped.message).not.toContain("01SECRET");
    expect(JSON.stringify(logged)).not.toContain("01SECRET");
    expect(mapWorkosError(mapped, { operation: "start" })).toBe(mapped);
  });
});
