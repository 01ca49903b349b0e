/**
 * The browser suite's fixtures. Per worker: an SMTP sink, a WorkOS emulator and the app
 * servers its journeys ask for, each started on first use and stopped when the worker ends.
 * Per test: a check that no page threw or logged an error, and helpers to read mail, sign
 * in, and audit a page with axe in light and dark.
 */
import AxeBuilder from "@axe-core/playwright";
import {
  expect,
  test as base,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from "@playwright/test";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { readEmail, type ReadEmail } from "../support/mail";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink";
import {
  startWorkosEmulator,
  type SentEmail,
  type WorkosEmulator,
} from "../emulators/workos/server";
import { ROOT, startAppServer, type AppServer, type AppServerOptions } from "./support/server";

export { expect };

/**
 * The server set-ups the journeys use. `…-twice` profiles turn the per-address send spacing
 * off (S11's 60 s) for journeys that must send a second email to one address at once; every
 * other profile runs exactly what `npm start` runs.
 */
export type Profile =
  | "local"
  | "local-short-ttl"
  | "local-twice"
  | "workos-twice"
  | "workos-app"
  | "magic-auth"
  | "workos-sso"
  | "passkeys"
  | "dev";

/** The organization the emulator seeds for the SSO journeys, and its domain. */
export const SSO_ORG = "org_e2eacme";
export const SSO_DOMAIN = "sso.example.test";

/** Seconds a link and code live on the `local-short-ttl` server. */
export const SHORT_TTL_SECONDS = 3;

const MAIL_FROM = "Passwordless Starter <login@example.com>";

function profileOptions(
  profile: Profile,
  smtp: SmtpSink,
  workos: WorkosEmulator,
): AppServerOptions {
  const smtpEnv = { MAIL_TRANSPORT: "smtp", SMTP_URL: smtp.url, MAIL_FROM };
  // Thirty-odd sign-ins from 127.0.0.1 per server must stay inside the per-IP budget.
  const ipBudget = { RATE_LIMIT_IP_PER_HOUR: "1000" };
  switch (profile) {
    case "local":
      return { name: profile, env: { AUTH_ADAPTER: "local", ...smtpEnv, ...ipBudget } };
    case "local-short-ttl":
      return {
        name: profile,
        env: {
          AUTH_ADAPTER: "local",
          LOGIN_TTL: String(SHORT_TTL_SECONDS),
          ...smtpEnv,
          ...ipBudget,
        },
        emailSpacingSeconds: 0,
      };
    case "local-twice":
      return {
        name: profile,
        env: { AUTH_ADAPTER: "local", ...smtpEnv, ...ipBudget },
        emailSpacingSeconds: 0,
      };
    case "workos-twice":
      return {
        name: profile,
        env: { AUTH_ADAPTER: "workos", WORKOS_EMAIL: "workos", ...workos.env, ...ipBudget },
        emailSpacingSeconds: 0,
      };
    case "workos-app":
      return {
        name: profile,
        env: {
          AUTH_ADAPTER: "workos",
          WORKOS_EMAIL: "app",
          ...workos.env,
          ...smtpEnv,
          ...ipBudget,
        },
      };
    case "magic-auth":
      return {
        name: profile,
        env: {
          AUTH_ADAPTER: "workos-magic-auth",
          WORKOS_EMAIL: "workos",
          ...workos.env,
          ...ipBudget,
        },
      };
    case "workos-sso":
      return {
        name: profile,
        env: {
          AUTH_ADAPTER: "workos-magic-auth",
          WORKOS_EMAIL: "workos",
          WORKOS_SSO_DOMAINS: `${SSO_DOMAIN}:${SSO_ORG}`,
          ...workos.env,
          ...ipBudget,
        },
        // The MFA journey signs one address in twice in a row.
        emailSpacingSeconds: 0,
      };
    case "passkeys":
      // WebAuthn needs a host name for its relying party id: APP_ORIGIN is localhost here.
      return {
        name: profile,
        originHost: "localhost",
        env: { AUTH_ADAPTER: "local", ...smtpEnv, ...ipBudget },
      };
    case "dev":
      return {
        name: profile,
        mode: "dev",
        env: { AUTH_ADAPTER: "local", MAIL_TRANSPORT: "outbox", ...ipBudget },
        readyTimeoutMs: 60_000,
      };
  }
}

export interface Servers {
  /** The server for `profile`, started on first use in this worker. */
  get(profile: Profile): Promise<AppServer>;
}

/** An inbox read the way a person reads one: wait for the n-th email to an address. */
export interface Inbox {
  /** The `n`-th email (1-based) sent to `address`, waiting for it to arrive. */
  nth(address: string, n: number): Promise<ReadEmail & { receivedAt: number }>;
}

interface WorkerFixtures {
  smtp: SmtpSink;
  workos: WorkosEmulator;
  servers: Servers;
}

interface TestFixtures {
  /** Mail the app sent through SMTP. */
  mail: Inbox;
  /** Mail "WorkOS" (the emulator) sent itself. */
  workosMail: Inbox;
  /** A fresh address for this test (send limits are per address). */
  address: (label?: string) => string;
  /** A second browser (its own cookies), with the same error checks. */
  openContext: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  /** Fails the test when any page logged an error or threw. */
  pageErrors: string[];
}

function watch(context: BrowserContext, errors: string[]): void {
  const attach = (page: Page) => {
    page.on("pageerror", (error) => errors.push(`pageerror on ${page.url()}: ${error.message}`));
    page.on("console", (message) => {
      // A 4xx page logs "Failed to load resource"; the journeys assert those statuses themselves.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
        errors.push(`console.error on ${page.url()}: ${message.text()}`);
      }
    });
  };
  context.pages().forEach(attach);
  context.on("page", attach);
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  smtp: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
    async ({}, provide) => {
      const sink = await startSmtpSink();
      await provide(sink);
      await sink.close();
    },
    { scope: "worker" },
  ],
  workos: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
    async ({}, provide) => {
      const emulator = await startWorkosEmulator({
        organizations: [{ id: SSO_ORG, name: "Acme", domains: [SSO_DOMAIN] }],
      });
      await provide(emulator);
      await emulator.close();
    },
    { scope: "worker" },
  ],
  servers: [
    async ({ smtp, workos }, provide) => {
      const started = new Map<Profile, Promise<AppServer>>();
      await provide({
        get(profile) {
          let server = started.get(profile);
          if (!server) {
            server = startAppServer(profileOptions(profile, smtp, workos));
            started.set(profile, server);
          }
          return server;
        },
      });
      const all = await Promise.allSettled(started.values());
      await Promise.all(all.map((s) => (s.status === "fulfilled" ? s.value.close() : undefined)));
    },
    { scope: "worker", timeout: 60_000 },
  ],

  pageErrors: [
    async ({ context }, provide) => {
      const errors: string[] = [];
      watch(context, errors);
      await provide(errors);
      expect(errors, "no page may throw or log an error").toEqual([]);
    },
    { auto: true },
  ],
  openContext: async ({ browser, pageErrors, contextOptions }, provide) => {
    const opened: BrowserContext[] = [];
    await provide(async (options) => {
      const context = await browser.newContext({ ...contextOptions, ...options });
      watch(context, pageErrors);
      opened.push(context);
      return context;
    });
    await Promise.all(opened.map((c) => c.close()));
  },
  mail: async ({ smtp }, provide) => {
    await provide({
      async nth(address, n) {
        const to = (m: ReadEmail) => m.to.toLowerCase() === address.toLowerCase();
        await expect
          .poll(() => smtp.messages.filter(to).length, {
            message: `email #${n} to ${address}`,
            timeout: 10_000,
          })
          .toBeGreaterThanOrEqual(n);
        const email = smtp.messages.filter(to)[n - 1] as ReadEmail;
        return { ...email, receivedAt: Date.now() };
      },
    });
  },
  workosMail: async ({ workos }, provide) => {
    await provide({
      async nth(address, n) {
        const to = (m: SentEmail) => m.to.toLowerCase() === address.toLowerCase();
        await expect
          .poll(() => workos.sentEmails().filter(to).length, {
            message: `WorkOS email #${n} to ${address}`,
            timeout: 10_000,
          })
          .toBeGreaterThanOrEqual(n);
        const sent = workos.sentEmails().filter(to)[n - 1] as SentEmail;
        // What a person reads in the email WorkOS sent: its link or its code.
        const text = [sent.link, sent.code].filter(Boolean).join("\n\n");
        return {
          ...readEmail({ to: sent.to, subject: sent.kind, text, html: "" }),
          receivedAt: Date.now(),
        };
      },
    });
  },
  // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
  address: async ({}, provide, testInfo) => {
    let n = 0;
    await provide((label = "person") => {
      n += 1;
      return `${label}-w${testInfo.workerIndex}-${n}-${randomBytes(3).toString("hex")}@example.com`;
    });
  },
});

