// Example: a whole sign-in through the dev outbox, as a person would do it.
import { afterEach, beforeEach, expect, it } from "vitest";
import * as dashboard from "../../app/routes/dashboard";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import {
  callRoute,
  CookieJar,
  createTestApp,
  getRequest,
  postForm,
  type TestApp,
} from "../support/auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(() => app.close());

it("signs in with the emailed code and reaches the dashboard", async () => {
  const browser = new CookieJar(); // keeps cookies between requests, like a browser
  browser.store(
    await callRoute(
      login.action,
      postForm("/login", { email: "ada@example.com" }, { cookie: browser }),
    ),
  );

  const { code } = app.lastEmailTo("ada@example.com"); // read the email: link, token, code
  const signedIn = await callRoute(
    check.action,
    postForm("/login/check", { code: code as string }, { cookie: browser }),
  );
  expect(signedIn.location).toBe("/dashboard");
  browser.store(signedIn);

  const page = await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: browser }));
  expect(page.data).toMatchObject({ email: "ada@example.com" });
});
