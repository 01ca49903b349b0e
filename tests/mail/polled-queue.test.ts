/**
 * The polled queue's worker (app/mail/polled-queue.server.ts) alone, over the memory backend
 * with every call recorded, on fake timers and a fake clock: when it looks for due mail (at
 * start, after a send, after each attempt, at the next due time or the poll interval), how
 * many attempts it runs at once, the lease it asks for, the sweep every 30 s, each outcome's
 * record, a store that fails, and a close that waits for attempts in flight (S32).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSealer } from "../../app/lib/aead.server";
import {
  createPolledMailQueue,
  type PolledQueueOptions,
  type QueueBackend,
} from "../../app/mail/polled-queue.server";
import { MemoryQueueBackend } from "../../app/mail/queue-memory.server";
import { MailSendError, type EmailMessage, type Mailer } from "../../app/mail/types";
import { TEST_SECRET } from "../support/auth";

const sealer = createSealer([TEST_SECRET], "mail-queue", 65_536);
const START = 1_000_000_000_000;
const id = (n: number) => n.toString(16).padStart(32, "0");
const message = (n = 1): EmailMessage => ({
  to: "ada@example.com",
  subject: "Sign in",
  text: "enter 246810",
  html: "<p>246810</p>",
  tag: { id: id(n) },
});

type Call = [name: string, ...args: unknown[]];

/** Closed, and their held emails released, after each test. */
const cleanups: Array<() => void | Promise<void>> = [];

