/**
 * The local adapter in the production build, mail through a real SMTP server: the link in
 * the same browser, the code, the link opened in another browser, and the return path.
 */
import {
  audit,
  enterCode,
  expect,
  expectDashboard,
  expectSignedOut,
  main,
  openLinkAndContinue,
  requestSignIn,
  test,
} from "./fixtures";

test.describe("local adapter, production build", () => {
  test("the emailed link, opened in the same browser, signs in", async ({
    page,
    servers,
    mail,
  }) => {
    const server = await servers.get("local");
    // A fixed address: this page is in the README's screenshots.
    const email = "ada@example.com";
    await page.goto(server.url("/login"));
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    await audit(page, "login", { screenshot: "login" });

    await requestSignIn(page, server, email);
    await expect(page.getByRole("status")).toContainText(
      `If ${email} can receive mail, we sent a link and a code`,
    );
    await audit(page, "check email", { screenshot: "check-email" });

    const message = await mail.nth(email, 1);
    expect(message.link).toMatch(new RegExp(`^${server.origin}/auth/link\\?token=`));
    await page.goto(message.link as string);
    await expect(
      page.getByRole("heading", { level: 1, name: "Continue signing in" }),
    ).toBeVisible();
    // Opening the link signed nobody in (S7): the header still offers "Sign in".
    await expect(
      page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sign in" }),
    ).toBeVisible();
    await audit(page, "link landing", { screenshot: "link-landing" });

    await main(page).getByRole("button", { name: "Continue" }).click();
    await expectDashboard(page, server, email);
    await audit(page, "dashboard", { screenshot: "dashboard" });
  });

  test("the code from the email signs in, after a wrong one is refused", async ({
    page,
    servers,
    mail,
    address,
  }) => {
    const server = await servers.get("local");
    const email = address("coder");
    await requestSignIn(page, server, email);
    const { code } = await mail.nth(email, 1);
    expect(code).toMatch(/^\d{6}$/);

    const wrong = code === "000000" ? "111111" : "000000";
    await enterCode(page, wrong);
    const alert = page.getByRole("alert");
    await expect(alert).toContainText("That didn't match");
    await expect(alert).toBeFocused();
    await expect(page.getByLabel("Six-digit code")).toHaveAttribute("aria-invalid", "true");
    await audit(page, "wrong code");

    await enterCode(page, code as string);
    await expectDashboard(page, server, email);
  });

  test("the link opened in another browser signs nobody in there; the code then works in the first", async ({
    page,
    servers,
    mail,
    address,
    openContext,
  }) => {
    const server = await servers.get("local");
    const email = address("phone");
    await requestSignIn(page, server, email);
    const message = await mail.nth(email, 1);

    // The person opens the email on another device (a browser with no cookies from here).
    const other = await (await openContext()).newPage();
    await openLinkAndContinue(other, message.link as string);
    const alert = other.getByRole("alert");
    await expect(alert).toContainText("Open this in the browser where you started");
    await expect(alert).toContainText("Enter the email's code in that tab, or start again here.");
    await audit(other, "link in another browser", { screenshot: "error-other-browser" });
    await expectSignedOut(other, server);

    // Nothing was consumed: the code still works where the sign-in started.
    await enterCode(page, message.code as string);
    await expectDashboard(page, server, email);
  });

  test("the return path from a protected page survives sign-in", async ({
    page,
    servers,
    mail,
    address,
  }) => {
    const server = await servers.get("local");
    const email = address("returner");
    await page.goto(server.url("/dashboard?x=1"));
    await expect(page).toHaveURL(server.url("/login?returnTo=%2Fdashboard%3Fx%3D1"));
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();

    await page.getByLabel("Email address").fill(email);
    await page
      .getByRole("button", { name: /^Email me a (sign-in link|sign-in code|link and a code)$/ })
      .click();
    await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();
    const message = await mail.nth(email, 1);
    await openLinkAndContinue(page, message.link as string);
    await expectDashboard(page, server, email, "/dashboard?x=1");
  });

  test("an unknown page shows the error page", async ({ page, servers }) => {
    const server = await servers.get("local");
    const response = await page.goto(server.url("/no/such/page"));
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
    await audit(page, "404", { screenshot: "error-not-found" });
  });
});
