/**
 * S26 bad input gets a clear answer, never a 500. fast-check drives the sign-in actions and
 * the loaders with arbitrary form bodies, content types, sizes, bytes, cookies and query
 * strings. A thrown non-Response error fails the test (callRoute re-throws it: that would be
 * a 500), and so does any console.error (tests/setup.ts). Runs are bounded to keep the file
 * to a few seconds.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normaliseEmail } from "../../app/auth/email";
import { MAX_FORM_BYTES } from "../../app/auth/form.server";
import { safeReturnTo } from "../../app/auth/return-to";
import * as callback from "../../app/routes/auth.callback";
import * as link from "../../app/routes/auth.link";
import * as dashboard from "../../app/routes/dashboard";
import * as login from "../../app/routes/login";
import * as check from "../../app/routes/login.check";
import * as logout from "../../app/routes/logout";
import { callRoute, CookieJar, createTestApp, TEST_ORIGIN, type TestApp } from "../support/auth";
import { createDocumentHandler } from "./document";
import { requestEmail } from "./helpers";

let app: TestApp;
/** Cookies of a real pending sign-in and of a real session, so runs reach the deep paths. */
let realCookies: string[];
beforeAll(async () => {
  app = createTestApp();
  const pending = new CookieJar();
  const email = await requestEmail(app, pending, "fuzz@example.com");
  const session = new CookieJar();
  const other = await requestEmail(app, session, "fuzz-session@example.com");
  session.store(
    await callRoute(
      check.action,
      formPost("/login/check", `code=${other.code as string}`, session.header()),
    ),
  );
  realCookies = [pending.header(), session.header(), `${pending.header()}; ${session.header()}`];
  expect(email.code).toBeDefined();
});
afterAll(() => app.close());

function formPost(
  path: string,
  body: BodyInit | null,
  cookie?: string,
  contentType = "application/x-www-form-urlencoded",
): Request {
  const headers = new Headers({ Origin: TEST_ORIGIN });
  if (contentType) headers.set("Content-Type", contentType);
  if (cookie) headers.set("Cookie", cookie);
  return new Request(`${TEST_ORIGIN}${path}`, { method: "POST", headers, body });
}

const ACTIONS = [
  ["/login", login.action],
  ["/login/check", check.action],
  ["/auth/link", link.action],
  ["/auth/callback", callback.action],
  ["/logout", logout.action],
] as const;

const FIELDS = ["email", "code", "token", "state", "intent", "returnTo", "scope"];

/** Field names the routes know, and others. */
const fieldName = fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 12 }));
/** Values: short strings, unicode, digits, intents, and the odd long one. */
const fieldValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.stringMatching(/^[0-9 -]{0,12}$/),
  fc.constantFrom(
    "resend",
    "code-instead",
    "all",
    "person@example.com",
    "//evil.test",
    "%00",
    "a@b.c,d@e.f",
  ),
  fc.string({ minLength: 200, maxLength: 3000 }),
);
const formBody = fc
  .array(fc.tuple(fieldName, fieldValue), { maxLength: 8 })
  .map((pairs) => new URLSearchParams(pairs).toString());
