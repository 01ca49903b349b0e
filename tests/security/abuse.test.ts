/**
 * C. Abuse limits and enumeration (S10–S14), through the route actions with the real limits
 * (on the app's store, here the memory store) where a test needs them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createSignInLimits, type SignInLimitsOptions } from "../../app/auth/limits.server";
import { describeError, type ErrorView } from "../../app/auth/messages";
import { MemoryStore } from "../../app/store/memory.server";
import * as login from "../../app/routes/login";
import {
  callRoute,
  CookieJar,
  createTestApp,
  postForm,
  TEST_ORIGIN,
  type RouteResult,
  type TestApp,
} from "../support/auth";
import { createTestClock } from "../support/clock";
import { createDocumentHandler } from "./document";
import { bodyText, requestEmail, sessionCookies, startSignIn, submitCode } from "./helpers";

let app: TestApp;
afterEach(() => app.close());

function withLimits(
  options: Omit<SignInLimitsOptions, "store"> = {},
  env: Record<string, string> = {},
): TestApp {
  const clock = createTestClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  return createTestApp({ env, clock, store, limits: createSignInLimits({ store, ...options }) });
}

/** A wrong six-digit code, different from `code`. */
const wrong = (code: string, n = 0) => String((Number(code) + 1 + n) % 1_000_000).padStart(6, "0");

/** What a person (or an attacker) can observe of a response, minus the sealed cookie value. */
async function observable(result: RouteResult) {
  return {
    status: result.status,
    location: result.location,
    body: await bodyText(result),
    cookies: result.headers
      .getSetCookie()
      .map((line) => line.replace(/=[^;]*/, "=<sealed>").replace(/Max-Age=\d+/i, "Max-Age=<n>")),
    cacheControl: result.headers.get("Cache-Control"),
  };
}

describe("S10 guess limits on the server", () => {
  it("the right code on the 6th try is rejected, and stays dead", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "guess@example.com");
    const code = email.code as string;
    for (let i = 0; i < 5; i++) {
      const result = await submitCode(jar, wrong(code, i));
      expect(result.status).toBeGreaterThanOrEqual(400);
    }
    const sixth = await submitCode(jar, code);
    expect(sixth.status).toBe(429);
    expect(sixth.data).toEqual({ error: { code: "too_many_attempts" } });
    expect(sessionCookies(sixth)).toEqual([]);
    // The link of the same email died with it (one record, S3).
    expect((await submitCode(jar, code)).status).toBeGreaterThanOrEqual(400);
  });

  it("clearing cookies does not reset the count: the counter lives with the record in the store", async () => {
    // Limits on: a fresh browser asking again for the same address within a minute sends
    // nothing new, so it is left guessing the very code whose tries are already spent.
    app = withLimits();
    const first = new CookieJar();
    const saved = first.clone();
    const email = await requestEmail(app, first, "guess@example.com");
    const code = email.code as string;
    const pendingBefore = first.clone();
    for (let i = 0; i < 3; i++) expect((await submitCode(first, wrong(code, i))).status).toBe(400);

    // Clear every cookie and start again: a new pending cookie for the same address, no new mail.
    expect(saved.header()).toBe("");
    const fresh = new CookieJar();
    await startSignIn(fresh, "guess@example.com");
    expect(app.outbox.list()).toHaveLength(1);
    // The fresh browser cannot even try: the code was requested in another browser (S8).
    expect((await submitCode(fresh, code)).status).toBe(403);

    // Or restore the pending cookie saved before the guesses: the count goes on regardless.
    expect((await submitCode(pendingBefore, wrong(code, 3))).status).toBe(400);
    expect((await submitCode(pendingBefore, wrong(code, 4))).status).toBe(429);
    const right = await submitCode(pendingBefore, code);
    expect(right.status).toBe(429);
    expect(sessionCookies(right)).toEqual([]);
    expect(sessionCookies(await submitCode(fresh, code))).toEqual([]);
  });

  it("starting over in a clean browser issues a new code and kills the old one, so the old count cannot be dodged", async () => {
    app = createTestApp();
    const first = new CookieJar();
    const old = await requestEmail(app, first, "guess@example.com");
    for (let i = 0; i < 4; i++) await submitCode(first, wrong(old.code as string, i));
    const clean = new CookieJar();
    const renewed = await requestEmail(app, clean, "guess@example.com");
    if (renewed.code !== old.code)
      expect(sessionCookies(await submitCode(clean, old.code as string))).toEqual([]);
    expect((await submitCode(clean, renewed.code as string)).status).toBe(303);
  });

  it("per email: after N consecutive failures the address is locked, whatever the browser, even for the right code", async () => {
    app = withLimits({ lockoutFailures: 3, emailSpacingSeconds: 0, emailPerHour: 50 });
    for (let i = 0; i < 3; i++) {
      // Each guess from a fresh browser with a fresh sign-in: nothing in a cookie to clear.
      const jar = new CookieJar();
      const email = await requestEmail(app, jar, "locked@example.com");
      expect((await submitCode(jar, wrong(email.code as string))).status).toBe(400);
    }
    // The address is locked: asking again answers as always, but sends nothing (S13).
    const sent = app.outbox.list().length;
    const jar = new CookieJar();
    await startSignIn(jar, "locked@example.com");
    expect(app.outbox.list()).toHaveLength(sent);
    // Even the right code of the last email that did go out is refused now.
    const last = app.lastEmailTo("locked@example.com");
    const right = await submitCode(jar, last.code as string);
    expect(right.status).toBe(429);
    expect(right.data).toMatchObject({ error: { code: "too_many_attempts" } });
    expect(sessionCookies(right)).toEqual([]);
    // Another address is not affected.
    const other = new CookieJar();
    const otherEmail = await requestEmail(app, other, "free@example.com");
    expect((await submitCode(other, otherEmail.code as string)).status).toBe(303);
  });
});

