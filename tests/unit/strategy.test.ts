/**
 * The email-link strategy alone: each step's checks against a scripted adapter and scripted
 * limits, with the real pending-login and second-factor cookies. The route and flow tests
 * prove the same steps end to end; these show each check fails on its own when removed.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthError } from "../../adapters/errors";
import type {
  AuthAdapter,
  Identity,
  Proof,
  RedirectStart,
  StartContext,
  VerifyContext,
} from "../../adapters/types";
import { createPendingLoginStore, type PendingLogin } from "../../app/auth/pending.server";
import { createSecondFactorStore } from "../../app/auth/second-factor.server";
import { EmailLinkStrategy, InvalidEmailError, isEmptyEmail } from "../../app/auth/strategy.server";
import { hashEmail, type AuthEvent } from "../../app/lib/log.server";
import { StoreUnavailableError } from "../../app/store/errors";
import { MemoryStore } from "../../app/store/memory.server";
import { createTestClock } from "../support/clock";

const SECRET = "strategy-secret-0123456789abcdef0123456789";
const ORIGIN = "https://app.example";
const EMAIL = "ada@example.com";
const IP = "198.51.100.7";

type Decision = EmailLinkStrategy.LimitDecision;
type Outcome =
  | { user: { identity: Identity; pending: PendingLogin } }
  | { error: unknown }
  | { response: Response };

interface Options {
  limits?: boolean;
  secondFactor?: boolean;
  checkEmailPath?: string;
  secondFactorPath?: string;
  adapter?: Partial<AuthAdapter>;
  log?: boolean;
}

function setup(options: Options = {}) {
  const clock = createTestClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const pending = createPendingLoginStore({
    secrets: [SECRET],
    secure: false,
    ttlSeconds: 600,
    clock,
  });
  const secondFactor = createSecondFactorStore({
    secrets: [SECRET],
    secure: false,
    store,
    ttlSeconds: 600,
    clock,
  });
  const calls = {
    start: [] as Array<{ email: string; context: StartContext; self: unknown }>,
    sendCode: [] as Array<{ email: string; context: StartContext; self: unknown }>,
    redirectFor: [] as Array<{ email: string; context: StartContext }>,
    verify: [] as Array<{ proof: Proof; context: VerifyContext }>,
    verifySecondFactor: [] as Array<{ state: string; code: string; context: VerifyContext }>,
    endSession: [] as unknown[],
    limits: [] as unknown[][],
  };
  const script = {
    identity: { id: "id_1", email: EMAIL, adapter: "scripted" } as Identity,
    verifyError: undefined as unknown,
    secondFactorError: undefined as unknown,
    startError: undefined as unknown,
    send: { allowed: true, spent: { "email-hourly": 1 } } as Decision,
    verifyDecision: { allowed: true } as Decision,
    limitsError: undefined as unknown,
    /** Only this limits call fails with `limitsError` (the store failing mid-way). */
    failOn: undefined as string | undefined,
    refundError: undefined as unknown,
    /** Run inside `allowSend`: the time a throttled request spends before its hold. */
    duringAllowSend: undefined as (() => void) | undefined,
  };
  const adapter: AuthAdapter = {
    name: "scripted",
    delivers: { link: true, code: true },
    async start(email, context) {
      calls.start.push({ email, context, self: this });
      if (script.startError) throw script.startError;
      return { delivered: { link: true, code: false }, ref: "ref-1", adapter: "scripted-1" };
    },
    async sendCode(email, context) {
      calls.sendCode.push({ email, context, self: this });
      return { delivered: { link: false, code: true }, ref: "ref-2", adapter: "scripted-2" };
    },
    async verify(proof, context) {
      calls.verify.push({ proof, context });
      if (script.verifyError) throw script.verifyError;
      return script.identity;
    },
    async verifySecondFactor(state, code, context) {
      calls.verifySecondFactor.push({ state, code, context });
      if (script.secondFactorError) throw script.secondFactorError;
      return script.identity;
    },
    async endSession(session) {
      calls.endSession.push(session);
    },
    ...options.adapter,
  };
  const limited = async <T>(name: string, args: unknown[], value: () => T): Promise<T> => {
    calls.limits.push([name, ...args]);
    if (script.failOn ? script.failOn === name : script.limitsError) {
      throw (script.limitsError ??= new StoreUnavailableError());
    }
    return value();
  };
  const limits: EmailLinkStrategy.Limits = {
    allowSend: (email, ip, opts) =>
      limited("allowSend", [email, ip, opts], () => (script.duringAllowSend?.(), script.send)),
    allowVerify: (email, ip) => limited("allowVerify", [email, ip], () => script.verifyDecision),
    recordFailure: (email) => limited("recordFailure", [email], () => undefined),
    recordSuccess: (email) => limited("recordSuccess", [email], () => undefined),
    async refundSend(email, ip, opts) {
      calls.limits.push(["refundSend", email, ip, opts]);
      if (script.refundError) throw script.refundError;
    },
  };
  const events: AuthEvent[] = [];
  const strategy = new EmailLinkStrategy(
    {
      adapter,
      pending,
      appOrigin: ORIGIN,
      requestInfo: (request) => ({
        ip: request.headers.get("X-Test-IP") ?? IP,
        userAgent: "Test/1.0",
      }),
      ...(options.limits === false ? {} : { limits }),
      ...(options.secondFactor === false ? {} : { secondFactor }),
      ...(options.checkEmailPath ? { checkEmailPath: options.checkEmailPath } : {}),
      ...(options.secondFactorPath ? { secondFactorPath: options.secondFactorPath } : {}),
      ...(options.log === false ? {} : { log: (event: AuthEvent) => void events.push(event) }),
    },
    async ({ identity, request, pending: verified }) => {
      expect(request).toBeInstanceOf(Request);
      return { identity, pending: verified };
    },
  );

  /** The browser's cookies: what the strategy set, sent back. */
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  function keep(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  }

  async function run(request: Request): Promise<Outcome> {
    try {
      return { user: await strategy.authenticate(request) };
    } catch (error) {
      if (error instanceof Response) {
        keep(error);
        return { response: error };
      }
      return { error };
    }
  }

  const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    run(
      new Request(`${ORIGIN}/login`, {
        method: "POST",
        body: new URLSearchParams(form),
        headers: { Cookie: cookieHeader(), ...headers },
      }),
    );
  const get = (query: string, method = "GET") =>
    run(
      new Request(`${ORIGIN}/auth/callback?${query}`, {
        method,
        headers: { Cookie: cookieHeader() },
      }),
    );
  /** The pending sign-in this browser holds now. */
  const held = () => pending.read(new Request(ORIGIN, { headers: { Cookie: cookieHeader() } }));
  const heldStep = () =>
    secondFactor.read(new Request(ORIGIN, { headers: { Cookie: cookieHeader() } }));

  return {
    strategy,
    clock,
    store,
    pending,
    secondFactor,
    calls,
    script,
    events,
    jar,
    run,
    post,
    get,
    held,
    heldStep,
  };
}