const rawBody = fc.oneof(
  formBody,
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }), // mostly invalid UTF-8
  fc.constantFrom("%", "%%", "%E0%A4%A", "a=%ff%fe", "=&=&&=", "\u0000=\u0000"),
);
const contentType = fc.oneof(
  fc.constantFrom(
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/json",
    "text/plain",
    "",
  ),
  fc.string({ maxLength: 60 }),
);
/** Cookie headers: absent, real, garbage, oversized, or a real one with garbage around it. */
const cookie = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(0, 1, 2).map((i) => realCookies[i]),
  fc.string({ maxLength: 200 }).map((s) => s.replace(/[\r\n\u0000]/g, "")),
  fc
    .tuple(fc.constantFrom("session", "pending", "__Host-session"), fc.string({ maxLength: 300 }))
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
  fc.integer({ min: 4_000, max: 40_000 }).map((n) => `session=${"A".repeat(n)}`),
  fc.constantFrom(
    "session=",
    "session",
    "=;=;;",
    "pending=%",
    "session=e30%3D.bad",
    'pending=""; session="x',
  ),
  fc
    .tuple(fc.constantFrom(0, 1), fc.string({ maxLength: 50 }))
    .map(([i, junk]) => `${realCookies[i] as string}; junk=${encodeURIComponent(junk)}`),
);
const query = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => `?${s}`),
  fc
    .array(
      fc.tuple(
        fc.constantFrom("code", "state", "error", "error_description", "token", "returnTo", "x"),
        fieldValue,
      ),
      { maxLength: 5 },
    )
    .map((pairs) => `?${new URLSearchParams(pairs).toString()}`),
  fc.constantFrom(
    "",
    "?",
    "?code=&state=",
    "?error=access_denied",
    "?code=x&state=" + "a".repeat(5000),
    "?%",
    "?state=%E0%A4%A",
  ),
);

