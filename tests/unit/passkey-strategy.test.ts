/**
 * The passkey sign-in strategy and its ceremony cookie alone (app/auth/passkey-strategy.server.ts),
 * against scripted passkeys, users and limits: which answer and which log line each failure
 * gets, what counts toward the owner's lockout (S10, S12), that nothing is verified without
 * this browser's ceremony (S29), that a deleted account signs in nobody (S30), and that a
 * store failure fails closed. The route tests prove the same end to end.
 */
import { createCookie } from "react-router";
import { describe, expect, it } from "vitest";
import { AuthError } from "../../adapters/errors";
import {
  createPasskeyCeremonyCookie,
  PASSKEY_ADAPTER,
  PasskeyStrategy,
} from "../../app/auth/passkey-strategy.server";
import { PasskeyError, type Passkeys } from "../../app/auth/passkeys.server";
import type { EmailLinkStrategy } from "../../app/auth/strategy.server";
import { hashEmail, type AuthEvent } from "../../app/lib/log.server";
import { StoreUnavailableError } from "../../app/store/errors";

const SECRET = "passkey-ceremony-secret-0123456789abcdef";
const ORIGIN = "https://app.example";
const IP = "198.51.100.7";
const ADA = { id: "usr_ada", email: "ada@example.com" };
const CREDENTIAL = { id: "cred-1", type: "public-key" };

type Decision = EmailLinkStrategy.LimitDecision;

interface Options {
  limits?: boolean;
  log?: boolean;
}

function setup(options: Options = {}) {
  const ceremony = createPasskeyCeremonyCookie({ secrets: [SECRET], secure: false });
  const calls = {
    ownerOf: [] as unknown[],
    authenticate: [] as Array<[string, unknown]>,
    users: [] as string[],
    limits: [] as unknown[][],
    verify: [] as Array<{ userId: string; request: Request }>,
  };
  const script = {
    owner: ADA.id as string | null,
    ownerError: undefined as unknown,
    user: ADA as { id: string; email: string } | null,
    userError: undefined as unknown,
    /** What `authenticate` resolves with, unless `authError` is set. */
    signedIn: ADA.id,
    authError: undefined as unknown,
    decision: { allowed: true } as Decision,
    /** Only this limits call fails, with a store error. */
    failOn: undefined as string | undefined,
  };
  const passkeys = {
    async ownerOf(response: unknown) {
      calls.ownerOf.push(response);
      if (script.ownerError) throw script.ownerError;
      return script.owner;
    },
    async authenticate(ceremonyId: string, response: unknown) {
      calls.authenticate.push([ceremonyId, response]);
      if (script.authError) throw script.authError;
      return script.signedIn;
    },
  } as unknown as Passkeys;
  const users = {
    async get(id: string) {
      calls.users.push(id);
      if (script.userError) throw script.userError;
      return script.user;
    },
  };
  const limited = async <T>(name: string, args: unknown[], value: () => T): Promise<T> => {
    calls.limits.push([name, ...args]);
    if (script.failOn === name) throw new StoreUnavailableError();
    return value();
  };
  const limits: EmailLinkStrategy.Limits = {
    allowSend: async () => ({ allowed: true }),
    allowVerify: (email, ip) => limited("allowVerify", [email, ip], () => script.decision),
    recordFailure: (email) => limited("recordFailure", [email], () => undefined),
    recordSuccess: (email) => limited("recordSuccess", [email], () => undefined),
  };
  const events: AuthEvent[] = [];
  const strategy = new PasskeyStrategy<{ signedIn: string }>(
    {
      passkeys,
      users,
      ceremony,
      requestInfo: (request) => ({
        ip: request.headers.get("X-Test-IP") ?? IP,
        userAgent: "Test/1.0",
      }),
      ...(options.limits === false ? {} : { limits }),
      ...(options.log === false ? {} : { log: (event: AuthEvent) => void events.push(event) }),
    },
    async (verified) => {
      calls.verify.push(verified);
      return { signedIn: verified.userId };
    },
  );

  /** A browser that asked for sign-in options: its ceremony cookie and id. */
  async function browser() {
    const { id, setCookie } = await ceremony.issue(new Request(ORIGIN));
    return { id, cookie: setCookie.split(";")[0] as string };
  }

  async function post(form: Record<string, string>, cookie?: string) {
    const request = new Request(`${ORIGIN}/login`, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: cookie ? { Cookie: cookie } : {},
    });
    try {
      return { user: await strategy.authenticate(request), request };
    } catch (error) {
      return { error, request };
    }
  }

  /** "Sign in with a passkey" from a browser with its ceremony. */
  async function signIn(credential: unknown = CREDENTIAL) {
    const { id, cookie } = await browser();
    return { ceremonyId: id, ...(await post({ credential: JSON.stringify(credential) }, cookie)) };
  }

  return { strategy, calls, script, events, ceremony, browser, post, signIn };
}

