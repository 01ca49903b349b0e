/**
 * MFA when WorkOS asks for it, through the real routes, the registry-built adapter and the
 * real SDK against the WorkOS emulator (which checks TOTP codes by RFC 6238): a Magic Auth
 * (or SSO) sign-in that WorkOS answers with `mfa_enrollment` takes the person to
 * /login/mfa with a new factor's QR code and secret; `mfa_challenge` asks for the code of
 * the enrolled factor; `authenticateWithTotp` then signs in. The pending authentication
 * token lives only in the sealed, short-lived second-factor cookie.
 */
import { describe, expect, it } from "vitest";
import { createSignInLimits } from "../../app/auth/limits.server";
import { MemoryStore } from "../../app/store/memory.server";
import type { EmailLinkStrategy } from "../../app/auth/strategy.server";
import * as mfaPage from "../../app/routes/login.mfa";
import { callRoute, CookieJar, getRequest, postForm } from "../support/auth";
import { totp } from "../emulators/workos/totp";
import {
  calls,
  captureWorkosLog,
  expectCheckEmail,
  expectErrorPage,
  expectSignedIn,
  workosFlowSuite,
  type FlowOptions,
  type WorkosFlow,
} from "./workos-support";

const flows = workosFlowSuite("workos-magic-auth");

const EMAIL = "grace@example.com";
const TOTP_GRANT = "/user_management/authenticate";

/** Magic Auth up to the point where WorkOS asks for MFA: 303 to /login/mfa. */
async function firstFactor(f: WorkosFlow, jar: CookieJar): Promise<void> {
  expectCheckEmail(await f.start(jar, EMAIL, "/dashboard?from=mfa"), jar);
  const result = await f.enterCode(jar, f.emailedCode(EMAIL));
  expect(result.status, JSON.stringify(result.data)).toBe(303);
  expect(result.location).toBe("/login/mfa");
  expect(jar.has("mfa")).toBe(true);
  // The email sign-in is spent; the second factor has its own cookie.
  expect(jar.has("pending")).toBe(false);
  expect(jar.has("session")).toBe(false);
}

async function page(jar: CookieJar) {
  return callRoute(mfaPage.loader, getRequest("/login/mfa", { cookie: jar }));
}

async function enterTotp(jar: CookieJar, code: string) {
  const result = await callRoute(
    mfaPage.action,
    postForm("/login/mfa", { intent: "second-factor", code }, { cookie: jar }),
  );
  jar.store(result);
  return result;
}

/** A six-digit code that is not `code`. */
const wrong = (code: string) => (code === "000000" ? "111111" : "000000");

/** Limits that remember which addresses had a failure counted. */
function countingLimits(): { limits: EmailLinkStrategy.Limits; failures: string[] } {
  const real = createSignInLimits({ store: new MemoryStore({ sweepIntervalMs: 0 }) });
  const failures: string[] = [];
  return {
    failures,
    limits: {
      ...real,
      allowSend: real.allowSend.bind(real),
      allowVerify: real.allowVerify.bind(real),
      recordSuccess: real.recordSuccess.bind(real),
      recordFailure: async (email) => {
        failures.push(email);
        await real.recordFailure(email);
      },
    },
  };
}

function setUp(options: FlowOptions = {}): WorkosFlow {
  const f = flows.setUp("workos", options);
  f.emulator.setMfa("required");
  return f;
}

