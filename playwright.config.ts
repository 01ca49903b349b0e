import { defineConfig } from "@playwright/test";

/** Debian's Chromium: Playwright's own browser download does not work on these machines. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * The browser suite (`npm run test:e2e`): global setup builds the app for production;
 * each worker starts the servers, the SMTP sink and the WorkOS emulator its journeys need
 * on free ports of 127.0.0.1 (tests/e2e/fixtures.ts) and stops them when it is done.
 */
export default defineConfig({
  testDir: "tests/e2e",
  testMatch: "**/*.spec.ts",
  globalSetup: "./tests/e2e/global-setup.ts",
  globalTeardown: "./tests/e2e/global-teardown.ts",
  outputDir: "test-results",
  // Two cores: two workers, each with its own servers.
  workers: 2,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
    viewport: { width: 900, height: 760 },
    locale: "en-GB",
    timezoneId: "UTC",
    colorScheme: "light",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