/** The log line of one attempt at EMAIL from IP (S28). */
const attempt = (step: AuthEvent["step"], outcome: string, adapter: string): AuthEvent => ({
  step,
  outcome,
  adapter,
  emailHash: hashEmail(EMAIL),
  ip: IP,
});

function errorOf(outcome: Outcome): AuthError {
  if (!("error" in outcome)) throw new Error(`expected an error, got ${JSON.stringify(outcome)}`);
  return outcome.error as AuthError;
}

function redirectOf(outcome: Outcome): Response {
  if (!("response" in outcome))
    throw new Error(`expected a redirect, got ${JSON.stringify(outcome)}`);
  return outcome.response;
}

function userOf(outcome: Outcome) {
  if (!("user" in outcome))
    throw new Error(`expected a user, got ${String((outcome as { error?: unknown }).error)}`);
  return outcome.user;
}

/** Start a sign-in for `email` in this browser; returns the pending sign-in it holds. */
async function started(t: ReturnType<typeof setup>, email = EMAIL, returnTo = "/dashboard") {
  const response = redirectOf(await t.post({ email, returnTo }));
  expect(response.status).toBe(303);
  const pending = await t.held();
  expect(pending).not.toBeNull();
  return pending as PendingLogin;
}

describe("telling the steps apart", () => {
  it("is the email-link strategy", () => {
    expect(setup().strategy.name).toBe("email-link");
  });

  it("a GET or HEAD verifies a provider callback only with both code and state", async () => {
    const t = setup();
    for (const [query, method] of [
      ["code=abc", "GET"],
      ["state=abc", "GET"],
      ["", "HEAD"],
    ] as const) {
      const error = errorOf(await t.get(query, method));
      expect([error.code, error.message]).toEqual(["invalid_input", "Nothing to verify"]);
    }
    expect(errorOf(await t.get("code=abc&state=forged", "HEAD")).code).toBe("invalid");
    expect(errorOf(await t.get("code=abc&state=forged")).code).toBe("invalid");
    expect(t.calls.verify).toEqual([]);
  });

  it("POST: resend, code-instead, second factor, token, state, code, else start", async () => {
    const t = setup();
    // No pending sign-in and no second-factor step: each step says so in its own way.
    expect(errorOf(await t.post({ intent: "resend" })).message).toMatch(/No sign-in is pending/);
    expect(errorOf(await t.post({ intent: "code-instead" })).message).toMatch(
      /No sign-in is pending/,
    );
    expect(errorOf(await t.post({ intent: "second-factor", code: "123456" })).message).toMatch(
      /No second factor/,
    );
    expect(errorOf(await t.post({ token: "tok", code: "123456" })).message).toMatch(
      /No pending sign-in in this browser/,
    );
    expect(errorOf(await t.post({ state: "forged", code: "123456" })).message).toMatch(
      /link is not valid/,
    );
    expect(errorOf(await t.post({ code: "123456", email: EMAIL })).message).toMatch(
      /No sign-in is pending/,
    );
    expect(t.calls.start).toEqual([]);
    expect(errorOf(await t.post({ intent: "other" })).code).toBe("invalid_input");
    expect(t.events).toEqual([
      { step: "resend", outcome: "no_pending" },
      { step: "code_instead", outcome: "no_pending" },
      { step: "second_factor", outcome: "no_pending", ip: IP },
      { step: "link", outcome: "not_same_browser", ip: IP },
      { step: "callback", outcome: "invalid_state" },
      { step: "code", outcome: "no_pending" },
      { step: "start", outcome: "invalid_input:empty" },
    ]);
  });
});

