/**
 * Checks of the sign-in steps that only one layer makes, each tested on its own through the
 * real routes: the strategy's address and browser bindings, the reset of the failure count,
 * "send it again", and the cookies a sign-in answers with (Max-Age included: the kit's jar
 * drops cookies when a browser would).
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError } from "../../adapters/errors";
import type { AuthAdapter, Identity } from "../../adapters/types";
import { createSignInLimits, type SignInLimitsOptions } from "../../app/auth/limits.server";
import * as callback from "../../app/routes/auth.callback";
import { MemoryStore } from "../../app/store/memory.server";
import * as dashboard from "../../app/routes/dashboard";
import * as check from "../../app/routes/login.check";
import {
  callRoute,
  CookieJar,
  createTestAdapter,
  createTestApp,
  createTestClock,
  getRequest,
  postForm,
  type RouteResult,
  type TestApp,
} from "../support/auth";
import { requestEmail, sessionCookies, startSignIn, submitCode } from "../security/helpers";

let app: TestApp;
afterEach(() => app.close());

function withLimits(options: Omit<SignInLimitsOptions, "store"> = {}): TestApp {
  const clock = createTestClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  return createTestApp({ clock, store, limits: createSignInLimits({ store, ...options }) });
}

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

async function signIn(jar: CookieJar, email: string): Promise<RouteResult> {
  const message = await requestEmail(app, jar, email);
  const result = await submitCode(jar, message.code as string);
  expect(result.location).toBe("/dashboard");
  jar.store(result);
  return result;
}

async function whoIsSignedIn(jar: CookieJar): Promise<string | null> {
  const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
  jar.store(page);
  return page.status === 200 ? (page.data as { email: string }).email : null;
}

const maxAge = (line: string | undefined) => Number(/Max-Age=(\d+)/i.exec(line ?? "")?.[1]);

describe("the strategy binds the proof to the address this browser asked for", () => {
  /** The test provider, answering every verify for `answer(email)` instead. */
  function answeringFor(answer: (email: string) => string) {
    const inner = createTestAdapter();
    const adapter: AuthAdapter = {
      ...inner,
      async verify(proof, context): Promise<Identity> {
        const identity = await inner.verify(proof, context);
        return { ...identity, email: answer(identity.email) };
      },
    };
    return { inner, adapter };
  }

  it("a provider that answers for another address than the one asked for signs nobody in", async () => {
    const { inner, adapter } = answeringFor(() => "someone-else@example.com");
    app = createTestApp({ adapter });
    const jar = new CookieJar();
    await startSignIn(jar, "person@example.com");
    const result = await submitCode(jar, inner.lastDeliveryTo("person@example.com").code);
    expect(result.status).toBe(400);
    expect(result.data).toMatchObject({ error: { code: "invalid" } });
    expect(sessionCookies(result)).toEqual([]);
    expect(app.events.at(-1)).toMatchObject({ step: "code", outcome: "email_mismatch" });
  });

  it("an answer that differs only in letter case is the same address", async () => {
    const { inner, adapter } = answeringFor((email) => email.toUpperCase());
    app = createTestApp({ adapter });
    const jar = new CookieJar();
    await startSignIn(jar, "person@example.com");
    const result = await submitCode(jar, inner.lastDeliveryTo("person@example.com").code);
    expect(result.location).toBe("/dashboard");
    expect(sessionCookies(result)).toHaveLength(1);
  });
});

/**
 * A provider in the WorkOS manner: it redirects back to /auth/callback with `code` and our
 * `state`, and the code alone is its proof (it knows nothing of our pending cookie).
 */
function callbackProvider() {
  const issued = new Map<string, { email: string; state: string }>();
  const adapter: AuthAdapter = {
    name: "callback-provider",
    delivers: { link: true, code: false },
    async start(email, context) {
      const code = randomBytes(8).toString("hex");
      issued.set(code, { email, state: context.state });
      return { delivered: { link: true, code: false }, ref: code, adapter: "callback-provider" };
    },
    async verify(proof) {
      const found = proof.kind === "callback" ? issued.get(proof.code) : undefined;
      if (!found) throw new AuthError("invalid", "Unknown code");
      issued.delete(proof.kind === "callback" ? proof.code : "");
      return { id: `cb_${found.email}`, email: found.email, adapter: "callback-provider" };
    },
  };
  const last = () => {
    const [code, entry] = [...issued].at(-1) ?? [];
    if (!code || !entry) throw new Error("nothing issued");
    return { code, state: entry.state };
  };
  return { adapter, last };
}

