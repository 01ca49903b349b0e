/**
 * WorkOS enterprise SSO and MFA in a real browser, against the production build and the
 * WorkOS emulator: an address at an SSO domain is sent to WorkOS (the page says so first
 * when JavaScript runs) and signed in through /auth/callback; an MFA-required environment
 * signs in by Magic Auth plus a TOTP code, first enrolling the authenticator app (QR code
 * and the secret as text), then answering its challenge; signing out revokes the WorkOS
 * session.
 */
import { totp } from "../emulators/workos/totp";
import {
  audit,
  enterCode,
  expect,
  expectDashboard,
  main,
  requestSignIn,
  SSO_DOMAIN,
  test,
} from "./fixtures";

test.describe("WorkOS SSO and MFA via the emulator", () => {
  test("an SSO domain signs in through the organization's IdP; sign-out revokes the WorkOS session", async ({
    page,
    servers,
    workos,
    address,
  }) => {
    const server = await servers.get("workos-sso");
    const email = address("sso").replace("@example.com", `@${SSO_DOMAIN}`);
    await page.goto(server.url("/login?returnTo=%2Fdashboard"));
    await page.getByLabel("Email address").fill(email);
    await page
      .getByRole("button", { name: /^Email me a (sign-in link|sign-in code|link and a code)$/ })
      .click();
    // With JavaScript the page says where the person is going before the browser leaves.
    await expect(main(page).getByRole("status")).toContainText(
      "Your organization signs in with single sign-on",
    );
    await expectDashboard(page, server, email);
    await expect(page.getByText(/workos-sso/)).toHaveCount(0);
    expect(workos.userSessions(email).map((s) => s.status)).toEqual(["active"]);
    expect(workos.sentEmails().some((sent) => sent.to === email)).toBe(false);

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`^${server.url("/")}(\\?signed-out)?$`));
    await expect.poll(() => workos.userSessions(email).map((s) => s.status)).toEqual(["revoked"]);
  });

  test("without JavaScript the 303 to the IdP just happens", async ({
    servers,
    openContext,
    address,
  }) => {
    const server = await servers.get("workos-sso");
    const context = await openContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const email = address("sso-nojs").replace("@example.com", `@${SSO_DOMAIN}`);
    await page.goto(server.url("/login?returnTo=%2Fdashboard"));
    await page.getByLabel("Email address").fill(email);
    await page
      .getByRole("button", { name: /^Email me a (sign-in link|sign-in code|link and a code)$/ })
      .click();
    await expectDashboard(page, server, email);
  });

  test("MFA required: Magic Auth, then enrolling an authenticator app, then its challenge next time", async ({
    page,
    servers,
    workos,
    workosMail,
    address,
  }) => {
    const server = await servers.get("workos-sso");
    const email = address("mfa");
    workos.setMfa("required");
    try {
      await requestSignIn(page, server, email);
      await enterCode(page, (await workosMail.nth(email, 1)).code as string);
      await expect(page).toHaveURL(server.url("/login/mfa"));
      await expect(
        page.getByRole("heading", { level: 1, name: "Set up your authenticator app" }),
      ).toBeVisible();
      await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
      await audit(page, "MFA enrollment");
      // The person who cannot scan types the key into their app by hand.
      const secret = (await page.getByTestId("mfa-secret").innerText()).replace(/\s/g, "");
      await page
        .getByLabel("Six-digit code from the app")
        .fill("000000" === totp(secret, workos.now()) ? "111111" : "000000");
      await page.getByRole("button", { name: "Finish set-up and sign in" }).click();
      await expect(page.getByRole("alert")).toContainText("That didn't match");
      await page.getByLabel("Six-digit code from the app").fill(totp(secret, workos.now()));
      await page.getByRole("button", { name: "Finish set-up and sign in" }).click();
      await expectDashboard(page, server, email);

      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await expect(page).toHaveURL(new RegExp(`^${server.url("/")}(\\?signed-out)?$`));

      // Next time the enrolled factor is challenged; a code works once, so the app shows the next one.
      workos.advance(30_000);
      await requestSignIn(page, server, email);
      await enterCode(page, (await workosMail.nth(email, 2)).code as string);
      await expect(
        page.getByRole("heading", { level: 1, name: "Two-step verification" }),
      ).toBeVisible();
      await expect(page.getByRole("img", { name: /QR code/ })).toHaveCount(0);
      await audit(page, "MFA challenge");
      await page.getByLabel("Six-digit code from the app").fill(totp(secret, workos.now()));
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expectDashboard(page, server, email);
    } finally {
      workos.setMfa("optional");
    }
  });
});