describe("S11 S13 send throttling without enumeration", () => {
  it("six requests in a row for one address send one email, and every answer looks the same", async () => {
    app = withLimits();
    const answers = [];
    for (let i = 0; i < 6; i++) {
      answers.push(await observable(await startSignIn(new CookieJar(), "flood@example.com")));
    }
    expect(app.outbox.list().filter((m) => m.to === "flood@example.com")).toHaveLength(1);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it("six requests spaced out still send at most five emails an hour", async () => {
    app = withLimits({ emailSpacingSeconds: 0 });
    for (let i = 0; i < 6; i++) await startSignIn(new CookieJar(), "hourly@example.com");
    expect(app.outbox.list()).toHaveLength(5);
  });

  it("known, unknown, throttled and locked addresses get the same status, Location, body and cookies", async () => {
    app = withLimits({ lockoutFailures: 1 });
    // Known: has signed in before.
    const knownJar = new CookieJar();
    const known = await requestEmail(app, knownJar, "known@example.com");
    expect((await submitCode(knownJar, known.code as string)).status).toBe(303);
    // Locked: one failure with lockoutFailures 1.
    const lockedJar = new CookieJar();
    const locked = await requestEmail(app, lockedJar, "locked@example.com");
    await submitCode(lockedJar, wrong(locked.code as string));
    // Throttled: asked a moment ago.
    await startSignIn(new CookieJar(), "throttled@example.com");
    const sentBefore = app.outbox.list().length;

    const ask = async (email: string) =>
      observable(
        await callRoute(login.action, postForm("/login", { email, returnTo: "/dashboard" })),
      );
    const unknown = await ask("never-seen@example.com");
    const sentForUnknown = app.outbox.list().length - sentBefore;
    expect(sentForUnknown).toBe(1);
    expect(unknown.status).toBe(303);
    expect(unknown.location).toBe("/login/check");
    expect(await ask("throttled@example.com")).toEqual(unknown);
    // known and locked were asked for within the spacing too; both answer exactly alike.
    // Known signed in since, which cleared its spacing (S32), so it gets a fresh email; the
    // locked address gets none.
    expect(await ask("known@example.com")).toEqual(unknown);
    expect(await ask("locked@example.com")).toEqual(unknown);
    await app.services.mailQueue.close();
    expect(
      app.outbox
        .list()
        .map((m) => m.to)
        .slice(0, 2)
        .sort(),
    ).toEqual(["known@example.com", "never-seen@example.com"]);
    expect(app.outbox.list().length - sentBefore).toBe(2);
  });
});

describe("S12 the client IP: X-Forwarded-For only for TRUST_PROXY hops", () => {
  it("rotating X-Forwarded-For behind one trusted proxy does not escape the IP's send budget", async () => {
    app = withLimits({ ipPerHour: 3, emailSpacingSeconds: 0 }, { TRUST_PROXY: "1" });
    const answers = [];
    for (let i = 0; i < 8; i++) {
      // The client writes whatever it likes on the left; the proxy appends the real peer.
      const headers = { "X-Forwarded-For": `10.${i}.${i}.${i}, 198.51.100.${i}, 203.0.113.7` };
      answers.push(
        await observable(await startSignIn(new CookieJar(), `person${i}@example.com`, {}, headers)),
      );
    }
    expect(app.outbox.list()).toHaveLength(3);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    // Another real client (another address appended by the proxy) has its own budget.
    await startSignIn(
      new CookieJar(),
      "elsewhere@example.com",
      {},
      { "X-Forwarded-For": "203.0.113.8" },
    );
    expect(app.outbox.list()).toHaveLength(4);
  });

  it("with TRUST_PROXY=0 the header is ignored: it cannot be used to frame another client's IP either", async () => {
    app = withLimits({ ipPerHour: 1, emailSpacingSeconds: 0 });
    for (let i = 0; i < 3; i++) {
      await startSignIn(
        new CookieJar(),
        `free${i}@example.com`,
        {},
        { "X-Forwarded-For": "203.0.113.7" },
      );
    }
    // No socket address reaches a loader under react-router-serve: no IP budget, per-email limits only.
    expect(app.outbox.list()).toHaveLength(3);
    expect(
      app.services.requestInfo(
        new Request(TEST_ORIGIN, { headers: { "X-Forwarded-For": "203.0.113.7" } }),
      ).ip,
    ).toBeUndefined();
  });
});

describe("S14 one address, validated after normalising, through POST /login", () => {
  const payloads: Array<[string, string]> = [
    ["a@example.com,evil@attacker.test", "comma list"],
    ["a@example.com;evil@attacker.test", "semicolon list"],
    ['"evil@attacker.test"@example.com', "quoted local part"],
    ["a@b@example.com", "several @"],
    ["victim＠example.com＠attacker.test", "full-width @ that normalises into two"],
    ["a b@example.com", "whitespace inside"],
    ["a@example.com\r\nBcc: evil@attacker.test", "header injection"],
    ["a\u0000@example.com", "control character"],
    ["a@example.com\u200b", "zero-width character"],
    [`${"a".repeat(60)}@${"b".repeat(190)}.com`, "over 254 characters"],
    ["Victim <victim@example.com>", "display name"],
  ];

  it.each(payloads)("refuses %j (%s) with a clear message and sends nothing", async (payload) => {
    app = createTestApp();
    const result = await callRoute(login.action, postForm("/login", { email: payload }));
    expect(result.status).toBe(400);
    const error = (result.data as { error: ErrorView }).error;
    expect(error.code).toBe("invalid_input");
    expect(describeError(error).message).toMatch(/one email address/i);
    expect(sessionCookies(result)).toEqual([]);
    expect(result.headers.getSetCookie()).toEqual([]);
    expect(app.outbox.list()).toHaveLength(0);
  });

  /** POST /login as a browser without JavaScript does: the whole page comes back. */
  async function postLoginPage(email: string): Promise<Response> {
    app = createTestApp();
    const handle = await createDocumentHandler();
    return handle(
      new Request(`${TEST_ORIGIN}/login`, {
        method: "POST",
        headers: { Origin: TEST_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ email }),
      }),
    );
  }

  it("the rendered sign-in page says what is wrong", async () => {
    const response = await postLoginPage("a@example.com,evil@attacker.test");
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Enter one email address");
    expect(app.outbox.list()).toHaveLength(0);
  });

  it("the rendered sign-in page (no JavaScript) asks for an address when the field was empty", async () => {
    const response = await postLoginPage("");
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain("Enter your email address</p>");
    expect(html).not.toContain("Check what you typed");
    expect(app.outbox.list()).toHaveLength(0);
  });
});
