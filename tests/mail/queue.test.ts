/**
 * The delivery core (app/mail/queue.server.ts) on the memory backend: bodies sealed at rest
 * and dropped once sent, the deadline of an attempt, the retry policy, and log lines that
 * never hold the address, the link or the code (S32, S28).
 */
import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { createSealer } from "../../app/lib/aead.server";
import { Outbox } from "../../app/mail/outbox.server";
import { createPolledMailQueue } from "../../app/mail/polled-queue.server";
import { MemoryQueueBackend } from "../../app/mail/queue-memory.server";
import { Delivery, STATUS_KEPT_MS, forgetAt, type MailEvent } from "../../app/mail/queue.server";
import { classifySmtpError } from "../../app/mail/smtp.server";
import { MailSendError, type EmailMessage, type Mailer } from "../../app/mail/types";
import { TEST_SECRET } from "../support/auth";
import { until } from "../support/until";

const sealer = createSealer([TEST_SECRET], "mail-queue", 65_536);
const ID = "00112233445566778899aabbccddeeff";
const message = (id = ID): EmailMessage => ({
  to: "ada@example.com",
  subject: "Sign in",
  text: "Open https://app.example/auth/link?token=SECRETTOKEN or enter 246810",
  html: "<p>246810</p>",
  tag: { id },
});

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
      await until("sent", async () => (await queue.status(ID))?.state === "sent" || undefined);
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
    const events: MailEvent[] = [];
    const delivery = new Delivery({
      transport: { send: async (m) => void sent.push(m) },
      sealer,
      clock: () => now,
      appClock: () => now,
      onFailed: async (m) => void failed.push(m.to),
      log: (event) => events.push(event),
    });
    const mail = delivery.prepare({ ...message(), expiresAt: now + 60_000 });
    now += 60_001;
    expect(await delivery.attempt(mail)).toEqual({ kind: "failed", cause: "expired" });
    expect(sent).toEqual([]);
    expect(failed).toEqual(["ada@example.com"]);
    expect(events).toMatchObject([{ id: ID, attempt: 1, outcome: "failed", cause: "expired" }]);
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

