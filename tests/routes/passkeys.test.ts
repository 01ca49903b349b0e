/**
 * Passkeys through the real routes: /account/passkeys (add, list, rename, remove), the two
 * options routes, and "Sign in with a passkey" on /login, with a software authenticator.
 * A passkey sign-in must make a session exactly as an email sign-in does (S20, S16, S10–S12,
 * S28), and S29/S30 must hold at the routes as in the service.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSignInLimits, type SignInLimitsOptions } from "../../app/auth/limits.server";
import * as passkeysPage from "../../app/routes/account.passkeys";
import type { PasskeyRow } from "../../app/routes/account.passkeys";
import * as registrationOptions from "../../app/routes/account.passkeys.options";
import * as signInOptions from "../../app/routes/auth.passkey";
import * as check from "../../app/routes/login.check";
import * as dashboard from "../../app/routes/dashboard";
import * as login from "../../app/routes/login";
import { MemoryStore } from "../../app/store/memory.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
  expectRedirectToLogin,
  getRequest,
  postForm,
  TEST_ORIGIN,
  type RouteResult,
  type TestApp,
} from "../support/auth";
import {
  SoftwareAuthenticator,
  type AssertionOverrides,
  type CreationOptions,
  type RequestOptions,
} from "../support/authenticator";

const ADA = "ada@example.com";
const BOB = "bob@example.com";
const IP = { "X-Forwarded-For": "203.0.113.9" };

let app: TestApp;
afterEach(() => app.close());

function withLimits(options: Omit<SignInLimitsOptions, "store"> = {}): TestApp {
  const clock = createTestClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  return createTestApp({
    env: { TRUST_PROXY: "1" },
    clock,
    store,
    limits: createSignInLimits({ store, emailSpacingSeconds: 0, ...options }),
  });
}

/** Sign in by emailed code in `jar`; the session cookie is kept. */
async function signInByEmail(jar: CookieJar, email: string): Promise<void> {
  const started = await callRoute(
    login.action,
    postForm("/login", { email, returnTo: "/dashboard" }, { cookie: jar, headers: IP }),
  );
  expect(started.status).toBe(303);
  jar.store(started);
  const { code } = app.lastEmailTo(email);
  const done = await callRoute(
    check.action,
    postForm("/login/check", { code: code as string }, { cookie: jar, headers: IP }),
  );
  expect(done.status).toBe(303);
  jar.store(done);
}

