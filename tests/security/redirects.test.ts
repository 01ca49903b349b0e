/**
 * D. Links and redirects (S15–S17).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as link from "../../app/routes/auth.link";
import * as login from "../../app/routes/login";
import {
  callRoute,
  CookieJar,
  createTestApp,
  getRequest,
  postForm,
  signedInRequest,
  TEST_ORIGIN,
  type TestApp,
} from "../support/auth";
import { createDocumentHandler } from "./document";
import { requestEmail, sessionCookies, submitCode } from "./helpers";

let app: TestApp;
let handle: (request: Request) => Promise<Response>;
beforeEach(async () => {
  app = createTestApp();
  handle = await createDocumentHandler();
});
afterEach(() => app.close());

/** A Location a browser would resolve to this origin, with nothing a browser might rewrite. */
function expectLocalPath(location: string | null): void {
  expect(location).not.toBeNull();
  const value = location as string;
  expect(value.startsWith("/")).toBe(true);
  expect(value.startsWith("//")).toBe(false);
  expect(value).not.toMatch(/[\\\u0000-\u001f\u007f]/);
  const base = "http://local.invalid";
  expect(new URL(value, base).origin).toBe(base);
}

describe("S15 links are built from APP_ORIGIN, never from Host or X-Forwarded-Host", () => {
  it("Host: evil.test and X-Forwarded-Host: evil.test: the emailed link still starts with APP_ORIGIN", async () => {
    // @react-router/express builds request.url from Host: the URL itself names evil.test too.
    const request = new Request("http://evil.test/login", {
      method: "POST",
      headers: {
        Host: "evil.test",
        "X-Forwarded-Host": "evil.test",
        "X-Forwarded-Proto": "https",
        Origin: TEST_ORIGIN,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ email: "hosted@example.com" }),
    });
    const result = await callRoute(login.action, request);
    expect(result.status).toBe(303);
    expect(result.location).toBe("/login/check");
    const email = app.lastEmailTo("hosted@example.com");
    expect(email.link?.startsWith(`${TEST_ORIGIN}/auth/link?token=`)).toBe(true);
    expect(email.text).not.toContain("evil.test");
    expect(email.html).not.toContain("evil.test");
  });

  it("the same through the whole request handler", async () => {
    const response = await handle(
      new Request("http://evil.test/login", {
        method: "POST",
        headers: {
          Host: "evil.test",
          "X-Forwarded-Host": "evil.test",
          Origin: TEST_ORIGIN,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ email: "hosted@example.com" }),
      }),
    );
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/login/check");
    expect(app.lastEmailTo("hosted@example.com").link?.startsWith(`${TEST_ORIGIN}/`)).toBe(true);
  });
});

describe("S16 return paths are local", () => {
  const hostile = [
    "//evil.test",
    "///evil.test",
    "/\\evil.test",
    "\\/evil.test",
    "\\\\evil.test",
    "https://evil.test/",
    "http:evil.test",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.test",
    "/%2F/evil.test",
    "/%2f%2fevil.test",
    "%2F%2Fevil.test",
    "/%5Cevil.test",
    "/%5cevil.test",
    "/\t/evil.test",
    "/\n/evil.test",
    "/%09/evil.test",
    "/%0d%0a/evil.test",
    "/\u0000/evil.test",
    "／／evil.test",
    " //evil.test",
    "/.//evil.test",
    "/a/..//evil.test",
    "/%2e%2e//evil.test",
    "/auth/link?token=stolen",
    "/login?returnTo=//evil.test",
    `/${"a".repeat(5000)}`,
  ];

  it.each(hostile)(
    "POST /login with returnTo %j: the Location after sign-in is a local path",
    async (returnTo) => {
      const jar = new CookieJar();
      const email = await requestEmail(app, jar, "back@example.com", { returnTo });
      const result = await submitCode(jar, email.code as string);
      expect(result.status).toBe(303);
      expectLocalPath(result.location);
      expect(result.location).not.toContain("evil.test");
    },
  );

  it("the sign-in page's loader hands the form only a local path, and a signed-in visit redirects only locally", async () => {
    for (const returnTo of hostile) {
      const page = await callRoute(
        login.loader,
        getRequest(`/login?returnTo=${encodeURIComponent(returnTo)}`),
      );
      expectLocalPath((page.data as { returnTo: string }).returnTo);
      const signedIn = await callRoute(
        login.loader,
        await signedInRequest(`/login?returnTo=${encodeURIComponent(returnTo)}`),
      );
      expect(signedIn.status).toBe(302);
      expectLocalPath(signedIn.location);
    }
  });

  it("a good return path survives; one added to the confirming request is ignored (it is carried in the sealed pending cookie)", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "back@example.com", {
      returnTo: "/dashboard?tab=2",
    });
    const result = await callRoute(
      link.action,
      postForm(
        "/auth/link?returnTo=%2F%2Fevil.test",
        { token: email.token as string, returnTo: "https://evil.test/" },
        { cookie: jar },
      ),
    );
    expect(result.status).toBe(303);
    expect(result.location).toBe("/dashboard?tab=2");
  });
});

describe("S17 landing-page hygiene", () => {
  it("the link page answers with Referrer-Policy: same-origin and Cache-Control: no-store, and loads nothing from elsewhere", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "land@example.com");
    for (const cookie of ["", jar.header()]) {
      const response = await handle(
        new Request(email.link as string, { headers: cookie ? { Cookie: cookie } : {} }),
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("Referrer-Policy")).toBe("same-origin");
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      const html = await response.text();
      // Every src and href is on this origin (relative); the form posts to a URL without the token.
      for (const [, url] of html.matchAll(/\s(?:src|href|action)="([^"]*)"/g)) {
        expect(url === undefined || url.startsWith("/") || url.startsWith("#")).toBe(true);
        expect(url?.startsWith("//")).toBe(false);
      }
      expect(html).toMatch(/action="\/auth\/link"/);
    }
  });

  it("the provider callback page sends the same headers", async () => {
    const response = await handle(new Request(`${TEST_ORIGIN}/auth/callback?code=abc&state=def`));
    expect(response.headers.get("Referrer-Policy")).toBe("same-origin");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("the redeeming POST answers 303 to a URL without the token", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "land@example.com");
    const response = await handle(
      new Request(`${TEST_ORIGIN}/auth/link`, {
        method: "POST",
        headers: {
          Cookie: jar.header(),
          Origin: TEST_ORIGIN,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ token: email.token as string }),
      }),
    );
    expect(response.status).toBe(303);
    const location = response.headers.get("Location") as string;
    expectLocalPath(location);
    expect(location).not.toContain(email.token as string);
    expect(location).not.toMatch(/token=/);
    expect(sessionCookies(response)).toHaveLength(1);
  });
});