describe("start (S13, S15)", () => {
  it("refuses what is not one address, keeping why, and logs it", async () => {
    const t = setup();
    const empty = errorOf(await t.post({ email: "  " }));
    expect(empty).toBeInstanceOf(InvalidEmailError);
    expect([empty.code, (empty as InvalidEmailError).reason, empty.name]).toEqual([
      "invalid_input",
      "empty",
      "InvalidEmailError",
    ]);
    expect(empty.message).toBe("Not one email address: empty");
    expect(isEmptyEmail(empty)).toBe(true);
    const bad = errorOf(await t.post({ email: "not an address" }));
    expect(isEmptyEmail(bad)).toBe(false);
    expect(isEmptyEmail(new AuthError("invalid_input"))).toBe(false);
    expect(t.events.map((e) => e.outcome)).toEqual([
      "invalid_input:empty",
      `invalid_input:${(bad as InvalidEmailError).reason}`,
    ]);
    expect(t.events[0]?.step).toBe("start");
    expect(t.calls.start).toEqual([]);
  });

  it("sends to the normalised address with links built from the configured origin, then 303s to check-email", async () => {
    const t = setup();
    const response = redirectOf(
      await t.post(
        { email: " Ada@Example.COM ", returnTo: "/dashboard?x=1" },
        { Host: "evil.example" },
      ),
    );
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/login/check");
    const [call] = t.calls.start;
    expect(call?.email).toBe(EMAIL);
    const pending = (await t.held()) as PendingLogin;
    expect(call?.context).toEqual({
      ip: IP,
      userAgent: "Test/1.0",
      mail: { id: pending.mailId, ip: IP, skipSpacing: false, spent: { "email-hourly": 1 } },
      linkUrl: `${ORIGIN}/auth/link`,
      callbackUrl: `${ORIGIN}/auth/callback`,
      state: t.pending.state(pending),
      nonceHash: t.pending.nonceHash(pending),
    });
    expect(pending).toMatchObject({
      email: EMAIL,
      returnTo: "/dashboard?x=1",
      ref: "ref-1",
      adapter: "scripted-1",
      delivered: { link: true, code: false },
    });
    expect(pending.mailId).toMatch(/^[0-9a-f]{32}$/);
    expect(t.calls.limits).toEqual([["allowSend", EMAIL, IP, { skipSpacing: false }]]);
    expect(t.events).toEqual([attempt("start", "sent", "scripted-1")]);
  });

  it("keeps only a safe return path, and goes to the configured check-email page", async () => {
    const t = setup({ checkEmailPath: "/elsewhere/check" });
    const response = redirectOf(await t.post({ email: EMAIL, returnTo: "//evil.example/x" }));
    expect(response.headers.get("Location")).toBe("/elsewhere/check");
    expect((await t.held())?.returnTo).toBe("/dashboard");
  });

  it("without limits, still sends", async () => {
    const t = setup({ limits: false, log: false });
    await started(t);
    expect(t.calls.start).toHaveLength(1);
    expect(t.calls.start[0]?.context.mail?.spent).toBeUndefined();
  });

  it("a failed send gives its budgets back and says why; a failing refund changes nothing", async () => {
    const t = setup();
    t.script.startError = new AuthError("unavailable", "relay down", { requestId: "req-9" });
    const error = errorOf(await t.post({ email: EMAIL }));
    expect(error).toBe(t.script.startError);
    expect(t.calls.limits[1]).toEqual([
      "refundSend",
      EMAIL,
      IP,
      { skipSpacing: false, spent: { "email-hourly": 1 } },
    ]);
    expect(t.events.at(-1)).toEqual({
      step: "start",
      outcome: "unavailable",
      adapter: "scripted",
      emailHash: hashEmail(EMAIL),
      ip: IP,
      requestId: "req-9",
    });
    // Something that is not an AuthError becomes "unavailable", never escapes as it is.
    t.script.startError = new Error("boom");
    t.script.refundError = new Error("store down");
    const wrapped = errorOf(await t.post({ email: EMAIL }));
    expect(wrapped).toBeInstanceOf(AuthError);
    expect([wrapped.code, wrapped.message, wrapped.cause]).toEqual([
      "unavailable",
      "Sign-in failed unexpectedly",
      t.script.startError,
    ]);
    expect(t.jar.size).toBe(0);
  });

  it("without limits, a failed send is refused as it is", async () => {
    const t = setup({ limits: false });
    t.script.startError = new AuthError("unavailable", "relay down");
    expect(errorOf(await t.post({ email: EMAIL }))).toBe(t.script.startError);
  });

  it("a limits store that fails is 'unavailable', and nothing is sent (fail closed)", async () => {
    const t = setup();
    t.script.limitsError = new StoreUnavailableError();
    const error = errorOf(await t.post({ email: EMAIL }));
    expect(error.code).toBe("unavailable");
    expect(error.cause).toBe(t.script.limitsError);
    expect(t.calls.start).toEqual([]);
    // An AuthError from the limits stays itself.
    t.script.limitsError = new AuthError("rate_limited");
    expect(errorOf(await t.post({ email: EMAIL }))).toBe(t.script.limitsError);
  });

  it("S13 throttled: the same 303, nothing sent, and the browser keeps its sign-in for that address", async () => {
    const t = setup();
    const first = await started(t);
    t.script.send = { allowed: false, retryAfterSeconds: 42, reason: "email_spacing" };
    const response = redirectOf(await t.post({ email: EMAIL, returnTo: "/other" }));
    expect([response.status, response.headers.get("Location")]).toEqual([303, "/login/check"]);
    expect(t.calls.start).toHaveLength(1);
    expect(await t.held()).toEqual({ ...first, returnTo: "/other", againAt: t.clock() + 42_000 });
    expect(t.events.at(-1)).toEqual(attempt("start", "throttled:email_spacing", "scripted"));
    // Another address: a new pending sign-in (nothing was sent to it).
    redirectOf(await t.post({ email: "bob@example.com" }));
    const other = (await t.held()) as PendingLogin;
    expect(other).toMatchObject({ email: "bob@example.com", ref: "", adapter: "scripted" });
    expect(other.delivered).toEqual({ link: true, code: true });
    expect(other.againAt).toBeUndefined();
    expect(other.id).not.toBe(first.id);
  });

  it("S13 throttled in a fresh browser: a new pending sign-in, nothing sent", async () => {
    const t = setup();
    t.script.send = { allowed: false, retryAfterSeconds: 42, reason: "ip" };
    redirectOf(await t.post({ email: EMAIL }));
    expect(await t.held()).toMatchObject({ email: EMAIL, ref: "", adapter: "scripted" });
    expect(t.calls.start).toEqual([]);
  });
});