describe("MFA required: enrolling a TOTP factor", () => {
  it("shows the QR code and the secret as text; the code from the app signs in", async () => {
    const f = setUp();
    const jar = new CookieJar();
    await firstFactor(f, jar);

    const shown = await page(jar);
    expect(shown.status).toBe(200);
    expect(shown.headers.get("Cache-Control")).toBe("no-store");
    const data = shown.data as {
      kind: string;
      email: string;
      enrollment: { qrCode: string | null; secret: string };
    };
    expect(data).toMatchObject({ kind: "enroll", email: EMAIL });
    expect(data.enrollment.qrCode).toMatch(/^data:image\/(png|svg\+xml);base64,/);
    const secret = data.enrollment.secret.replace(/\s/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    // The person's authenticator app, from the secret typed by hand.
    const done = await enterTotp(jar, totp(secret, f.emulator.now()));
    expectSignedIn(done, jar, "/dashboard?from=mfa");
    expect(jar.has("mfa")).toBe(false);
    expect((await f.whoAmI(jar)).data).toMatchObject({
      email: EMAIL,
      adapter: "workos-magic-auth",
    });
    expect(f.emulator.userSessions(EMAIL)).toMatchObject([{ status: "active" }]);
  });

  it("the pending authentication token is only in the sealed cookie, never on the page", async () => {
    const f = setUp();
    const jar = new CookieJar();
    await firstFactor(f, jar);
    const shown = await page(jar);
    const text = JSON.stringify(shown.data);
    expect(text).not.toMatch(/pending|token|auth_challenge/i);
    // Sealed (AES-GCM): neither the step's fields nor the address can be read from it.
    const opened = Buffer.from(decodeURIComponent(jar.get("mfa") ?? ""), "base64url").toString();
    expect(opened.length).toBeGreaterThan(0);
    for (const readable of ['"state"', '"email"', EMAIL]) expect(opened).not.toContain(readable);
  });

  it("a wrong code is 'invalid', counts towards the limits, and the right one still works", async () => {
    const { limits, failures } = countingLimits();
    const f = setUp({ limits });
    const jar = new CookieJar();
    await firstFactor(f, jar);
    const secret = ((await page(jar)).data as { enrollment: { secret: string } }).enrollment.secret;
    const code = totp(secret.replace(/\s/g, ""), f.emulator.now());
    expect(expectErrorPage(await enterTotp(jar, wrong(code)), "invalid", 400).title).toBe(
      "That didn't match",
    );
    expect(failures).toEqual([EMAIL]);
    expectSignedIn(await enterTotp(jar, code), jar, "/dashboard?from=mfa");
  });

  it("five wrong codes end the step: even the right code is refused (429)", async () => {
    const f = setUp();
    const jar = new CookieJar();
    await firstFactor(f, jar);
    const secret = ((await page(jar)).data as { enrollment: { secret: string } }).enrollment.secret;
    const code = totp(secret.replace(/\s/g, ""), f.emulator.now());
    for (let i = 0; i < 4; i += 1)
      expectErrorPage(await enterTotp(jar, wrong(code)), "invalid", 400);
    expectErrorPage(await enterTotp(jar, wrong(code)), "too_many_attempts", 429);
    const before = calls(f.emulator, TOTP_GRANT);
    expectErrorPage(await enterTotp(jar, code), "too_many_attempts", 429);
    expect(calls(f.emulator, TOTP_GRANT)).toBe(before);
  });

  it("not six digits is refused before WorkOS is asked", async () => {
    const f = setUp();
    const jar = new CookieJar();
    await firstFactor(f, jar);
    const before = calls(f.emulator, TOTP_GRANT);
    expectErrorPage(await enterTotp(jar, "12345"), "invalid_input", 400);
    expect(calls(f.emulator, TOTP_GRANT)).toBe(before);
  });
});

describe("an enrolled factor: the challenge", () => {
  it("asks for the code of the enrolled app (no QR code), then signs in", async () => {
    const f = flows.setUp("workos");
    const { secret } = f.emulator.enrollTotp(EMAIL);
    const jar = new CookieJar();
    await firstFactor(f, jar);
    const shown = await page(jar);
    expect(shown.data).toMatchObject({ kind: "challenge", enrollment: null });
    expectSignedIn(
      await enterTotp(jar, totp(secret, f.emulator.now())),
      jar,
      "/dashboard?from=mfa",
    );
  });

  it("a code already used once is refused (each time step works once)", async () => {
    const f = flows.setUp("workos");
    const { secret } = f.emulator.enrollTotp(EMAIL);
    const first = new CookieJar();
    await firstFactor(f, first);
    const code = totp(secret, f.emulator.now());
    expectSignedIn(await enterTotp(first, code), first, "/dashboard?from=mfa");
    const second = new CookieJar();
    await firstFactor(f, second);
    expectErrorPage(await enterTotp(second, code), "invalid", 400);
  });
});

describe("the step expires", () => {
  it("WorkOS's pending token after its ten minutes: 'expired', start again", async () => {
    const f = flows.setUp("workos");
    const { secret } = f.emulator.enrollTotp(EMAIL);
    const jar = new CookieJar();
    await firstFactor(f, jar);
    f.emulator.advance(10 * 60_000 + 1_000);
    expectErrorPage(await enterTotp(jar, totp(secret, f.emulator.now())), "expired", 400);
  });

  it("the second-factor cookie after its ten minutes: 'expired', and the page sends to /login", async () => {
    const f = flows.setUp("workos");
    const { secret } = f.emulator.enrollTotp(EMAIL);
    const jar = new CookieJar();
    await firstFactor(f, jar);
    f.app.clock.advance(10 * 60_000 + 1_000);
    const before = calls(f.emulator, TOTP_GRANT);
    expectErrorPage(await enterTotp(jar, totp(secret, f.emulator.now())), "expired", 400);
    expect(calls(f.emulator, TOTP_GRANT)).toBe(before);
    const shown = await page(jar);
    expect(shown.status).toBe(302);
    expect(shown.location).toBe("/login");
  });

  it("a browser without the step gets nothing from a code", async () => {
    const f = flows.setUp("workos");
    const { secret } = f.emulator.enrollTotp(EMAIL);
    await firstFactor(f, new CookieJar());
    expectErrorPage(
      await enterTotp(new CookieJar(), totp(secret, f.emulator.now())),
      "expired",
      400,
    );
  });
});

describe("WorkOS failing in the second step", () => {
  it.each([
    ["a 500", { status: 500 }, "unavailable", 503],
    ["a 429", { status: 429, retryAfter: 7 }, "rate_limited", 429],
  ] as const)(
    "%s at the TOTP check is a page, and the code still works after",
    async (_n, spec, code, status) => {
      captureWorkosLog();
      const f = flows.setUp("workos");
      const { secret } = f.emulator.enrollTotp(EMAIL);
      const jar = new CookieJar();
      await firstFactor(f, jar);
      f.emulator.failNext(TOTP_GRANT, spec);
      expectErrorPage(await enterTotp(jar, totp(secret, f.emulator.now())), code, status);
      expectSignedIn(
        await enterTotp(jar, totp(secret, f.emulator.now())),
        jar,
        "/dashboard?from=mfa",
      );
    },
  );

  it("enrollment failing at WorkOS is 'unavailable' (503), not a 500", async () => {
    captureWorkosLog();
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, EMAIL), jar);
    f.emulator.failNext("/user_management/users/:id/auth_factors", { status: 500 });
    expectErrorPage(await f.enterCode(jar, f.emailedCode(EMAIL)), "unavailable", 503);
  });
});