/** One passkey log line from IP. */
const line = (outcome: string, emailHash?: string): AuthEvent => ({
  step: "passkey",
  adapter: PASSKEY_ADAPTER,
  outcome,
  ...(emailHash === undefined ? {} : { emailHash }),
  ip: IP,
});
const ADA_HASH = hashEmail(ADA.email);

describe("the ceremony cookie", () => {
  it("is a signed, HttpOnly, SameSite=Lax cookie for the whole site that lives as long as a challenge", async () => {
    const plain = createPasskeyCeremonyCookie({ secrets: [SECRET], secure: false });
    expect(plain.cookieName).toBe("passkey");
    const { id, setCookie } = await plain.issue(new Request(ORIGIN));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const attributes = setCookie.split("; ").slice(1);
    expect(attributes.sort()).toEqual(["HttpOnly", "Max-Age=300", "Path=/", "SameSite=Lax"]);
    expect(setCookie.split(";")[0]).not.toContain(id);

    const secure = createPasskeyCeremonyCookie({ secrets: [SECRET], secure: true });
    expect(secure.cookieName).toBe("__Host-passkey");
    const issued = await secure.issue(new Request(ORIGIN));
    expect(issued.setCookie).toMatch(/^__Host-passkey=/);
    expect(issued.setCookie.split("; ")).toContain("Secure");
  });

  it("reads back the id it issued, and keeps it: one id per browser", async () => {
    const { ceremony, browser } = setup();
    const first = await browser();
    const request = new Request(ORIGIN, { headers: { Cookie: `other=1; ${first.cookie}` } });
    expect(await ceremony.read(request)).toBe(first.id);
    const again = await ceremony.issue(request);
    expect(again.id).toBe(first.id);
    // Another browser gets another id.
    expect((await browser()).id).not.toBe(first.id);
  });

  it("reads nothing without a cookie, from a forged one, or one signed with another secret", async () => {
    const { ceremony, browser } = setup();
    const read = (cookie?: string) =>
      ceremony.read(
        new Request(ORIGIN, cookie === undefined ? {} : { headers: { Cookie: cookie } }),
      );
    expect(await read()).toBeNull();
    expect(await read("other=1")).toBeNull();
    const { cookie } = await browser();
    const value = cookie.slice("passkey=".length);
    expect(await read(`passkey=${value.slice(0, -2)}xx`)).toBeNull();
    const foreign = createPasskeyCeremonyCookie({
      secrets: ["another-secret-0123456789abcdef"],
      secure: false,
    });
    const { setCookie } = await foreign.issue(new Request(ORIGIN));
    expect(await read(setCookie.split(";")[0])).toBeNull();
  });

  it("reads only a 32-digit lowercase hex id, even when it is signed", async () => {
    const { ceremony } = setup();
    // The same cookie with the same secret, holding values the app never issues.
    const raw = createCookie("passkey", { secrets: [SECRET] });
    const hex = "0123456789abcdef0123456789abcdef";
    for (const value of [
      `x${hex}`,
      `${hex}x`,
      hex.toUpperCase(),
      hex.slice(1),
      12345,
      { id: hex },
      // Not a string, though it prints as one.
      [hex],
    ]) {
      const cookie = (await raw.serialize(value)).split(";")[0] as string;
      expect(await ceremony.read(new Request(ORIGIN, { headers: { Cookie: cookie } }))).toBeNull();
    }
    const good = (await raw.serialize(hex)).split(";")[0] as string;
    expect(await ceremony.read(new Request(ORIGIN, { headers: { Cookie: good } }))).toBe(hex);
  });

  it("reads nothing from a Cookie header over 16 KiB, and reads one of exactly 16 KiB", async () => {
    const { ceremony, browser } = setup();
    const { id, cookie } = await browser();
    const padded = (length: number) => {
      const head = "pad=";
      const tail = `; ${cookie}`;
      return `${head}${"a".repeat(length - head.length - tail.length)}${tail}`;
    };
    const read = (header: string) =>
      ceremony.read(new Request(ORIGIN, { headers: { Cookie: header } }));
    expect(padded(16_384)).toHaveLength(16_384);
    expect(await read(padded(16_384))).toBe(id);
    expect(await read(padded(16_385))).toBeNull();
  });

  it("is cleared with an empty value that has expired", async () => {
    const { ceremony } = setup();
    const cleared = await ceremony.clear();
    expect(cleared).toMatch(/^passkey=;/);
    expect(cleared).toContain("Max-Age=0");
    expect(cleared).toContain("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  });
});

describe("a passkey sign-in", () => {
  it("is the strategy named passkey", () => {
    expect(setup().strategy.name).toBe("passkey");
  });

  it("signs in the credential's owner: the verified user, the owner's failures cleared, one log line", async () => {
    const { calls, events, signIn } = setup();
    const { user, request, ceremonyId } = await signIn();
    expect(user).toEqual({ signedIn: ADA.id });
    expect(calls.ownerOf).toEqual([CREDENTIAL]);
    expect(calls.users).toEqual([ADA.id]);
    expect(calls.authenticate).toEqual([[ceremonyId, CREDENTIAL]]);
    expect(calls.limits).toEqual([
      ["allowVerify", ADA.email, IP],
      ["recordSuccess", ADA.email],
    ]);
    expect(calls.verify).toEqual([{ userId: ADA.id, request }]);
    expect(events).toEqual([line("success", ADA_HASH)]);
  });

  it("works without limits and without a logger", async () => {
    const { signIn, calls } = setup({ limits: false, log: false });
    expect((await signIn()).user).toEqual({ signedIn: ADA.id });
    expect(calls.limits).toEqual([]);
  });

  it("refuses a credential that is not JSON as malformed, before anything else", async () => {
    const { calls, events, browser, post } = setup();
    const { cookie } = await browser();
    for (const form of [{ credential: "{" }, {}] as Array<Record<string, string>>) {
      const { error } = await post(form, cookie);
      expect(error).toBeInstanceOf(PasskeyError);
      expect(error).toMatchObject({ code: "invalid_input", reason: "malformed" });
    }
    expect(events).toEqual([line("invalid_input:malformed"), line("invalid_input:malformed")]);
    expect(calls.ownerOf).toEqual([]);
  });

  it("S29: verifies nothing without this browser's ceremony", async () => {
    const { calls, events, post } = setup();
    const { error } = await post({ credential: JSON.stringify(CREDENTIAL) });
    expect(error).toMatchObject({ code: "expired", reason: "no_challenge" });
    expect(events).toEqual([line("expired:no_ceremony")]);
    expect(calls.ownerOf).toEqual([]);
    expect(calls.limits).toEqual([]);
  });

  it("S12: a refused verify budget is rate_limited, a locked owner too_many_attempts, before any check", async () => {
    for (const [reason, code] of [
      ["ip", "rate_limited"],
      ["locked", "too_many_attempts"],
    ] as const) {
      const { calls, events, script, signIn } = setup();
      script.decision = { allowed: false, reason, retryAfterSeconds: 42 };
      const { error } = await signIn();
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ code, retryAfter: 42, message: "Too many attempts" });
      expect(events).toEqual([line(`throttled:${reason}`, ADA_HASH)]);
      expect(calls.authenticate).toEqual([]);
    }
  });

  it("asks the verify budget with no address when the credential names nobody, and counts no failure", async () => {
    const { calls, events, script, signIn } = setup();
    script.owner = null;
    script.authError = new PasskeyError("invalid", "unknown_credential");
    const { error } = await signIn();
    expect(error).toBe(script.authError);
    expect(calls.users).toEqual([]);
    expect(calls.limits).toEqual([["allowVerify", undefined, IP]]);
    expect(events).toEqual([line("invalid:unknown_credential")]);
  });

  it("S10: a refused passkey counts toward its owner's lockout, with its reason in the log", async () => {
    const { calls, events, script, signIn } = setup();
    script.authError = new PasskeyError("invalid", "not_verified");
    const { error } = await signIn();
    expect(error).toBe(script.authError);
    expect(calls.limits).toEqual([
      ["allowVerify", ADA.email, IP],
      ["recordFailure", ADA.email],
    ]);
    expect(calls.verify).toEqual([]);
    expect(events).toEqual([line("invalid:not_verified", ADA_HASH)]);
  });

  it("S30: a counter that went backwards is logged as a possible clone", async () => {
    const { events, script, signIn } = setup();
    script.authError = new PasskeyError("invalid", "counter_regression");
    await signIn();
    expect(events).toEqual([line("possible_clone", ADA_HASH)]);
  });

  it("passes on another AuthError as it is, logged with its code", async () => {
    const { calls, events, script, signIn } = setup();
    script.authError = new AuthError("expired", "Expired");
    const { error } = await signIn();
    expect(error).toBe(script.authError);
    expect(events).toEqual([line("expired:error", ADA_HASH)]);
    expect(calls.limits.map(([name]) => name)).toEqual(["allowVerify", "recordFailure"]);
  });

  it("answers an unexpected failure as unavailable, and does not count it against the owner", async () => {
    const { calls, events, script, signIn } = setup();
    const cause = new Error("boom");
    script.authError = cause;
    const { error } = await signIn();
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({
      code: "unavailable",
      cause,
      message: "Passkey sign-in failed unexpectedly",
    });
    expect(events).toEqual([line("unavailable:error", ADA_HASH)]);
    expect(calls.limits.map(([name]) => name)).toEqual(["allowVerify"]);
  });

  it("S30: a deleted account signs in nobody, whatever credential is left behind", async () => {
    const { calls, events, script, signIn } = setup();
    script.user = null;
    const { error } = await signIn();
    expect(error).toMatchObject({ code: "invalid", reason: "unknown_credential" });
    expect(calls.limits).toEqual([["allowVerify", undefined, IP]]);
    expect(calls.verify).toEqual([]);
    expect(events).toEqual([line("invalid:unknown_credential")]);
  });

  it("S30: signs in nobody when the verified user is not the credential's owner", async () => {
    const { calls, events, script, signIn } = setup();
    script.signedIn = "usr_bob";
    const { error } = await signIn();
    expect(error).toMatchObject({ code: "invalid", reason: "unknown_credential" });
    expect(calls.limits.map(([name]) => name)).toEqual(["allowVerify", "recordFailure"]);
    expect(calls.verify).toEqual([]);
    expect(events).toEqual([line("invalid:unknown_credential", ADA_HASH)]);
  });

  it("fails closed as unavailable when the store fails at any step", async () => {
    const cases: Array<[string, (s: ReturnType<typeof setup>["script"]) => void, number]> = [
      ["ownerOf", (s) => void (s.ownerError = new StoreUnavailableError()), 0],
      ["users", (s) => void (s.userError = new StoreUnavailableError()), 0],
      ["allowVerify", (s) => void (s.failOn = "allowVerify"), 0],
      [
        "recordFailure",
        (s) => {
          s.failOn = "recordFailure";
          s.authError = new PasskeyError("invalid", "not_verified");
        },
        1,
      ],
      ["recordSuccess", (s) => void (s.failOn = "recordSuccess"), 1],
    ];
    for (const [name, arrange, authenticated] of cases) {
      const { calls, script, signIn } = setup();
      arrange(script);
      const { error } = await signIn();
      expect(error, name).toBeInstanceOf(AuthError);
      expect(error, name).toMatchObject({ code: "unavailable" });
      expect((error as AuthError).cause, name).toBeInstanceOf(StoreUnavailableError);
      expect(calls.authenticate, name).toHaveLength(authenticated);
      expect(calls.verify, name).toEqual([]);
    }
  });
});