describe("S13 a throttled answer is held as long as a start that sends", () => {
  afterEach(() => vi.restoreAllMocks());

  /**
   * Sends that took `took` ms each (a clock that moves only when told), then a throttled
   * start that spent `spent` ms before its hold: the holds it asked `setTimeout` for.
   */
  async function holds(took: number[], spent: number): Promise<number[]> {
    let now = 1_000;
    vi.spyOn(performance, "now").mockImplementation(() => now);
    const t = setup({
      adapter: {
        async start() {
          now += took.shift() ?? 0;
          return { delivered: { link: true, code: false }, ref: "r", adapter: "scripted" };
        },
      },
    });
    for (let sends = took.length; sends > 0; sends--) await started(t);
    t.script.send = { allowed: false, retryAfterSeconds: 1, reason: "ip" };
    t.script.duringAllowSend = () => void (now += spent);
    const asked: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((run: () => void, ms?: number) => {
      asked.push(ms ?? 0);
      return realSetTimeout(run, 0);
    }) as typeof setTimeout);
    redirectOf(await t.post({ email: EMAIL }));
    return asked;
  }

  it("the time a send takes, smoothed (nine tenths the old, one tenth the new), less what was spent", async () => {
    const [hold = NaN, ...more] = await holds([300, 100], 5);
    expect(hold).toBeCloseTo(300 * 0.9 + 100 * 0.1 - 5, 6);
    expect(more).toEqual([]);
  });

  it("the first send counts whole", async () => {
    const [hold = NaN] = await holds([300], 0);
    expect(hold).toBeCloseTo(300, 6);
  });

  it("at most two seconds, however long a send took", async () => {
    const [hold = NaN] = await holds([5_000], 5);
    expect(hold).toBeCloseTo(1_995, 6);
  });

  it("no hold when no send has been timed, or the time is already spent", async () => {
    expect(await holds([], 0)).toEqual([]);
    expect(await holds([100], 100)).toEqual([]);
  });
});

describe("SSO by domain (redirectFor)", () => {
  const target: RedirectStart = {
    url: "https://idp.example/authorize?x=1",
    ref: "conn_1",
    adapter: "workos-sso",
    match: "domain",
  };

  it("303s to the provider with a pending sign-in whose id is the state, and sends nothing", async () => {
    const t = setup({
      adapter: {
        redirectFor: async (email, context) => {
          t.calls.redirectFor.push({ email, context });
          return target;
        },
      },
    });
    const response = redirectOf(await t.post({ email: EMAIL, returnTo: "/team" }));
    expect([response.status, response.headers.get("Location")]).toEqual([303, target.url]);
    const pending = (await t.held()) as PendingLogin;
    expect(pending).toMatchObject({
      email: EMAIL,
      returnTo: "/team",
      ref: "conn_1",
      adapter: "workos-sso",
      match: "domain",
      delivered: { link: false, code: false },
    });
    const [call] = t.calls.redirectFor;
    expect(t.pending.verifyState(call?.context.state ?? null)).toBe(pending.id);
    expect(call?.context.callbackUrl).toBe(`${ORIGIN}/auth/callback`);
    expect(t.calls.start).toEqual([]);
    expect(t.calls.limits).toEqual([]);
    expect(t.events).toEqual([attempt("sso", "redirect", "workos-sso")]);
  });

  it("no SSO for the address, or a failed lookup: the email sign-in as usual", async () => {
    let answer: () => Promise<RedirectStart | null> = async () => null;
    const t = setup({ adapter: { redirectFor: () => answer() } });
    await started(t);
    expect(t.calls.start).toHaveLength(1);
    answer = async () => {
      throw new Error("directory down");
    };
    await started(t);
    expect(t.calls.start).toHaveLength(2);
    expect(t.events.map((e) => e.outcome)).toEqual(["sent", "lookup_failed:unavailable", "sent"]);
    expect(t.events[1]).toEqual({ step: "sso", outcome: "lookup_failed:unavailable", ip: IP });
  });
});