/** The main landmark, where each page's own content and buttons are (the header has a "Sign out" too). */
export const main = (page: Page): Locator => page.getByRole("main");

/** Ask for a sign-in email from the login page; ends on the check-email page. */
export async function requestSignIn(
  page: Page,
  server: AppServer,
  email: string,
  path = "/login",
): Promise<void> {
  await page.goto(server.url(path));
  await page.getByLabel("Email address").fill(email);
  await page
    .getByRole("button", { name: /^Email me a (sign-in link|sign-in code|link and a code)$/ })
    .click();
  await expect(page.getByRole("heading", { level: 1, name: "Check your email" })).toBeVisible();
  await expect(page).toHaveURL(server.url("/login/check"));
}

/** Open an emailed link and press Continue on its page. */
export async function openLinkAndContinue(page: Page, link: string): Promise<void> {
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: "Continue signing in" })).toBeVisible();
  await main(page).getByRole("button", { name: "Continue" }).click();
}

/** Type the code on the check-email page and submit it. */
export async function enterCode(page: Page, code: string): Promise<void> {
  await page.getByLabel("Six-digit code").fill(code);
  await page.getByRole("button", { name: "Sign in with code" }).click();
}

/** Signed in as `email`: the dashboard shows it. */
export async function expectDashboard(
  page: Page,
  server: AppServer,
  email: string,
  pathAndQuery = "/dashboard",
): Promise<void> {
  await expect(page).toHaveURL(server.url(pathAndQuery));
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  await expect(page.getByTestId("user-email")).toHaveText(email);
}

