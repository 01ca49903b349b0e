/**
 * app/auth/flow.server.ts alone: what the routes call around the strategy. The session and
 * user reads, the redirect to /login and its return path (S16), each AuthError's status and
 * headers (never a 500), the session a verified sign-in gets (S20) and the cookies that end
 * with it, and an SSO redirect handed to the page as data. The strategies themselves are
 * replaced by a scripted `authenticate`; the cookies, sessions and users are the real ones,
 * on the memory store with a test clock.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError, type AuthErrorCode } from "../../adapters/errors";
import {
  authErrorData,
  externalRedirectAsData,
  getSession,
  getUser,
  requireSession,
  requireUser,
  runPasskeySignIn,
  runSignInStep,
} from "../../app/auth/flow.server";
import { PasskeyError } from "../../app/auth/passkeys.server";
import { InvalidEmailError } from "../../app/auth/strategy.server";
import type { SessionUser } from "../../app/auth/session.server";
import { PASSKEY_STRATEGY, STRATEGY } from "../../app/services.server";
import {
  createTestApp,
  createTestUser,
  getRequest,
  postForm,
  signedInRequest,
  TEST_ORIGIN,
  type TestApp,
} from "../support/auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(() => app.close());

/** What `authenticate` does next, and with which strategy name it was last called. */
let script: (strategy: string) => Promise<SessionUser>;
let calledWith: string[];
function scriptAuthenticate(next: (strategy: string) => Promise<SessionUser>) {
  script = next;
  calledWith = [];
  app.services.authenticator.authenticate = ((strategy: string) => {
    calledWith.push(strategy);
    return script(strategy);
  }) as typeof app.services.authenticator.authenticate;
}

/** Whatever a call threw (a Response or data), or fail when it returned. */
async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

type Data = { type: string; data: Record<string, unknown>; init: ResponseInit | null };
const headersOf = (value: unknown) => new Headers((value as Data).init?.headers);

describe("reading the session and the user", () => {
  it("gives null for a signed-out request, the session and the user record for a signed-in one", async () => {
    expect(await getSession(getRequest("/"))).toBeNull();
    expect(await getUser(getRequest("/"))).toBeNull();
    const ada = await createTestUser({ email: "ada@example.com", firstName: "Ada" });
    const request = await signedInRequest("/", { user: ada });
    expect((await getSession(request))?.user.id).toBe(ada.id);
    expect(await getUser(request)).toMatchObject({ id: ada.id, firstName: "Ada" });
    expect(await requireUser(request)).toMatchObject({ id: ada.id });
    expect((await requireSession(request)).user.id).toBe(ada.id);
  });

  it("treats a session whose user was deleted as signed out: requireUser sends to /login", async () => {
    const ada = await createTestUser({ email: "ada@example.com" });
    const request = await signedInRequest("/account?tab=1", { user: ada });
    await app.services.users.store.delete(ada.id);
    expect(await getUser(request)).toBeNull();
    const response = (await thrown(requireUser(request))) as Response;
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe(
      `/login?returnTo=${encodeURIComponent("/account?tab=1")}`,
    );
  });

  it("sends a signed-out request to /login with its path and query as the return path", async () => {
    const response = (await thrown(requireSession(getRequest("/dashboard?x=1&y=2")))) as Response;
    expect(response).toBeInstanceOf(Response);
    expect(response.headers.get("Location")).toBe(
      `/login?returnTo=${encodeURIComponent("/dashboard?x=1&y=2")}`,
    );
    const user = (await thrown(requireUser(getRequest("/account")))) as Response;
    expect(user.headers.get("Location")).toBe(`/login?returnTo=${encodeURIComponent("/account")}`);
  });

  it("replaces a return path that is not safe with the default (S16)", async () => {
    const response = (await thrown(requireSession(getRequest("/a%0d%0ab")))) as Response;
    expect(response.headers.get("Location")).toBe(
      `/login?returnTo=${encodeURIComponent("/dashboard")}`,
    );
  });
});

describe("an AuthError as page data", () => {
  const statuses: Record<AuthErrorCode, number> = {
    invalid_input: 400,
    invalid: 400,
    expired: 400,
    used: 400,
    too_many_attempts: 429,
    rate_limited: 429,
    unavailable: 503,
    misconfigured: 503,
    not_same_browser: 403,
    sign_up_closed: 403,
    account_exists: 409,
    second_factor_required: 409,
  };

  it.each(Object.entries(statuses))("answers %s with %i, no-store", (code, status) => {
    const result = authErrorData({ code: code as AuthErrorCode }) as unknown as Data;
    expect(result.init?.status).toBe(status);
    expect(result.data).toEqual({ error: { code } });
    expect(headersOf(result).get("Cache-Control")).toBe("no-store");
    expect(headersOf(result).has("Retry-After")).toBe(false);
  });

  it("says when to try again for rate_limited only, in whole seconds rounded up", () => {
    const limited = authErrorData({ code: "rate_limited", retryAfter: 1.2 });
    expect(headersOf(limited).get("Retry-After")).toBe("2");
    const other = authErrorData({ code: "too_many_attempts", retryAfter: 30 });
    expect(headersOf(other).has("Retry-After")).toBe(false);
    const without = authErrorData({ code: "rate_limited" });
    expect(headersOf(without).has("Retry-After")).toBe(false);
  });

  it("puts the extra fields beside the error", () => {
    const result = authErrorData({ code: "invalid" }, { method: "passkey" }) as unknown as Data;
    expect(result.data).toEqual({ error: { code: "invalid" }, method: "passkey" });
  });
});

