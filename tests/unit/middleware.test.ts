import { RouterContextProvider } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { authMiddleware, nonceContext } from "../../app/auth/middleware.server";
import { setServices } from "../../app/services.server";
import {
  createTestApp,
  getRequest,
  postForm,
  sessionCookieFor,
  TEST_ORIGIN,
  type TestApp,
} from "../support/auth";

// The root middleware alone, around a handler the test writes: what it adds to or keeps
// from the answer is then visible on its own (the route tests see it only together with
// what each route does).
let app: TestApp;
afterEach(() => app.close());

async function run(request: Request, answer: () => Response = () => new Response("ok")) {
  const context = new RouterContextProvider();
  let handled = false;
  const response = (await authMiddleware({ request, context } as never, async () => {
    handled = true;
    return answer();
  })) as Response;
  return { response, context, handled };
}

const sessionSets = (response: Response, name: string) =>
  response.headers.getSetCookie().filter((cookie) => cookie.startsWith(`${name}=`));

describe("S25 the root middleware refuses cross-site writes", () => {
  it("answers 403 in plain text without running the route", async () => {
    app = createTestApp();
    const { response, handled } = await run(
      postForm("/logout", {}, { origin: "https://evil.example" }),
    );
    expect(handled).toBe(false);
    expect(response.status).toBe(403);
    expect(response.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("Cross-site request refused.");
  });

  it("in development, opened at another origin than APP_ORIGIN, says where to go", async () => {
    app = createTestApp();
    const request = new Request("http://127.0.0.1:5173/logout", {
      method: "POST",
      headers: { Origin: "http://127.0.0.1:5173" },
    });
    const text = await (await run(request)).response.text();
    expect(text).toBe(
      `Cross-site request refused. This page was opened at http://127.0.0.1:5173, but the app runs at ${TEST_ORIGIN} (APP_ORIGIN): open ${TEST_ORIGIN} instead.`,
    );
  });

  it("in production says no more than refused", async () => {
    app = createTestApp();
    setServices({ ...app.services, config: { ...app.config, production: true } });
    const request = new Request("http://127.0.0.1:5173/logout", {
      method: "POST",
      headers: { Origin: "http://127.0.0.1:5173" },
    });
    expect(await (await run(request)).response.text()).toBe("Cross-site request refused.");
  });
});

describe("the root middleware around a route", () => {
  it("gives every request its own CSP nonce of 16 random bytes", async () => {
    app = createTestApp();
    const first = (await run(getRequest("/"))).context.get(nonceContext);
    const second = (await run(getRequest("/"))).context.get(nonceContext);
    expect(Buffer.from(first, "base64")).toHaveLength(16);
    expect(first).not.toBe(second);
  });

  it("S23 leaves a cookieless answer without Set-Cookie cacheable", async () => {
    app = createTestApp();
    const { response } = await run(getRequest("/"));
    expect(response.headers.get("Cache-Control")).toBeNull();
  });

  it("S23 marks an answer no-store when the request carries the session cookie", async () => {
    app = createTestApp();
    const cookie = await sessionCookieFor();
    const { response } = await run(getRequest("/", { cookie }));
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    // Nothing rolled yet: the session was made at this very moment.
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("S23 marks an answer no-store when the route sets a cookie, even without one sent", async () => {
    app = createTestApp();
    const { response } = await run(
      getRequest("/", { cookie: "other=1" }),
      () => new Response("ok", { headers: { "Set-Cookie": "pending=x; Path=/" } }),
    );
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("S21 sends the rolled session cookie when the route sets none", async () => {
    app = createTestApp();
    const cookie = await sessionCookieFor();
    app.clock.advance(61_000);
    const { response } = await run(getRequest("/", { cookie }));
    const sets = sessionSets(response, app.services.sessions.cookieName);
    expect(sets).toHaveLength(1);
    expect(sets[0]).not.toContain(cookie);
  });

  it("S21 sends only the route's own session cookie when the route sets one", async () => {
    app = createTestApp();
    const cookie = await sessionCookieFor();
    app.clock.advance(61_000);
    const name = app.services.sessions.cookieName;
    const { response } = await run(getRequest("/", { cookie }), () => {
      const headers = new Headers();
      headers.append("Set-Cookie", "pending=; Max-Age=0; Path=/");
      headers.append("Set-Cookie", `${name}=new; Path=/`);
      return new Response("ok", { headers });
    });
    expect(sessionSets(response, name)).toEqual([`${name}=new; Path=/`]);
  });

  it("S21 still sends the rolled session cookie beside another cookie the route sets", async () => {
    app = createTestApp();
    const cookie = await sessionCookieFor();
    app.clock.advance(61_000);
    const { response } = await run(
      getRequest("/", { cookie }),
      () => new Response("ok", { headers: { "Set-Cookie": "pending=x; Path=/" } }),
    );
    expect(response.headers.getSetCookie()[0]).toBe("pending=x; Path=/");
    expect(sessionSets(response, app.services.sessions.cookieName)).toHaveLength(1);
  });
});
