/**
 * `AUTH_ADAPTER=workos-magic-link`, with WorkOS's email and with the app's, through the real
 * route loaders and actions, the registry-built adapter and the real SDK against the WorkOS
 * emulator: POST /login → the emailed WorkOS link → its redirect to /auth/callback → session;
 * and every way it can fail ends on a page with a fitting status, never a 500.
 */
import { describe, expect, it } from "vitest";
import { MailSendError } from "../../app/mail/types";
import { waitForDelivery } from "../support/delivery";
import { callRoute, CookieJar, getRequest, postForm } from "../support/auth";
import { type FailureSpec } from "../emulators/workos/server";
import {
  callback,
  calls,
  captureWorkosLog,
  check,
  EMAIL_MODES,
  expectCheckEmail,
  expectErrorPage,
  expectSignedIn,
  workosFlowSuite,
  type FlowOptions,
  type WorkosFlow,
} from "./workos-support";

const flows = workosFlowSuite("workos-magic-link");

const EMAIL = "ada@example.com";

describe.each(EMAIL_MODES)("AUTH_ADAPTER=workos-magic-link, WORKOS_EMAIL=%s", (mode) => {
  const setUp = (options?: FlowOptions) => flows.setUp(mode, options);

  /** POST /login, then the link from the email, followed to the app's callback URL. */
  async function linkToCallback(f: WorkosFlow, jar: CookieJar, returnTo?: string) {
    expectCheckEmail(await f.start(jar, EMAIL, returnTo), jar);
    return f.visit(f.emailedLink(EMAIL));
  }

  it("signs in: POST /login → emailed link → /auth/callback in the same browser → 303 with a session", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, "Ada@Example.com", "/dashboard?tab=2"), jar);
    const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
    // A link only, and no code to offer: this adapter has none.
    expect(page.data).toMatchObject({
      email: EMAIL,
      delivered: { link: true, code: false },
      canSendCode: false,
    });
    // WorkOS's own email: "sent" means WorkOS took the request (S32); the app's: its queue.
    const { delivery } = page.data as { delivery: { state: string; by?: string } };
    if (mode === "workos") expect(delivery).toMatchObject({ state: "sent", by: "provider" });
    else expect(delivery.by).toBeUndefined();

    const url = await f.visit(f.emailedLink(EMAIL));
    const query = new URL(url).searchParams;
    expect(query.get("code")).toBeTruthy();
    // The state is an opaque reference, never the return path (S16).
    expect(query.get("state")).not.toContain("dashboard");

    const done = await f.callback(url, jar);
    expectSignedIn(done, jar, "/dashboard?tab=2");
    expect(done.headers.get("Cache-Control")).toBe("no-store");
    const me = await f.whoAmI(jar);
    expect(me.status).toBe(200);
    expect(me.data).toMatchObject({ email: EMAIL, adapter: "workos-magic-link" });
    expect(calls(flows.emulator, "/sso/token")).toBe(1);
  });

  it("S7/S8: the callback in a browser without the pending cookie signs nobody in and shows Continue; the code stays usable", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const url = await linkToCallback(f, jar);

    const elsewhere = await f.callback(url);
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers.getSetCookie()).toEqual([]);
    const query = new URL(url).searchParams;
    expect(elsewhere.data).toEqual({
      canSendCode: false,
      code: query.get("code"),
      state: query.get("state"),
    });
    // Continue there: the strategy checks the browser again and refuses (S8).
    const pressed = await callRoute(
      callback.action,
      postForm(
        "/auth/callback",
        { code: query.get("code") as string, state: query.get("state") as string },
        { cookie: new CookieJar() },
      ),
    );
    expectErrorPage(pressed, "not_same_browser", 403);
    // A HEAD in the right browser does nothing either (S7).
    const head = await callRoute(
      callback.loader,
      new Request(url, { method: "HEAD", headers: { Cookie: jar.header() } }),
    );
    expect(head.headers.getSetCookie()).toEqual([]);
    expect(calls(flows.emulator, "/sso/token")).toBe(0);

    expectSignedIn(await f.callback(url, jar), jar);
  });

  it("S16: a state we did not sign, or that names another browser's sign-in, exchanges nothing", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const url = new URL(await linkToCallback(f, jar));
    const forged = new URL(url);
    forged.searchParams.set("state", `${"a".repeat(32)}.${"b".repeat(32)}`);
    const refused = await f.callback(forged.toString(), jar);
    expectErrorPage(refused, "invalid", 400);
    expect(refused.data).toMatchObject({ canSendCode: false, code: "" });
    const noState = new URL(url);
    noState.searchParams.delete("state");
    expectErrorPage(await f.callback(noState.toString(), jar), "invalid", 400);

    // Another browser with its own pending sign-in gets the Continue page, not a session.
    const other = new CookieJar();
    expectCheckEmail(await f.start(other, "bob@example.com"), other);
    const crossed = await f.callback(url.toString(), other);
    expect(crossed.status).toBe(200);
    expect(crossed.headers.getSetCookie()).toEqual([]);
    expect(calls(flows.emulator, "/sso/token")).toBe(0);
  });

  it("S4: a newer request in the same browser retires the older link, though WorkOS still honours it", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const older = await linkToCallback(f, jar);
    const newer = await linkToCallback(f, jar);
    // The older link's state names the first pending sign-in; the cookie holds the second.
    const refused = await f.callback(older, jar);
    expect(refused.headers.getSetCookie().some((c) => c.includes("session"))).toBe(false);
    expect(calls(flows.emulator, "/sso/token")).toBe(0);
    expectSignedIn(await f.callback(newer, jar), jar, "/dashboard");
  });

  it("a second visit of a used link, and an expired link, end on a clear page (no code offered by this adapter)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const link = f.emailedLink(EMAIL);
    await f.visit(link); // a mail scanner got there first
    const again = new URL(await f.visit(link));
    expect(again.searchParams.get("error")).toBe("access_denied");
    const used = await f.callback(again.toString(), jar);
    const words = expectErrorPage(used, "used", 400);
    expect(words.message).toMatch(/scanners/);
    expect(used.data).toMatchObject({ canSendCode: false });

    expectCheckEmail(await f.start(jar, EMAIL), jar);
    const fresh = f.emailedLink(EMAIL);
    flows.emulator.advance(901_000);
    const late = await f.callback(await f.visit(fresh), jar);
    expectErrorPage(late, "expired", 400);
    expect(calls(flows.emulator, "/sso/token")).toBe(0);
    expect(f.app.events.filter((e) => e.step === "callback").map((e) => e.outcome)).toEqual([
      "provider_error:used",
      "provider_error:expired",
    ]);
  });

  it("invalid_grant: a replayed callback code is 'used', a late one 'expired'", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const url = await linkToCallback(f, jar);
    const before = jar.clone();
    expectSignedIn(await f.callback(url, jar), jar);
    expectErrorPage(await f.callback(url, before), "used", 400);

    const second = new CookieJar();
    const late = await linkToCallback(f, second);
    flows.emulator.advance(10 * 60_000 + 1_000);
    expectErrorPage(await f.callback(late, second), "expired", 400);
  });

  it("starting: a bad API key is 'misconfigured' (503), not the person's fault", async () => {
    const log = captureWorkosLog();
    const f = setUp({ env: { WORKOS_API_KEY: "sk_test_wrong" } });
    const result = await f.start(new CookieJar(), EMAIL);
    expect(expectErrorPage(result, "misconfigured", 503).message).toMatch(/our fault/);
    expect(log).toMatchObject([{ operation: "start", mappedTo: "misconfigured", status: 401 }]);
  });

  it("starting: 429 with Retry-After says 'try again in N seconds' (429)", async () => {
    const f = setUp();
    flows.emulator.failNext("/passwordless/sessions", { status: 429, retryAfter: 17 });
    const result = await f.start(new CookieJar(), EMAIL);
    expect(expectErrorPage(result, "rate_limited", 429).message).toBe(
      "Too many requests. Try again in 17 seconds.",
    );
    expect(result.headers.get("Retry-After")).toBe("17");
  });

  const unavailable: [string, FailureSpec][] = [
    ["a 500", { status: 500 }],
    ["a non-JSON 500", { status: 500, body: "<html>oops</html>" }],
    ["Magic Link turned off (404)", { status: 404, times: Infinity }],
  ];
  // Retried by the client (200 + 400 ms of backoff), so run in one email mode only.
  if (mode === "workos") {
    unavailable.push(
      ["a 503 on every try", { status: 503, times: Infinity }],
      ["a dropped connection on every try", { drop: true, times: Infinity }],
    );
  }

  it.each(unavailable)(
    "starting: %s is 'unavailable' (503), logged with WorkOS's request id",
    async (_name, spec) => {
      const log = captureWorkosLog();
      const f = setUp();
      flows.emulator.failNext("/passwordless/sessions", spec);
      expectErrorPage(await f.start(new CookieJar(), EMAIL), "unavailable", 503);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ operation: "start", mappedTo: "unavailable" });
      if (!spec.drop) expect(log[0]?.requestId).toMatch(/^req_/);
    },
  );

  it("starting: a WorkOS that does not answer in time is 'unavailable' (503)", async () => {
    const f = setUp({ env: { WORKOS_TIMEOUT_MS: "150" } });
    // A minute away: only the timeout can end the call, and a page that waited for the
    // answer would outlast the test (the bound below is for the message).
    flows.emulator.failNext("/passwordless/sessions", { delayMs: 60_000 });
    const started = Date.now();
    expectErrorPage(await f.start(new CookieJar(), EMAIL), "unavailable", 503);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it.each([
    ["a 500", { status: 500 }, "unavailable", 503],
    ["a 429", { status: 429, retryAfter: 9 }, "rate_limited", 429],
    [
      "a rejected client secret (401)",
      {
        status: 401,
        body: { error: "invalid_client", error_description: "Invalid client secret." },
      },
      "misconfigured",
      503,
    ],
  ] as const)(
    "exchanging the code: %s is a page, and the code still works afterwards",
    async (_name, spec, code, status) => {
      captureWorkosLog();
      const f = setUp();
      const jar = new CookieJar();
      const url = await linkToCallback(f, jar);
      flows.emulator.failNext("/sso/token", spec);
      const failed = await f.callback(url, jar);
      expectErrorPage(failed, code, status);
      expect(failed.data).toMatchObject({ canSendCode: false });
      expectSignedIn(await f.callback(url, jar), jar);
    },
  );

  if (mode === "workos") {
    it("starting: WorkOS failing to send the session is 'unavailable' (503)", async () => {
      captureWorkosLog();
      const f = setUp();
      flows.emulator.failNext("/passwordless/sessions/:id/send", { status: 500 });
      expectErrorPage(await f.start(new CookieJar(), EMAIL), "unavailable", 503);
      expect(flows.emulator.sentEmails()).toEqual([]);
    });
  } else {
    it("starting: a relay that refuses the email is told on the check page, not as a 500", async () => {
      const f = setUp({
        mailer: { send: () => Promise.reject(new MailSendError("5xx:550", false)) },
      });
      const jar = new CookieJar();
      expect((await f.start(jar, EMAIL)).status).toBe(303);
      expect((await waitForDelivery(jar, "failed")).state).toBe("failed");
    });
  }
});