describe("one step of the email sign-in", () => {
  const check = () => postForm("/login/check", { code: "123456" });

  it("runs the email strategy, and answers an AuthError as data with its status", async () => {
    scriptAuthenticate(() =>
      Promise.reject(new AuthError("rate_limited", "slow", { retryAfter: 5 })),
    );
    const result = (await runSignInStep(check())) as unknown as Data;
    expect(calledWith).toEqual([STRATEGY]);
    expect(result.init?.status).toBe(429);
    expect(result.data).toEqual({ error: { code: "rate_limited", retryAfter: 5 } });
    expect(headersOf(result).get("Retry-After")).toBe("5");
  });

  it("marks a blank address as empty, and only that one", async () => {
    scriptAuthenticate(() => Promise.reject(new InvalidEmailError("empty")));
    const empty = (await runSignInStep(check())) as unknown as Data;
    expect(empty.data).toEqual({ error: { code: "invalid_input", empty: true } });
    scriptAuthenticate(() => Promise.reject(new InvalidEmailError("invalid")));
    const wrong = (await runSignInStep(check())) as unknown as Data;
    expect(wrong.data).toEqual({ error: { code: "invalid_input" } });
  });

  it("throws a Response on as it is, and anything that is not an AuthError too", async () => {
    const redirect = new Response(null, { status: 303, headers: { Location: "/login/check" } });
    scriptAuthenticate(() => Promise.reject(redirect));
    expect(await thrown(runSignInStep(check()))).toBe(redirect);
    const bug = new TypeError("a programming error");
    scriptAuthenticate(() => Promise.reject(bug));
    expect(await thrown(runSignInStep(check()))).toBe(bug);
  });

  it("makes a session for the verified user and goes to the pending sign-in's return path with a 303", async () => {
    const ada = await createTestUser({ email: "ada@example.com" });
    scriptAuthenticate(() => Promise.resolve({ id: ada.id, adapter: "test" }));
    const pending = app.services.pending.create({
      email: "ada@example.com",
      ref: "ref",
      adapter: "test",
      delivered: { link: true, code: true },
      returnTo: "/account?from=mail",
    } as Parameters<typeof app.services.pending.create>[0]);
    const pendingCookie = (await app.services.pending.commit(pending)).split(";")[0]!;
    const response = (await thrown(
      runSignInStep(
        postForm("/login/check", { code: "1" }, { headers: { Cookie: pendingCookie } }),
      ),
    )) as Response;
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/account?from=mail");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const cookies = response.headers.getSetCookie();
    // The new session, then the pending sign-in cleared; no other cookie was sent, none cleared.
    expect(cookies).toHaveLength(2);
    const session = cookies[0]!.split(";")[0]!;
    expect((await getSession(getRequest("/", { headers: { Cookie: session } })))?.user.id).toBe(
      ada.id,
    );
    expect(cookies[1]).toBe(await app.services.pending.clear());
  });

  it("takes the return path from the second-factor cookie when no pending sign-in is left, and clears it", async () => {
    const ada = await createTestUser({ email: "ada@example.com" });
    scriptAuthenticate(() => Promise.resolve({ id: ada.id, adapter: "test" }));
    const pending = app.services.pending.create({
      email: "ada@example.com",
      ref: "ref",
      adapter: "test",
      delivered: { link: true, code: true },
      returnTo: "/account/sessions",
    } as Parameters<typeof app.services.pending.create>[0]);
    const mfa = (
      await app.services.secondFactor.begin(pending, { kind: "challenge", state: "s" })
    ).split(";")[0]!;
    expect(mfa.startsWith(`${app.services.secondFactor.cookieName}=`)).toBe(true);
    const response = (await thrown(
      runSignInStep(postForm("/login/mfa", { code: "1" }, { headers: { Cookie: mfa } })),
    )) as Response;
    expect(response.headers.get("Location")).toBe("/account/sessions");
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(3);
    expect(cookies[2]).toBe(await app.services.secondFactor.clear());
  });

  it("goes to the default path without any signed state, and never to an unsafe one (S16)", async () => {
    const ada = await createTestUser({ email: "ada@example.com" });
    scriptAuthenticate(() => Promise.resolve({ id: ada.id, adapter: "test" }));
    const response = (await thrown(runSignInStep(check()))) as Response;
    expect(response.headers.get("Location")).toBe("/dashboard");
  });
});