/** Safe as a Request URL suffix: fast-check strings may hold characters URLs cannot carry. */
const asQuery = (q: string) => q.replace(/[#\s\u0000-\u001f]/g, "");

/** Statuses a route may answer bad input with: success, redirects, and client errors. */
function expectClearAnswer(status: number, what: string): void {
  expect(status, what).toBeGreaterThanOrEqual(200);
  expect(status, what).toBeLessThan(500);
}

describe("S26 bad input never yields a 500", () => {
  it("the login, code, link, callback and logout actions: arbitrary bodies, content types, bytes and cookies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ACTIONS),
        rawBody,
        contentType,
        cookie,
        async ([path, action], body, type, cookieHeader) => {
          const result = await callRoute(action, formPost(path, body, cookieHeader, type));
          expectClearAnswer(result.status, `${path} ${type}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("bodies over 16 KB are refused with 413, with or without a Content-Length, before they are parsed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ACTIONS),
        fc.integer({ min: MAX_FORM_BYTES + 1, max: MAX_FORM_BYTES * 8 }),
        fc.boolean(),
        async ([path, action], size, streamed) => {
          const bytes = new TextEncoder().encode(`email=${"a".repeat(size)}`);
          // A stream body has no Content-Length: the reader must count as it goes.
          const body = streamed
            ? new ReadableStream<Uint8Array>({
                start(controller) {
                  for (let offset = 0; offset < bytes.length; offset += 4096)
                    controller.enqueue(bytes.slice(offset, offset + 4096));
                  controller.close();
                },
              })
            : bytes;
          const request = new Request(`${TEST_ORIGIN}${path}`, {
            method: "POST",
            headers: { Origin: TEST_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
            body,
            ...(streamed ? { duplex: "half" } : {}),
          } as RequestInit);
          const result = await callRoute(action, request);
          expect(result.status).toBe(413);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("clear answers for the usual mistakes: wrong content type 415, invalid UTF-8 400, missing fields 400", async () => {
    const wrongType = await callRoute(
      login.action,
      formPost("/login", '{"email":"a@b.co"}', undefined, "application/json"),
    );
    expect(wrongType.status).toBe(415);
    expect(await wrongType.response.text()).toMatch(/x-www-form-urlencoded/);
    const badBytes = await callRoute(
      login.action,
      formPost("/login", new Uint8Array([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x3d, 0xff, 0xfe])),
    );
    expect(badBytes.status).toBe(400);
    expect(await badBytes.response.text()).toMatch(/UTF-8/);
    const missing = await callRoute(login.action, formPost("/login", ""));
    expect(missing.status).toBe(400);
    expect(missing.data).toEqual({ error: { code: "invalid_input", empty: true } });
    const noCode = await callRoute(check.action, formPost("/login/check", "code=", realCookies[0]));
    expect(noCode.status).toBe(400);
  });

  it("the loaders: arbitrary query strings and cookies on the callback, link, sign-in, check and dashboard pages", async () => {
    const loaders = [
      ["/auth/callback", callback.loader],
      ["/auth/link", link.loader],
      ["/login", login.loader],
      ["/login/check", check.loader],
      ["/dashboard", dashboard.loader],
      ["/logout", logout.loader],
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...loaders),
        query,
        cookie,
        fc.constantFrom("GET", "HEAD"),
        async ([path, loader], q, cookieHeader, method) => {
          const headers = new Headers();
          if (cookieHeader) headers.set("Cookie", cookieHeader);
          const result = await callRoute(
            loader,
            new Request(`${TEST_ORIGIN}${path}${asQuery(q)}`, { method, headers }),
          );
          expectClearAnswer(result.status, `${method} ${path}${q}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("through the whole request handler (rendering included): arbitrary queries, cookies and bodies", async () => {
    const handle = await createDocumentHandler();
    const paths = [
      "/",
      "/login",
      "/login/check",
      "/auth/link",
      "/auth/callback",
      "/logout",
      "/dashboard",
      "/login.data",
      "/auth/callback.data",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        query,
        cookie,
        fc.option(fc.tuple(rawBody, contentType), { nil: undefined }),
        async (path, q, cookieHeader, post) => {
          const headers = new Headers();
          if (cookieHeader) headers.set("Cookie", cookieHeader);
          let init: RequestInit = { headers };
          if (post) {
            headers.set("Origin", TEST_ORIGIN);
            if (post[1]) headers.set("Content-Type", post[1]);
            init = { method: "POST", headers, body: post[0] };
          }
          const response = await handle(new Request(`${TEST_ORIGIN}${path}${asQuery(q)}`, init));
          expectClearAnswer(response.status, `${init.method ?? "GET"} ${path}${q}`);
          await response.arrayBuffer();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("property: whatever the input, a validated return path is a local path (dot segments and slashes included)", () => {
    // Built from the pieces open redirects are made of, so the dangerous shapes come up often
    // ("/.//evil.test" collapsed into "//evil.test" before the fix: found within 500 runs).
    const piece = fc.constantFrom(
      "/",
      "//",
      "\\",
      ".",
      "..",
      "%2e",
      "%2f",
      "%5c",
      "%09",
      "evil.test",
      "a",
      "?",
      "#",
      "\t",
    );
    const shaped = fc.array(piece, { maxLength: 6 }).map((parts) => `/${parts.join("")}`);
    fc.assert(
      fc.property(fc.oneof(shaped, fc.string()), (input) => {
        const out = safeReturnTo(input);
        expect(out.startsWith("/")).toBe(true);
        expect(out.startsWith("//")).toBe(false);
        expect(out).not.toMatch(/[\\\u0000-\u001f\u007f]/);
        expect(new URL(out, "https://app.example").origin).toBe("https://app.example");
        expect(new URL(out, "https://app.example").pathname.startsWith("//")).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("property: whatever the input, an accepted address is one plain address (no list, quote, space or control character)", () => {
    const piece = fc.constantFrom(
      "a",
      "B",
      "@",
      "＠",
      ",",
      "，",
      ";",
      '"',
      " ",
      "\u00a0",
      ".",
      "-",
      "example",
      "com",
      "\u0000",
      "\u200b",
      "<",
      ">",
      "ß",
      "ｃｏｍ",
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(piece, { maxLength: 10 }).map((parts) => parts.join("")),
          fc.string({ unit: "grapheme" }),
        ),
        (input) => {
          const result = normaliseEmail(input);
          if (!result.ok) return;
          expect(result.email.split("@")).toHaveLength(2);
          expect(result.email).not.toMatch(/[\s,;"<>\u0000-\u001f\u007f\u200b＠]/);
          expect(result.email.length).toBeLessThanOrEqual(254);
          expect(result.email).toBe(result.email.toLowerCase());
          expect(normaliseEmail(result.email)).toEqual(result);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
