// Example: a loader test of a protected route, signed in and signed out.
import { afterEach, beforeEach, expect, it } from "vitest";
import * as dashboard from "../../app/routes/dashboard";
import {
  callRoute,
  createTestApp,
  expectRedirectToLogin,
  signedInRequest,
  signedOutRequest,
  type TestApp,
} from "../support/auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(() => app.close());

it("gives a signed-in person their data", async () => {
  const request = await signedInRequest("/dashboard", { user: { email: "ada@example.com" } });
  const result = await callRoute(dashboard.loader, request);
  expect(result.data).toMatchObject({ email: "ada@example.com" });
});

it("redirects a signed-out visitor to sign in, and back here afterwards", async () => {
  const result = await callRoute(dashboard.loader, signedOutRequest("/dashboard?tab=2"));
  expectRedirectToLogin(result, "/dashboard?tab=2");
});

it("sends a signed-out client-side navigation back to the page, not its .data URL", async () => {
  const raw = signedOutRequest("/dashboard.data?tab=2&_routes=root%2Croutes%2Fdashboard");
  expectRedirectToLogin(await callRoute(dashboard.loader, raw), "/dashboard?tab=2");
});