describe("S8 a provider callback signs in only the browser that started that sign-in", () => {
  const continueIn = (jar: CookieJar, proof: { code: string; state: string }) =>
    callRoute(callback.action, postForm("/auth/callback", proof, { cookie: jar }));

  it("Continue in another browser that has its own pending sign-in (same address) is refused", async () => {
    const provider = callbackProvider();
    app = createTestApp({ adapter: provider.adapter });
    const first = new CookieJar();
    await startSignIn(first, "person@example.com");
    const proof = provider.last();
    // The other browser started a sign-in of its own, for the same address.
    const other = new CookieJar();
    await startSignIn(other, "person@example.com");
    const refused = await continueIn(other, proof);
    expect(refused.status).toBe(403);
    expect(refused.data).toMatchObject({ error: { code: "not_same_browser" } });
    expect(sessionCookies(refused)).toEqual([]);
    // Nothing was exchanged: the browser that started still signs in with it.
    const signedIn = await continueIn(first, proof);
    expect(signedIn.location).toBe("/dashboard");
    expect(sessionCookies(signedIn)).toHaveLength(1);
  });

  it("Continue without any pending sign-in, or with a state we did not sign, is refused", async () => {
    const provider = callbackProvider();
    app = createTestApp({ adapter: provider.adapter });
    await startSignIn(new CookieJar(), "person@example.com");
    const proof = provider.last();
    expect((await continueIn(new CookieJar(), proof)).status).toBe(403);
    const jar = new CookieJar();
    await startSignIn(jar, "person@example.com");
    const forged = await continueIn(jar, { code: provider.last().code, state: "f".repeat(32) });
    expect(forged.data).toMatchObject({ error: { code: "invalid" } });
    const noCode = await continueIn(jar, { code: "", state: provider.last().state });
    expect(noCode.data).toMatchObject({ error: { code: "invalid" } });
  });
});

describe("S10 a successful sign-in resets the consecutive-failure count", () => {
  it("failures before a success do not count toward a lockout afterwards", async () => {
    app = withLimits({ lockoutFailures: 3, emailSpacingSeconds: 0 });
    const jar = new CookieJar();
    const first = await requestEmail(app, jar, "drift@example.com");
    await submitCode(jar, wrong(first.code as string));
    await submitCode(jar, wrong(first.code as string));
    expect((await submitCode(jar, first.code as string)).location).toBe("/dashboard");
    // Two more failures later: without the reset this would be the fourth and fifth.
    const second = await requestEmail(app, jar, "drift@example.com");
    await submitCode(jar, wrong(second.code as string));
    await submitCode(jar, wrong(second.code as string));
    expect((await submitCode(jar, second.code as string)).location).toBe("/dashboard");
  });

  it("while three failures in a row lock the address", async () => {
    app = withLimits({ lockoutFailures: 3, emailSpacingSeconds: 0 });
    const jar = new CookieJar();
    const message = await requestEmail(app, jar, "drift@example.com");
    for (let i = 0; i < 3; i++) await submitCode(jar, wrong(message.code as string));
    const locked = await submitCode(jar, message.code as string);
    expect(locked.data).toMatchObject({ error: { code: "too_many_attempts" } });
  });
});

describe("S11 'Send it again'", () => {
  const resend = (jar: CookieJar) =>
    callRoute(check.action, postForm("/login/check", { intent: "resend" }, { cookie: jar }));

  it("when allowed, sends a new email whose code signs in; the older code is dead (S4)", async () => {
    // No spacing here stands for "a minute later".
    app = withLimits({ emailSpacingSeconds: 0 });
    const jar = new CookieJar();
    const first = await requestEmail(app, jar, "again@example.com");
    const again = await resend(jar);
    expect([again.status, again.location]).toEqual([303, "/login/check"]);
    jar.store(again);
    expect(app.outbox.list().filter((m) => m.to === "again@example.com")).toHaveLength(2);
    const second = app.lastEmailTo("again@example.com");
    expect(second.code).not.toBe(first.code);
    expect((await submitCode(jar, first.code as string)).location).toBeNull();
    expect((await submitCode(jar, second.code as string)).location).toBe("/dashboard");
  });

  it("throttled, it sends nothing and the last code stays usable in this tab, until it would have expired", async () => {
    // The limits keep the app's clock: a spacing longer than the 100 s that pass here.
    app = withLimits({ emailSpacingSeconds: 600 });
    const jar = new CookieJar();
    const first = await requestEmail(app, jar, "again@example.com");
    const sentAt = jar.expiresAt("pending");
    app.clock.advance(100_000);
    const again = await resend(jar);
    expect([again.status, again.location]).toEqual([303, "/login/check"]);
    jar.store(again);
    expect(app.outbox.list().filter((m) => m.to === "again@example.com")).toHaveLength(1);
    // The pending cookie is the same sign-in, with the same end: 500 seconds left.
    expect(maxAge(again.headers.getSetCookie().find((l) => l.startsWith("pending=")))).toBe(500);
    expect(jar.expiresAt("pending")).toBe(sentAt);
    expect((await submitCode(jar, first.code as string)).location).toBe("/dashboard");
  });

  it("without a pending sign-in there is nothing to send again", async () => {
    app = withLimits();
    const result = await resend(new CookieJar());
    expect(result.data).toMatchObject({ error: { code: "expired" } });
    expect(app.outbox.list()).toHaveLength(0);
  });
});