/** The memory backend, each call recorded; `fail` makes the named method reject once. */
function recorded() {
  const memory = new MemoryQueueBackend();
  const calls: Call[] = [];
  const fail = new Set<string>();
  const backend = {} as QueueBackend;
  for (const name of [
    "insert",
    "claim",
    "finish",
    "reschedule",
    "status",
    "health",
    "nextDue",
    "sweep",
    "close",
  ] as const) {
    (backend as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      calls.push([name, ...args]);
      if (fail.delete(name)) throw new Error(`${name} failed`);
      return (memory[name] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  const named = (name: string) => calls.filter((call) => call[0] === name);
  return { backend, memory, calls, fail, named };
}

/** A transport that holds each email until released, then answers as told. */
function held() {
  const waiting: Array<{ message: EmailMessage; release: (error?: Error) => void }> = [];
  const transport: Mailer = {
    send: (message) =>
      new Promise<void>((resolve, reject) =>
        waiting.push({ message, release: (error) => (error ? reject(error) : resolve()) }),
      ),
  };
  // Released first (unshift), so that a close waiting for attempts in flight can finish.
  cleanups.unshift(() => {
    for (const w of waiting) w.release();
  });
  return { transport, waiting };
}

/** The worker over `backend`, with the test sealer and no log unless given; closed after the test. */
function worker(
  backend: QueueBackend,
  options: Omit<PolledQueueOptions, "sealer" | "log"> & Partial<Pick<PolledQueueOptions, "log">>,
) {
  const queue = createPolledMailQueue(backend, { sealer, log: () => {}, ...options });
  cleanups.push(() => queue.close());
  return queue;
}

/** A relay that takes every email at once. */
const idle: Mailer = { send: async () => {} };

/** Lets promises settle and timers due now run, without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: START });
});
afterEach(async () => {
  try {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  } finally {
    // Whatever a cleanup did, the next file (same thread: isolate is off) gets real timers.
    vi.useRealTimers();
  }
});

describe("when the worker looks for due mail", () => {
  it("not before start, at once on start, on every send, and idle every poll interval (1 s by default)", async () => {
    const { backend, named } = recorded();
    const { transport } = held();
    const queue = worker(backend, { transport });
    await queue.mailer.send(message(1));
    await settle();
    expect(named("insert")).toHaveLength(1);
    expect(named("claim")).toHaveLength(0);

    queue.start();
    await settle();
    // The lease: the send timeout (15 s by default) and 5 s; four slots by default.
    expect(named("claim")).toEqual([["claim", START, 20_000, 4]]);
    // Idle (the one email is being sent): looks again after a second, not before.
    await vi.advanceTimersByTimeAsync(999);
    expect(named("claim")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(named("claim")).toEqual([
      ["claim", START, 20_000, 4],
      ["claim", START + 1_000, 20_000, 3],
    ]);
    // A send wakes it at once, without waiting for the poll.
    await vi.advanceTimersByTimeAsync(500);
    await queue.mailer.send(message(2));
    await settle();
    expect(named("claim").at(-1)).toEqual(["claim", START + 1_500, 20_000, 3]);
    // start() again changes nothing.
    const before = named("claim").length;
    queue.start();
    await settle();
    expect(named("claim")).toHaveLength(before);
  });

  it("sleeps until the next due retry when that comes before the poll, and the poll interval is its own", async () => {
    const { backend, named } = recorded();
    const failing: Mailer = { send: () => Promise.reject(new MailSendError("refused", true)) };
    const queue = worker(backend, {
      transport: failing,
      pollMs: 5_000,
      sendTimeoutMs: 1_000,
      retry: { firstDelayMs: 600 },
      random: () => 1,
    });
    queue.start();
    await queue.mailer.send(message(1));
    await settle();
    // Lease: 1 s + 5 s. Refused: retried 600 ms later.
    expect(named("claim")[0]).toEqual(["claim", START, 6_000, 4]);
    expect(named("reschedule")).toEqual([["reschedule", id(1), START + 600, "refused", 1]]);
    const looks = named("claim").length;
    await vi.advanceTimersByTimeAsync(599);
    expect(named("claim")).toHaveLength(looks);
    await vi.advanceTimersByTimeAsync(1);
    expect(named("claim").length).toBeGreaterThan(looks);
    expect(named("reschedule")[1]).toEqual([
      "reschedule",
      id(1),
      START + 600 + 1_200,
      "refused",
      2,
    ]);
    // Nothing due at all: the poll interval, 5 s here.
    const { backend: idle, named: idleNamed } = recorded();
    const quiet = worker(idle, {
      transport: failing,
      pollMs: 5_000,
    });
    quiet.start();
    await settle();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(idleNamed("claim")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(idleNamed("claim")).toHaveLength(2);
  });

  it("a due time past the poll interval waits only the interval", async () => {
    const { backend, named } = recorded();
    const queue = worker(backend, { transport: idle });
    backend.nextDue = async () => Date.now() + 60_000;
    queue.start();
    await settle();
    expect(named("claim")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(named("claim")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(named("claim")).toHaveLength(2);
  });

  it("one look at a time: a send during a look gets one more look right after it", async () => {
    const { backend, named } = recorded();
    const { transport } = held();
    const queue = worker(backend, { transport });
    // The first claim answers only when let go.
    let letGo!: () => void;
    const claim = backend.claim.bind(backend);
    backend.claim = async (...args) => {
      if (named("claim").length === 0) await new Promise<void>((resolve) => (letGo = resolve));
      return claim(...args);
    };
    queue.start();
    await settle();
    await queue.mailer.send(message(1));
    await queue.mailer.send(message(2));
    await settle();
    // Still in the first look: the sends did not start looks of their own.
    expect(named("claim")).toHaveLength(0);
    letGo();
    await settle();
    // The first look found both; the look asked for meanwhile ran once more, at once.
    expect(named("claim")).toEqual([
      ["claim", START, 20_000, 4],
      ["claim", START, 20_000, 2],
    ]);
  });
});

describe("the poll timer", () => {
  it("never holds the process open", async () => {
    // The fake setTimeout wrapped by hand and put back as it was: a vi.spyOn over a fake timer
    // leaves, once restored, a fake that useRealTimers no longer removes (and the next file in
    // this thread would get it).
    const fake = globalThis.setTimeout;
    const polls: Array<{ hasRef(): boolean }> = [];
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const timer = fake(...args);
      if (args[1] === 3_000) polls.push(timer as unknown as { hasRef(): boolean });
      return timer;
    }) as typeof setTimeout;
    try {
      const { backend } = recorded();
      const queue = worker(backend, { transport: idle, pollMs: 3_000 });
      queue.start();
      await settle();
    } finally {
      globalThis.setTimeout = fake;
    }
    expect(polls).toHaveLength(1);
    expect(polls[0]?.hasRef()).toBe(false);
  });
});

describe("attempts in flight", () => {
  it("at most `concurrency` at once; with every slot busy a send neither claims nor asks for the next due time", async () => {
    const { backend, named } = recorded();
    const { transport, waiting } = held();
    const queue = worker(backend, {
      transport,
      concurrency: 2,
    });
    queue.start();
    await settle();
    for (const n of [1, 2, 3]) await queue.mailer.send(message(n));
    await settle();
    expect(waiting.map((w) => w.message.tag?.id)).toEqual([id(1), id(2)]);
    const claims = named("claim").length;
    const dues = named("nextDue").length;
    await queue.mailer.send(message(4));
    await settle();
    expect(named("claim")).toHaveLength(claims);
    expect(named("nextDue")).toHaveLength(dues);
    // Nor does the poll: every slot is busy.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(named("claim")).toHaveLength(claims);
    // One ends: its slot goes to the next email at once.
    waiting[0]?.release();
    await settle();
    expect(named("finish")).toEqual([["finish", id(1), { state: "sent", at: START + 3_000 }, 1]]);
    expect(named("claim").at(-1)).toEqual(["claim", START + 3_000, 20_000, 1]);
    expect(waiting).toHaveLength(3);
  });

  it("each outcome is recorded: sent with its time, failed with its cause, a retry with its due time", async () => {
    const { backend, named } = recorded();
    const { transport, waiting } = held();
    const queue = worker(backend, {
      transport,
      retry: { firstDelayMs: 1_000 },
      random: () => 0,
    });
    queue.start();
    for (const n of [1, 2, 3]) await queue.mailer.send(message(n));
    await settle();
    await vi.advanceTimersByTimeAsync(100);
    waiting[0]?.release();
    waiting[1]?.release(new MailSendError("5xx:550", false));
    waiting[2]?.release(new MailSendError("4xx:451", true));
    await settle();
    expect(named("finish")).toEqual([
      ["finish", id(1), { state: "sent", at: START + 100 }, 1],
      ["finish", id(2), { state: "failed", cause: "5xx:550" }, 1],
    ]);
    expect(named("reschedule")).toEqual([["reschedule", id(3), START + 600, "4xx:451", 1]]);
    expect(await queue.status(id(1))).toMatchObject({ state: "sent", attempts: 1 });
    expect(await queue.status(id(2))).toMatchObject({ state: "failed", cause: "5xx:550" });
    expect(await queue.status(id(3))).toMatchObject({
      state: "retrying",
      nextAttemptAt: START + 600,
    });
  });
});

describe("housekeeping and reads", () => {
  it("sweeps on its first look and then every 30 s, not more often", async () => {
    const { backend, named } = recorded();
    const queue = worker(backend, { transport: idle });
    queue.start();
    await settle();
    expect(named("sweep")).toEqual([["sweep", START]]);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(named("sweep")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(named("sweep")).toEqual([
      ["sweep", START],
      ["sweep", START + 30_000],
    ]);
  });

  it("status, health (at the queue's clock) and the typical delivery time come from the backend and the delivery", async () => {
    const { backend, named } = recorded();
    const queue = worker(backend, { transport: idle });
    await queue.mailer.send(message(1));
    await vi.advanceTimersByTimeAsync(2_500);
    expect(await queue.health()).toEqual({ backlog: 1, oldestAgeMs: 2_500 });
    expect(named("health")).toEqual([["health", START + 2_500]]);
    expect(await queue.status(id(1))).toMatchObject({ state: "queued", queuedAt: START });
    expect(named("status")).toEqual([["status", id(1)]]);
    expect(queue.typicalDeliveryMs()).toBe(250);
    await queue.close();
  });
});

describe("a store that fails", () => {
  it("a failed look is tried again at the next poll; a failed next-due read waits the poll", async () => {
    const { backend, named, fail } = recorded();
    const { transport } = held();
    const queue = worker(backend, { transport });
    fail.add("claim");
    queue.start();
    await settle();
    expect(named("claim")).toHaveLength(1);
    await queue.mailer.send(message(1));
    await settle();
    // The send's own look (the claim failed before it; this one works).
    expect(named("claim")).toHaveLength(2);
    fail.add("nextDue");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(named("claim")).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(999);
    expect(named("claim")).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(named("claim")).toHaveLength(4);
  });

  it("an outcome the store could not record frees its slot and wakes the worker", async () => {
    const { backend, named, fail } = recorded();
    const { transport, waiting } = held();
    const queue = worker(backend, {
      transport,
      concurrency: 1,
    });
    queue.start();
    await queue.mailer.send(message(1));
    await queue.mailer.send(message(2));
    await settle();
    expect(waiting).toHaveLength(1);
    fail.add("finish");
    waiting[0]?.release();
    await settle();
    expect(named("finish")).toHaveLength(1);
    // The slot is free again: the second email is attempted at once.
    expect(waiting).toHaveLength(2);
    expect(waiting[1]?.message.tag?.id).toBe(id(2));
  });
});

describe("close", () => {
  it("waits for the attempts in flight, closes the backend, and the worker looks no more", async () => {
    const { backend, named } = recorded();
    const { transport, waiting } = held();
    const queue = worker(backend, { transport });
    queue.start();
    await queue.mailer.send(message(1));
    await settle();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    expect(named("close")).toHaveLength(0);
    waiting[0]?.release();
    await closing;
    expect(named("finish")).toHaveLength(1);
    expect(named("close")).toHaveLength(1);
    // The poll it was sleeping on is cleared, not left to fire.
    expect(vi.getTimerCount()).toBe(0);
    const looks = named("claim").length;
    // Neither a send, the poll nor start() wakes a closed queue.
    await queue.mailer.send(message(2));
    queue.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(named("claim")).toHaveLength(looks);
  });

  it("a queue closed during a look does not look again afterwards", async () => {
    const { backend, named } = recorded();
    const queue = worker(backend, { transport: idle });
    let letGo!: () => void;
    const claim = backend.claim.bind(backend);
    backend.claim = async (...args) => {
      if (named("claim").length === 0) await new Promise<void>((resolve) => (letGo = resolve));
      return claim(...args);
    };
    queue.start();
    await settle();
    await queue.mailer.send(message(1));
    const closing = queue.close();
    letGo();
    await closing;
    // The look in progress ends (and its attempt with it); none follows.
    expect(named("claim")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(named("claim")).toHaveLength(1);
  });

  it("a look that ends after close sets no timer for the next one", async () => {
    const { backend } = recorded();
    const queue = worker(backend, { transport: idle });
    let letGo!: () => void;
    const nextDue = backend.nextDue.bind(backend);
    backend.nextDue = async () => {
      await new Promise<void>((resolve) => (letGo = resolve));
      return nextDue();
    };
    queue.start();
    await settle();
    const closing = queue.close();
    letGo();
    await closing;
    expect(vi.getTimerCount()).toBe(0);
  });
});
