/**
 * "Delete my account" through the real routes: a code to the account's address, then the
 * account, its identities and every session on every device are gone, and the page says so.
 * SHOW_STORE=1 prints the store before and after.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { createSignInLimits } from "../../app/auth/limits.server";
import { deriveKey, hmacHex } from "../../app/lib/crypto.server";
import { hashEmail } from "../../app/lib/log.server";
import * as account from "../../app/routes/account";
import * as dashboard from "../../app/routes/dashboard";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import { MemoryStore } from "../../app/store/memory.server";
import type { MemoryUserStore } from "../../app/store/users/memory.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
  expectRedirectToLogin,
  getRequest,
  postForm,
  type TestApp,
} from "../support/auth";

let app: TestApp;
let store: MemoryStore;
let users: MemoryUserStore;
beforeEach(() => {
  app = createTestApp();
  store = app.store as MemoryStore;
  users = app.userStore as MemoryUserStore;
});
afterEach(() => app.close());

const EMAIL = "leaving@example.com";

async function signIn(): Promise<CookieJar> {
  const jar = new CookieJar();
  jar.store(await callRoute(login.action, postForm("/login", { email: EMAIL }, { cookie: jar })));
  const { code } = app.lastEmailTo(EMAIL);
  const done = await callRoute(
    check.action,
    postForm("/login/check", { code: code as string }, { cookie: jar }),
  );
  expect(done.status).toBe(303);
  return jar.store(done);
}

const post = (jar: CookieJar, fields: Record<string, string>) =>
  callRoute(account.action, postForm("/account", fields, { cookie: jar }));

/** Everything the two stores hold, for the record and the checks. */
function snapshot() {
  return { store: store.dump(), users: users.dump() };
}

it("deletes the account with the emailed code: user, identities and every device's session gone", async () => {
  const laptop = await signIn();
  const phone = await signIn();
  const page = await callRoute(account.loader, getRequest("/account", { cookie: laptop }));
  expect(page.data).toMatchObject({
    email: EMAIL,
    methods: [{ method: "local" }],
    confirming: false,
  });

  expect((await post(laptop, { intent: "delete-send" })).status).toBe(303);
  const { code, subject } = app.lastEmailTo(EMAIL);
  expect(subject).toMatch(/deleting your/i);
  expect(
    (await callRoute(account.loader, getRequest("/account", { cookie: laptop }))).data,
  ).toMatchObject({
    confirming: true,
  });
  // The code is bound to the session that asked: the phone's session cannot use it.
  expect((await post(phone, { intent: "delete-confirm", code: code as string })).status).toBe(400);
  expect(
    (
      await post(laptop, {
        intent: "delete-confirm",
        code: code === "000000" ? "111111" : "000000",
      })
    ).status,
  ).toBe(400);

  const userId = users.dump()[0]?.user.id as string;
  const before = snapshot();
  const done = await post(laptop, { intent: "delete-confirm", code: code as string });
  const after = snapshot();
  if (process.env.SHOW_STORE) console.info(JSON.stringify({ before, after }, null, 2));

  expect(done.status).toBe(303);
  expect(done.location).toBe("/account/deleted");
  expect(done.headers.get("Clear-Site-Data")).toBe('"cookies"');
  laptop.store(done);
  // Every device is signed out at once.
  expectRedirectToLogin(
    await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: laptop })),
    "/dashboard",
  );
  expectRedirectToLogin(
    await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: phone })),
    "/dashboard",
  );
  // Nothing of the person remains but what the abuse limits and the revocation need.
  expect(after.users).toEqual([]);
  const keys = after.store.map(([key]) => key);
  expect(keys.filter((key) => key.includes(userId))).toEqual([`session:not-before:${userId}`]);
  expect(JSON.stringify(after.store)).not.toContain(EMAIL);
  expect(
    keys.some((key) => key.startsWith("session:meta:") || key.startsWith("session:index:")),
  ).toBe(false);
  expect(keys.some((key) => key.startsWith("account:delete"))).toBe(false);
  expect(app.events.at(-1)).toMatchObject({ step: "user", outcome: "deleted" });
  // The address may sign up again, as a new user.
  await signIn();
  expect(users.dump()[0]?.user.id).not.toBe(userId);
});

it("five wrong codes kill the pending deletion; a code is single use", async () => {
  const jar = await signIn();
  await post(jar, { intent: "delete-send" });
  const { code } = app.lastEmailTo(EMAIL);
  const wrong = code === "000000" ? "111111" : "000000";
  for (let i = 0; i < 5; i++)
    expect((await post(jar, { intent: "delete-confirm", code: wrong })).status).toBe(400);
  const dead = await post(jar, { intent: "delete-confirm", code: code as string });
  expect(dead.data).toMatchObject({ error: expect.stringMatching(/Too many wrong codes/) });
  expect(users.dump()).toHaveLength(1);
});

