/**
 * E. The session cookie (S18–S24), through real sign-ins, the routes and the whole request
 * handler. tests/unit/session.test.ts proves the same rules on the session manager alone.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as dashboard from "../../app/routes/dashboard";
import * as login from "../../app/routes/login";
import * as check from "../../app/routes/login.check";
import * as home from "../../app/routes/home";
import * as logout from "../../app/routes/logout";
import { MemoryStore } from "../../app/store/memory.server";
import { MemoryUserStore } from "../../app/store/users/memory.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
  getRequest,
  postForm,
  TEST_ORIGIN,
  type RouteResult,
  type TestApp,
} from "../support/auth";
import { createDocumentHandler } from "./document";
import { requestEmail, sessionCookies, submitCode } from "./helpers";

let app: TestApp;
afterEach(() => app.close());

/** Sign `email` in through POST /login and the emailed code; the jar keeps the session. */
async function signIn(jar: CookieJar, email = "person@example.com"): Promise<RouteResult> {
  const message = await requestEmail(app, jar, email);
  const result = await submitCode(jar, message.code as string);
  expect(result.status).toBe(303);
  jar.store(result);
  return result;
}

const sessionId = async (jar: CookieJar) =>
  (await app.services.sessions.read(getRequest("/", { cookie: jar }))).session?.id;

const isSignedIn = async (jar: CookieJar) =>
  (await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }))).status === 200;

describe("S18 cookie attributes", () => {
  it("over https: __Host-session; HttpOnly; Secure; SameSite=Lax; Path=/; no Domain (and the pending cookie alike)", async () => {
    const origin = "https://app.example.test";
    app = createTestApp({ env: { APP_ORIGIN: origin } });
    const jar = new CookieJar();
    const started = await callRoute(
      login.action,
      postForm("/login", { email: "secure@example.com" }, { origin }),
    );
    expect(started.status).toBe(303);
    jar.store(started);
    const code = app.lastEmailTo("secure@example.com").code as string;
    const result = await callRoute(
      check.action,
      postForm("/login/check", { code }, { cookie: jar, origin }),
    );
    expect(result.status).toBe(303);
    const [session] = sessionCookies(result);
    const pending = started.headers
      .getSetCookie()
      .find((line) => line.startsWith("__Host-pending="));
    for (const line of [session, pending]) {
      expect(line).toBeDefined();
      expect(line).toMatch(/^__Host-/);
      expect(line).toMatch(/; HttpOnly/i);
      expect(line).toMatch(/; Secure/i);
      expect(line).toMatch(/; SameSite=Lax/i);
      expect(line).toMatch(/; Path=\/(;|$)/i);
      expect(line).not.toMatch(/; Domain=/i);
    }
  });

  it("over plain http (development): HttpOnly, SameSite=Lax, Path=/, no Secure and no prefix", async () => {
    app = createTestApp();
    const result = await signIn(new CookieJar());
    const [line] = sessionCookies(result);
    expect(line).toMatch(/^session=/);
    expect(line).toMatch(/; HttpOnly/i);
    expect(line).toMatch(/; SameSite=Lax/i);
    expect(line).not.toMatch(/; Secure/i);
    expect(line).not.toMatch(/; Domain=/i);
  });
});

describe("S19 nothing personal readable in the cookie", () => {
  it("base64-decoding the real session cookie shows no address, and it stays far under 4 KB", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await signIn(jar, "private.person@example.com");
    const value = jar.get("session") as string;
    // The value is one AES-GCM seal (iv ‖ ciphertext ‖ tag) in base64url and nothing else.
    // (Its bytes are random-looking, so they are not searched for a lone "@": they could hold one.)
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    const payload = Buffer.from(value, "base64url").toString("utf8");
    expect(payload).not.toContain("private.person");
    expect(payload).not.toContain("example.com");
    expect(value).not.toContain("private.person");
    expect((jar.get("session") as string).length).toBeLessThan(1024);
  });
});

describe("S20 a fresh session at every sign-in", () => {
  it("each sign-in gets a new 128-bit id; signing in over an existing session keeps nothing of it", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await signIn(jar, "first@example.com");
    const firstId = await sessionId(jar);
    expect(firstId).toMatch(/^[0-9a-f]{32}$/);
    const firstCookie = jar.get("session");

    // Still signed in as first@, the same browser signs in as second@.
    await signIn(jar, "second@example.com");
    const secondId = await sessionId(jar);
    expect(secondId).toMatch(/^[0-9a-f]{32}$/);
    expect(secondId).not.toBe(firstId);
    expect(jar.get("session")).not.toBe(firstCookie);
    const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
    expect(page.data).toMatchObject({ email: "second@example.com" });

    // The same person signing in again also gets a new id.
    await signIn(jar, "second@example.com");
    expect(await sessionId(jar)).not.toBe(secondId);
  });
});

describe("S21 expiry enforced on the server", () => {
  it("a copied cookie replayed after the idle timeout, or after the absolute lifetime, is refused", async () => {
    app = createTestApp({ env: { SESSION_IDLE_TIMEOUT: "3600", SESSION_MAX_AGE: "10800" } });
    const jar = new CookieJar();
    await signIn(jar);
    const copy = jar.clone();
    // Kept active every 50 minutes, the live browser outlives its idle timeout...
    for (let i = 0; i < 3; i++) {
      app.clock.advance(50 * 60_000);
      const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
      expect(page.status).toBe(200);
      jar.store(page);
    }
    // ...while the copy, idle for 2.5 hours, is refused whatever its Max-Age said.
    expect(await isSignedIn(copy)).toBe(false);
    // And past the absolute lifetime, even the active one is refused.
    app.clock.advance(31 * 60_000);
    expect(await isSignedIn(jar)).toBe(false);
  });
});