/** The whole "Add a passkey" in a signed-in jar, as the page's script does it. */
async function addPasskey(
  jar: CookieJar,
  device: SoftwareAuthenticator,
  name = "",
): Promise<RouteResult> {
  const answer = await callRoute(
    registrationOptions.action,
    postForm("/account/passkeys/options", {}, { cookie: jar }),
  );
  expect(answer.status).toBe(200);
  const { options } = answer.data as { options: CreationOptions };
  const added = await callRoute(
    passkeysPage.action,
    postForm(
      "/account/passkeys",
      { intent: "add", credential: JSON.stringify(device.register(options)), name },
      { cookie: jar, headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0" } },
    ),
  );
  jar.store(added);
  return added;
}

async function listPasskeys(jar: CookieJar): Promise<PasskeyRow[]> {
  const page = await callRoute(
    passkeysPage.loader,
    getRequest("/account/passkeys", { cookie: jar }),
  );
  expect(page.status).toBe(200);
  expect(page.headers.get("Cache-Control")).toBe("no-store");
  return (page.data as { passkeys: PasskeyRow[] }).passkeys;
}

/** Ada signed in by email in `first`, with a passkey on `device` added there. */
async function signedInWithPasskey(): Promise<{ first: CookieJar; device: SoftwareAuthenticator }> {
  const first = new CookieJar();
  await signInByEmail(first, ADA);
  const device = new SoftwareAuthenticator({ origin: TEST_ORIGIN });
  await addPasskey(first, device);
  return { first, device };
}

/** POST /auth/passkey in `jar` (its ceremony cookie kept): the options for the authenticator. */
async function passkeySignInOptions(jar: CookieJar): Promise<RequestOptions> {
  const answer = await callRoute(
    signInOptions.action,
    postForm("/auth/passkey", {}, { cookie: jar }),
  );
  expect(answer.status).toBe(200);
  jar.store(answer);
  return (answer.data as { options: RequestOptions }).options;
}

/** "Sign in with a passkey" in `jar`: options, the authenticator's assertion, POST /login. */
async function signInWithPasskey(
  jar: CookieJar,
  device: SoftwareAuthenticator,
  fields: Record<string, string> = {},
  overrides: AssertionOverrides = {},
): Promise<RouteResult> {
  const options = await passkeySignInOptions(jar);
  const result = await callRoute(
    login.action,
    postForm(
      "/login",
      {
        intent: "passkey",
        credential: JSON.stringify(device.assert(options, overrides)),
        ...fields,
      },
      { cookie: jar, headers: IP },
    ),
  );
  jar.store(result);
  return result;
}

async function dashboardEmail(jar: CookieJar): Promise<string | null> {
  const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
  if (page.status !== 200) return null;
  return (page.data as { email: string; adapter: string }).email;
}

describe("/account/passkeys", () => {
  beforeEach(() => {
    app = createTestApp({ env: { TRUST_PROXY: "1" } });
  });

  it("is for signed-in people only, and so are registration options", async () => {
    expectRedirectToLogin(
      await callRoute(passkeysPage.loader, getRequest("/account/passkeys")),
      "/account/passkeys",
    );
    const options = await callRoute(
      registrationOptions.action,
      postForm("/account/passkeys/options", {}),
    );
    expect(options.status).toBe(401);
  });

  it("adds a passkey with a default name from the browser, lists it, renames and removes it", async () => {
    const jar = new CookieJar();
    await signInByEmail(jar, ADA);
    const device = new SoftwareAuthenticator({ origin: TEST_ORIGIN });
    const added = await addPasskey(jar, device);
    expect(added.status).toBe(303);
    expect(added.location).toBe("/account/passkeys?done=added");
    const [row] = await listPasskeys(jar);
    expect(row).toMatchObject({ name: "Chrome on Linux", lastUsedAt: null, synced: false });
    // Nothing that signs anyone in reaches the page: no credential id, no public key.
    const page = await callRoute(
      passkeysPage.loader,
      getRequest("/account/passkeys", { cookie: jar }),
    );
    const body = await page.response.clone().text();
    expect(body).not.toContain(device.credentials[0]?.id);

    const handle = row?.handle as string;
    const renamed = await callRoute(
      passkeysPage.action,
      postForm(
        "/account/passkeys",
        { intent: "rename", passkey: handle, name: "Work laptop" },
        { cookie: jar },
      ),
    );
    expect(renamed.location).toBe("/account/passkeys?done=renamed");
    expect((await listPasskeys(jar))[0]?.name).toBe("Work laptop");

    const removed = await callRoute(
      passkeysPage.action,
      postForm("/account/passkeys", { intent: "remove", passkey: handle }, { cookie: jar }),
    );
    expect(removed.location).toBe("/account/passkeys?done=removed");
    expect(await listPasskeys(jar)).toEqual([]);
    expect(
      app.events.filter((e) => e.step.startsWith("passkey_")).map((e) => [e.step, e.outcome]),
    ).toEqual([
      ["passkey_add", "success"],
      ["passkey_rename", "success"],
      ["passkey_remove", "success"],
    ]);
  });

  it("keeps the name the person typed", async () => {
    const jar = new CookieJar();
    await signInByEmail(jar, ADA);
    await addPasskey(jar, new SoftwareAuthenticator({ origin: TEST_ORIGIN }), "My phone");
    expect((await listPasskeys(jar))[0]?.name).toBe("My phone");
  });

  it("S30: another person can neither rename nor remove someone's passkey", async () => {
    const ada = new CookieJar();
    const bob = new CookieJar();
    await signInByEmail(ada, ADA);
    await signInByEmail(bob, BOB);
    await addPasskey(ada, new SoftwareAuthenticator({ origin: TEST_ORIGIN }));
    const [row] = await listPasskeys(ada);
    for (const fields of [
      { intent: "remove", passkey: row?.handle as string, name: "" },
      { intent: "rename", passkey: row?.handle as string, name: "mine" },
    ]) {
      const result = await callRoute(
        passkeysPage.action,
        postForm("/account/passkeys", fields, { cookie: bob }),
      );
      expect(result.status).toBe(404);
    }
    expect(await listPasskeys(ada)).toEqual([row]);
    expect(await listPasskeys(bob)).toEqual([]);
  });

  it("S29: a registration with another session's challenge is refused", async () => {
    const ada = new CookieJar();
    const other = new CookieJar();
    await signInByEmail(ada, ADA);
    await signInByEmail(other, ADA);
    const answer = await callRoute(
      registrationOptions.action,
      postForm("/account/passkeys/options", {}, { cookie: ada }),
    );
    const { options } = answer.data as { options: CreationOptions };
    const device = new SoftwareAuthenticator({ origin: TEST_ORIGIN });
    const result = await callRoute(
      passkeysPage.action,
      postForm(
        "/account/passkeys",
        { intent: "add", credential: JSON.stringify(device.register(options)) },
        { cookie: other },
      ),
    );
    expect(result.status).toBe(400);
    expect(result.data).toMatchObject({ error: { code: "expired", problem: "no_challenge" } });
    expect(await listPasskeys(ada)).toEqual([]);
  });

  it("answers a malformed credential with 400, never a 500", async () => {
    const jar = new CookieJar();
    await signInByEmail(jar, ADA);
    for (const credential of ["", "{", "[]", JSON.stringify({ id: "x" })]) {
      const result = await callRoute(
        passkeysPage.action,
        postForm("/account/passkeys", { intent: "add", credential }, { cookie: jar }),
      );
      expect(result.status).toBe(400);
    }
  });
});

describe("Sign in with a passkey", () => {
  beforeEach(() => {
    app = createTestApp({ env: { TRUST_PROXY: "1" } });
  });

  it("signs in the passkey's owner like an email sign-in: a new session, the return path, one log line", async () => {
    const { first, device } = await signedInWithPasskey();

    const jar = new CookieJar();
    const result = await signInWithPasskey(jar, device, { returnTo: "/account/passkeys" });
    expect(result.status).toBe(303);
    expect(result.location).toBe("/account/passkeys");
    expect(result.headers.get("Cache-Control")).toBe("no-store");
    expect(jar.has("session")).toBe(true);
    // The ceremony cookie ends with the sign-in.
    expect(jar.has("passkey")).toBe(false);
    expect(jar.get("session")).not.toBe(first.get("session"));
    const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
    expect(page.data).toMatchObject({ email: ADA, adapter: "passkey" });
    const line = app.events.find((e) => e.step === "passkey");
    expect(line).toMatchObject({ outcome: "success", adapter: "passkey", ip: "203.0.113.9" });
    expect(line?.emailHash).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(app.events)).not.toContain(device.credentials[0]?.id);
    // Both sessions are the same person's, each listed and revocable on its own.
    const { session } = await app.services.sessions.read(getRequest("/", { cookie: jar }));
    expect(await app.services.sessions.list(session?.user.id as string)).toHaveLength(2);
  });

  it("S16: the return path is validated as for email", async () => {
    const { device } = await signedInWithPasskey();
    for (const returnTo of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const result = await signInWithPasskey(new CookieJar(), device, { returnTo });
      expect(result.status).toBe(303);
      expect(result.location).toBe("/dashboard");
    }
  });

  it("S29: a used assertion replayed is refused, and signs nobody in", async () => {
    const { device } = await signedInWithPasskey();

    const jar = new CookieJar();
    const options = await passkeySignInOptions(jar);
    const credential = JSON.stringify(device.assert(options));
    const attacker = jar.clone();
    const ok = await callRoute(
      login.action,
      postForm("/login", { intent: "passkey", credential }, { cookie: jar }),
    );
    expect(ok.status).toBe(303);
    const replay = await callRoute(
      login.action,
      postForm("/login", { intent: "passkey", credential }, { cookie: attacker }),
    );
    expect(replay.status).toBe(400);
    expect(replay.data).toMatchObject({
      method: "passkey",
      error: { code: "expired", problem: "no_challenge" },
    });
    expect(
      replay.headers
        .getSetCookie()
        .some((c) => c.startsWith("session=") && !c.startsWith("session=;")),
    ).toBe(false);
  });

  it("S29: without this browser's ceremony cookie nothing is verified", async () => {
    const { device } = await signedInWithPasskey();
    const options = await passkeySignInOptions(new CookieJar());
    // Another browser (no cookie) posts the assertion.
    const result = await callRoute(
      login.action,
      postForm("/login", { intent: "passkey", credential: JSON.stringify(device.assert(options)) }),
    );
    expect(result.status).toBe(400);
    expect(app.events.at(-1)).toMatchObject({ step: "passkey", outcome: "expired:no_ceremony" });
  });

  it("S29: the options are for APP_ORIGIN's host whatever the Host header says", async () => {
    const result = await callRoute(
      signInOptions.action,
      postForm(
        "/auth/passkey",
        {},
        { headers: { Host: "evil.example", "X-Forwarded-Host": "evil.example" } },
      ),
    );
    expect((result.data as { options: RequestOptions }).options.rpId).toBe("localhost");
    expect(result.headers.get("Cache-Control")).toBe("no-store");
  });

  it("S25: a cross-site request for options is refused", async () => {
    const result = await callRoute(
      signInOptions.action,
      postForm("/auth/passkey", {}, { origin: "https://evil.example" }),
    );
    expect(result.status).toBe(403);
  });

  it("S30: a removed passkey is refused with words about passkeys", async () => {
    const { first, device } = await signedInWithPasskey();
    const [row] = await listPasskeys(first);
    await callRoute(
      passkeysPage.action,
      postForm(
        "/account/passkeys",
        { intent: "remove", passkey: row?.handle as string },
        { cookie: first },
      ),
    );
    const jar = new CookieJar();
    const result = await signInWithPasskey(jar, device);
    expect(result.status).toBe(400);
    expect(result.data).toMatchObject({
      method: "passkey",
      error: { code: "invalid", problem: "unknown_credential" },
    });
    expect(jar.has("session")).toBe(false);
  });

  it("S30: a counter that goes backwards is refused and logged as a possible clone", async () => {
    const { device } = await signedInWithPasskey();
    expect((await signInWithPasskey(new CookieJar(), device, {}, { counter: 10 })).status).toBe(
      303,
    );
    const clone = await signInWithPasskey(new CookieJar(), device, {}, { counter: 4 });
    expect(clone.status).toBe(400);
    expect(app.events.at(-1)).toMatchObject({ step: "passkey", outcome: "possible_clone" });
  });

  it("S30: a deleted account's passkeys sign in nobody", async () => {
    const { first, device } = await signedInWithPasskey();
    const { session } = await app.services.sessions.read(getRequest("/", { cookie: first }));
    expect(await app.services.users.deleteAccount(session?.user.id as string)).toBe(true);
    const result = await signInWithPasskey(new CookieJar(), device);
    expect(result.status).toBe(400);
    expect(result.data).toMatchObject({ error: { problem: "unknown_credential" } });
  });

  it("the GET of the options route changes nothing", async () => {
    const result = await callRoute(signInOptions.loader, getRequest("/auth/passkey"));
    expect(result.status).toBe(405);
    expect(result.headers.getSetCookie()).toEqual([]);
  });
});

