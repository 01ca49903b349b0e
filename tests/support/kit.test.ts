import { data, redirect } from "react-router";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getUser } from "../../app/auth/flow.server";
import { getServices } from "../../app/services.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
  createTestUser,
  expectRedirectToLogin,
  getRequest,
  postForm,
  signedInRequest,
  TEST_ORIGIN,
  type TestApp,
} from "./auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(() => app.close());

describe("the testing kit", () => {
  it("signedInRequest carries a session the real session code accepts, for a real user record", async () => {
    const kit = await createTestUser({ email: "kit@example.com", firstName: "Kit" });
    const request = await signedInRequest("/anything", { user: kit });
    const { session } = await getServices().sessions.read(request);
    expect(session?.user.id).toBe(kit.id);
    expect(await getUser(request)).toMatchObject({ email: "kit@example.com", firstName: "Kit" });
  });

  it("signedInRequest with an address signs in that address's user, creating it once", async () => {
    const first = await getUser(
      await signedInRequest("/a", { user: { email: "new@example.com" } }),
    );
    const again = await getUser(
      await signedInRequest("/b", { user: { email: "new@example.com" } }),
    );
    expect(first?.id).toMatch(/^usr_/);
    expect(again?.id).toBe(first?.id);
    expect(await app.userStore.identities(first?.id as string)).toEqual([
      expect.objectContaining({ method: "test", subject: "new@example.com" }),
    ]);
  });

  it("signedInRequest refuses a user record the store does not hold", async () => {
    await expect(
      signedInRequest("/a", { user: { id: "usr_gone", email: "gone@example.com" } as never }),
    ).rejects.toThrow(/no user usr_gone/);
  });

  it("the test clock expires kit sessions like real ones", async () => {
    const request = await signedInRequest("/anything");
    app.clock.advance(app.config.sessionIdleTimeoutSeconds * 1000 + 1);
    const copy = new Request(request.url, { headers: request.headers });
    expect((await getServices().sessions.read(copy)).session).toBeNull();
  });

  it("callRoute normalises returned data, thrown redirects and data() with a status", async () => {
    expect((await callRoute(() => ({ a: 1 }), getRequest("/"))).data).toEqual({ a: 1 });
    const thrown = await callRoute(() => {
      throw redirect("/elsewhere", 303);
    }, getRequest("/"));
    expect([thrown.status, thrown.location]).toEqual([303, "/elsewhere"]);
    const failed = await callRoute(() => data({ no: true }, { status: 418 }), getRequest("/"));
    expect([failed.status, failed.data]).toEqual([418, { no: true }]);
  });

  it("callRoute runs the root middleware: a cross-site POST never reaches the handler", async () => {
    let reached = false;
    const result = await callRoute(
      () => {
        reached = true;
        return null;
      },
      postForm("/login", {}, { origin: "https://evil.test" }),
    );
    expect(result.status).toBe(403);
    expect(reached).toBe(false);
  });

  it("postForm sends the test origin; CookieJar keeps and drops cookies as a browser does", () => {
    expect(postForm("/x", { a: "b" }).headers.get("Origin")).toBe(TEST_ORIGIN);
    const jar = new CookieJar();
    const headers = new Headers();
    headers.append("Set-Cookie", "a=1; Path=/");
    headers.append("Set-Cookie", "b=2; Path=/");
    jar.store(headers);
    expect(jar.header()).toBe("a=1; b=2");
    const clear = new Headers({ "Set-Cookie": "a=; Max-Age=0; Path=/" });
    jar.store(clear);
    expect(jar.header()).toBe("b=2");
  });

  it("CookieJar honours Max-Age and Expires on the jar's clock, Max-Age winning, like a browser", () => {
    const clock = createTestClock(Date.parse("2030-01-01T00:00:00Z"));
    const jar = new CookieJar({ clock });
    const headers = new Headers();
    headers.append("Set-Cookie", "short=1; Max-Age=60; Path=/");
    headers.append("Set-Cookie", "dated=2; Expires=Tue, 01 Jan 2030 00:02:00 GMT; Path=/");
    // Max-Age wins over Expires (RFC 6265 §5.3): this one lives 10 minutes, not a year.
    headers.append("Set-Cookie", "both=3; Max-Age=600; Expires=Wed, 01 Jan 2031 00:00:00 GMT");
    headers.append("Set-Cookie", "plain=4; Path=/");
    jar.store(headers);
    expect(jar.expiresAt("short")).toBe(clock() + 60_000);
    expect(jar.header()).toBe("short=1; dated=2; both=3; plain=4");
    clock.advance(60_000);
    expect(jar.has("short")).toBe(false);
    expect(jar.header()).toBe("dated=2; both=3; plain=4");
    clock.advance(60_000);
    expect(jar.get("dated")).toBeUndefined();
    clock.advance(480_000 - 1);
    expect(jar.get("both")).toBe("3");
    clock.advance(1);
    expect(jar.header()).toBe("plain=4");
    // An Expires in the past or a negative Max-Age deletes, as servers clear cookies.
    jar.store(new Headers({ "Set-Cookie": "plain=; Expires=Thu, 01 Jan 1970 00:00:00 GMT" }));
    jar.store(new Headers({ "Set-Cookie": "gone=1; Max-Age=-5" }));
    expect(jar.header()).toBe("");
  });

  it("CookieJar ages cookies by the installed test app's clock", () => {
    const jar = new CookieJar();
    jar.store(new Headers({ "Set-Cookie": "a=1; Max-Age=30" }));
    app.clock.advance(29_999);
    expect(jar.header()).toBe("a=1");
    app.clock.advance(1);
    expect(jar.header()).toBe("");
  });

  it("expectRedirectToLogin fails for any other answer", async () => {
    const ok = await callRoute(() => ({}), getRequest("/"));
    expect(() => expectRedirectToLogin(ok, "/")).toThrow();
  });

  it("createTestClock moves only when told", () => {
    const clock = createTestClock(1000);
    expect(clock()).toBe(1000);
    clock.advance(500);
    expect(clock()).toBe(1500);
  });
});
