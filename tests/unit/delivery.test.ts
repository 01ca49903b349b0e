/**
 * app/auth/delivery.server.ts alone: what the check-email page is told about this browser's
 * email (S32), against a scripted queue and a clock that moves only when told. A queued,
 * sent, retrying or failed email as the queue knows it; an email the queue does not know
 * (throttled, S11) shown exactly like a real one (S13); a provider that sends its own; and
 * the "asked too soon" seconds.
 */
import { describe, expect, it } from "vitest";
import { deliveryView } from "../../app/auth/delivery.server";
import type { PendingLogin } from "../../app/auth/pending.server";
import type { DeliveryStatus } from "../../app/mail/queue.server";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const TYPICAL = 1_500;

function setup(
  options: { now?: number; status?: DeliveryStatus | null; appSendsMail?: boolean } = {},
) {
  const asked: string[] = [];
  const services = {
    mailQueue: {
      status: async (id: string) => {
        asked.push(id);
        return options.status ?? null;
      },
      typicalDeliveryMs: () => TYPICAL,
    },
    pending: { now: () => options.now ?? T0 },
    config: { appSendsMail: options.appSendsMail ?? true },
  } as unknown as Parameters<typeof deliveryView>[0];
  return { services, asked };
}

const pending = (fields: Partial<PendingLogin> = {}) =>
  ({ sentAt: T0, mailId: "mail_1", ...fields }) as PendingLogin;
const iso = (ms: number) => new Date(ms).toISOString();

describe("an email the queue knows", () => {
  it("asks the queue about this pending sign-in's mail id only", async () => {
    const { services, asked } = setup();
    await deliveryView(services, pending({ mailId: "mail_42" }));
    expect(asked).toEqual(["mail_42"]);
    const none = setup();
    await deliveryView(none.services, pending({ mailId: undefined }));
    expect(none.asked).toEqual([]);
  });

  it("shows a sent email's time on the pending sign-in's clock, and is settled", async () => {
    // The queue's clock is an hour off; only the time from queued to sent (2.5 s) is used.
    const queuedAt = T0 + 3_600_000;
    const { services } = setup({
      now: T0 + 10_000,
      status: { state: "sent", queuedAt, sentAt: queuedAt + 2_500, attempts: 1 },
    });
    expect(await deliveryView(services, pending())).toEqual({
      state: "sent",
      sentAt: iso(T0 + 2_500),
      settled: true,
    });
  });

  it("never shows a sent time before the request, whatever the queue's clocks say", async () => {
    const { services } = setup({
      status: { state: "sent", queuedAt: T0 + 500, sentAt: T0, attempts: 1 },
    });
    expect((await deliveryView(services, pending())).sentAt).toBe(iso(T0));
  });

  it.each([
    ["queued", false],
    ["retrying", false],
    ["failed", true],
  ] as const)("shows %s without a time, settled: %s", async (state, settled) => {
    const { services } = setup({ status: { state, queuedAt: T0, attempts: 1 } });
    expect(await deliveryView(services, pending())).toEqual({
      state,
      sentAt: undefined,
      settled,
    });
  });
});

describe("an email the queue does not know (S13)", () => {
  it("reads Sending… for the typical delivery time, then sent at the end of it", async () => {
    const before = setup({ now: T0 + TYPICAL - 1 });
    expect(await deliveryView(before.services, pending({ mailId: undefined }))).toEqual({
      state: "queued",
      sentAt: undefined,
      settled: false,
    });
    const at = setup({ now: T0 + TYPICAL });
    expect(await deliveryView(at.services, pending())).toEqual({
      state: "sent",
      sentAt: iso(T0 + TYPICAL),
      settled: true,
    });
  });

  it("says the provider sends it, sent when it was asked for, when the app sends no mail", async () => {
    const { services } = setup({ appSendsMail: false, now: T0 + 1 });
    expect(await deliveryView(services, pending({ mailId: undefined }))).toEqual({
      state: "sent",
      sentAt: iso(T0),
      settled: true,
      by: "provider",
    });
  });

  it("does not mark the app's own mail as the provider's", async () => {
    const { services } = setup({
      appSendsMail: false,
      status: { state: "queued", queuedAt: T0, attempts: 0 },
    });
    expect(await deliveryView(services, pending())).not.toHaveProperty("by");
  });
});

describe("a browser that asked again too soon", () => {
  it("says when it may ask again, rounded up, at least one second, and how long ago it was sent", async () => {
    const now = T0 + 20_400;
    const { services } = setup({
      now,
      status: { state: "sent", queuedAt: T0, sentAt: T0, attempts: 1 },
    });
    const view = await deliveryView(services, pending({ againAt: now + 39_001 }));
    expect(view.againInSeconds).toBe(40);
    expect(view.sentSecondsAgo).toBe(20);
    const last = await deliveryView(services, pending({ againAt: now + 1 }));
    expect(last.againInSeconds).toBe(1);
  });

  it("rounds the seconds since sending to the nearest, never below zero", async () => {
    const { services } = setup({
      now: T0 + 20_600,
      status: { state: "sent", queuedAt: T0, sentAt: T0, attempts: 1 },
    });
    const view = await deliveryView(services, pending({ againAt: T0 + 60_000 }));
    expect(view.sentSecondsAgo).toBe(21);
    // A sent time just ahead of the page's clock (the queue's clock runs a little ahead).
    const ahead = setup({
      now: T0 + 1_000,
      status: { state: "sent", queuedAt: T0, sentAt: T0 + 2_000, attempts: 1 },
    });
    const early = await deliveryView(ahead.services, pending({ againAt: T0 + 60_000 }));
    expect(early.sentSecondsAgo).toBe(0);
  });

  it("gives no seconds since sending while nothing is sent yet", async () => {
    const { services } = setup({ now: T0 + 100 });
    const view = await deliveryView(services, pending({ mailId: undefined, againAt: T0 + 5_000 }));
    expect(view.state).toBe("queued");
    expect(view.againInSeconds).toBe(5);
    expect(view).not.toHaveProperty("sentSecondsAgo");
  });

  it("says nothing of asking again once that moment has come", async () => {
    const { services } = setup({
      now: T0 + 5_000,
      status: { state: "sent", queuedAt: T0, sentAt: T0, attempts: 1 },
    });
    const view = await deliveryView(services, pending({ againAt: T0 + 5_000 }));
    expect(view).not.toHaveProperty("againInSeconds");
    expect(view).not.toHaveProperty("sentSecondsAgo");
  });
});