describe("Passkey sign-in shares the email sign-in's limits", () => {
  it("S12: it spends the same per-IP verify budget as codes", async () => {
    app = withLimits({ ipPerHour: 3 });
    const { device } = await signedInWithPasskey(); // one verify from this IP
    expect((await signInWithPasskey(new CookieJar(), device)).status).toBe(303);
    expect((await signInWithPasskey(new CookieJar(), device)).status).toBe(303);
    const refused = await signInWithPasskey(new CookieJar(), device);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(app.events.at(-1)).toMatchObject({ step: "passkey", outcome: "throttled:ip" });
  });

  it("S10: failed passkey sign-ins count toward the owner's lockout, which stops email sign-in too", async () => {
    app = withLimits({ lockoutFailures: 3 });
    const { device } = await signedInWithPasskey();
    for (let i = 0; i < 3; i++) {
      const failed = await signInWithPasskey(new CookieJar(), device, {}, { rpId: "evil.example" });
      expect(failed.status).toBe(400);
    }
    const locked = await signInWithPasskey(new CookieJar(), device);
    expect(locked.status).toBe(429);
    expect(locked.data).toMatchObject({ method: "passkey", error: { code: "too_many_attempts" } });
    // The email way in is locked for the same address: the same answer, but no email (S13).
    const sent = app.outbox.list().length;
    const jar = new CookieJar();
    const start = await callRoute(
      login.action,
      postForm("/login", { email: ADA }, { cookie: jar, headers: IP }),
    );
    expect(start.status).toBe(303);
    expect(app.outbox.list()).toHaveLength(sent);
    expect(app.events.at(-1)).toMatchObject({ step: "start", outcome: "throttled:locked" });
  });

  it("a good passkey sign-in clears the failures, as a good code does", async () => {
    app = withLimits({ lockoutFailures: 2 });
    const { device } = await signedInWithPasskey();
    expect(
      (await signInWithPasskey(new CookieJar(), device, {}, { rpId: "evil.example" })).status,
    ).toBe(400);
    expect((await signInWithPasskey(new CookieJar(), device)).status).toBe(303);
    expect(
      (await signInWithPasskey(new CookieJar(), device, {}, { rpId: "evil.example" })).status,
    ).toBe(400);
    // Not locked: the one failure before the success was forgotten.
    const jar = new CookieJar();
    expect((await signInWithPasskey(jar, device)).status).toBe(303);
    expect(await dashboardEmail(jar)).toBe(ADA);
  });
});
