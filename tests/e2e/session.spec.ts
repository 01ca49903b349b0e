/** Signing out of one browser, and "sign out everywhere" seen from a second browser. */
import type { Page } from "@playwright/test";
import type { AppServer } from "./support/server";
import {
  audit,
  enterCode,
  expect,
  expectDashboard,
  expectSignedOut,
  main,
  requestSignIn,
  test,
  type Inbox,
} from "./fixtures";

async function signInByCode(
  page: Page,
  server: AppServer,
  mail: Inbox,
  email: string,
  n: number,
): Promise<void> {
  await requestSignIn(page, server, email);
  const message = await mail.nth(email, n);
  await enterCode(page, message.code as string);
  await expectDashboard(page, server, email);
}

test("sign out ends this browser's session", async ({ page, servers, mail, address }) => {
  const server = await servers.get("local");
  const email = address("leaver");
  await signInByCode(page, server, mail, email, 1);
  await page
    .getByRole("navigation", { name: "Account" })
    .getByRole("button", { name: "Sign out", exact: true })
    .click();
  await expect(page).toHaveURL(server.url("/?signed-out"));
  await expect(page.getByText("You are not signed in.")).toBeVisible();
  await audit(page, "home, signed out");
  await expectSignedOut(page, server);
});

test("sign out everywhere ends the session in the other browser too", async ({
  page,
  servers,
  mail,
  address,
  openContext,
}) => {
  // Two sign-ins to one address in a row: this server does not space sends (see fixtures).
  const server = await servers.get("local-twice");
  const email = address("everywhere");
  await signInByCode(page, server, mail, email, 1);
  const laptop = await (await openContext()).newPage();
  await signInByCode(laptop, server, mail, email, 2);

  await page.goto(server.url("/logout"));
  await expect(page.getByRole("heading", { level: 1, name: "Sign out" })).toBeVisible();
  await audit(page, "sign out page");
  await main(page).getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(page).toHaveURL(server.url("/?signed-out"));
  await expectSignedOut(page, server);

  // The other browser still holds its cookie, but the server no longer accepts it.
  await laptop.reload();
  await expect(laptop).toHaveURL(server.url("/login?returnTo=%2Fdashboard"));
  await expectSignedOut(laptop, server);
});
