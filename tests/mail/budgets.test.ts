/**
 * S32: budgets count what was delivered, and the answer does not tell whether mail went
 * out. A delivery that fails gives its budgets back ("Send it again" works at once once the
 * relay is fixed); a successful sign-in clears the spacing (sign out, sign straight back in:
 * a new email); a throttled request takes as long as one that queues an email, and its page
 * reads like one's.
 */
import { describe, expect, it } from "vitest";
import { createSignInLimits } from "../../app/auth/limits.server";
import { Outbox } from "../../app/mail/outbox.server";
import { MailSendError, type Mailer } from "../../app/mail/types";
import { MemoryStore } from "../../app/store/memory.server";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import * as logout from "../../app/routes/logout";
import { callRoute, CookieJar, createTestAdapter, postForm } from "../support/auth";
import { createTestClock } from "../support/clock";
import { deliveryOf, waitForDelivery } from "../support/delivery";
import { faultRelaysPerTest } from "../support/fault-relays";

const limits = () =>
  createSignInLimits({ store: new MemoryStore(), emailSpacingSeconds: 60, emailPerHour: 5 });

const mail = faultRelaysPerTest();

const start = async (jar: CookieJar, email: string) => {
  const result = await callRoute(login.action, postForm("/login", { email }, { cookie: jar }));
  expect(result.status).toBe(303);
  jar.store(result);
  return result;
};

describe("S32 a failed delivery gives its budgets back", () => {
  it("550: the page says it could not send; once the relay is fixed, 'Send it again' sends at once", async () => {
    const { relay, mailer } = await mail.relay("550");
    const app = mail.app({ mailer, limits: limits() });
    const jar = new CookieJar();
    const email = "refused@example.com";
    await start(jar, email);
    await waitForDelivery(jar, "failed");

    await relay.heal();
    const again = await callRoute(
      check.action,
      postForm("/login/check", { intent: "resend" }, { cookie: jar }),
    );
    expect(again.status).toBe(303);
    jar.store(again);
    // Within the 60 s spacing of the first request, yet sent: the failure gave it back.
    expect(app.events.map((e) => e.outcome)).toEqual(["sent", "sent"]);
    await waitForDelivery(jar, "sent");
    expect((await mail.sink.waitForEmailTo(email)).code).toMatch(/^\d{6}$/);
  });

  it("six refusals in a row spend nothing: each request is still attempted, none throttled", async () => {
    const { mailer } = await mail.relay("550");
    const app = mail.app({ mailer, limits: limits() });
    const jar = new CookieJar();
    for (let i = 0; i < 6; i++) {
      await start(jar, "bounces@example.com");
      await waitForDelivery(jar, "failed");
    }
    expect(app.events.filter((e) => e.outcome.startsWith("throttled"))).toEqual([]);
    expect(app.mailEvents.filter((e) => e.outcome === "failed")).toHaveLength(6);
  });
});

describe("S32 a late failure gives back only what its own windows took", () => {
  it("a delivery that fails after its spacing window ended leaves the next window's spacing alone", async () => {
    // The first email's relay hangs until told, then refuses it for good; every later
    // email goes through.
    let refuse!: () => void;
    const hung = new Promise<void>((resolve) => (refuse = resolve));
    const delivered = new Outbox({ limit: 10 });
    let sends = 0;
    const mailer: Mailer = {
      async send(message) {
        if (++sends === 1) {
          await hung;
          throw new MailSendError("5xx:550", false);
        }
        await delivered.send(message);
      },
    };
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const app = mail.app({
      clock,
      store,
      mailer,
      limits: createSignInLimits({ store, clock, emailSpacingSeconds: 60, emailPerHour: 5 }),
    });
    const email = "late-failure@example.com";
    const first = new CookieJar();
    await start(first, email);
    // The spacing window of the first send ends; another browser's send opens the next one.
    clock.advance(61_000);
    const second = new CookieJar();
    await start(second, email);
    await waitForDelivery(second, "sent");
    refuse();
    await waitForDelivery(first, "failed");

    // The first send's refund went nowhere: the second send's spacing still holds.
    await start(second, email);
    expect(app.events.map((e) => e.outcome)).toEqual(["sent", "sent", "throttled:email_spacing"]);
    expect(delivered.list().filter((m) => m.to === email)).toHaveLength(1);
  });
});

describe("S32 a successful sign-in clears the spacing", () => {
  it("sign out, then sign in again at once: a new email arrives, and its code works", async () => {
    const app = mail.app({ limits: limits() });
    const jar = new CookieJar();
    const email = "again@example.com";
    await start(jar, email);
    await waitForDelivery(jar, "sent");
    const first = app.lastEmailTo(email).code as string;
    const signedIn = await callRoute(
      check.action,
      postForm("/login/check", { code: first }, { cookie: jar }),
    );
    expect(signedIn.status).toBe(303);
    jar.store(signedIn);
    jar.store(await callRoute(logout.action, postForm("/logout", {}, { cookie: jar })));

    await start(jar, email);
    await waitForDelivery(jar, "sent");
    expect(app.outbox.list().filter((m) => m.to === email)).toHaveLength(2);
    const second = app.lastEmailTo(email).code as string;
    const back = await callRoute(
      check.action,
      postForm("/login/check", { code: second }, { cookie: jar }),
    );
    expect(back.status).toBe(303);
  });
});

describe("S13 S32 a throttled request reads and takes like one that sent", () => {
  it("another browser, throttled: same 303, as long as a send, 'Sending…' then 'sent'", async () => {
    const adapter = createTestAdapter();
    const slow = {
      ...adapter,
      // A provider that takes a while on the request path (WorkOS, BlockID).
      start: async (...args: Parameters<typeof adapter.start>) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return adapter.start(...args);
      },
    };
    const app = mail.app({ adapter: slow, limits: limits() });
    const email = "watched@example.com";
    const asker = new CookieJar();
    const sentAt = performance.now();
    await start(asker, email);
    const sendMs = performance.now() - sentAt;
    expect(sendMs).toBeGreaterThanOrEqual(140);

    const other = new CookieJar();
    const throttledAt = performance.now();
    const answer = await start(other, email);
    const throttledMs = performance.now() - throttledAt;
    expect(app.events.at(-1)?.outcome).toBe("throttled:email_spacing");
    expect(answer.location).toBe("/login/check");
    // Waited out the send's time, including the provider's 150 ms it never spent (a lower
    // bound: a busy machine only adds to it).
    expect(throttledMs).toBeGreaterThanOrEqual(140);
    // Its page starts as a real one does and then reads "sent"; it never says otherwise.
    const states = new Set<string>();
    for (let i = 0; i < 100 && !states.has("sent"); i++) {
      states.add((await deliveryOf(other))?.state ?? "none");
      app.clock.advance(50);
    }
    expect([...states]).toEqual(["queued", "sent"]);
  });
});
