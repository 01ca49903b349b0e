/**
 * The whole sign-in with `AUTH_ADAPTER=blockid`, through the real route loaders and actions,
 * the strategy, the pending cookie and the session, with the adapter built by the registry
 * from the `BLOCKID_*` variables and talking to the BlockID emulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as check from "../../app/routes/login.check";
import * as dashboard from "../../app/routes/dashboard";
import * as link from "../../app/routes/auth.link";
import * as login from "../../app/routes/login";
import {
  callRoute,
  CookieJar,
  createTestApp,
  getRequest,
  postForm,
  TEST_ORIGIN,
  type TestApp,
} from "../support/auth";
import { startBlockIdEmulator, type BlockIdEmulator } from "../emulators/blockid/server";

let emulator: BlockIdEmulator;
let app: TestApp | undefined;

beforeAll(async () => {
  emulator = await startBlockIdEmulator();
});
afterAll(() => emulator.close());
afterEach(async () => {
  emulator.clearFaults();
  await app?.close();
  app = undefined;
});

function setUp(): TestApp {
  app = createTestApp({
    env: {
      AUTH_ADAPTER: "blockid",
      BLOCKID_DNS: emulator.dns,
      BLOCKID_COMMUNITY: emulator.community,
      BLOCKID_LICENSE_KEY: emulator.licenseKey,
      BLOCKID_BASE_URL: emulator.url,
    },
  });
  expect(app.config.adapter).toBe("blockid");
  return app;
}

const isoNow = (test: TestApp) => new Date(test.clock()).toISOString();

const redeems = () => emulator.requests.filter((r) => r.route === "redeem").length;

/** POST /login in `jar`'s browser; the token of the link BlockID emailed. */
async function startSignIn(jar: CookieJar, email: string, returnTo = "/dashboard") {
  const started = await callRoute(
    login.action,
    postForm("/login", { email, returnTo }, { cookie: jar }),
  );
  expect(started.status).toBe(303);
  expect(started.location).toBe("/login/check");
  jar.store(started);
  const sent = emulator.lastEmailTo(email);
  if (!sent) throw new Error(`no email to ${email}`);
  // The link opens the app's landing page, never a BlockID page.
  expect(sent.link.startsWith(`${TEST_ORIGIN}/auth/link?token=`)).toBe(true);
  return { link: sent.link, token: new URL(sent.link).searchParams.get("token") as string };
}

function confirm(token: string, jar: CookieJar) {
  return callRoute(link.action, postForm("/auth/link", { token }, { cookie: jar }));
}

describe("sign-in with AUTH_ADAPTER=blockid", () => {
  it("emails a link to the app's page; its GET redeems nothing; its POST signs in", async () => {
    const test = setUp();
    const jar = new CookieJar();
    const { link: emailed, token } = await startSignIn(jar, "ada@example.com", "/dashboard?x=1");
    const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
    // A link only: no code form, and no "code instead" (BlockID sends no codes).
    expect(page.data).toMatchObject({ delivered: { link: true, code: false }, canSendCode: false });
    // BlockID sends it: the page says BlockID took it when asked, at once, and claims no
    // time of sending it cannot know (S32).
    expect(page.data).toMatchObject({
      delivery: { state: "sent", by: "provider", settled: true, sentAt: isoNow(test) },
    });

    // Scanners fetch the link: nothing is looked up or redeemed (S7).
    for (let i = 0; i < 3; i += 1) {
      const landing = await callRoute(link.loader, getRequest(emailed));
      expect(landing.data).toEqual({ token });
      expect(landing.headers.getSetCookie()).toEqual([]);
    }
    expect(
      emulator.requests.filter((r) => r.route === "fetch" || r.route === "redeem"),
    ).toHaveLength(0);

    const done = await confirm(token, jar);
    expect(done.status).toBe(303);
    expect(done.location).toBe("/dashboard?x=1");
    jar.store(done);
    const me = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
    expect(me.data).toMatchObject({ email: "ada@example.com", adapter: "blockid" });
    // The log records each step, never the code or the address (S28).
    expect(test.events.map((e) => e.step)).toEqual(["start", "link", "user"]);
    expect(JSON.stringify(test.events)).not.toContain(token);
    expect(JSON.stringify(test.events)).not.toContain("ada@example.com");
  });

  it("refuses the link in another browser and keeps it usable where the sign-in started (S8)", async () => {
    setUp();
    const jar = new CookieJar();
    const { token } = await startSignIn(jar, "ada@example.com");
    const before = redeems();

    const elsewhere = await confirm(token, new CookieJar());
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.data).toEqual({ error: { code: "not_same_browser" } });
    expect(redeems()).toBe(before);

    const done = await confirm(token, jar.clone());
    expect(done.status).toBe(303);
    const again = await confirm(token, jar);
    expect(again.status).toBe(400);
    expect(again.data).toEqual({ error: { code: "used" } });
  });

  it("answers an expired link and an unavailable BlockID with pages, not 500s", async () => {
    setUp();
    const first = new CookieJar();
    const { token: late } = await startSignIn(first, "ada@example.com");
    emulator.advance(601_000);
    const expired = await confirm(late, first);
    expect(expired.status).toBe(400);
    expect(expired.data).toEqual({ error: { code: "expired" } });

    const second = new CookieJar();
    const { token } = await startSignIn(second, "bob@example.com");
    emulator.fault("all", "error");
    const down = await confirm(token, second);
    expect(down.status).toBe(503);
    expect(down.data).toEqual({ error: { code: "unavailable" } });

    const start = await callRoute(login.action, postForm("/login", { email: "cy@example.com" }));
    expect(start.status).toBe(503);
    expect(start.data).toEqual({ error: { code: "unavailable" } });
  });
});
