/** Signing in and out with the keyboard alone: Tab to each control, type, press Enter. */
import type { Locator, Page } from "@playwright/test";
import { expect, expectDashboard, expectSignedOut, main, test } from "./fixtures";

/** Press Tab until `target` has focus (as a person would), and check the focus is visible. */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let presses = 0; presses < 25; presses++) {
    if (await target.evaluate((el) => el === document.activeElement)) {
      const outline = await target.evaluate((el) => getComputedStyle(el).outlineStyle);
      expect(outline, "a keyboard user sees where the focus is").not.toBe("none");
      return;
    }
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target.toString()}`);
}

test("keyboard only: email, code, dashboard, sign out", async ({
  page,
  servers,
  mail,
  address,
}) => {
  const server = await servers.get("local");
  const email = address("keys");
  await page.goto(server.url("/login"));

  await tabTo(page, page.getByLabel("Email address"));
  await page.keyboard.type(email);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();

  const { code } = await mail.nth(email, 1);
  await tabTo(page, page.getByLabel("Six-digit code"));
  await page.keyboard.type(code as string);
  await page.keyboard.press("Enter");
  await expectDashboard(page, server, email);

  await tabTo(
    page,
    page
      .getByRole("navigation", { name: "Account" })
      .getByRole("button", { name: "Sign out", exact: true }),
  );
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(server.url("/?signed-out"));
  await expectSignedOut(page, server);
});

test("keyboard only: the emailed link's Continue", async ({ page, servers, mail, address }) => {
  const server = await servers.get("local");
  const email = address("keys-link");
  await page.goto(server.url("/login"));
  await tabTo(page, page.getByLabel("Email address"));
  await page.keyboard.type(email);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();

  const { link } = await mail.nth(email, 1);
  // Opening the link is the mail app's job; from there on, keys only.
  await page.goto(link as string);
  await tabTo(page, main(page).getByRole("button", { name: "Continue" }));
  await page.keyboard.press("Enter");
  await expectDashboard(page, server, email);
});
