import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as sessionsPage from "../../app/routes/account.sessions";
import type { SessionRow } from "../../app/routes/account.sessions";
import * as dashboard from "../../app/routes/dashboard";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import * as logout from "../../app/routes/logout";
import { approximateNetwork } from "../../app/auth/session.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  expectRedirectToLogin,
  getRequest,
  postForm,
  type TestApp,
} from "../support/auth";

const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

let app: TestApp;
beforeEach(() => {
  // One trusted proxy hop: the client IP comes from X-Forwarded-For, as behind a load balancer.
  app = createTestApp({ env: { TRUST_PROXY: "1" } });
});
afterEach(() => app.close());

/** A browser: its cookies, user agent and address. */
interface Browser {
  jar: CookieJar;
  headers: Record<string, string>;
}

function browser(userAgent: string, ip: string): Browser {
  return { jar: new CookieJar(), headers: { "User-Agent": userAgent, "X-Forwarded-For": ip } };
}

/** The whole sign-in by code, in this browser. */
async function signIn(b: Browser, email: string): Promise<void> {
  const started = await callRoute(
    login.action,
    postForm("/login", { email, returnTo: "/dashboard" }, { cookie: b.jar, headers: b.headers }),
  );
  expect(started.status).toBe(303);
  b.jar.store(started);
  const { code } = app.lastEmailTo(email);
  const done = await callRoute(
    check.action,
    postForm("/login/check", { code: code as string }, { cookie: b.jar, headers: b.headers }),
  );
  expect(done.status).toBe(303);
  b.jar.store(done);
  expect(b.jar.has("session")).toBe(true);
}

async function listSessions(b: Browser): Promise<SessionRow[]> {
  const page = await callRoute(
    sessionsPage.loader,
    getRequest("/account/sessions", { cookie: b.jar, headers: b.headers }),
  );
  expect(page.status).toBe(200);
  expect(page.headers.get("Cache-Control")).toBe("no-store");
  b.jar.store(page);
  return (page.data as { sessions: SessionRow[] }).sessions;
}

async function revoke(b: Browser, handle: string) {
  const result = await callRoute(
    sessionsPage.action,
    postForm(
      "/account/sessions",
      { intent: "revoke", sessionId: handle },
      { cookie: b.jar, headers: b.headers },
    ),
  );
  b.jar.store(result);
  return result;
}

/** Whether the dashboard lets this browser (or a copied cookie jar) in; keeps a rolled cookie. */
async function isSignedIn(who: Browser | CookieJar): Promise<boolean> {
  const jar = who instanceof CookieJar ? who : who.jar;
  const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
  jar.store(page);
  if (page.status === 200) return true;
  expectRedirectToLogin(page, "/dashboard");
  return false;
}