it("signed out, the page and its actions send the visitor to sign in", async () => {
  expectRedirectToLogin(await callRoute(account.loader, getRequest("/account")), "/account");
  expectRedirectToLogin(await post(new CookieJar(), { intent: "delete-send" }), "/account");
});

it("the code's email says ten minutes; only its keyed hash is kept, and the send is logged", async () => {
  const jar = await signIn();
  await post(jar, { intent: "delete-send" });
  const { code, text } = app.lastEmailTo(EMAIL);
  expect(text).toContain("10 minutes");
  const [record] = store.dump().filter(([key]) => key.startsWith("account:delete:"));
  const key = deriveKey(app.services.config.loginHashSecret, "account-delete");
  expect(JSON.parse(record?.[1] ?? "{}")).toMatchObject({ hash: hmacHex(key, code as string) });
  expect(app.events.at(-1)).toEqual({
    step: "user",
    outcome: "delete_code_sent",
    emailHash: hashEmail(EMAIL),
  });
});

it("a code may be typed with spaces or a dash; without a code pending, it has expired", async () => {
  const jar = await signIn();
  const expired = await post(jar, { intent: "delete-confirm", code: "123456" });
  expect(expired.data).toMatchObject({ error: expect.stringMatching(/has expired/) });
  await post(jar, { intent: "delete-send" });
  const code = app.lastEmailTo(EMAIL).code as string;
  const wrong = await post(jar, {
    intent: "delete-confirm",
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.data).toMatchObject({ error: expect.stringMatching(/not right/) });
  const typed = `${code.slice(0, 3)} - ${code.slice(3)}`;
  expect((await post(jar, { intent: "delete-confirm", code: typed })).status).toBe(303);
  expect(users.dump()).toEqual([]);
});

it("wrong codes count against the session that made them only", async () => {
  const laptop = await signIn();
  const phone = await signIn();
  await post(laptop, { intent: "delete-send" });
  const code = app.lastEmailTo(EMAIL).code as string;
  await post(phone, { intent: "delete-send" });
  const phoneCode = app.lastEmailTo(EMAIL).code as string;
  const wrong = [code, phoneCode].includes("000000")
    ? [code, phoneCode].includes("111111")
      ? "222222"
      : "111111"
    : "000000";
  for (let i = 0; i < 5; i++) await post(phone, { intent: "delete-confirm", code: wrong });
  expect((await post(laptop, { intent: "delete-confirm", code })).status).toBe(303);
});

it("a code pending for another user in this session has expired", async () => {
  const jar = await signIn();
  await post(jar, { intent: "delete-send" });
  const code = app.lastEmailTo(EMAIL).code as string;
  const [[key, value]] = store.dump().filter(([k]) => k.startsWith("account:delete:")) as [
    [string, string],
  ];
  await store.set(key, JSON.stringify({ ...JSON.parse(value), uid: "usr_other" }), 60_000);
  const refused = await post(jar, { intent: "delete-confirm", code });
  expect(refused.data).toMatchObject({ error: expect.stringMatching(/has expired/) });
  expect(users.dump()).toHaveLength(1);
});

it("of two confirmations at once, one deletes and the other finds the code taken", async () => {
  const jar = await signIn();
  await post(jar, { intent: "delete-send" });
  const code = app.lastEmailTo(EMAIL).code as string;
  const both = await Promise.all([
    post(jar, { intent: "delete-confirm", code }),
    post(jar, { intent: "delete-confirm", code }),
  ]);
  expect(both.map((r) => r.status).sort()).toEqual([303, 400]);
  expect(both.find((r) => r.status === 400)?.data).toMatchObject({
    error: expect.stringMatching(/has expired/),
  });
});

it("the send budgets of sign-in apply to deletion codes (S11)", async () => {
  await app.close();
  const clock = createTestClock();
  const limited = new MemoryStore({ clock, sweepIntervalMs: 0 });
  app = createTestApp({
    clock,
    store: limited,
    limits: createSignInLimits({ store: limited, clock, emailSpacingSeconds: 60 }),
  });
  store = limited;
  users = app.userStore as MemoryUserStore;
  const jar = await signIn();
  clock.advance(60_000);
  expect((await post(jar, { intent: "delete-send" })).status).toBe(303);
  const sent = app.events.length;
  const refused = await post(jar, { intent: "delete-send" });
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
  expect(app.events.slice(sent).some((e) => e.outcome === "delete_code_sent")).toBe(false);
  clock.advance(60_000);
  expect((await post(jar, { intent: "delete-send" })).status).toBe(303);
  expect(app.events.at(-1)).toMatchObject({ outcome: "delete_code_sent" });
});