/** Signed out: the protected page sends this browser to the login page. */
export async function expectSignedOut(page: Page, server: AppServer): Promise<void> {
  await page.goto(server.url("/dashboard"));
  await expect(page).toHaveURL(server.url("/login?returnTo=%2Fdashboard"));
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
}

const SCHEMES = ["light", "dark"] as const;
// A normal run keeps its screenshots in the git-ignored test-results/ and leaves the tree
// clean; `npm run screenshots` points this at docs/screenshots to update the README's.
const SCREENSHOTS = path.resolve(ROOT, process.env.SCREENSHOTS_DIR ?? "test-results/screenshots");

/**
 * Run axe on the page as it is, in the light and the dark color scheme, and fail on any
 * serious or critical violation. With `screenshot`, also save <name>-light.png and
 * -dark.png to test-results/screenshots (docs/screenshots with `npm run screenshots`).
 */
export async function audit(
  page: Page,
  label: string,
  options: { screenshot?: string } = {},
): Promise<void> {
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    await expect
      .poll(() => page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches), {
        message: `${scheme} scheme applied`,
      })
      .toBe(scheme === "dark");
    const results = await new AxeBuilder({ page }).analyze();
    const blocking = results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(" ")).join("\n    ")}`,
      );
    expect(blocking, `axe on ${label} (${scheme}) at ${page.url()}`).toEqual([]);
    if (options.screenshot) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({
        path: path.join(SCREENSHOTS, `${options.screenshot}-${scheme}.png`),
        fullPage: true,
        caret: "hide",
      });
    }
  }
  // Back to the context's own scheme for whatever the journey does next.
  await page.emulateMedia({ colorScheme: null });
}

/**
 * axe runs as a script inside the page, which a context with JavaScript turned off cannot
 * do. So the page's server-rendered HTML, scripts removed, is audited in a scripted page of
 * the same origin (its stylesheets load as they did), in both schemes.
 */
export async function auditWithoutScripts(page: Page, label: string): Promise<void> {
  const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "");
  const browser = page.context().browser();
  if (!browser) throw new Error("no browser");
  const context = await browser.newContext({ javaScriptEnabled: true });
  try {
    const copy = await context.newPage();
    await copy.goto(new URL("/healthz", page.url()).toString());
    await copy.setContent(html, { waitUntil: "load" });
    await audit(copy, `${label} (server-rendered, no JavaScript)`);
  } finally {
    await context.close();
  }
}