describe("S22 logout revokes", () => {
  it("POST /logout: Clear-Site-Data, and the cookie replayed by hand is refused", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await signIn(jar);
    const copy = jar.clone();
    const out = await callRoute(logout.action, postForm("/logout", {}, { cookie: jar }));
    expect(out.status).toBe(303);
    expect(out.headers.get("Clear-Site-Data")).toBe('"cookies"');
    expect(await isSignedIn(copy)).toBe(false);
  });

  it("GET /logout changes nothing: the session lives on", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await signIn(jar);
    const page = await callRoute(logout.loader, getRequest("/logout", { cookie: jar }));
    expect(page.status).toBe(200);
    expect(sessionCookies(page)).toEqual([]);
    expect(await isSignedIn(jar)).toBe(true);
  });

  it("sign out everywhere in jar A kills jar B, but not another person's session", async () => {
    app = createTestApp();
    const a = new CookieJar();
    const b = new CookieJar();
    const someoneElse = new CookieJar();
    await signIn(a, "many@example.com");
    app.clock.advance(1_000);
    await signIn(b, "many@example.com");
    await signIn(someoneElse, "other@example.com");
    app.clock.advance(1_000);
    const out = await callRoute(
      logout.action,
      postForm("/logout", { scope: "all" }, { cookie: a }),
    );
    expect(out.status).toBe(303);
    expect(out.headers.get("Clear-Site-Data")).toBe('"cookies"');
    expect(await isSignedIn(b)).toBe(false);
    expect(await isSignedIn(a)).toBe(false);
    expect(await isSignedIn(someoneElse)).toBe(true);
    // A new sign-in afterwards works again.
    app.clock.advance(1_000);
    const c = new CookieJar();
    await signIn(c, "many@example.com");
    expect(await isSignedIn(c)).toBe(true);
  });
});

describe("S23 Cache-Control: no-store on every response that reads or sets the session", () => {
  it("pages, redirects, actions and data requests of a signed-in browser, and the sign-in steps, are never cacheable", async () => {
    app = createTestApp();
    const handle = await createDocumentHandler();
    const jar = new CookieJar();
    await signIn(jar);
    const cookie = { Cookie: jar.header() };
    const post = (
      path: string,
      body: Record<string, string>,
      headers: Record<string, string> = cookie,
    ) =>
      new Request(`${TEST_ORIGIN}${path}`, {
        method: "POST",
        headers: {
          ...headers,
          Origin: TEST_ORIGIN,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams(body),
      });
    const requests: Array<[string, Request]> = [
      ["GET / signed in", new Request(`${TEST_ORIGIN}/`, { headers: cookie })],
      ["GET /dashboard", new Request(`${TEST_ORIGIN}/dashboard`, { headers: cookie })],
      ["GET /dashboard.data", new Request(`${TEST_ORIGIN}/dashboard.data`, { headers: cookie })],
      [
        "GET /login signed in (redirect)",
        new Request(`${TEST_ORIGIN}/login?returnTo=%2Fdashboard`, { headers: cookie }),
      ],
      ["GET /logout", new Request(`${TEST_ORIGIN}/logout`, { headers: cookie })],
      ["GET /nowhere signed in (404)", new Request(`${TEST_ORIGIN}/nowhere`, { headers: cookie })],
      ["GET /dashboard signed out (redirect)", new Request(`${TEST_ORIGIN}/dashboard`)],
      ["POST /login (sets the pending cookie)", post("/login", { email: "cache@example.com" }, {})],
      ["POST /login/check wrong code", post("/login/check", { code: "000000" })],
      [
        "GET /dashboard with a forged cookie",
        new Request(`${TEST_ORIGIN}/dashboard`, { headers: { Cookie: "session=forged" } }),
      ],
      ["POST /logout", post("/logout", {})],
    ];
    for (const [name, request] of requests) {
      const response = await handle(request);
      const touchesSession =
        request.headers.has("Cookie") || response.headers.getSetCookie().length > 0;
      if (!touchesSession) continue;
      expect(response.status, name).toBeLessThan(500);
      expect(response.headers.get("Cache-Control"), name).toBe("no-store");
    }
    // The home page's loader reads the session too: no-store through callRoute as well.
    const page = await callRoute(home.loader, getRequest("/", { cookie: jar }));
    expect(page.headers.get("Cache-Control")).toBe("no-store");
  });
});

describe("S24 secret rotation", () => {
  it("a cookie signed with the old secret still works after rotation; one signed with an unknown secret does not", async () => {
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const userStore = new MemoryUserStore({ clock });
    const oldSecret = "old-secret-0123456789abcdef0123456789abcdef";
    const newSecret = "new-secret-0123456789abcdef0123456789abcdef";
    app = createTestApp({ env: { SESSION_SECRETS: oldSecret }, clock, store, userStore });
    const jar = new CookieJar();
    await signIn(jar);
    // Deploy: the new secret signs, the old one still verifies. Same store and clock, so the
    // old app must not close the store on the way out.
    app.services.close = async () => {};
    app = createTestApp({
      env: { SESSION_SECRETS: `${newSecret},${oldSecret}` },
      clock,
      store,
      userStore,
    });
    expect(await isSignedIn(jar)).toBe(true);
    // A fresh sign-in is signed with the new secret, and works once the old one is dropped.
    const fresh = new CookieJar();
    await signIn(fresh, "fresh@example.com");
    app.services.close = async () => {};
    app = createTestApp({ env: { SESSION_SECRETS: newSecret }, clock, store, userStore });
    expect(await isSignedIn(fresh)).toBe(true);
    expect(await isSignedIn(jar)).toBe(false);
  });
});
