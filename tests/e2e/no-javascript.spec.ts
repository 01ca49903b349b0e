/** The whole local journey with JavaScript turned off: every step is a plain HTML form. */
import {
  auditWithoutScripts,
  enterCode,
  expect,
  expectDashboard,
  expectSignedOut,
  openLinkAndContinue,
  requestSignIn,
  test,
} from "./fixtures";

test.use({ javaScriptEnabled: false });

test("without JavaScript: link sign-in, sign out, then a wrong and a right code", async ({
  page,
  servers,
  mail,
  address,
}) => {
  const server = await servers.get("local");
  const email = address("nojs");
  await requestSignIn(page, server, email);
  await auditWithoutScripts(page, "check email, no JavaScript");

  const first = await mail.nth(email, 1);
  await openLinkAndContinue(page, first.link as string);
  await expectDashboard(page, server, email);
  await auditWithoutScripts(page, "dashboard, no JavaScript");

  await page
    .getByRole("navigation", { name: "Account" })
    .getByRole("button", { name: "Sign out", exact: true })
    .click();
  await expect(page).toHaveURL(server.url("/?signed-out"));
  await expectSignedOut(page, server);

  // The code path: a wrong code comes back as a rendered error, the right one signs in.
  const again = address("nojs-code");
  await requestSignIn(page, server, again);
  const second = await mail.nth(again, 1);
  await enterCode(page, second.code === "000000" ? "111111" : "000000");
  await expect(page.getByRole("alert")).toContainText("That didn't match");
  await auditWithoutScripts(page, "wrong code, no JavaScript");
  await enterCode(page, second.code as string);
  await expectDashboard(page, server, again);

  // The header's sign-out is a plain form too.
  await page
    .getByRole("navigation", { name: "Account" })
    .getByRole("button", { name: "Sign out" })
    .click();
  await expectSignedOut(page, server);
});