describe("resend and code instead", () => {
  it("resend sends again to the pending address and return path", async () => {
    const t = setup();
    await started(t, EMAIL, "/from");
    redirectOf(await t.post({ intent: "resend" }));
    expect(t.calls.start.map((c) => c.email)).toEqual([EMAIL, EMAIL]);
    expect((await t.held())?.returnTo).toBe("/from");
    expect(t.events.at(-1)?.step).toBe("resend");
  });

  it("without a pending sign-in: 'expired', logged as no_pending for that step", async () => {
    const t = setup();
    const error = errorOf(await t.post({ intent: "resend" }));
    expect(error.code).toBe("expired");
    expect(t.events).toEqual([{ step: "resend", outcome: "no_pending" }]);
  });

  it("code instead asks the adapter for a code, skipping only the spacing (S11)", async () => {
    const t = setup();
    await started(t, EMAIL, "/from");
    redirectOf(await t.post({ intent: "code-instead" }));
    const [call] = t.calls.sendCode;
    expect(call?.email).toBe(EMAIL);
    expect(call?.self).toBeDefined();
    expect(call?.context.mail?.skipSpacing).toBe(true);
    expect(t.calls.limits.at(-1)).toEqual(["allowSend", EMAIL, IP, { skipSpacing: true }]);
    expect(await t.held()).toMatchObject({
      returnTo: "/from",
      ref: "ref-2",
      delivered: { link: false, code: true },
    });
    expect(t.events.at(-1)?.step).toBe("code_instead");
  });

  it("an adapter with no codes refuses code instead", async () => {
    const t = setup({ adapter: { sendCode: undefined } });
    await started(t);
    const error = errorOf(await t.post({ intent: "code-instead" }));
    expect([error.code, error.message]).toEqual([
      "invalid_input",
      "This sign-in method has no codes",
    ]);
  });
});

describe("verify a code, a link, a callback (S8, S10)", () => {
  it("a code: digits only, six of them, for the pending address", async () => {
    const t = setup();
    const pending = await started(t);
    const bad = errorOf(await t.post({ code: "12345" }));
    expect([bad.code, bad.message]).toEqual(["invalid_input", "A code is six digits"]);
    expect(errorOf(await t.post({ code: "1234567" })).code).toBe("invalid_input");
    for (const code of ["12a456", "a123456", "123456a"]) {
      expect(errorOf(await t.post({ code })).code).toBe("invalid_input");
    }
    expect(t.events.at(-1)).toEqual({
      step: "code",
      outcome: "invalid_input",
      emailHash: hashEmail(EMAIL),
    });
    expect(t.calls.verify).toEqual([]);
    const { user } = { user: userOf(await t.post({ code: " 123-456 " })) };
    expect(t.calls.verify[0]?.proof).toEqual({ kind: "code", email: EMAIL, code: "123456" });
    expect(t.calls.verify[0]?.context).toEqual({
      ip: IP,
      userAgent: "Test/1.0",
      ref: "ref-1",
      adapter: "scripted-1",
      nonceHash: t.pending.nonceHash(pending),
      email: EMAIL,
    });
    expect(user.pending.id).toBe(pending.id);
    expect(user.identity).toBe(t.script.identity);
    expect(t.calls.limits.slice(-2)).toEqual([
      ["allowVerify", EMAIL, IP],
      ["recordSuccess", EMAIL],
    ]);
    expect(t.events.at(-1)).toEqual(attempt("code", "success", "scripted"));
  });

  it("a link only in the browser that started (S8)", async () => {
    const t = setup();
    const error = errorOf(await t.post({ token: "tok" }));
    expect([error.code, error.message]).toEqual([
      "not_same_browser",
      "No pending sign-in in this browser",
    ]);
    expect(t.events).toEqual([{ step: "link", outcome: "not_same_browser", ip: IP }]);
    await started(t);
    userOf(await t.post({ token: "tok" }));
    expect(t.calls.verify[0]?.proof).toEqual({ kind: "link", token: "tok" });
  });

  it("a callback needs our state, a code, and this browser's pending sign-in of that state", async () => {
    const t = setup();
    const pending = await started(t);
    const state = t.pending.state(pending);
    const forged = errorOf(await t.get(`code=abc&state=${encodeURIComponent(state)}x`));
    expect([forged.code, forged.message]).toEqual(["invalid", "The sign-in link is not valid"]);
    expect(t.events.at(-1)).toEqual({ step: "callback", outcome: "invalid_state" });
    expect(errorOf(await t.get(`code=&state=${state}`)).code).toBe("invalid");
    // Another pending sign-in's state, in this browser: not this sign-in.
    const other = t.pending.state(t.pending.create({ ...pending }));
    const elsewhere = errorOf(await t.get(`code=abc&state=${other}`));
    expect([elsewhere.code, elsewhere.message]).toEqual([
      "not_same_browser",
      "Started in another browser",
    ]);
    expect(t.events.at(-1)).toEqual({ step: "callback", outcome: "not_same_browser" });
    expect(t.calls.verify).toEqual([]);
    userOf(await t.get(`code=abc&state=${state}`));
    expect(t.calls.verify[0]?.proof).toEqual({ kind: "callback", code: "abc" });
    expect(t.events.at(-1)).toMatchObject({ step: "callback", outcome: "success" });
    // The same through a POST (form_post).
    userOf(await t.post({ code: "def", state }));
    expect(t.calls.verify[1]?.proof).toEqual({ kind: "callback", code: "def" });
    // And without any pending sign-in: not this browser.
    t.jar.clear();
    expect(errorOf(await t.get(`code=abc&state=${state}`)).code).toBe("not_same_browser");
  });

  it("limits refuse before the adapter is asked: locked is too_many_attempts, else rate_limited", async () => {
    const t = setup();
    await started(t);
    t.script.verifyDecision = { allowed: false, retryAfterSeconds: 30, reason: "locked" };
    const locked = errorOf(await t.post({ code: "123456" }));
    expect([locked.code, locked.retryAfter, locked.message]).toEqual([
      "too_many_attempts",
      30,
      "Too many attempts",
    ]);
    expect(t.events.at(-1)).toEqual(attempt("code", "throttled:locked", "scripted-1"));
    t.script.verifyDecision = { allowed: false, retryAfterSeconds: 7, reason: "ip" };
    const limited = errorOf(await t.post({ code: "123456" }));
    expect([limited.code, limited.retryAfter]).toEqual(["rate_limited", 7]);
    expect(t.calls.verify).toEqual([]);
    t.script.limitsError = new StoreUnavailableError();
    expect(errorOf(await t.post({ code: "123456" })).code).toBe("unavailable");
    expect(t.calls.verify).toEqual([]);
  });

  it("without limits, verifies", async () => {
    const t = setup({ limits: false });
    await started(t);
    userOf(await t.post({ code: "123456" }));
  });

  it("wrong proofs count as failures; an outage does not", async () => {
    for (const code of ["invalid", "expired", "used", "too_many_attempts"] as const) {
      const t = setup();
      await started(t);
      t.script.verifyError = new AuthError(code, "no", { requestId: "req-1" });
      expect(errorOf(await t.post({ code: "123456" }))).toBe(t.script.verifyError);
      expect(t.calls.limits.at(-1)).toEqual(["recordFailure", EMAIL]);
      expect(t.events.at(-1)).toEqual({
        step: "code",
        outcome: code,
        adapter: "scripted-1",
        emailHash: hashEmail(EMAIL),
        ip: IP,
        requestId: "req-1",
      });
    }
    const t = setup();
    await started(t);
    t.script.verifyError = new Error("provider down");
    expect(errorOf(await t.post({ code: "123456" })).code).toBe("unavailable");
    expect(t.calls.limits.at(-1)).toEqual(["allowVerify", EMAIL, IP]);
    // Without limits a wrong proof is still refused.
    const bare = setup({ limits: false });
    await started(bare);
    bare.script.verifyError = new AuthError("invalid");
    expect(errorOf(await bare.post({ code: "123456" })).code).toBe("invalid");
  });

  it("a limits store failing while counting a failure is 'unavailable'", async () => {
    const t = setup();
    await started(t);
    t.script.verifyError = new AuthError("invalid");
    t.script.failOn = "recordFailure";
    const error = errorOf(await t.post({ code: "123456" }));
    expect([error.code, error.cause]).toEqual(["unavailable", t.script.limitsError]);
  });
});