describe("the delivery core alone", () => {
  /** A transport that records what it was handed, and answers as told. */
  const recording = (answer: (message: EmailMessage) => Promise<void> = async () => {}) => {
    const calls: Array<{ message: EmailMessage; signal?: AbortSignal }> = [];
    const transport: Mailer = {
      send: (message, options) => {
        calls.push({ message, signal: options?.signal });
        return answer(message);
      },
    };
    return { calls, transport };
  };

  it("defaults: a 15 s deadline per attempt, the JSON log line on stdout, node:crypto's jitter", async () => {
    const { transport } = recording();
    const delivery = new Delivery({ transport, sealer });
    expect(delivery.sendTimeoutMs).toBe(15_000);
    // The default jitter lies over the upper half of the ceiling, never past it.
    for (let i = 0; i < 20; i++) {
      const wait = delivery.backoffMs(1);
      expect(wait).toBeGreaterThanOrEqual(1_000);
      expect(wait).toBeLessThanOrEqual(2_000);
    }
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      expect(await delivery.attempt(delivery.prepare(message()))).toMatchObject({ kind: "sent" });
    } finally {
      write.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\n$/);
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ type: "mail", id: ID, attempt: 1, outcome: "sent" });
    expect(Date.parse(line.time as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("prepare: the tag's id, only the message's own fields sealed, the queue's times", () => {
    const { transport } = recording();
    const now = 5_000_000;
    const delivery = new Delivery({
      transport,
      sealer,
      clock: () => now,
      // The app's clock is far off the queue's: only the time left is taken from it.
      appClock: () => 1_000,
      log: () => {},
    });
    const extra = { ...message(), expiresAt: 61_000, bcc: "mallory@example.com" };
    const mail = delivery.prepare(extra);
    expect(mail).toMatchObject({ id: ID, createdAt: now, expiresAt: now + 60_000, attempts: 0 });
    expect(JSON.parse(sealer.open(mail.sealed as string) as string)).toEqual({
      to: "ada@example.com",
      subject: "Sign in",
      text: message().text,
      html: "<p>246810</p>",
      tag: { id: ID },
    });
    // No expiry given: the pending sign-in's ten minutes.
    expect(delivery.prepare(message()).expiresAt).toBe(now + 10 * 60_000);
    // Claimed longer than any sign-in lives: fifteen minutes at most.
    expect(delivery.prepare({ ...message(), expiresAt: 1_000 + 60 * 60_000 }).expiresAt).toBe(
      now + 15 * 60_000,
    );
    expect(delivery.prepare({ ...message(), expiresAt: 1_000 + 15 * 60_000 }).expiresAt).toBe(
      now + 15 * 60_000,
    );
    // Already past: due now, never in the past.
    expect(delivery.prepare({ ...message(), expiresAt: 0 }).expiresAt).toBe(now);
    // Mail outside a sign-in has no tag: a random id of its own.
    const { tag: _, ...untagged } = message();
    const a = delivery.prepare(untagged);
    const b = delivery.prepare(untagged);
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.id).not.toBe(b.id);
  });

  it("the typical delivery time: 250 ms at first, then a moving average capped at 10 s per send", async () => {
    // Not 0: a time measured from the wrong end would show.
    let now = 50_000;
    const delivery = new Delivery({
      transport: { send: async () => void (now += 1_000) },
      sealer,
      clock: () => now,
      appClock: () => now,
      log: () => {},
    });
    expect(delivery.typicalDeliveryMs()).toBe(250);
    // Queued at 50,000, sent at 51,000: 250 × 0.8 + 1000 × 0.2.
    await delivery.attempt(delivery.prepare(message()));
    expect(delivery.typicalDeliveryMs()).toBe(400);
    // Queued at 51,000, attempted at 150,000, sent at 151,000: counted as 10 s.
    const late = delivery.prepare({ ...message(), expiresAt: 10 * 60_000 });
    now = 150_000;
    await delivery.attempt(late);
    expect(delivery.typicalDeliveryMs()).toBe(2_320);
    // Again, sent at 152,000: 2320 × 0.8 + 10,000 × 0.2.
    await delivery.attempt(late);
    expect(delivery.typicalDeliveryMs()).toBe(3_856);
  });

  it("each log line: the attempt's number, how long it took, the address hashed, the cause and the wait", async () => {
    let now = 10_000;
    const events: MailEvent[] = [];
    const failures = [new MailSendError("4xx:451", true), new MailSendError("5xx:550", false)];
    const delivery = new Delivery({
      transport: {
        send: async () => {
          now += 40;
          const failure = failures.shift();
          if (failure) throw failure;
        },
      },
      sealer,
      clock: () => now,
      appClock: () => now,
      retry: { firstDelayMs: 1_000 },
      random: () => 0.5,
      log: (event) => events.push(event),
    });
    const mail = delivery.prepare({ ...message(), expiresAt: now + 60_000 });
    const emailHash = createHash("sha256").update("ada@example.com").digest("hex").slice(0, 16);
    await delivery.attempt({ ...mail, attempts: 2 });
    await delivery.attempt({ ...mail, attempts: 3 });
    await delivery.attempt({ ...mail, attempts: 4 });
    expect(events).toEqual([
      // The third attempt's ceiling is 4000: 2000 + 2000 × 0.5.
      {
        type: "mail",
        id: ID,
        attempt: 3,
        outcome: "retry",
        cause: "4xx:451",
        ms: 40,
        retryInMs: 3_000,
        emailHash,
      },
      { type: "mail", id: ID, attempt: 4, outcome: "failed", cause: "5xx:550", ms: 40, emailHash },
      { type: "mail", id: ID, attempt: 5, outcome: "sent", ms: 40, emailHash },
    ]);
  });

  it("the deadline: the send timeout, or the time left before the expiry when that is shorter", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let now = 0;
      const { calls, transport } = recording(() => new Promise<void>(() => {}));
      const delivery = new Delivery({
        transport,
        sealer,
        sendTimeoutMs: 5_000,
        clock: () => now,
        appClock: () => now,
        log: () => {},
      });
      const settled = (promise: Promise<unknown>) => {
        let done = false;
        void promise.finally(() => (done = true));
        return () => done;
      };
      // Five seconds: not over at 4999 ms, over at 5000, the transport's signal aborted.
      const first = delivery.attempt(delivery.prepare(message()));
      const firstDone = settled(first);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(firstDone()).toBe(false);
      expect(calls[0]?.signal?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await first).toMatchObject({ kind: "retry", cause: "timeout" });
      expect(calls[0]?.signal?.aborted).toBe(true);
      // Two seconds left before the sign-in expires: the attempt ends then.
      now = 1_000_000;
      const second = delivery.attempt(delivery.prepare({ ...message(), expiresAt: now + 2_000 }));
      const secondDone = settled(second);
      await vi.advanceTimersByTimeAsync(1_999);
      expect(secondDone()).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await second).toMatchObject({ cause: "timeout" });
      // A sent message leaves no timer behind.
      const quick = new Delivery({ transport: recording().transport, sealer, log: () => {} });
      await quick.attempt(quick.prepare(message()));
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("an attempt at the exact expiry is given up; one a moment before is made", async () => {
    let now = 0;
    const { calls, transport } = recording();
    const delivery = new Delivery({
      transport,
      sealer,
      clock: () => now,
      appClock: () => now,
      log: () => {},
    });
    const mail = delivery.prepare({ ...message(), expiresAt: 1_000 });
    now = 999;
    expect(await delivery.attempt(mail)).toEqual({ kind: "sent", at: 999 });
    now = 1_000;
    expect(await delivery.attempt(mail)).toEqual({ kind: "failed", cause: "expired" });
    expect(calls).toHaveLength(1);
  });

  it("a retry due exactly at the expiry is not scheduled: the delivery fails and gives its budgets back", async () => {
    const now = 0;
    const failed: string[] = [];
    const delivery = new Delivery({
      transport: { send: () => Promise.reject(new MailSendError("refused", true)) },
      sealer,
      clock: () => now,
      appClock: () => now,
      retry: { firstDelayMs: 1_000 },
      random: () => 1,
      onFailed: async (m) => void failed.push(m.to),
      log: () => {},
    });
    expect(await delivery.attempt(delivery.prepare({ ...message(), expiresAt: 1_001 }))).toEqual({
      kind: "retry",
      at: 1_000,
      cause: "refused",
    });
    expect(failed).toEqual([]);
    expect(await delivery.attempt(delivery.prepare({ ...message(), expiresAt: 1_000 }))).toEqual({
      kind: "failed",
      cause: "refused",
    });
    expect(failed).toEqual(["ada@example.com"]);
  });

  it("what the transport throws that is not a MailSendError is classified as nodemailer's", async () => {
    const delivery = new Delivery({
      transport: {
        send: () =>
          Promise.reject(Object.assign(new Error("x"), { code: "EENVELOPE", responseCode: 550 })),
      },
      sealer,
      log: () => {},
    });
    expect(await delivery.attempt(delivery.prepare(message()))).toEqual({
      kind: "failed",
      cause: "5xx:550",
    });
  });

  it("a failing onFailed neither throws nor stops the outcome", async () => {
    const delivery = new Delivery({
      transport: { send: () => Promise.reject(new MailSendError("5xx:550", false)) },
      sealer,
      onFailed: () => Promise.reject(new Error("store down")),
      log: () => {},
    });
    expect(await delivery.attempt(delivery.prepare(message()))).toEqual({
      kind: "failed",
      cause: "5xx:550",
    });
  });

  it("a body that cannot be read is given up as unreadable, nothing sent and no budget given back", async () => {
    const { calls, transport } = recording();
    const failed: string[] = [];
    const events: MailEvent[] = [];
    const delivery = new Delivery({
      transport,
      sealer,
      onFailed: async (m) => void failed.push(m.to),
      log: (event) => events.push(event),
    });
    const mail = delivery.prepare(message());
    const other = createSealer([`${TEST_SECRET}-other`], "mail-queue", 65_536);
    for (const sealed of [null, other.seal(JSON.stringify(message())), sealer.seal("{not json")])
      expect(await delivery.attempt({ ...mail, sealed })).toEqual({
        kind: "failed",
        cause: "unreadable",
      });
    expect(calls).toEqual([]);
    expect(failed).toEqual([]);
    expect(events.map((e) => [e.outcome, e.cause, e.emailHash])).toEqual([
      ["failed", "unreadable", ""],
      ["failed", "unreadable", ""],
      ["failed", "unreadable", ""],
    ]);
  });

  it("a status is kept ten minutes after queueing, or until the expiry when that is later", () => {
    expect(STATUS_KEPT_MS).toBe(10 * 60_000);
    expect(forgetAt({ createdAt: 1_000, expiresAt: 5_000 })).toBe(1_000 + 10 * 60_000);
    expect(forgetAt({ createdAt: 1_000, expiresAt: 20 * 60_000 })).toBe(20 * 60_000);
  });
});
