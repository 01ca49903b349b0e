import {
  BadRequestException,
  GenericServerException,
  NotFoundException,
  OauthException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
} from "@workos-inc/node";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { isAuthError } from "../../../adapters/errors";
import { createWorkosClient, parseWorkosApiUrl } from "../../../adapters/workos/client.server";
import { mapWorkosError, type WorkosFailureLog } from "../../../adapters/workos/errors";
import { startWorkosEmulator, type WorkosEmulator } from "../../emulators/workos/server";
import { authFailure, emulatorClient, emulatorPerFile } from "./helpers";

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
    "https://u@api.workos.com",
    "https://:p@api.workos.com",
    "https://api.workos.com/#x",
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

  it("counts a blank or absent key or client id as missing, as misconfigured", () => {
    const refusal = (options: object) => {
      try {
        createWorkosClient(options as never);
      } catch (error) {
        return error;
      }
      return "built";
    };
    expect(refusal({ apiKey: " \t", clientId: "c" })).toMatchObject({
      code: "misconfigured",
      message: "WORKOS_API_KEY is missing",
    });
    expect(refusal({ clientId: "c" })).toMatchObject({
      code: "misconfigured",
      message: "WORKOS_API_KEY is missing",
    });
    expect(refusal({ apiKey: "k" })).toMatchObject({
      code: "misconfigured",
      message: "WORKOS_CLIENT_ID is missing",
    });
  });

  it("talks to https://api.workos.com unless told otherwise", () => {
    const client = createWorkosClient({ apiKey: "sk_test_k", clientId: "client_c" });
    expect(client.sdk.baseURL).toBe("https://api.workos.com");
    expect(client.clientId).toBe("client_c");
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

describe("createWorkosClient: retries, deadlines and request ids on the wire", () => {
  let emulator: WorkosEmulator;
  emulatorPerFile((started) => (emulator = started));

  const createMagicAuth = (client: ReturnType<typeof emulatorClient>["client"]) =>
    client.call("start", (sdk) => sdk.userManagement.createMagicAuth({ email: "ada@example.com" }));

  /** The global fetch, with the time each attempt began. */
  function timedFetch() {
    const began: number[] = [];
    const fetchFn: typeof fetch = (input, init) => {
      began.push(performance.now());
      return fetch(input, init);
    };
    return { began, fetchFn };
  }

  it("waits retryDelayMs before the first retry and doubles it for each next one", async () => {
    const { began, fetchFn } = timedFetch();
    const { client } = emulatorClient(emulator, {
      maxRetries: 2,
      retryDelayMs: 100,
      fetch: fetchFn,
    });
    emulator.failNext("/user_management/magic_auth", { status: 503, times: 2 });
    expect((await createMagicAuth(client)).email).toBe("ada@example.com");
    expect(began).toHaveLength(3);
    expect((began[1] ?? 0) - (began[0] ?? 0)).toBeGreaterThanOrEqual(99);
    expect((began[2] ?? 0) - (began[1] ?? 0)).toBeGreaterThanOrEqual(199);
  });

  it("waits 200 ms before a retry by default", async () => {
    const { began, fetchFn } = timedFetch();
    // emulatorClient sets a short delay: this client is built without one.
    const plain = createWorkosClient({
      apiKey: emulator.apiKey,
      clientId: emulator.clientId,
      apiUrl: emulator.url,
      maxRetries: 1,
      fetch: fetchFn,
      log: () => {},
    });
    emulator.failNext("/user_management/magic_auth", { status: 503 });
    expect((await createMagicAuth(plain)).email).toBe("ada@example.com");
    expect(began).toHaveLength(2);
    expect((began[1] ?? 0) - (began[0] ?? 0)).toBeGreaterThanOrEqual(199);
  });

  it("does not retry when the backoff would outlast the call's deadline", async () => {
    const { client } = emulatorClient(emulator, {
      maxRetries: 3,
      timeoutMs: 500,
      retryDelayMs: 5_000,
    });
    emulator.failNext("/user_management/magic_auth", { status: 503 });
    const began = Date.now();
    expect((await authFailure(createMagicAuth(client))).code).toBe("unavailable");
    expect(emulator.requests()).toHaveLength(1);
    // Far below the backoff: the 503 came back without the wait.
    expect(Date.now() - began).toBeLessThan(2_500);
  });

  it("does not retry a dropped connection once the retries are spent", async () => {
    const { client } = emulatorClient(emulator, { maxRetries: 0 });
    emulator.failNext("/user_management/magic_auth", { drop: true, times: 3 });
    expect((await authFailure(createMagicAuth(client))).code).toBe("unavailable");
    expect(emulator.requests()).toHaveLength(1);
  });

  for (const name of ["TimeoutError", "AbortError"]) {
    it(`does not retry a request that ended in a ${name}, even with retries left`, async () => {
      let attempts = 0;
      const { client } = emulatorClient(emulator, {
        maxRetries: 2,
        fetch: (input, init) => {
          attempts++;
          // The first attempt times out under the SDK; a retry would reach the emulator.
          if (attempts === 1) return Promise.reject(new DOMException("late", name));
          return fetch(input, init);
        },
      });
      expect((await authFailure(createMagicAuth(client))).code).toBe("unavailable");
      expect(attempts).toBe(1);
      expect(emulator.requests()).toHaveLength(0);
    });
  }

  it("cancels the body of an answer it retries", async () => {
    const answers: Response[] = [];
    const { client } = emulatorClient(emulator, {
      maxRetries: 1,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        answers.push(response);
        return response;
      },
    });
    emulator.failNext("/user_management/magic_auth", { status: 502 });
    await createMagicAuth(client);
    expect(answers.map((answer) => answer.status)).toEqual([502, 201]);
    expect(answers[0]?.bodyUsed).toBe(true);
  });

  it("gives several requests of one call one deadline between them", async () => {
    const { client } = emulatorClient(emulator, { timeoutMs: 700 });
    // Each answer comes after 400 ms: either one alone fits in 700 ms, both do not.
    emulator.failNext("/user_management/magic_auth", { delayMs: 400, times: 2 });
    const both = client.call("start", async (sdk) => {
      await sdk.userManagement.createMagicAuth({ email: "ada@example.com" });
      return sdk.userManagement.createMagicAuth({ email: "ada@example.com" });
    });
    expect((await authFailure(both)).code).toBe("unavailable");
  });

  it("keeps the request id of an answer the SDK cannot read (not JSON)", async () => {
    const { client, logged } = emulatorClient(emulator);
    emulator.failNext("/user_management/magic_auth", { status: 503, body: "<html>down</html>" });
    const error = await authFailure(createMagicAuth(client));
    expect(error.code).toBe("unavailable");
    expect(error.requestId).toMatch(/^req_/);
    expect(logged[0]?.requestId).toBe(error.requestId);
  });

  it("gives an SDK request made outside call() its own deadline and retries", async () => {
    const { client } = emulatorClient(emulator, { maxRetries: 1, timeoutMs: 300 });
    emulator.failNext("/user_management/magic_auth", { status: 503 });
    const made = await client.sdk.userManagement.createMagicAuth({ email: "ada@example.com" });
    expect(made.email).toBe("ada@example.com");
    expect(emulator.requests()).toHaveLength(2);
    emulator.failNext("/user_management/magic_auth", { delayMs: 60_000 });
    const began = Date.now();
    await expect(
      client.sdk.userManagement.createMagicAuth({ email: "ada@example.com" }),
    ).rejects.toThrow();
    expect(Date.now() - began).toBeLessThan(30_000);
  });

  it("logs a failure as one JSON line on stderr when no log is given", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const client = createWorkosClient({
        apiKey: emulator.apiKey,
        clientId: emulator.clientId,
        apiUrl: emulator.url,
        maxRetries: 0,
      });
      emulator.failNext("/user_management/magic_auth", { status: 500 });
      const error = await authFailure(createMagicAuth(client));
      expect(warn).toHaveBeenCalledTimes(1);
      const line = JSON.parse(String(warn.mock.calls[0]?.[0])) as Record<string, unknown>;
      expect(line).toMatchObject({
        event: "workos_failure",
        operation: "start",
        mappedTo: "unavailable",
        status: 500,
        requestId: error.requestId,
      });
      expect(new Date(String(line.time)).getTime()).not.toBeNaN();
    } finally {
      warn.mockRestore();
    }
  });
});
