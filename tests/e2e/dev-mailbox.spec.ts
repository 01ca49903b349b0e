/**
 * The zero-configuration path on the dev server (`react-router dev`): sign in with the
 * link from /dev/mailbox, the dev outbox that production never serves.
 */
import { audit, expect, expectDashboard, main, requestSignIn, test } from "./fixtures";

test("dev server: the link from /dev/mailbox signs in", async ({ page, servers, address }) => {
  // The dev server compiles on first request.
  test.setTimeout(120_000);
  const server = await servers.get("dev");
  const email = address("dev");
  await requestSignIn(page, server, email);

  await page.goto(server.url("/dev/mailbox"));
  await expect(page.getByRole("heading", { level: 1, name: "Dev mailbox" })).toBeVisible();
  const message = page.getByRole("article", { name: `Email to ${email}` });
  await expect(message).toBeVisible();
  await expect(message.getByTestId("mail-code")).toHaveText(/^\d{6}$/);
  await audit(page, "dev mailbox", { screenshot: "dev-mailbox" });

  await message.getByRole("link", { name: "Open the sign-in link" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Continue signing in" })).toBeVisible();
  await main(page).getByRole("button", { name: "Continue" }).click();
  await expectDashboard(page, server, email);
});

test("production never serves /dev/mailbox", async ({ page, servers }) => {
  const server = await servers.get("local");
  const response = await page.goto(server.url("/dev/mailbox"));
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
});
