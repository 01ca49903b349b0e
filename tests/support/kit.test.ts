import { data, redirect } from "react-router";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getServices } from "../../app/services.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
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
  it("signedInRequest carries a session the real session code accepts, for the given user", async () => {
    const request = await signedInRequest("/anything", {
      user: { id: "u9", email: "kit@example.com" },
    });
    const { session } = await getServices().sessions.read(request);
    expect(session?.user).toMatchObject({ id: "u9", email: "kit@example.com" });
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