describe("the cookies a sign-in answers with", () => {
  it("a sign-in over a session that also rolls sends only the new session cookie", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await signIn(jar, "first@example.com");
    const message = await requestEmail(app, jar, "second@example.com");
    // Past the roll interval: reading the old session in this request rolls its cookie.
    app.clock.advance(61_000);
    const result = await submitCode(jar, message.code as string);
    expect(result.location).toBe("/dashboard");
    expect(sessionCookies(result)).toHaveLength(1);
    jar.store(result);
    expect(await whoIsSignedIn(jar)).toBe("second@example.com");
  });

  it("session Max-Age is the lifetime left, so the browser drops the cookie when the server would refuse it", async () => {
    app = createTestApp();
    const lifetime = app.config.sessionMaxAgeSeconds;
    const idle = app.config.sessionIdleTimeoutSeconds;
    const jar = new CookieJar();
    const signedIn = await signIn(jar, "person@example.com");
    expect(maxAge(sessionCookies(signedIn)[0])).toBe(lifetime);
    // Active just inside the idle timeout, again and again, until the lifetime runs out.
    let elapsed = 0;
    while (elapsed + idle - 1 < lifetime) {
      app.clock.advance((idle - 1) * 1000);
      elapsed += idle - 1;
      const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
      expect(page.status).toBe(200);
      expect(maxAge(sessionCookies(page)[0])).toBe(lifetime - elapsed);
      jar.store(page);
    }
    app.clock.advance((lifetime - elapsed) * 1000 - 1);
    expect(jar.has("session")).toBe(true);
    app.clock.advance(1);
    expect(jar.has("session")).toBe(false);
    expect(await whoIsSignedIn(jar)).toBeNull();
  });

  it("the pending cookie lives ten minutes: then the check page sends the browser back to sign-in", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    const started = await startSignIn(jar, "person@example.com");
    expect(maxAge(started.headers.getSetCookie().find((l) => l.startsWith("pending=")))).toBe(600);
    app.clock.advance(599_000);
    const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
    expect(page.status).toBe(200);
    app.clock.advance(1_000);
    expect(jar.has("pending")).toBe(false);
  });

  it("an expired pending cookie replayed by hand is refused by the server", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    const message = await requestEmail(app, jar, "person@example.com");
    const copied = `pending=${jar.get("pending")}`;
    app.clock.advance(600_000);
    const page = await callRoute(check.loader, getRequest("/login/check", { cookie: copied }));
    expect(page.location).toBe("/login");
    const late = await callRoute(
      check.action,
      postForm("/login/check", { code: message.code as string }, { cookie: copied }),
    );
    expect(late.data).toMatchObject({ error: { code: "expired" } });
    expect(sessionCookies(late)).toEqual([]);
  });
});

describe("the strategy's other steps", () => {
  it("a code pasted with spaces or dashes is the same code", async () => {
    app = createTestApp();
    for (const [address, write] of [
      ["spaces@example.com", (c: string) => ` ${c.slice(0, 3)} ${c.slice(3)} `],
      ["dashes@example.com", (c: string) => `${c.slice(0, 3)}-${c.slice(3)}`],
    ] as const) {
      const jar = new CookieJar();
      const message = await requestEmail(app, jar, address);
      expect((await submitCode(jar, write(message.code as string))).location).toBe("/dashboard");
    }
  });

  it("a code that is not six digits is refused before the adapter or the limits see it", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await requestEmail(app, jar, "person@example.com");
    for (const code of ["12345", "1234567", "12a456", ""]) {
      const result = await submitCode(jar, code);
      expect(result.data, code).toMatchObject({ error: { code: "invalid_input" } });
    }
    expect(app.events.at(-1)).toMatchObject({ step: "code", outcome: "invalid_input" });
  });

  it("'email me a code instead' with an adapter that sends no separate codes is a clear refusal", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await requestEmail(app, jar, "person@example.com");
    const result = await callRoute(
      check.action,
      postForm("/login/check", { intent: "code-instead" }, { cookie: jar }),
    );
    expect(result.data).toMatchObject({ error: { code: "invalid_input" } });
    expect(app.outbox.list()).toHaveLength(1);
  });

  it("S13 after a throttled start, the check page says what an accepted one says", async () => {
    const adapter = createTestAdapter({ delivers: { link: true, code: false } });
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const limits = createSignInLimits({ store, emailPerHour: 1, emailSpacingSeconds: 0 });
    app = createTestApp({ adapter, clock, store, limits });
    const pageAfterStart = async () => {
      const jar = new CookieJar();
      await startSignIn(jar, "person@example.com");
      return (await callRoute(check.loader, getRequest("/login/check", { cookie: jar }))).data;
    };
    const accepted = await pageAfterStart();
    const throttled = await pageAfterStart();
    expect(adapter.deliveries).toHaveLength(1);
    expect(throttled).toEqual(accepted);
    expect(accepted).toMatchObject({ delivered: { link: true, code: false }, canSendCode: true });
  });
});