describe("/account/sessions", () => {
  it("is for signed-in people only", async () => {
    const result = await callRoute(sessionsPage.loader, getRequest("/account/sessions"));
    expectRedirectToLogin(result, "/account/sessions");
    const post = await callRoute(
      sessionsPage.action,
      postForm("/account/sessions", { intent: "revoke", sessionId: "x" }),
    );
    expectRedirectToLogin(post, "/account/sessions");
  });

  it("lists both sessions of one person, with browser, approximate network and times, the current one marked", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    const desktop = browser(CHROME_WINDOWS, "2001:db8:1234:5678::1");
    await signIn(laptop, "ada@example.com");
    const laptopSignedInAt = new Date(app.clock()).toISOString();
    app.clock.advance(5 * 60_000);
    await signIn(desktop, "ada@example.com");

    const seenFromLaptop = await listSessions(laptop);
    expect(seenFromLaptop).toHaveLength(2);
    expect(seenFromLaptop[0]).toMatchObject({
      current: true,
      browser: "Firefox on Linux",
      network: "203.0.113.0/24",
      createdAt: laptopSignedInAt,
    });
    expect(seenFromLaptop[1]).toMatchObject({
      current: false,
      browser: "Chrome on Windows",
      network: "2001:db8:1234::/48",
    });
    // The full address is kept nowhere the page can reach: only the network.
    expect(JSON.stringify(seenFromLaptop)).not.toContain("203.0.113.77");

    const seenFromDesktop = await listSessions(desktop);
    expect(seenFromDesktop.map((s) => [s.browser, s.current])).toEqual([
      ["Chrome on Windows", true],
      ["Firefox on Linux", false],
    ]);
    // The same session has the same handle whoever looks.
    expect(seenFromDesktop[1]?.handle).toBe(seenFromLaptop[0]?.handle);
  });

  it("shows neither the session id nor anything that works as a cookie", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    await signIn(laptop, "ada@example.com");
    const current = await app.services.sessions.read(getRequest("/", { cookie: laptop.jar }));
    const rows = await listSessions(laptop);
    expect(rows[0]?.handle).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(rows)).not.toContain(current.session?.id as string);
  });

  it("moves last seen when the session rolls (at most once a minute)", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    const phone = browser(SAFARI_IPHONE, "198.51.100.9");
    await signIn(laptop, "ada@example.com");
    await signIn(phone, "ada@example.com");
    const before = (await listSessions(laptop)).find((s) => !s.current);
    expect(before?.browser).toBe("Safari on iOS");

    app.clock.advance(30_000);
    expect(await isSignedIn(phone)).toBe(true);
    expect((await listSessions(laptop)).find((s) => !s.current)?.lastSeenAt).toBe(
      before?.lastSeenAt,
    );

    app.clock.advance(60_000);
    const usedAt = new Date(app.clock()).toISOString();
    expect(await isSignedIn(phone)).toBe(true);
    const after = (await listSessions(laptop)).find((s) => !s.current);
    expect(after?.lastSeenAt).toBe(usedAt);
    expect(after?.createdAt).toBe(before?.createdAt);
  });

  it("revoking the other session kills its cookie and unlists it; this browser stays signed in", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    const desktop = browser(CHROME_WINDOWS, "198.51.100.9");
    await signIn(laptop, "ada@example.com");
    await signIn(desktop, "ada@example.com");
    const stolenCopy = desktop.jar.clone();
    const other = (await listSessions(laptop)).find((s) => !s.current) as SessionRow;

    const result = await revoke(laptop, other.handle);
    expect(result.status).toBe(303);
    expect(result.location).toBe("/account/sessions");
    expect(app.events.at(-1)).toMatchObject({ step: "revoke", outcome: "success" });

    expect(await isSignedIn(desktop)).toBe(false);
    expect(await isSignedIn(stolenCopy)).toBe(false);
    expect(await isSignedIn(laptop)).toBe(true);
    expect((await listSessions(laptop)).map((s) => s.current)).toEqual([true]);

    // A second revoke of the same handle finds nothing.
    expect((await revoke(laptop, other.handle)).status).toBe(404);
  });

  it("another person's session cannot be revoked, even with its handle", async () => {
    const ada = browser(FIREFOX_LINUX, "203.0.113.77");
    const bob = browser(CHROME_WINDOWS, "198.51.100.9");
    await signIn(ada, "ada@example.com");
    await signIn(bob, "bob@example.com");
    const bobsHandle = (await listSessions(bob))[0]?.handle as string;
    expect((await listSessions(ada)).map((s) => s.handle)).not.toContain(bobsHandle);

    const result = await revoke(ada, bobsHandle);
    expect(result.status).toBe(404);
    expect(await isSignedIn(bob)).toBe(true);
    expect(await isSignedIn(ada)).toBe(true);
    expect((await revoke(ada, "not-a-handle")).status).toBe(404);
  });

  it("revoking the current session signs this browser out", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    await signIn(laptop, "ada@example.com");
    const copy = laptop.jar.clone();
    const mine = (await listSessions(laptop))[0] as SessionRow;
    const result = await revoke(laptop, mine.handle);
    expect(result.status).toBe(303);
    expect(result.location).toBe("/");
    expect(laptop.jar.has("session")).toBe(false);
    expect(await isSignedIn(copy)).toBe(false);
  });

  it("refuses a cross-site revoke (S25)", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    const desktop = browser(CHROME_WINDOWS, "198.51.100.9");
    await signIn(laptop, "ada@example.com");
    await signIn(desktop, "ada@example.com");
    const other = (await listSessions(laptop)).find((s) => !s.current) as SessionRow;
    const request = postForm(
      "/account/sessions",
      { intent: "revoke", sessionId: other.handle },
      { cookie: laptop.jar, origin: "https://evil.example" },
    );
    expect((await callRoute(sessionsPage.action, request)).status).toBe(403);
    expect(await isSignedIn(desktop)).toBe(true);
  });

  it("sign out everywhere (the page's form posts to /logout scope=all) ends and unlists every session", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    const desktop = browser(CHROME_WINDOWS, "198.51.100.9");
    await signIn(laptop, "ada@example.com");
    await signIn(desktop, "ada@example.com");
    const out = await callRoute(
      logout.action,
      postForm("/logout", { scope: "all" }, { cookie: laptop.jar }),
    );
    expect(out.status).toBe(303);
    expect(await isSignedIn(laptop)).toBe(false);
    expect(await isSignedIn(desktop)).toBe(false);

    app.clock.advance(1000);
    const phone = browser(SAFARI_IPHONE, "192.0.2.1");
    await signIn(phone, "ada@example.com");
    expect((await listSessions(phone)).map((s) => s.browser)).toEqual(["Safari on iOS"]);
  });

  it("drops a session from the list once it has expired (idle timeout)", async () => {
    const laptop = browser(FIREFOX_LINUX, "203.0.113.77");
    const desktop = browser(CHROME_WINDOWS, "198.51.100.9");
    await signIn(laptop, "ada@example.com");
    await signIn(desktop, "ada@example.com");
    // Keep the laptop active while the desktop idles past the timeout (1 day by default).
    for (let hour = 0; hour < 25; hour += 6) {
      app.clock.advance(6 * 3_600_000);
      expect(await isSignedIn(laptop)).toBe(true);
    }
    expect(await isSignedIn(desktop)).toBe(false);
    expect((await listSessions(laptop)).map((s) => s.browser)).toEqual(["Firefox on Linux"]);
  });

  it("keeps at most 50 sessions per person: the 51st sign-in ends the least recently active", async () => {
    const { sessions } = app.services;
    const user = { id: "user_many", email: "many@example.com", adapter: "local" };
    const cookies: string[] = [];
    for (let i = 0; i < 51; i++) {
      cookies.push(
        (await sessions.create(user, { userAgent: FIREFOX_LINUX })).setCookie.split(
          ";",
        )[0] as string,
      );
      app.clock.advance(1000);
    }
    const read = (cookie: string) => sessions.read(getRequest("/", { cookie }));
    expect((await read(cookies[0] as string)).session).toBeNull();
    expect((await read(cookies[1] as string)).session).not.toBeNull();
    expect((await read(cookies[50] as string)).session).not.toBeNull();
    expect(await sessions.list(user.id)).toHaveLength(50);
  });
});

describe("approximateNetwork", () => {
  it("keeps the /24 of IPv4 and the /48 of IPv6", () => {
    expect(approximateNetwork("203.0.113.77")).toBe("203.0.113.0/24");
    expect(approximateNetwork("2001:db8:1234:5678::1")).toBe("2001:db8:1234::/48");
    expect(approximateNetwork("2001:db8::1")).toBe("2001:db8:0::/48");
    expect(approximateNetwork("::1")).toBe("0:0:0::/48");
    expect(approximateNetwork("fe80:0000:0001:0002:0003:0004:0005:0006")).toBe("fe80:0:1::/48");
    expect(approximateNetwork(undefined)).toBeUndefined();
    expect(approximateNetwork("not an ip")).toBeUndefined();
  });
});
