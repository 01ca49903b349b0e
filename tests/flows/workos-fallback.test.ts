/**
 * `AUTH_ADAPTER=workos` (Magic Link, with Magic Auth as the fallback), with WorkOS's email and
 * with the app's, through the real route loaders and actions, the registry-built adapter and
 * the real SDK against the WorkOS emulator:
 * (a) Magic Link unavailable → a code is emailed instead, the check page asks for it, it signs in;
 * (b) a used or expired link → the callback page offers "Email me a code instead" → code → session;
 * (c) a rate limit is shown as "try again in N seconds", never answered with the other method.
 */
import { describe, expect, it } from "vitest";
import { callRoute, CookieJar, getRequest, postForm, type RouteResult } from "../support/auth";
import { createSignInLimits } from "../../app/auth/limits.server";
import { MemoryStore } from "../../app/store/memory.server";
import { createDocumentHandler } from "../security/document";
import { type FailureSpec } from "../emulators/workos/server";
import {
  calls,
  captureWorkosLog,
  check,
  EMAIL_MODES,
  expectCheckEmail,
  expectErrorPage,
  expectSignedIn,
  workosFlowSuite,
  type FlowOptions,
} from "./workos-support";

const flows = workosFlowSuite("workos");

const EMAIL = "lin@example.com";
const SESSIONS = "/passwordless/sessions";
const MAGIC_AUTH = "/user_management/magic_auth";

