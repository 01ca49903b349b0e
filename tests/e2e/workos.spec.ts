/**
 * WorkOS through its emulator (the real SDK in the production build talks to it): Magic Link
 * with WorkOS's email and with the app's, Magic Auth codes, the fallback to a code when
 * passwordless sessions fail, and the used-link page's "Email me a code instead".
 */
import { audit, enterCode, expect, expectDashboard, main, requestSignIn, test } from "./fixtures";

test.describe("WorkOS via the emulator", () => {
  test("Magic Link, emailed by WorkOS, signs in through the callback", async ({
    page,
    servers,
    workos,
    workosMail,
    address,
  }) => {
    const server = await servers.get("workos-twice");
    const email = address("ml-workos");
    await requestSignIn(page, server, email);
    // WorkOS sends it: the page says WorkOS took the request, and no more (S32).
    await expect(page.locator("[data-delivery]")).toHaveAttribute("data-delivery", "sent");
    await expect(page.getByRole("status")).toContainText(
      "our sign-in provider is sending a link to it; we cannot see when it arrives. Open the link in this browser.",
    );
    await expect(page.getByLabel("Six-digit code")).toHaveCount(0);
    await audit(page, "check email (Magic Link)");

    const message = await workosMail.nth(email, 1);
    expect(message.link).toMatch(new RegExp(`^${workos.url}/passwordless/[^/]+/confirm$`));
    await page.goto(message.link as string);
    await expectDashboard(page, server, email);
    // People are shown no adapter id.
    await expect(page.getByText(/workos-magic/)).toHaveCount(0);
  });

  test("Magic Link, emailed by the app, signs in through the callback", async ({
    page,
    servers,
    workos,
    mail,
    address,
  }) => {
    const server = await servers.get("workos-app");
    const email = address("ml-app");
    await requestSignIn(page, server, email);
    const message = await mail.nth(email, 1);
    expect(message.subject).toContain("Sign in");
    expect(message.link).toMatch(new RegExp(`^${workos.url}/passwordless/[^/]+/confirm$`));
    await page.goto(message.link as string);
    await expectDashboard(page, server, email);
  });

  test("Magic Auth: the code WorkOS emails signs in", async ({
    page,
    servers,
    workosMail,
    address,
  }) => {
    const server = await servers.get("magic-auth");
    const email = address("magic-auth");
    await requestSignIn(page, server, email);
    await expect(page.getByRole("status")).toContainText(
      "our sign-in provider is sending a code to it; we cannot see when it arrives. Enter the code here, in this tab.",
    );
    await audit(page, "check email (code only)");
    const message = await workosMail.nth(email, 1);
    expect(message.code).toMatch(/^\d{6}$/);
    await enterCode(page, message.code as string);
    await expectDashboard(page, server, email);
    await expect(page.getByText(/workos-magic/)).toHaveCount(0);
  });

  test("when passwordless sessions fail (500), a code comes instead and signs in", async ({
    page,
    servers,
    workos,
    workosMail,
    address,
  }) => {
    const server = await servers.get("workos-twice");
    const email = address("fallback");
    workos.failNext("/passwordless/sessions", { status: 500 });
    await requestSignIn(page, server, email);
    await expect(page.getByRole("status")).toContainText(
      "our sign-in provider is sending a code to it",
    );
    await expect(page.getByLabel("Six-digit code")).toBeVisible();
    await audit(page, "check email (fallback code)");

    const message = await workosMail.nth(email, 1);
    expect(message.subject).toBe("magic_auth");
    await enterCode(page, message.code as string);
    await expectDashboard(page, server, email);
  });

  test("a link a scanner used first: the page offers a code, and that code signs in", async ({
    page,
    servers,
    workosMail,
    address,
    openContext,
  }) => {
    const server = await servers.get("workos-twice");
    const email = address("scanned");
    await requestSignIn(page, server, email);
    const { link } = await workosMail.nth(email, 1);

    // A mail scanner (a browser without this sign-in's cookie) follows the link first: the
    // callback there exchanges nothing on GET and asks before doing anything (S7, S8).
    const scanner = await (await openContext()).newPage();
    await scanner.goto(link as string);
    await expect(
      scanner.getByRole("heading", { level: 1, name: "Continue signing in" }),
    ).toBeVisible();
    await expect(main(scanner).getByRole("button", { name: "Continue" })).toBeVisible();
    await audit(scanner, "callback without a pending sign-in");

    // The person clicks afterwards: WorkOS says the link was used.
    await page.goto(link as string);
    await expect(
      page.getByRole("heading", { level: 1, name: "Sign-in did not finish" }),
    ).toBeVisible();
    await expect(page.getByRole("alert")).toContainText("This link was already used");
    await audit(page, "used link", { screenshot: "error-used-link" });

    await page.getByRole("button", { name: "Email me a code instead" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();
    await expect(page.getByLabel("Six-digit code")).toBeVisible();
    const message = await workosMail.nth(email, 2);
    expect(message.subject).toBe("magic_auth");
    await enterCode(page, message.code as string);
    await expectDashboard(page, server, email);
  });
});
