/**
 * `AUTH_ADAPTER=workos-magic-auth`, with WorkOS's email and with the app's, through the real
 * route loaders and actions, the registry-built adapter and the real SDK against the WorkOS
 * emulator: POST /login → the emailed six-digit code typed on /login/check (the address
 * comes from the pending cookie) → session; and every WorkOS failure is a page, never a 500.
 */
import { describe, expect, it } from "vitest";
import { MailSendError } from "../../app/mail/types";
import { waitForDelivery } from "../support/delivery";
import { callRoute, CookieJar, getRequest } from "../support/auth";
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
  type WorkosFlow,
} from "./workos-support";

const flows = workosFlowSuite("workos-magic-auth");

const EMAIL = "grace@example.com";
const AUTHENTICATE = "/user_management/authenticate";
const CREATE = "/user_management/magic_auth";

/** A six-digit code that is not `code`. */
const wrong = (code: string) => (code === "000000" ? "111111" : "000000");

describe.each(EMAIL_MODES)("AUTH_ADAPTER=workos-magic-auth, WORKOS_EMAIL=%s", (mode) => {
  const setUp = (options?: FlowOptions) => flows.setUp(mode, options);

  /** POST /login in `jar`; the code that was emailed. */
  async function requestCode(f: WorkosFlow, jar: CookieJar, returnTo?: string): Promise<string> {
    expectCheckEmail(await f.start(jar, EMAIL, returnTo), jar);
    return f.emailedCode(EMAIL);
  }

  it("signs in: POST /login → emailed code → POST /login/check (only the code typed) → 303 with a session", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const code = await requestCode(f, jar, "/dashboard?from=code");
    const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
    expect(page.data).toMatchObject({
      email: EMAIL,
      delivered: { link: false, code: true },
      canSendCode: false,
    });

    // People paste codes with a space or a dash in the middle.
    const done = await f.enterCode(jar, `${code.slice(0, 3)} ${code.slice(3)}`);
    expectSignedIn(done, jar, "/dashboard?from=code");
    expect((await f.whoAmI(jar)).data).toMatchObject({
      email: EMAIL,
      adapter: "workos-magic-auth",
    });
    expect(calls(flows.emulator, AUTHENTICATE)).toBe(1);
  });

  it("a code typed in a browser without the pending sign-in does nothing there", async () => {
    const f = setUp();
    const code = await requestCode(f, new CookieJar());
    expectErrorPage(await f.enterCode(new CookieJar(), code), "expired", 400);
    expect(calls(flows.emulator, AUTHENTICATE)).toBe(0);
  });

  it("invalid_one_time_code: a wrong code is 'invalid' (400), and the right one still works", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const code = await requestCode(f, jar);
    expect(expectErrorPage(await f.enterCode(jar, wrong(code)), "invalid", 400).title).toBe(
      "That didn't match",
    );
    expectSignedIn(await f.enterCode(jar, code), jar);
  });

  it("one_time_code_previously_used: the same code again is 'used' (400)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const code = await requestCode(f, jar);
    const before = jar.clone();
    expectSignedIn(await f.enterCode(jar, code), jar);
    expectErrorPage(await f.enterCode(before, code), "used", 400);
  });

  it("one_time_code_expired: a code after its ten minutes is 'expired' (400)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const code = await requestCode(f, jar);
    flows.emulator.advance(10 * 60_000 + 1_000);
    expectErrorPage(await f.enterCode(jar, code), "expired", 400);
  });

  it("one_time_code_too_many_attempts: after five wrong codes even the right one is refused (429)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const code = await requestCode(f, jar);
    for (let i = 0; i < 5; i += 1)
      expectErrorPage(await f.enterCode(jar, wrong(code)), "invalid", 400);
    expect(expectErrorPage(await f.enterCode(jar, code), "too_many_attempts", 429).title).toBe(
      "Too many tries",
    );
  });

  it("WorkOS's own send limit (3 a minute per address) comes back as 'try again in N seconds' (429)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    for (let i = 0; i < 3; i += 1) expectCheckEmail(await f.start(jar, EMAIL), jar);
    const fourth = await f.start(new CookieJar(), EMAIL);
    expect(expectErrorPage(fourth, "rate_limited", 429).message).toBe(
      "Too many requests. Try again in 60 seconds.",
    );
    expect(fourth.headers.get("Retry-After")).toBe("60");
  });

  it("starting: a bad API key is 'misconfigured' (503)", async () => {
    const log = captureWorkosLog();
    const f = setUp({ env: { WORKOS_API_KEY: "sk_test_wrong" } });
    expectErrorPage(await f.start(new CookieJar(), EMAIL), "misconfigured", 503);
    expect(log).toMatchObject([{ operation: "start", mappedTo: "misconfigured", status: 401 }]);
  });

  it("starting: 429 with Retry-After says 'try again in N seconds' (429)", async () => {
    const f = setUp();
    flows.emulator.failNext(CREATE, { status: 429, retryAfter: 5 });
    const result = await f.start(new CookieJar(), EMAIL);
    expect(expectErrorPage(result, "rate_limited", 429).message).toBe(
      "Too many requests. Try again in 5 seconds.",
    );
    expect(result.headers.get("Retry-After")).toBe("5");
  });

  const unavailable: [string, FailureSpec][] = [
    ["a 500", { status: 500 }],
    ["Magic Auth turned off (404)", { status: 404 }],
  ];
  // Retried by the client (200 + 400 ms of backoff), so run in one email mode only.
  if (mode === "workos") unavailable.push(["a 502 on every try", { status: 502, times: Infinity }]);

  it.each(unavailable)(
    "starting: %s is 'unavailable' (503), logged with WorkOS's request id",
    async (_name, spec) => {
      const log = captureWorkosLog();
      const f = setUp();
      flows.emulator.failNext(CREATE, spec);
      expectErrorPage(await f.start(new CookieJar(), EMAIL), "unavailable", 503);
      expect(log).toMatchObject([
        {
          operation: "start",
          mappedTo: "unavailable",
          requestId: expect.stringMatching(/^req_/) as unknown,
        },
      ]);
    },
  );

  it("starting: a WorkOS that does not answer in time is 'unavailable' (503)", async () => {
    const f = setUp({ env: { WORKOS_TIMEOUT_MS: "150" } });
    // A minute away: only the timeout can end the call, however busy the machine.
    flows.emulator.failNext(CREATE, { delayMs: 60_000 });
    expectErrorPage(await f.start(new CookieJar(), EMAIL), "unavailable", 503);
  });

  it.each([
    ["a 500", { status: 500 }, "unavailable", 503],
    ["a 429", { status: 429, retryAfter: 12 }, "rate_limited", 429],
    ["a rejected client secret (401)", { status: 401 }, "misconfigured", 503],
  ] as const)(
    "checking the code: %s is a page, and the code still works afterwards",
    async (_name, spec, code, status) => {
      captureWorkosLog();
      const f = setUp();
      const jar = new CookieJar();
      const emailed = await requestCode(f, jar);
      flows.emulator.failNext(AUTHENTICATE, spec);
      const failed = await f.enterCode(jar, emailed);
      expectErrorPage(failed, code, status);
      if (code === "rate_limited") expect(failed.headers.get("Retry-After")).toBe("12");
      expectSignedIn(await f.enterCode(jar, emailed), jar);
    },
  );

  it("checking the code: a WorkOS that does not answer in time is 'unavailable' (503)", async () => {
    // Asking for the code must succeed within the timeout too: a whole second.
    const f = setUp({ env: { WORKOS_TIMEOUT_MS: "1000" } });
    const jar = new CookieJar();
    const emailed = await requestCode(f, jar);
    // A minute away: only the timeout can end the call, however busy the machine.
    flows.emulator.failNext(AUTHENTICATE, { delayMs: 60_000 });
    expectErrorPage(await f.enterCode(jar, emailed), "unavailable", 503);
  });

  if (mode === "app") {
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
