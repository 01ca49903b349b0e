/**
 * SIGN_UP=closed through the real routes: POST /login answers every address the same way,
 * and a newcomer hears "no account" only after proving the inbox (the code from the email),
 * in the browser that asked; nobody is created. Existing users sign in as before.
 */
import { afterEach, describe, expect, it } from "vitest";
import { describeError, type ErrorView } from "../../app/auth/messages";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestUser,
  getRequest,
  postForm,
  type TestApp,
} from "../support/auth";
import * as dashboard from "../../app/routes/dashboard";

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(jar: CookieJar, email: string) {
  const result = await callRoute(
    login.action,
    postForm("/login", { email, returnTo: "/dashboard" }, { cookie: jar }),
  );
  jar.store(result);
  return result;
}

async function enterCode(jar: CookieJar, email: string) {
  const { code } = (app as TestApp).lastEmailTo(email);
  const result = await callRoute(
    check.action,
    postForm("/login/check", { code: code as string }, { cookie: jar }),
  );
  jar.store(result);
  return result;
}

/** What a response says about the address, with the random cookie values taken out. */
async function shape(result: Awaited<ReturnType<typeof start>>) {
  return {
    status: result.status,
    location: result.location,
    body: await result.response.clone().text(),
    cookies: result.headers.getSetCookie().map((c) => c.replace(/=[^;]*/, "=…")),
    headers: [...result.headers].filter(([name]) => name !== "set-cookie"),
  };
}

describe("SIGN_UP=closed", () => {
  it("POST /login answers a known and an unknown address the same way", async () => {
    app = createTestApp({ env: { SIGN_UP: "closed" } });
    await createTestUser({ email: "member@example.com" });
    const known = await start(new CookieJar(), "member@example.com");
    const unknown = await start(new CookieJar(), "stranger@example.com");
    expect(known.status).toBe(303);
    expect(await shape(unknown)).toEqual(await shape(known));
    // Both got an email: what it leads to is told only to whoever reads it.
    expect(app.lastEmailTo("stranger@example.com").code).toMatch(/^\d{6}$/);
  });

  it("a newcomer who proved the inbox is told plainly, gets no session, and no user is made", async () => {
    app = createTestApp({ env: { SIGN_UP: "closed" } });
    const jar = new CookieJar();
    await start(jar, "stranger@example.com");
    const refused = await enterCode(jar, "stranger@example.com");
    expect(refused.status).toBe(403);
    expect(jar.has("session")).toBe(false);
    const error = (refused.data as { error: ErrorView }).error;
    expect(error.code).toBe("sign_up_closed");
    expect(describeError(error).title).toBe("No account for this address");
    expect(await app.userStore.getByEmail("stranger@example.com")).toBeNull();
    expect(app.events.at(-1)).toMatchObject({ step: "user", outcome: "refused:sign_up_closed" });
  });

  it("an existing user signs in as before", async () => {
    app = createTestApp({ env: { SIGN_UP: "closed" } });
    const member = await createTestUser({ email: "member@example.com" });
    const jar = new CookieJar();
    await start(jar, "member@example.com");
    const done = await enterCode(jar, "member@example.com");
    expect(done.status).toBe(303);
    expect(done.location).toBe("/dashboard");
    const { session } = await app.services.sessions.read(getRequest("/", { cookie: jar }));
    expect(session?.user.id).toBe(member.id);
    // The local method is linked to the member on the way in (same verified address).
    expect((await app.userStore.identities(member.id)).map((i) => i.method).sort()).toEqual([
      "local",
      "test",
    ]);
  });
});

describe("SIGN_UP=open (the default)", () => {
  it("the first sign-in creates the user; the session carries its id; the dashboard shows it", async () => {
    app = createTestApp();
    expect(app.config.users).toEqual({ linkByEmail: true, signUp: "open" });
    const jar = new CookieJar();
    await start(jar, "new@example.com");
    expect((await enterCode(jar, "new@example.com")).status).toBe(303);
    const user = await app.userStore.getByEmail("new@example.com");
    expect(user?.id).toMatch(/^usr_/);
    const { session } = await app.services.sessions.read(getRequest("/", { cookie: jar }));
    expect(session?.user).toEqual({ id: user?.id, adapter: "local" });
    const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
    expect(page.data).toMatchObject({ email: "new@example.com", adapter: "local" });
  });

  it("a session whose user is gone counts as signed out", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    await start(jar, "gone@example.com");
    await enterCode(jar, "gone@example.com");
    const user = await app.userStore.getByEmail("gone@example.com");
    await app.userStore.delete(user?.id as string);
    const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
    expect(page.status).toBe(302);
    expect(page.location).toBe("/login?returnTo=%2Fdashboard");
  });
});
