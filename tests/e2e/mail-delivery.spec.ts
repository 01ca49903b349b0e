/**
 * What a person is told about their email when the relay fails (S32), in the production
 * build: a relay that is down when they ask and comes back; one that is silent, drips its
 * EHLO answer, answers 451 or drops the connection mid-DATA until it is fixed; and one that
 * refuses the address with 550 until it is fixed. Each journey runs a server of its own whose
 * SMTP_URL points at a fault relay (tests/support/fault-smtp.ts) in front of the worker's
 * SMTP sink, in a browser with JavaScript (the status updates itself) and in one without
 * (a reload shows the same).
 */
import type { Locator, Page } from "@playwright/test";
import { startFaultSmtp, type FaultSmtp, type SmtpFault } from "../support/fault-smtp";
import type { SmtpSink } from "../support/smtp-sink";
import { enterCode, expect, expectDashboard, main, requestSignIn, test } from "./fixtures";
import { startAppServer, type AppServer } from "./support/server";

/**
 * How long the relay stays down. The case is 30 s (RELAY_DOWN_SECONDS=30 runs it);
 * the default keeps the journey short. Either way the port really has nothing behind it
 * until then, and the retries back off exponentially from MAIL_RETRY_DELAY.
 */
const DOWN_MS = Number(process.env.RELAY_DOWN_SECONDS ?? 8) * 1000;
/** The first retry's delay on these servers (production: 2 s), doubled for each later one. */
const RETRY_DELAY_SECONDS = "0.5";

/** "Sent at 2026-12-02 14:02 UTC": when the relay took it. */
const SENT_AT = /^Sent at \d{4}-\d\d-\d\d \d\d:\d\d\u00a0UTC/;

const delivery = (page: Page): Locator => page.locator("[data-delivery]");

/** A production server whose mail goes through `relay`; the production send spacing (60 s). */
function serverBehind(
  name: string,
  relay: FaultSmtp,
  env: Record<string, string> = {},
): Promise<AppServer> {
  return startAppServer({
    name,
    env: {
      AUTH_ADAPTER: "local",
      MAIL_TRANSPORT: "smtp",
      SMTP_URL: relay.url,
      MAIL_FROM: "Passwordless Starter <login@example.com>",
      MAIL_RETRY_DELAY: RETRY_DELAY_SECONDS,
      RATE_LIMIT_IP_PER_HOUR: "1000",
      ...env,
    },
  });
}

/**
 * Leave the app before its server stops: a scripted page keeps fetching route manifests
 * from it (React Router's lazy discovery), which would fail, and log, once it is gone.
 */
const leave = (page: Page) => page.goto("about:blank");

/** The relay and its server for one journey, stopped when it ends. */
async function withRelay(
  fault: SmtpFault,
  smtp: SmtpSink,
  journey: (relay: FaultSmtp, server: AppServer) => Promise<void>,
  env?: Record<string, string>,
): Promise<void> {
  const relay = await startFaultSmtp(fault, smtp);
  try {
    const server = await serverBehind(`relay-${fault}`, relay, env);
    try {
      await journey(relay, server);
    } catch (error) {
      // The server's own log lines (one per delivery attempt) say what the relay did.
      throw new Error(`${String(error)}\n--- ${server.name} output ---\n${server.output()}`, {
        cause: error,
      });
    } finally {
      await server.close();
    }
  } finally {
    await relay.close();
  }
}

/** The page without JavaScript: reload until the status reads `state`, as a person would. */
async function reloadUntil(page: Page, state: string, timeout: number): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        return delivery(page).getAttribute("data-delivery");
      },
      { message: `a reload shows '${state}'`, timeout, intervals: [1_000] },
    )
    .toBe(state);
}