describe("the identity must be the address this browser asked for", () => {
  it("another address is refused, and the provider's session it opened is ended", async () => {
    const t = setup();
    await started(t);
    t.script.identity = {
      id: "id_2",
      email: "eve@example.com",
      adapter: "scripted",
      providerSession: { id: "ps_1", userId: "pu_1" },
    };
    const error = errorOf(await t.post({ code: "123456" }));
    expect([error.code, error.message]).toEqual([
      "invalid",
      "The proof belongs to another address",
    ]);
    expect(t.calls.endSession).toEqual([{ id: "ps_1", userId: "pu_1" }]);
    expect(t.calls.limits.map((c) => c[0])).not.toContain("recordSuccess");
    expect(t.events.at(-1)).toEqual(attempt("code", "email_mismatch", "scripted"));
  });

  it("without a provider session or endSession, nothing is ended, and a failing endSession is ignored", async () => {
    const t = setup({
      adapter: {
        endSession: async () => {
          throw new Error("provider down");
        },
      },
    });
    const eve: Identity = { id: "id_2", email: "eve@example.com", adapter: "scripted" };
    const withSession = { ...eve, providerSession: { id: "p", userId: "u" } };
    const plain = setup();
    const none = setup({ adapter: { endSession: undefined } });
    for (const [h, identity] of [
      [t, withSession],
      [plain, eve],
      [none, withSession],
    ] as const) {
      await started(h);
      h.script.identity = identity;
      expect(errorOf(await h.post({ code: "123456" })).code).toBe("invalid");
    }
    expect(plain.calls.endSession).toEqual([]);
  });

  it("the provider's spelling of the same address is accepted", async () => {
    const t = setup();
    await started(t);
    t.script.identity = { id: "id_1", email: "ADA@example.com", adapter: "scripted" };
    userOf(await t.post({ code: "123456" }));
  });

  it("SSO: any address at the typed address's domain, and only there", async () => {
    const target: RedirectStart = {
      url: "https://idp.example/a",
      ref: "c",
      adapter: "sso",
      match: "domain",
    };
    for (const [email, ok] of [
      ["grace@example.com", true],
      ["Grace@EXAMPLE.com", true],
      ["grace@example.com.evil", false],
      ["grace@sub.example.com", false],
      ["example.com", false],
    ] as const) {
      const t = setup({ adapter: { redirectFor: async () => target } });
      redirectOf(await t.post({ email: EMAIL }));
      t.script.identity = { id: "id", email, adapter: "sso" };
      const state = t.pending.state((await t.held()) as PendingLogin);
      const outcome = await t.get(`code=abc&state=${state}`);
      expect("user" in outcome, email).toBe(ok);
    }
  });
});