describe("a passkey sign-in", () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);
  const request = (cookie?: string) =>
    postForm("/login", { intent: "passkey" }, cookie ? { headers: { Cookie: cookie } } : {});

  it("runs the passkey strategy on the form it is given", async () => {
    let body = "";
    calledWith = [];
    app.services.authenticator.authenticate = (async (strategy: string, req: Request) => {
      calledWith.push(strategy);
      body = await req.text();
      throw new AuthError("invalid", "no");
    }) as typeof app.services.authenticator.authenticate;
    await runPasskeySignIn(request(), form({ intent: "passkey", credential: "{}" }));
    expect(calledWith).toEqual([PASSKEY_STRATEGY]);
    expect(new URLSearchParams(body).get("credential")).toBe("{}");
  });

  it("answers its errors as data marked passkey, with what the page may say of them", async () => {
    scriptAuthenticate(() => Promise.reject(new PasskeyError("invalid", "unknown_credential")));
    const unknown = (await runPasskeySignIn(request(), form({}))) as unknown as Data;
    expect(unknown.init?.status).toBe(400);
    expect(unknown.data).toEqual({
      error: { code: "invalid", problem: "unknown_credential" },
      method: "passkey",
    });
    scriptAuthenticate(() =>
      Promise.reject(new AuthError("rate_limited", "slow", { retryAfter: 3 })),
    );
    const limited = (await runPasskeySignIn(request(), form({}))) as unknown as Data;
    expect(limited.data).toEqual({
      error: { code: "rate_limited", retryAfter: 3 },
      method: "passkey",
    });
    expect(headersOf(limited).get("Retry-After")).toBe("3");
  });

  it("throws a Response and a programming error on as they are", async () => {
    const response = new Response(null, { status: 413 });
    scriptAuthenticate(() => Promise.reject(response));
    expect(await thrown(runPasskeySignIn(request(), form({})))).toBe(response);
    const bug = new RangeError("bug");
    scriptAuthenticate(() => Promise.reject(bug));
    expect(await thrown(runPasskeySignIn(request(), form({})))).toBe(bug);
  });

  it("makes a session, goes to the form's return path if safe, and ends the ceremony cookie it was sent", async () => {
    const ada = await createTestUser({ email: "ada@example.com" });
    scriptAuthenticate(() => Promise.resolve({ id: ada.id, adapter: "passkey" }));
    const ceremony = `${app.services.passkeyCeremony.cookieName}=x`;
    const response = (await thrown(
      runPasskeySignIn(request(ceremony), form({ returnTo: "/account/passkeys" })),
    )) as Response;
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/account/passkeys");
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(3);
    expect(cookies[1]).toBe(await app.services.pending.clear());
    expect(cookies[2]).toBe(await app.services.passkeyCeremony.clear());

    const unsafe = (await thrown(
      runPasskeySignIn(request(), form({ returnTo: "//evil.example/" })),
    )) as Response;
    expect(unsafe.headers.get("Location")).toBe("/dashboard");
    expect(unsafe.headers.getSetCookie()).toHaveLength(2);
  });
});

describe("an SSO redirect as page data", () => {
  const redirect = (status: number, location?: string, cookies: string[] = []) => {
    const headers = new Headers();
    if (location !== undefined) headers.set("Location", location);
    for (const cookie of cookies) headers.append("Set-Cookie", cookie);
    return new Response(null, { status, headers });
  };

  it("hands a 303 to another origin to the page with its cookies, no-store", () => {
    const result = externalRedirectAsData(
      redirect(303, "https://idp.example/authorize?x=1", ["a=1; Path=/", "b=2; Path=/"]),
      TEST_ORIGIN,
    ) as unknown as Data;
    expect(result.data).toEqual({ redirectTo: "https://idp.example/authorize?x=1" });
    const headers = headersOf(result);
    expect(headers.get("Cache-Control")).toBe("no-store");
    expect(headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });

  it("leaves everything else as it is: same origin, a relative path, another status, no Location", () => {
    expect(externalRedirectAsData(redirect(303, `${TEST_ORIGIN}/login/check`), TEST_ORIGIN)).toBe(
      undefined,
    );
    expect(externalRedirectAsData(redirect(303, "/login/check"), TEST_ORIGIN)).toBeUndefined();
    expect(
      externalRedirectAsData(redirect(302, "https://idp.example/"), TEST_ORIGIN),
    ).toBeUndefined();
    expect(externalRedirectAsData(redirect(303), TEST_ORIGIN)).toBeUndefined();
    expect(externalRedirectAsData(redirect(303, ""), TEST_ORIGIN)).toBeUndefined();
  });
});