test.describe("S32 the check page tells the truth about a failing relay", () => {
  test("relay down when asked, back later: 'still trying', then 'sent'; the email arrives and its code signs in", async ({
    page,
    smtp,
    address,
    openContext,
  }) => {
    test.setTimeout(DOWN_MS + 120_000);
    await withRelay("down", smtp, async (relay, server) => {
      const email = address("outage");
      const asked = Date.now();
      await requestSignIn(page, server, email);
      const noScript = await (await openContext({ javaScriptEnabled: false })).newPage();
      const other = address("outage-nojs");
      await requestSignIn(noScript, server, other);

      // The first attempt is refused at once: the page says so without being reloaded.
      await expect(delivery(page)).toHaveAttribute("data-delivery", "retrying");
      await expect(delivery(page)).toContainText(
        "Your email provider is slow to answer; still trying",
      );
      await reloadUntil(noScript, "retrying", 15_000);
      await expect(delivery(noScript)).toContainText("still trying");
      expect(relay.connections, "nothing listens while the relay is down").toBe(0);
      expect(smtp.messages.filter((m) => m.to === email)).toHaveLength(0);

      // Still down, still "still trying", until the relay comes back.
      const left = asked + DOWN_MS - Date.now();
      if (left > 0) await page.waitForTimeout(left);
      await expect(delivery(page)).toHaveAttribute("data-delivery", "retrying");
      await relay.heal();

      // The next retry goes through; the page turns to "sent" on its own (it polls).
      await expect(delivery(page)).toHaveAttribute("data-delivery", "sent", {
        timeout: DOWN_MS + 30_000,
      });
      await expect(delivery(page)).toContainText(SENT_AT);
      const message = await waitFor(smtp, email, 1);
      await enterCode(page, message.code as string);
      await expectDashboard(page, server, email);
      await leave(page);

      // Without JavaScript the same, after a reload; that email's code signs in too.
      await reloadUntil(noScript, "sent", 30_000);
      await expect(delivery(noScript)).toContainText(SENT_AT);
      const second = await waitFor(smtp, other, 1);
      await enterCode(noScript, second.code as string);
      await expectDashboard(noScript, server, other);
    });
  });

  // The other transient faults, each until the relay is fixed. A relay that keeps the
  // conversation open is cut off by the attempt's deadline, shortened here from 15 s.
  for (const fault of ["silent", "drip-ehlo", "451", "drop-mid-data"] as const) {
    test(`relay ${fault}: 'still trying' until it is fixed, then 'sent', and the code signs in`, async ({
      page,
      smtp,
      address,
    }) => {
      await withRelay(
        fault,
        smtp,
        async (relay, server) => {
          const email = address(fault);
          await requestSignIn(page, server, email);
          await expect(delivery(page)).toHaveAttribute("data-delivery", "retrying");
          await expect(delivery(page)).toContainText("still trying");
          expect(smtp.messages.filter((m) => m.to === email)).toHaveLength(0);
          await relay.heal();
          await expect(delivery(page)).toHaveAttribute("data-delivery", "sent", {
            timeout: 30_000,
          });
          await expect(delivery(page)).toContainText(SENT_AT);
          const message = await waitFor(smtp, email, 1);
          await enterCode(page, message.code as string);
          await expectDashboard(page, server, email);
          await leave(page);
        },
        { MAIL_SEND_TIMEOUT: "2" },
      );
    });
  }

  test("relay answers 550: 'We could not send it to this address'; once fixed, 'Send it again' sends at once", async ({
    page,
    smtp,
    address,
    openContext,
  }) => {
    await withRelay("550", smtp, async (relay, server) => {
      const email = address("refused");
      await requestSignIn(page, server, email);
      await expect(delivery(page)).toHaveAttribute("data-delivery", "failed");
      await expect(delivery(page)).toContainText("We could not send it to this address");
      // No code field for an email that never went out.
      await expect(page.getByLabel("Six-digit code")).toHaveCount(0);

      const noScript = await (await openContext({ javaScriptEnabled: false })).newPage();
      const other = address("refused-nojs");
      await requestSignIn(noScript, server, other);
      await reloadUntil(noScript, "failed", 15_000);
      await expect(delivery(noScript)).toContainText("We could not send it to this address");

      expect(smtp.messages.filter((m) => m.to === email || m.to === other)).toHaveLength(0);
      await relay.heal();
      // Well within the 60 s spacing: the failure gave it back, so this sends at once.
      await main(page).getByRole("button", { name: "Send it again" }).click();
      await expect(delivery(page)).toHaveAttribute("data-delivery", "sent");
      const message = await waitFor(smtp, email, 1);
      await enterCode(page, message.code as string);
      await expectDashboard(page, server, email);
      await leave(page);

      await main(noScript).getByRole("button", { name: "Send it again" }).click();
      await reloadUntil(noScript, "sent", 15_000);
      const second = await waitFor(smtp, other, 1);
      await enterCode(noScript, second.code as string);
      await expectDashboard(noScript, server, other);
      // One email each, both sent after the fix.
      expect(smtp.messages.filter((m) => m.to === email || m.to === other)).toHaveLength(2);
    });
  });
});

/** The `n`-th email to `address` at the sink, polled generously (a retry may be seconds away). */
async function waitFor(smtp: SmtpSink, address: string, n: number) {
  const to = (m: { to: string }) => m.to.toLowerCase() === address.toLowerCase();
  await expect
    .poll(() => smtp.messages.filter(to).length, {
      message: `email #${n} to ${address}`,
      timeout: 30_000,
    })
    .toBeGreaterThanOrEqual(n);
  return smtp.messages.filter(to)[n - 1] as (typeof smtp.messages)[number];
}
