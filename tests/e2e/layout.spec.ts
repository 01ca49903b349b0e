/**
 * Small screens and long addresses: every page fits 320 and 375 px wide, light and dark,
 * with a 64-character address, without scrolling sideways, and the header keeps one line
 * and one height signed out and signed in. Each page is saved to
 * test-results/screenshots/layout/ to look at.
 */
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, main, requestSignIn, test } from "./fixtures";

const SHOTS = path.resolve(import.meta.dirname, "../../test-results/screenshots/layout");

/** A fresh address of exactly 64 characters. */
function longAddress(base: string): string {
  const [local, domain] = base.split("@") as [string, string];
  return `${local}${"x".repeat(64 - base.length)}@${domain}`;
}

async function expectFits(page: Page, label: string): Promise<number> {
  // caret "initial": hiding it restyles inputs, which React would see as a hydration mismatch.
  await page.screenshot({
    path: path.join(SHOTS, `${label}.png`),
    fullPage: true,
    caret: "initial",
  });
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(
    scrollWidth,
    `${label}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`,
  ).toBeLessThanOrEqual(innerWidth);
  const header = await page.locator("header").boundingBox();
  // One line of header text: a wrapped brand or "Sign out" would double it.
  expect(header?.height ?? 0, `${label}: header height`).toBeLessThan(64);
  return header?.height ?? 0;
}

for (const width of [320, 375]) {
  for (const scheme of ["light", "dark"] as const) {
    test(`every page fits ${width} px (${scheme}) with a 64-character address`, async ({
      page,
      servers,
      address,
    }) => {
      // The dev server compiles on first request.
      test.setTimeout(180_000);
      await page.setViewportSize({ width, height: 740 });
      await page.emulateMedia({ colorScheme: scheme });
      const server = await servers.get("dev");
      const email = longAddress(address("layout"));
      expect(email).toHaveLength(64);
      const shot = (name: string) => `${name}-${width}-${scheme}`;

      await page.goto(server.url("/"));
      const signedOut = await expectFits(page, shot("home"));
      await page.goto(server.url("/login"));
      await expectFits(page, shot("login"));
      await page.goto(server.url("/nowhere"));
      await expectFits(page, shot("not-found"));

      await requestSignIn(page, server, email);
      await expectFits(page, shot("check-email"));

      await page.goto(server.url("/dev/mailbox"));
      await expect(page.getByRole("heading", { level: 1, name: "Dev mailbox" })).toBeVisible();
      await expectFits(page, shot("dev-mailbox"));
      const message = page.getByRole("article", { name: `Email to ${email}` });
      await message.getByRole("link", { name: "Open the sign-in link" }).click();
      await expect(
        page.getByRole("heading", { level: 1, name: "Continue signing in" }),
      ).toBeVisible();
      await expectFits(page, shot("link"));
      await main(page).getByRole("button", { name: "Continue" }).click();

      await expect(page.getByTestId("user-email")).toHaveText(email);
      const signedIn = await expectFits(page, shot("dashboard"));
      expect(signedIn, "the header keeps its height signed in").toBeCloseTo(signedOut, 0);
      await page.goto(server.url("/account/sessions"));
      await expectFits(page, shot("sessions"));
      await page.goto(server.url("/logout"));
      await expectFits(page, shot("logout"));
    });
  }
}
