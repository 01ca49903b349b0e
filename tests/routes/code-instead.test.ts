import { afterEach, beforeEach, expect, it } from "vitest";
import { createSignInLimits } from "../../app/auth/limits.server";
import { MemoryStore } from "../../app/store/memory.server";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import {
  callRoute,
  CookieJar,
  createTestAdapter,
  createTestApp,
  getRequest,
  postForm,
  type TestAdapter,
  type TestApp,
} from "../support/auth";

let app: TestApp;
let adapter: TestAdapter;
beforeEach(() => {
  // A link-only provider that can also send a code, as WorkOS Magic Link + Magic Auth.
  adapter = createTestAdapter({ delivers: { link: true, code: false } });
  app = createTestApp({
    adapter,
    limits: createSignInLimits({ store: new MemoryStore({ sweepIntervalMs: 0 }) }),
  });
});
afterEach(() => app.close());

it("S11: 'email me a code instead' seconds after the link goes out despite the spacing, then the code signs in", async () => {
  const jar = new CookieJar();
  jar.store(
    await callRoute(
      login.action,
      postForm("/login", { email: "ada@example.com" }, { cookie: jar }),
    ),
  );
  // A scanner used the link; the person asks for a code at once.
  const instead = await callRoute(
    check.action,
    postForm("/login/check", { intent: "code-instead" }, { cookie: jar }),
  );
  expect(instead.location).toBe("/login/check");
  jar.store(instead);
  expect(adapter.deliveries).toHaveLength(2);
  const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
  expect(page.data).toMatchObject({ delivered: { code: true } });
  const { code } = adapter.lastDeliveryTo("ada@example.com");
  const signedIn = await callRoute(
    check.action,
    postForm("/login/check", { code }, { cookie: jar }),
  );
  expect(signedIn.status).toBe(303);
  expect(signedIn.location).toBe("/dashboard");
});

it("S11: a plain 'send it again' within the spacing sends nothing, and answers the same", async () => {
  const jar = new CookieJar();
  const first = await callRoute(
    login.action,
    postForm("/login", { email: "ada@example.com" }, { cookie: jar }),
  );
  jar.store(first);
  const again = await callRoute(
    check.action,
    postForm("/login/check", { intent: "resend" }, { cookie: jar }),
  );
  expect([again.status, again.location]).toEqual([first.status, first.location]);
  expect(adapter.deliveries).toHaveLength(1);
});