describe.each(EMAIL_MODES)("AUTH_ADAPTER=workos, WORKOS_EMAIL=%s", (mode) => {
  const setUp = (options?: FlowOptions) => flows.setUp(mode, options);

  async function checkPage(jar: CookieJar): Promise<RouteResult> {
    const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
    expect(page.status).toBe(200);
    return page;
  }

  /** The "Email me a code instead" button: what the callback page and the check page post. */
  async function codeInstead(jar: CookieJar): Promise<RouteResult> {
    const result = await callRoute(
      check.action,
      postForm("/login/check", { intent: "code-instead" }, { cookie: jar }),
    );
    jar.store(result);
    return result;
  }

  it("signs in by Magic Link when it works; the check page also offers a code", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    expect((await checkPage(jar)).data).toMatchObject({
      delivered: { link: true, code: false },
      canSendCode: true,
    });
    expectSignedIn(await f.callback(await f.visit(f.emailedLink(EMAIL)), jar), jar);
    expect((await f.whoAmI(jar)).data).toMatchObject({
      email: EMAIL,
      adapter: "workos-magic-link",
    });
    expect(calls(flows.emulator, MAGIC_AUTH)).toBe(0);
  });

  const down: [string, FailureSpec][] = [
    ["a 500", { status: 500 }],
    ["Magic Link turned off (404)", { status: 404 }],
  ];
  // Retried by the client (200 + 400 ms of backoff), so run in one email mode only.
  if (mode === "workos")
    down.push(
      ["a 503 on every try", { status: 503, times: Infinity }],
      ["a dropped connection on every try", { drop: true, times: Infinity }],
    );

  it.each(down)(
    "(a) /passwordless/sessions answering %s: a code is emailed, the check page shows the code form, the code signs in",
    async (_name, spec) => {
      captureWorkosLog();
      const f = setUp();
      flows.emulator.failNext(SESSIONS, spec);
      const jar = new CookieJar();
      expectCheckEmail(await f.start(jar, EMAIL, "/dashboard?via=code"), jar);
      // The code form, and no "code instead" button: a code is what was sent.
      expect((await checkPage(jar)).data).toMatchObject({
        email: EMAIL,
        delivered: { link: false, code: true },
        canSendCode: false,
      });
      expect(flows.emulator.sentEmails().some((sent) => sent.kind === "magic_link")).toBe(false);
      expectSignedIn(await f.enterCode(jar, f.emailedCode(EMAIL)), jar, "/dashboard?via=code");
      expect((await f.whoAmI(jar)).data).toMatchObject({
        email: EMAIL,
        adapter: "workos-magic-auth",
      });
    },
  );

  it("(a) a Magic Link request that times out falls back to a code too", async () => {
    // The fallback's own call must finish within the same timeout: a whole second, which a
    // busy machine does not eat; the Magic Link answer is a minute away.
    const f = setUp({ env: { WORKOS_TIMEOUT_MS: "1000" } });
    flows.emulator.failNext(SESSIONS, { delayMs: 60_000 });
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    expect((await checkPage(jar)).data).toMatchObject({ delivered: { link: false, code: true } });
    expectSignedIn(await f.enterCode(jar, f.emailedCode(EMAIL)), jar);
  });

  it("(a) with both WorkOS methods down the page says 'unavailable' (503)", async () => {
    captureWorkosLog();
    const f = setUp();
    flows.emulator.failNext(SESSIONS, { status: 500 });
    flows.emulator.failNext(MAGIC_AUTH, { status: 500 });
    expectErrorPage(await f.start(new CookieJar(), EMAIL), "unavailable", 503);
  });

  it("(b) a scanner opened the link first: the person's visit ends on a page offering a code, and that code signs in", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL, "/dashboard?after=scanner"), jar);
    const link = f.emailedLink(EMAIL);

    // The scanner follows the redirect too, without the person's cookies: nothing happens.
    const scanned = await f.callback(await f.visit(link));
    expect(scanned.status).toBe(200);
    expect(scanned.headers.getSetCookie()).toEqual([]);

    const visit = new URL(await f.visit(link));
    expect(visit.searchParams.get("error")).toBe("access_denied");
    const page = await f.callback(visit.toString(), jar);
    expect(expectErrorPage(page, "used", 400).title).toBe("This link was already used");
    expect(page.data).toMatchObject({ canSendCode: true });

    const sent = await codeInstead(jar);
    expect(sent.status).toBe(303);
    expect(sent.location).toBe("/login/check");
    expect((await checkPage(jar)).data).toMatchObject({
      email: EMAIL,
      delivered: { link: false, code: true },
      canSendCode: false,
    });
    expectSignedIn(await f.enterCode(jar, f.emailedCode(EMAIL)), jar, "/dashboard?after=scanner");
    expect((await f.whoAmI(jar)).data).toMatchObject({
      email: EMAIL,
      adapter: "workos-magic-auth",
    });
    expect(calls(flows.emulator, "/sso/token")).toBe(0);
  });

  it("(b) with the abuse limits on, 'Email me a code instead' seconds after the link still sends the code", async () => {
    const f = setUp({
      limits: createSignInLimits({ store: new MemoryStore({ sweepIntervalMs: 0 }) }),
    });
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const link = f.emailedLink(EMAIL);
    await f.visit(link);
    const page = await f.callback(await f.visit(link), jar);
    expectErrorPage(page, "used", 400);
    expect((await codeInstead(jar)).status).toBe(303);
    expect(f.app.events.map((e) => `${e.step}:${e.outcome}`)).toContain("code_instead:sent");
    expect((await checkPage(jar)).data).toMatchObject({ delivered: { link: false, code: true } });
    expectSignedIn(await f.enterCode(jar, f.emailedCode(EMAIL)), jar);
  });

  it("(b) an expired link, and a callback code WorkOS refuses (invalid_grant), offer a code too", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const link = f.emailedLink(EMAIL);
    flows.emulator.advance(901_000);
    const expired = await f.callback(await f.visit(link), jar);
    expectErrorPage(expired, "expired", 400);
    expect(expired.data).toMatchObject({ canSendCode: true });

    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const url = await f.visit(f.emailedLink(EMAIL));
    flows.emulator.advance(10 * 60_000 + 1_000);
    const refused = await f.callback(url, jar);
    expectErrorPage(refused, "expired", 400);
    expect(refused.data).toMatchObject({ canSendCode: true });
    expect((await codeInstead(jar)).status).toBe(303);
    expectSignedIn(await f.enterCode(jar, f.emailedCode(EMAIL)), jar);
  });

  it("(b) the callback error page offers no code to a browser without a pending sign-in", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const link = f.emailedLink(EMAIL);
    await f.visit(link);
    const page = await f.callback(await f.visit(link));
    expectErrorPage(page, "used", 400);
    expect(page.data).toMatchObject({ canSendCode: false });
    // And the button's POST without the pending cookie sends nothing.
    expectErrorPage(await codeInstead(new CookieJar()), "expired", 400);
    expect(calls(flows.emulator, MAGIC_AUTH)).toBe(0);
  });

  it("(c) 429 on /passwordless/sessions is 'try again in N seconds', and no code is sent instead", async () => {
    const f = setUp();
    flows.emulator.failNext(SESSIONS, { status: 429, retryAfter: 30 });
    const result = await f.start(new CookieJar(), EMAIL);
    expect(expectErrorPage(result, "rate_limited", 429).message).toBe(
      "Too many requests. Try again in 30 seconds.",
    );
    expect(result.headers.get("Retry-After")).toBe("30");
    expect(calls(flows.emulator, MAGIC_AUTH)).toBe(0);
    expect(flows.emulator.sentEmails()).toEqual([]);
  });

  it("(c) a rate-limited 'code instead' request is 'try again in N seconds' too", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    flows.emulator.failNext(MAGIC_AUTH, { status: 429, retryAfter: 40 });
    const result = await codeInstead(jar);
    expect(expectErrorPage(result, "rate_limited", 429).message).toBe(
      "Too many requests. Try again in 40 seconds.",
    );
    // The pending sign-in is kept: the link already emailed still works.
    expectSignedIn(await f.callback(await f.visit(f.emailedLink(EMAIL)), jar), jar);
  });

  it("a rate limit on the callback offers no code (a second send would not help)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const url = await f.visit(f.emailedLink(EMAIL));
    flows.emulator.failNext("/sso/token", { status: 429, retryAfter: 3 });
    const page = await f.callback(url, jar);
    expectErrorPage(page, "rate_limited", 429);
    expect(page.data).toMatchObject({ canSendCode: false });
    expect(page.headers.get("Retry-After")).toBe("3");
  });

  it("the rendered callback page: 'Email me a code instead' posts intent=code-instead to /login/check; a rate limit keeps Retry-After", async () => {
    const f = setUp();
    const handle = await createDocumentHandler();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const link = f.emailedLink(EMAIL);
    const url = await f.visit(link);
    await f.visit(link);
    const page = await handle(
      new Request(await f.visit(link), { headers: { Cookie: jar.header() } }),
    );
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain("This link was already used");
    const form = /<form[^>]*action="\/login\/check"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1] ?? "";
    expect(form).toMatch(/name="intent" value="code-instead"/);
    expect(form).toContain("Email me a code instead");

    flows.emulator.failNext("/sso/token", { status: 429, retryAfter: 7 });
    const limited = await handle(new Request(url, { headers: { Cookie: jar.header() } }));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("7");
    expect(await limited.text()).toContain("Try again in 7 seconds");
  });

  it("a bad API key is 'misconfigured' (503) and is not answered with a code", async () => {
    captureWorkosLog();
    const f = setUp({ env: { WORKOS_API_KEY: "sk_test_wrong" } });
    expectErrorPage(await f.start(new CookieJar(), EMAIL), "misconfigured", 503);
    expect(calls(flows.emulator, MAGIC_AUTH)).toBe(0);
  });
});
