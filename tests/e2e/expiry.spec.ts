/**
 * An expired link, and sending again. The server's links live SHORT_TTL_SECONDS; the test
 * waits until that much time has passed since the email arrived (expect.poll on the clock,
 * not a fixed sleep), then presses Continue as a late reader would.
 */
import {
  audit,
  enterCode,
  expect,
  expectDashboard,
  main,
  requestSignIn,
  SHORT_TTL_SECONDS,
  test,
} from "./fixtures";

test("an expired link says so, and the email sent again signs in", async ({
  page,
  servers,
  mail,
  address,
}) => {
  const server = await servers.get("local-short-ttl");
  const email = address("late");
  await requestSignIn(page, server, email);
  const first = await mail.nth(email, 1);

  await page.goto(first.link as string);
  await expect(page.getByRole("heading", { level: 1, name: "Continue signing in" })).toBeVisible();
  // The link was issued before the email arrived, so it is expired once TTL has passed since.
  await expect
    .poll(() => Date.now() - first.receivedAt, {
      message: "the link's lifetime has passed",
      intervals: [100],
      timeout: 15_000,
    })
    .toBeGreaterThan(SHORT_TTL_SECONDS * 1000 + 100);
  await main(page).getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("alert")).toContainText("This sign-in has expired");
  await expect(page.getByRole("alert")).toContainText("Send a new one");
  await audit(page, "expired link", { screenshot: "error-expired" });

  // Back in the tab that asked: send it again. The new email's code works at once.
  await page.goto(server.url("/login/check"));
  await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();
  await page.getByRole("button", { name: "Send it again" }).click();
  const second = await mail.nth(email, 2);
  expect(second.code).not.toBe(first.code);
  await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();
  await enterCode(page, second.code as string);
  await expectDashboard(page, server, email);
});
