/**
 * The delivery core (app/mail/queue.server.ts) on the memory backend: bodies sealed at rest
 * and dropped once sent, the deadline of an attempt, the retry policy, and log lines that
 * never hold the address, the link or the code (S32, S28).
 */
import { describe, expect, it } from "vitest";
import { createSealer } from "../../app/lib/aead.server";
import { Outbox } from "../../app/mail/outbox.server";
import { createPolledMailQueue } from "../../app/mail/polled-queue.server";
import { MemoryQueueBackend } from "../../app/mail/queue-memory.server";
import { Delivery, type MailEvent } from "../../app/mail/queue.server";
import { classifySmtpError } from "../../app/mail/smtp.server";
import { MailSendError, type EmailMessage, type Mailer } from "../../app/mail/types";
import { TEST_SECRET } from "../support/auth";

const sealer = createSealer([TEST_SECRET], "mail-queue", 65_536);
const ID = "00112233445566778899aabbccddeeff";
const message = (id = ID): EmailMessage => ({
  to: "ada@example.com",
  subject: "Sign in",
  text: "Open https://app.example/auth/link?token=SECRETTOKEN or enter 246810",
  html: "<p>246810</p>",
  tag: { id },
});

async function until(check: () => Promise<boolean>, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("not within the time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the queue at rest", () => {
  it("keeps the body sealed while waiting, and drops it once sent", async () => {
    const backend = new MemoryQueueBackend();
    const outbox = new Outbox();
    const events: MailEvent[] = [];
    const queue = createPolledMailQueue(backend, {
      transport: outbox,
      sealer,
      log: (e) => events.push(e),
    });
    try {
      await queue.mailer.send(message());
      const stored = JSON.stringify(backend.dump());
      for (const secret of ["246810", "SECRETTOKEN", "ada@example.com"])
        expect(stored).not.toContain(secret);
      expect(await queue.status(ID)).toMatchObject({ state: "queued", attempts: 0 });

      queue.start();
      await until(async () => (await queue.status(ID))?.state === "sent");
      expect(backend.dump()).toMatchObject([{ id: ID, sealed: null }]);
      expect(outbox.latestTo("ada@example.com")?.text).toContain("246810");
      // The log line: the id, the outcome, a hash; not the address, link or code.
      expect(events).toMatchObject([{ type: "mail", id: ID, attempt: 1, outcome: "sent" }]);
      for (const secret of ["246810", "SECRETTOKEN", "ada@example.com"])
        expect(JSON.stringify(events)).not.toContain(secret);
      expect(await queue.health()).toEqual({ backlog: 0, oldestAgeMs: 0 });
    } finally {
      await queue.close();
    }
  });

  it("a message whose sign-in has expired is given up, not sent, and its body dropped", async () => {
    let now = 1_000_000;
    const sent: EmailMessage[] = [];
    const failed: string[] = [];
    const delivery = new Delivery({
      transport: { send: async (m) => void sent.push(m) },
      sealer,
      clock: () => now,
      appClock: () => now,
      onFailed: async (m) => void failed.push(m.to),
      log: () => {},
    });
    const mail = delivery.prepare({ ...message(), expiresAt: now + 60_000 });
    now += 60_001;
    expect(await delivery.attempt(mail)).toEqual({ kind: "failed", cause: "expired" });
    expect(sent).toEqual([]);
    expect(failed).toEqual(["ada@example.com"]);
  });
});

describe("one attempt", () => {
  const never: Mailer = { send: () => new Promise<void>(() => {}) };

  it("ends by its deadline even when the transport ignores the signal", async () => {
    const delivery = new Delivery({ transport: never, sealer, sendTimeoutMs: 200, log: () => {} });
    const started = Date.now();
    const outcome = await delivery.attempt(delivery.prepare(message()));
    expect(outcome).toMatchObject({ kind: "retry", cause: "timeout" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("retries transient failures with growing, jittered waits, never past the expiry", async () => {
    let now = 0;
    let random = 0;
    const delivery = new Delivery({
      transport: { send: () => Promise.reject(new MailSendError("4xx:451", true)) },
      sealer,
      clock: () => now,
      appClock: () => now,
      retry: { firstDelayMs: 1_000, maxDelayMs: 8_000 },
      random: () => random,
      log: () => {},
    });
    // Jitter over the upper half of a doubling ceiling, capped.
    expect([1, 2, 3, 4, 5].map((n) => delivery.backoffMs(n))).toEqual([
      500, 1000, 2000, 4000, 4000,
    ]);
    random = 1;
    expect([1, 2, 3, 4, 5].map((n) => delivery.backoffMs(n))).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
    const mail = delivery.prepare({ ...message(), expiresAt: 10_000 });
    expect(await delivery.attempt(mail)).toEqual({ kind: "retry", at: 1_000, cause: "4xx:451" });
    // The next wait would end after the sign-in: given up now.
    now = 9_500;
    expect(await delivery.attempt({ ...mail, attempts: 3 })).toEqual({
      kind: "failed",
      cause: "4xx:451",
    });
  });

  it("retries within 15 s at most by default, so a relay that is back is soon tried again", () => {
    const failing = { send: () => Promise.reject(new MailSendError("refused", true)) };
    const ceiling = (retry?: { firstDelayMs?: number }) =>
      new Delivery({ transport: failing, sealer, retry, random: () => 1, log: () => {} });
    expect([1, 2, 3, 4, 5, 9].map((n) => ceiling().backoffMs(n))).toEqual([
      2_000, 4_000, 8_000, 15_000, 15_000, 15_000,
    ]);
    // A first delay longer than that is kept, not cut down to it.
    expect([1, 3].map((n) => ceiling({ firstDelayMs: 40_000 }).backoffMs(n))).toEqual([
      40_000, 40_000,
    ]);
  });

  it("does not retry a permanent refusal", async () => {
    const delivery = new Delivery({
      transport: { send: () => Promise.reject(new MailSendError("5xx:550", false)) },
      sealer,
      log: () => {},
    });
    expect(await delivery.attempt(delivery.prepare(message()))).toEqual({
      kind: "failed",
      cause: "5xx:550",
    });
  });
});

describe("classifying what nodemailer throws", () => {
  const error = (fields: object) => Object.assign(new Error("x"), fields);
  it.each([
    [error({ code: "ECONNECTION", cause: error({ code: "ECONNREFUSED" }) }), "refused", true],
    [error({ code: "ESOCKET", message: "read ECONNRESET" }), "reset", true],
    [error({ code: "ETIMEDOUT" }), "timeout", true],
    [error({ code: "EABORT" }), "timeout", true],
    [error({ code: "EPROTOCOL", responseCode: 421 }), "4xx:421", true],
    [error({ code: "EENVELOPE", responseCode: 451 }), "4xx:451", true],
    [error({ code: "EENVELOPE", responseCode: 550 }), "5xx:550", false],
    [error({ code: "EAUTH", responseCode: 535 }), "5xx:535", false],
    // 503: bad sequence of commands, the session's state, not the message (RFC 5321).
    [error({ code: "EPROTOCOL", responseCode: 503 }), "5xx:503", true],
    [error({ code: "ECONNECTION", message: "Connection closed" }), "closed", true],
    [new Error("something else"), "error", true],
  ])("%s → %s", (thrown, failure, transient) => {
    const classified = classifySmtpError(thrown);
    expect(classified.failure).toBe(failure);
    expect(classified.transient).toBe(transient);
  });
});