describe("the second factor (MFA)", () => {
  const enroll = {
    kind: "enroll" as const,
    state: "pat_1",
    enrollment: { qrCode: "data:q", secret: "S3CR3T" },
  };

  /** A sign-in whose first factor the provider accepted, asking for `step`. */
  async function atSecondFactor(t: ReturnType<typeof setup>, step = enroll) {
    await started(t, EMAIL, "/after");
    t.script.verifyError = new AuthError("second_factor_required", "mfa", { secondFactor: step });
    const response = redirectOf(await t.post({ code: "123456" }));
    t.script.verifyError = undefined;
    return response;
  }

  it("a first factor that asks for MFA: 303 to the MFA page with its cookie, the pending one cleared, nothing counted", async () => {
    const t = setup();
    const response = await atSecondFactor(t);
    expect([response.status, response.headers.get("Location")]).toEqual([303, "/login/mfa"]);
    const lines = response.headers.getSetCookie();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^mfa=/);
    expect(lines[1]).toMatch(/^pending=; Max-Age=0/);
    const step = await t.heldStep();
    expect(step).toMatchObject({
      email: EMAIL,
      returnTo: "/after",
      kind: "enroll",
      state: "pat_1",
    });
    expect(await t.secondFactor.enrollment(step!)).toEqual(enroll.enrollment);
    expect(t.calls.limits.map((c) => c[0])).toEqual(["allowSend", "allowVerify"]);
    expect(t.events.at(-1)).toEqual(attempt("code", "second_factor:enroll", "scripted-1"));
  });

  it("goes to the configured MFA page; without an MFA store it is misconfigured", async () => {
    const t = setup({ secondFactorPath: "/mfa-here" });
    expect((await atSecondFactor(t)).headers.get("Location")).toBe("/mfa-here");
    const none = setup({ secondFactor: false });
    await started(none);
    none.script.verifyError = new AuthError("second_factor_required", "mfa", {
      secondFactor: enroll,
    });
    const error = errorOf(await none.post({ code: "123456" }));
    expect([error.code, error.message]).toEqual([
      "misconfigured",
      "The provider asks for MFA; none is set up",
    ]);
    // Another error that carries a step is an error like any other.
    const other = setup();
    await started(other);
    other.script.verifyError = new AuthError("invalid", "no", { secondFactor: enroll });
    expect(errorOf(await other.post({ code: "123456" }))).toBe(other.script.verifyError);
    expect(other.jar.has("mfa")).toBe(false);
    // Asking for MFA without saying which step is an error like any other.
    const bare = setup();
    await started(bare);
    bare.script.verifyError = new AuthError("second_factor_required");
    expect(errorOf(await bare.post({ code: "123456" })).code).toBe("second_factor_required");
    expect(bare.calls.limits.at(-1)?.[0]).toBe("allowVerify");
  });

  it("the right code signs in, through the same address check, and forgets the step", async () => {
    const t = setup();
    await atSecondFactor(t);
    const step = (await t.heldStep())!;
    await t.secondFactor.recordFailure(step);
    const { identity, pending } = userOf(
      await t.post({ intent: "second-factor", code: "654 321" }),
    );
    expect(identity).toBe(t.script.identity);
    expect(t.calls.verifySecondFactor).toEqual([
      {
        state: "pat_1",
        code: "654321",
        context: { ip: IP, userAgent: "Test/1.0", adapter: "scripted-1" },
      },
    ]);
    expect(pending).toEqual({
      id: step.id,
      email: EMAIL,
      nonce: "",
      ref: "",
      adapter: "scripted-1",
      delivered: { link: false, code: false },
      returnTo: "/after",
      expiresAt: step.expiresAt,
      sentAt: 0,
    });
    expect(await t.secondFactor.failures(step)).toBe(0);
    expect(await t.secondFactor.enrollment(step)).toBeNull();
    expect(t.calls.limits.slice(-2)).toEqual([
      ["allowVerify", EMAIL, IP],
      ["recordSuccess", EMAIL],
    ]);
    expect(t.events.at(-1)).toMatchObject({ step: "second_factor", outcome: "success" });
  });

  it("an SSO sign-in's second factor keeps the domain rule", async () => {
    const target: RedirectStart = {
      url: "https://idp.example/a",
      ref: "c",
      adapter: "sso",
      match: "domain",
    };
    const t = setup({ adapter: { redirectFor: async () => target } });
    redirectOf(await t.post({ email: EMAIL }));
    const state = t.pending.state((await t.held()) as PendingLogin);
    t.script.verifyError = new AuthError("second_factor_required", "mfa", {
      secondFactor: { kind: "challenge", state: "pat_2" },
    });
    redirectOf(await t.get(`code=abc&state=${state}`));
    t.script.identity = { id: "id", email: "grace@example.com", adapter: "sso" };
    const { pending } = userOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect(pending.match).toBe("domain");
  });

  it("a code for the wrong address after MFA is refused", async () => {
    const t = setup();
    await atSecondFactor(t);
    t.script.identity = { id: "id", email: "eve@example.com", adapter: "scripted" };
    expect(errorOf(await t.post({ intent: "second-factor", code: "111111" })).code).toBe("invalid");
  });

  it("no step in this browser, or no MFA store: 'expired'", async () => {
    const t = setup();
    const error = errorOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect([error.code, error.message]).toEqual([
      "expired",
      "No second factor is pending in this browser",
    ]);
    expect(t.events).toEqual([{ step: "second_factor", outcome: "no_pending", ip: IP }]);
    const none = setup({ secondFactor: false });
    expect(errorOf(await none.post({ intent: "second-factor", code: "111111" })).code).toBe(
      "expired",
    );
  });

  it("six digits only", async () => {
    const t = setup();
    await atSecondFactor(t);
    for (const code of ["12345", "1234567", "abcdef", "a123456", "123456a"]) {
      const error = errorOf(await t.post({ intent: "second-factor", code }));
      expect([error.code, error.message]).toEqual(["invalid_input", "A code is six digits"]);
    }
    expect(t.events.at(-1)).toEqual({
      step: "second_factor",
      outcome: "invalid_input",
      emailHash: hashEmail(EMAIL),
    });
    expect(t.calls.verifySecondFactor).toEqual([]);
  });

  it("S10 the limits refuse first: locked is too_many_attempts, else rate_limited", async () => {
    const t = setup();
    await atSecondFactor(t);
    t.script.verifyDecision = { allowed: false, retryAfterSeconds: 9, reason: "locked" };
    const locked = errorOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect([locked.code, locked.retryAfter, locked.message]).toEqual([
      "too_many_attempts",
      9,
      "Too many attempts",
    ]);
    expect(t.events.at(-1)).toEqual(attempt("second_factor", "throttled:locked", "scripted-1"));
    t.script.verifyDecision = { allowed: false, retryAfterSeconds: 3, reason: "ip" };
    const limited = errorOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect([limited.code, limited.retryAfter]).toEqual(["rate_limited", 3]);
    expect(t.calls.verifySecondFactor).toEqual([]);
    const bare = setup({ limits: false });
    await atSecondFactor(bare);
    userOf(await bare.post({ intent: "second-factor", code: "111111" }));
  });

  it("S10 five wrong codes end the step: the fifth says so, and so does every later try", async () => {
    const t = setup();
    await atSecondFactor(t);
    t.script.secondFactorError = new AuthError("invalid", "wrong", { requestId: "r" });
    for (let i = 1; i < 5; i++) {
      expect(errorOf(await t.post({ intent: "second-factor", code: "111111" }))).toBe(
        t.script.secondFactorError,
      );
    }
    expect(t.events.at(-1)).toEqual({
      step: "second_factor",
      outcome: "invalid",
      adapter: "scripted-1",
      emailHash: hashEmail(EMAIL),
      ip: IP,
      requestId: "r",
    });
    const fifth = errorOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect([fifth.code, fifth.message]).toEqual(["too_many_attempts", "Too many wrong codes"]);
    expect(t.calls.verifySecondFactor).toHaveLength(5);
    t.script.secondFactorError = undefined;
    const after = errorOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect([after.code, after.message]).toEqual(["too_many_attempts", "Too many wrong codes"]);
    expect(t.calls.verifySecondFactor).toHaveLength(5);
    expect(t.events.at(-1)).toEqual({
      step: "second_factor",
      outcome: "too_many_attempts",
      emailHash: hashEmail(EMAIL),
      ip: IP,
    });
    expect(t.calls.limits.filter((c) => c[0] === "recordFailure")).toHaveLength(5);
  });

  it("only wrong codes count towards the step's five; an outage counts nowhere", async () => {
    const t = setup();
    await atSecondFactor(t);
    const step = (await t.heldStep())!;
    t.script.secondFactorError = new AuthError("expired");
    expect(errorOf(await t.post({ intent: "second-factor", code: "111111" })).code).toBe("expired");
    expect(await t.secondFactor.failures(step)).toBe(0);
    expect(t.calls.limits.at(-1)).toEqual(["recordFailure", EMAIL]);
    t.script.secondFactorError = new Error("down");
    expect(errorOf(await t.post({ intent: "second-factor", code: "111111" })).code).toBe(
      "unavailable",
    );
    expect(t.calls.limits.at(-1)).toEqual(["allowVerify", EMAIL, IP]);
    const bare = setup({ limits: false });
    await atSecondFactor(bare);
    bare.script.secondFactorError = new AuthError("invalid");
    expect(errorOf(await bare.post({ intent: "second-factor", code: "111111" })).code).toBe(
      "invalid",
    );
    expect(await bare.secondFactor.failures((await bare.heldStep())!)).toBe(1);
  });

  it("an adapter without a second factor is misconfigured", async () => {
    const t = setup({ adapter: { verifySecondFactor: undefined } });
    await atSecondFactor(t);
    const error = errorOf(await t.post({ intent: "second-factor", code: "111111" }));
    expect([error.code, error.message]).toEqual(["misconfigured", "No second factor here"]);
  });
});
