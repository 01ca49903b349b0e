// Example: an action test of one sign-in step, with the kit's test adapter (no email).
import { afterEach, beforeEach, expect, it } from "vitest";
import * as login from "../../app/routes/login";
import {
  callRoute,
  createTestAdapter,
  createTestApp,
  postForm,
  type TestAdapter,
  type TestApp,
} from "../support/auth";

let app: TestApp;
let adapter: TestAdapter;
beforeEach(() => {
  adapter = createTestAdapter();
  app = createTestApp({ adapter });
});
afterEach(() => app.close());

it("starts a sign-in: one delivery, then 303 to the check-email page", async () => {
  const result = await callRoute(login.action, postForm("/login", { email: "Ada@Example.com" }));
  expect(result.status).toBe(303);
  expect(result.location).toBe("/login/check");
  expect(adapter.lastDeliveryTo("ada@example.com").code).toMatch(/^\d{6}$/);
});

it("shows 'try again shortly' when the provider is down", async () => {
  adapter.breakProvider();
  const result = await callRoute(login.action, postForm("/login", { email: "ada@example.com" }));
  expect(result.status).toBe(503);
  expect(result.data).toEqual({ error: { code: "unavailable" } });
});
