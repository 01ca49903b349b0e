/**
 * B. The emailed link and mail scanners (S7–S9). The scanner tests go through the whole
 * request handler (createDocumentHandler), as a scanner's GET or HEAD would.
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
  TEST_ORIGIN,
  type TestApp,
} from "../support/auth";
import { createDocumentHandler } from "./document";
import { dumpStore, requestEmail, sessionCookies, submitCode } from "./helpers";

let app: TestApp;
let handle: (request: Request) => Promise<Response>;
beforeEach(async () => {
  app = createTestApp();
  handle = await createDocumentHandler();
});
afterEach(() => app.close());

/** A scanner's request: no cookies, a scanner's user agent. */
function scannerRequest(url: string, method: "GET" | "HEAD"): Request {
  return new Request(url, {
    method,
    headers: { "User-Agent": "Mozilla/5.0 (compatible; SafeLinks-Scanner/1.0)" },
  });
}

describe("S7 GET and HEAD of an emailed link change nothing", () => {
  it("three cookieless GETs and three HEADs of the link, then the person's Continue still signs in", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "scanned@example.com");
    const before = JSON.stringify(dumpStore(app));

    for (const method of ["GET", "HEAD", "GET", "HEAD", "GET", "HEAD"] as const) {
      const response = await handle(scannerRequest(email.link as string, method));
      expect(response.status).toBe(200);
      expect(sessionCookies(response)).toEqual([]);
      expect(response.headers.getSetCookie()).toEqual([]);
      const html = await response.text();
      if (method === "GET") {
        // A page with a button; the only way on is the form's POST, and no script submits it.
        expect(html).toMatch(/<form[^>]*action="\/auth\/link"[^>]*method="post"/);
        expect(html).not.toMatch(/\.submit\(|requestSubmit/);
      } else {
        expect(html).toBe("");
      }
    }
    // Nothing in the store moved: no record consumed, no counter started.
    expect(JSON.stringify(dumpStore(app))).toBe(before);

    const click = await handle(
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
    expect(click.status).toBe(303);
    expect(click.headers.get("Location")).toBe("/dashboard");
    expect(sessionCookies(click)).toHaveLength(1);
  });

  it("the link page's loader, called as the GET it is, in the asking browser, sets nothing either", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "scanned@example.com");
    const before = JSON.stringify(dumpStore(app));
    for (let i = 0; i < 3; i++) {
      const result = await callRoute(
        link.loader,
        getRequest(email.link as string, { cookie: jar }),
      );
      expect(result.status).toBe(200);
      expect(result.headers.getSetCookie()).toEqual([]);
    }
    expect(JSON.stringify(dumpStore(app))).toBe(before);
    const code = await submitCode(jar, email.code as string);
    expect(code.status).toBe(303);
  });
});

describe("S8 same-browser binding with a code fallback", () => {
  it("the pending cookie is HttpOnly, SameSite=Lax, Path=/, and lives at most 10 minutes", async () => {
    const result = await callRoute(
      login.action,
      postForm("/login", { email: "bound@example.com" }),
    );
    const pending = result.headers.getSetCookie().find((line) => line.startsWith("pending="));
    expect(pending).toBeDefined();
    expect(pending).toMatch(/; HttpOnly/i);
    expect(pending).toMatch(/; SameSite=Lax/i);
    expect(pending).toMatch(/; Path=\//i);
    expect(pending).not.toMatch(/; Domain=/i);
    const maxAge = Number(/Max-Age=(\d+)/i.exec(pending as string)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(600);
    // Sealed: neither the address nor the nonce is readable in it.
    expect(decodeURIComponent(pending as string)).not.toContain("bound@example.com");
  });

  it("confirming the link in a fresh cookie jar gives no session and never shows the code; the original jar then signs in", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "bound@example.com");
    const other = await handle(
      new Request(`${TEST_ORIGIN}/auth/link`, {
        method: "POST",
        headers: { Origin: TEST_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: email.token as string }),
      }),
    );
    expect(other.status).toBe(403);
    expect(sessionCookies(other)).toEqual([]);
    const page = await other.text();
    expect(page).not.toContain(email.code as string);

    const mine = await callRoute(
      link.action,
      postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
    );
    expect(mine.status).toBe(303);
    expect(sessionCookies(mine)).toHaveLength(1);
  });

  it("login CSRF: an attacker's own link opened in the victim's browser signs the victim into nothing", async () => {
    const attacker = new CookieJar();
    const victim = new CookieJar();
    const email = await requestEmail(app, attacker, "attacker@example.com");
    await requestEmail(app, victim, "victim@example.com");
    const result = await callRoute(
      link.action,
      postForm("/auth/link", { token: email.token as string }, { cookie: victim }),
    );
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(sessionCookies(result)).toEqual([]);
  });
});

describe("S9 the code travels in the same email as the link", () => {
  it("every email with a link carries the six-digit code, in the text and the HTML part", async () => {
    for (const address of ["first@example.com", "second@example.com"]) {
      const email = await requestEmail(app, new CookieJar(), address);
      expect(email.link).toMatch(/^http:\/\/localhost:5173\/auth\/link\?token=/);
      expect(email.code).toMatch(/^\d{6}$/);
      expect(email.html).toContain(email.code as string);
      expect(email.html).toContain(`token=${email.token as string}`);
    }
    for (const message of app.outbox.list()) {
      if (/\/auth\/link\?token=/.test(message.text)) expect(message.text).toMatch(/^\s*\d{6}\s*$/m);
    }
  });
});
