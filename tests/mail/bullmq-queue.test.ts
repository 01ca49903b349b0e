/**
 * The BullMQ queue (app/mail/queue-bullmq.server.ts) in one process against a real Redis:
 * what a job holds and under which key, each state as the check page reads it, the body
 * dropped once sent or given up (S32), retries scheduled by the shared policy and not by
 * BullMQ's own, the backlog for /healthz, and the worker's lock, slots and connection.
 * (tests/mail/redis-queue.test.ts has two queues and two production instances.)
 */
import { Job, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createSealer } from "../../app/lib/aead.server";
import {
  createBullmqMailQueue,
  type BullmqMailQueueOptions,
} from "../../app/mail/queue-bullmq.server";
import type { MailEvent, MailQueue } from "../../app/mail/queue.server";
import { MailSendError, type EmailMessage, type Mailer } from "../../app/mail/types";
import { createRedisClient } from "../../app/store/redis.server";
import { TEST_SECRET } from "../support/auth";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { until } from "../support/until";

const sealer = createSealer([TEST_SECRET], "mail-queue", 65_536);
const id = (n: number) => n.toString(16).padStart(32, "0");
const message = (n: number): EmailMessage => ({
  to: "ada@example.com",
  subject: "Sign in",
  text: "enter 246810",
  html: "<p>246810</p>",
  tag: { id: id(n) },
});

let redis: RedisServer;
/** The store's client every queue here records through (as the app's services do). */
let client: Redis;
/** A plain client of the test's own, to look at the keys. */
let look: Redis;
beforeAll(async () => {
  redis = await startRedisServer();
  client = createRedisClient({ url: redis.url });
  look = createRedisClient({ url: redis.url });
  await Promise.all(
    [client, look].map((c) =>
      c.status === "ready" ? undefined : new Promise((resolve) => c.once("ready", resolve)),
    ),
  );
});
afterAll(async () => {
  client?.disconnect();
  look?.disconnect();
  await redis?.stop();
});

let prefixes = 0;
/** A queue under a prefix of its own, closed by `using` at the end of the test. */
function make(options: Partial<BullmqMailQueueOptions> = {}) {
  const prefix = options.prefix ?? `t${++prefixes}:`;
  const events: MailEvent[] = [];
  const queue = createBullmqMailQueue({
    client,
    url: redis.url,
    transport: { send: async () => {} },
    sealer,
    log: (event) => events.push(event),
    ...options,
    prefix,
  });
  // BullMQ's own view of the same queue, to read the jobs as stored.
  const raw = new Queue("mail", { connection: look, prefix: `${prefix}mq` });
  return {
    queue,
    raw,
    events,
    prefix,
    close: async () => {
      await queue.close();
      await raw.close();
    },
  };
}

const inState = (queue: MailQueue, n: number, state: string) =>
  until(state, async () => {
    const status = await queue.status(id(n));
    return status?.state === state ? status : undefined;
  });

describe("recording", () => {
  it("one job per email under `<prefix>mq:`, id `m<id>`, the body sealed, one BullMQ attempt, kept ten minutes", async () => {
    let now = 1_000_000;
    const q = make({ clock: () => now, appClock: () => now });
    try {
      await q.queue.mailer.send({ ...message(1), expiresAt: now + 60_000 });
      const job = await q.raw.getJob(`m${id(1)}`);
      // Named as operators see it in BullMQ's own tools.
      expect(job?.name).toBe("send");
      expect(job?.data).toEqual({
        sealed: expect.any(String),
        createdAt: 1_000_000,
        expiresAt: 1_060_000,
        attempts: 0,
      });
      expect(sealer.open(job?.data.sealed)).toContain("246810");
      expect(job?.opts).toMatchObject({
        attempts: 1,
        removeOnComplete: { age: 600 },
        removeOnFail: { age: 600 },
      });
      expect(await look.keys(`${q.prefix}mq:mail:m${id(1)}`)).toHaveLength(1);
      // Queued, never attempted: no next attempt, no cause.
      now += 500;
      expect(await q.queue.status(id(1))).toEqual({
        state: "queued",
        queuedAt: 1_000_000,
        attempts: 0,
      });
    } finally {
      await q.close();
    }
  });

  it("without a prefix, the store's own: pls:mq:", async () => {
    const queue = createBullmqMailQueue({
      client,
      url: redis.url,
      transport: { send: async () => {} },
      sealer,
      log: () => {},
    });
    try {
      await queue.mailer.send(message(7));
      expect(await look.exists(`pls:mq:mail:m${id(7)}`)).toBe(1);
    } finally {
      await queue.close();
      for (const key of await look.keys("pls:mq:*")) await look.del(key);
    }
  });

  it("status: only ids of our own form are looked up; an unknown one is null", async () => {
    const q = make();
    try {
      await q.queue.mailer.send(message(1));
      expect(await q.queue.status(id(1))).not.toBeNull();
      for (const bad of [
        "",
        `${id(1)}x`,
        `x${id(1)}`,
        id(1).toUpperCase().replace(/0/g, "A"),
        "f".repeat(65),
      ])
        expect(await q.queue.status(bad)).toBeNull();
      expect(await q.queue.status("f".repeat(64))).toBeNull();
      // One hex digit is an id of our form: looked up (and not there).
      await q.queue.mailer.send({ ...message(1), tag: { id: "a" } });
      expect(await q.queue.status("a")).toMatchObject({ state: "queued" });
    } finally {
      await q.close();
    }
  });
});

/** The relay's answer to an attempt, given when the test says. */
interface Relay {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function heldRelay(): Relay {
  const relay = {} as Relay;
  relay.promise = new Promise<void>((resolve, reject) => Object.assign(relay, { resolve, reject }));
  return relay;
}

describe("delivering", () => {
  it("sent: the time, one attempt, the body gone, and the log line under the email's own id", async () => {
    const q = make();
    try {
      q.queue.start();
      const before = Date.now();
      await q.queue.mailer.send(message(1));
      const status = await inState(q.queue, 1, "sent");
      expect(status).toEqual({
        state: "sent",
        queuedAt: expect.any(Number),
        attempts: 1,
        sentAt: expect.any(Number),
      });
      expect(status.sentAt).toBeGreaterThanOrEqual(before);
      expect((await q.raw.getJob(`m${id(1)}`))?.data.sealed).toBeNull();
      expect(q.events).toMatchObject([{ id: id(1), attempt: 1, outcome: "sent" }]);
    } finally {
      await q.close();
    }
  });

  it.each([
    {
      outcome: "sent",
      list: "completed",
      finish: (relay: Relay) => relay.resolve(),
      expected: { state: "sent", attempts: 1, sentAt: expect.any(Number) },
    },
    {
      outcome: "failed",
      list: "failed",
      finish: (relay: Relay) => relay.reject(new MailSendError("5xx:550", false)),
      expected: { state: "failed", attempts: 1, cause: "5xx:550" },
    },
  ])(
    "a job $outcome while its status is read shows that outcome with its attempt, never mixed with what it was before",
    async ({ list, finish, expected }) => {
      // The relay holds the message until the status read is under way.
      const relay = heldRelay();
      let sending = false;
      const q = make({ transport: { send: () => ((sending = true), relay.promise) } });
      const finished = async () =>
        (await look.zscore(`${q.prefix}mq:mail:${list}`, `m${id(1)}`)) !== null || undefined;
      // Whichever read the status makes first, the job finishes before that read returns,
      // so the next read sees the finished job: a status that mixes the two shows here.
      let first = true;
      const hold = <A extends unknown[], T>(read: (...args: A) => Promise<T>) =>
        async function (this: unknown, ...args: A): Promise<T> {
          const result = await read.apply(this, args);
          if (first) {
            first = false;
            finish(relay);
            await until("the job finished", finished);
          }
          return result;
        };
      const { getJob, getJobState } = Queue.prototype;
      const { getState } = Job.prototype;
      const spies = [
        vi.spyOn(Queue.prototype, "getJob").mockImplementation(hold(getJob)),
        vi.spyOn(Queue.prototype, "getJobState").mockImplementation(hold(getJobState)),
        vi.spyOn(Job.prototype, "getState").mockImplementation(hold(getState)),
      ];
      try {
        q.queue.start();
        await q.queue.mailer.send(message(1));
        await until("the attempt under way", async () => sending || undefined);
        const status = await q.queue.status(id(1));
        expect(first).toBe(false);
        expect(status).toEqual({ queuedAt: expect.any(Number), ...expected });
      } finally {
        for (const spy of spies) spy.mockRestore();
        relay.resolve();
        await q.close();
      }
    },
  );

  it("the typical delivery time (the check page's \"usually\") follows the worker's deliveries", async () => {
    let now = 5_000_000;
    const q = make({
      clock: () => now,
      appClock: () => now,
      // A relay that takes a second of the queue's clock.
      transport: { send: async () => void (now += 1_000) },
    });
    try {
      expect(q.queue.typicalDeliveryMs()).toBe(250);
      q.queue.start();
      await q.queue.mailer.send(message(1));
      await inState(q.queue, 1, "sent");
      // A fifth of the way from 250 ms towards this delivery's 1,000 ms.
      expect(q.queue.typicalDeliveryMs()).toBe(400);
    } finally {
      await q.close();
    }
  });

  it("refused for good: failed with its cause, the body gone, given up after one attempt", async () => {
    const q = make({
      transport: { send: () => Promise.reject(new MailSendError("5xx:550", false)) },
    });
    try {
      q.queue.start();
      await q.queue.mailer.send(message(1));
      expect(await inState(q.queue, 1, "failed")).toEqual({
        state: "failed",
        queuedAt: expect.any(Number),
        attempts: 1,
        cause: "5xx:550",
      });
      expect((await q.raw.getJob(`m${id(1)}`))?.data.sealed).toBeNull();
      expect(q.events).toHaveLength(1);
    } finally {
      await q.close();
    }
  });

  it("failed by BullMQ itself (as a job that stalled too often is): failed, not queued", async () => {
    const q = make();
    // Another worker on the same queue whose attempt BullMQ fails: the job's data is left
    // as it was recorded, with no attempt, and only BullMQ's state says it is over.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const other = new Worker(
      "mail",
      async () => {
        throw new Error("stalled too often");
      },
      { connection, prefix: `${q.prefix}mq` },
    );
    try {
      await q.queue.mailer.send(message(1));
      expect(await inState(q.queue, 1, "failed")).toEqual({
        state: "failed",
        queuedAt: expect.any(Number),
        attempts: 0,
      });
    } finally {
      await other.close();
      connection.disconnect();
      await q.close();
    }
  });

  it("a transient failure: retrying at the shared policy's time, the body kept, then sent on the next attempt", async () => {
    let fail = true;
    const transport: Mailer = {
      send: async () => {
        if (fail) throw new MailSendError("4xx:451", true);
      },
    };
    const q = make({ transport, retry: { firstDelayMs: 400 }, random: () => 1 });
    try {
      q.queue.start();
      const before = Date.now();
      await q.queue.mailer.send(message(1));
      const retrying = await inState(q.queue, 1, "retrying");
      expect(retrying).toMatchObject({ attempts: 1, cause: "4xx:451" });
      expect(retrying.nextAttemptAt).toBeGreaterThanOrEqual(before + 400);
      expect(retrying.nextAttemptAt).toBeLessThanOrEqual(Date.now() + 400);
      expect((await q.raw.getJob(`m${id(1)}`))?.data.sealed).toEqual(expect.any(String));
      expect(await q.queue.health()).toMatchObject({ backlog: 1 });
      fail = false;
      const sent = await inState(q.queue, 1, "sent");
      // Not before its time: BullMQ's own backoff is not used.
      expect(sent.sentAt).toBeGreaterThanOrEqual(retrying.nextAttemptAt as number);
      expect(sent).toMatchObject({ attempts: 2, cause: "4xx:451" });
      expect(sent.nextAttemptAt).toBeUndefined();
      expect(q.events.map((e) => [e.attempt, e.outcome])).toEqual([
        [1, "retry"],
        [2, "sent"],
      ]);
    } finally {
      await q.close();
    }
  });
});

describe("the worker", () => {
  it("four attempts at once by default, or its own number; each holds a lock of the send timeout and 5 s", async () => {
    const held: Array<() => void> = [];
    const transport: Mailer = { send: () => new Promise<void>((resolve) => held.push(resolve)) };
    let now = 7_000_000;
    const four = make({ transport, sendTimeoutMs: 3_000, clock: () => now, appClock: () => now });
    const two = make({ transport, concurrency: 2 });
    try {
      four.queue.start();
      for (const n of [1, 2, 3, 4]) await four.queue.mailer.send(message(n));
      now += 1_000;
      await four.queue.mailer.send(message(5));
      await until("four in flight", async () => (held.length === 4 ? true : undefined));
      // The backlog counts those in flight too, and the oldest of them is one.
      now += 1_000;
      expect(await four.queue.health()).toEqual({ backlog: 5, oldestAgeMs: 2_000 });
      // Renewed at half its length: between 4 and 8 s left.
      const lock = await look.pttl(`${four.prefix}mq:mail:m${id(1)}:lock`);
      expect(lock).toBeGreaterThan(3_000);
      expect(lock).toBeLessThanOrEqual(8_000);
      // Held for a moment longer: still four.
      await until("still four", async () =>
        (await four.raw.getActiveCount()) === 4 ? true : undefined,
      );
      expect(held).toHaveLength(4);
      held.splice(0).forEach((release) => release());
      await until("the fifth", async () => (held.length === 1 ? true : undefined));
      held.splice(0).forEach((release) => release());

      two.queue.start();
      for (const n of [1, 2, 3]) await two.queue.mailer.send(message(n));
      await until("two in flight", async () => (held.length === 2 ? true : undefined));
      expect(await two.raw.getActiveCount()).toBe(2);
    } finally {
      held.splice(0).forEach((release) => release());
      await Promise.all([four.close(), two.close()]);
    }
  });

  it("start() twice opens one connection; close() ends it", async () => {
    const q = make();
    // The worker's connections are named under its prefix (the blocking one by BullMQ), so
    // connections other tests leave closing on this server are not counted.
    const workers = async () =>
      String(await look.client("LIST"))
        .split("\n")
        .filter((line) => line.includes(` name=${q.prefix}`)).length;
    expect(await workers()).toBe(0);
    try {
      q.queue.start();
      await q.queue.mailer.send(message(1));
      await inState(q.queue, 1, "sent");
      // Its own connection and BullMQ's blocking one.
      await until("the worker's connections", async () =>
        (await workers()) === 2 ? true : undefined,
      );
      q.queue.start();
      await q.queue.mailer.send(message(2));
      await inState(q.queue, 2, "sent");
      expect(await workers()).toBe(2);
    } finally {
      await q.close();
    }
    await until("closed", async () => ((await workers()) === 0 ? true : undefined));
  });
});

describe("a Redis that goes away", () => {
  it("its connection errors are handled (no crash, nothing unhandled), and it delivers once Redis is back", async () => {
    const own = await startRedisServer();
    const store = createRedisClient({ url: own.url });
    const queue = createBullmqMailQueue({
      client: store,
      url: own.url,
      transport: { send: async () => {} },
      sealer,
      log: () => {},
      prefix: "away:",
    });
    try {
      queue.start();
      await queue.mailer.send(message(1));
      await inState(queue, 1, "sent");
      await own.kill();
      // Every client reconnects meanwhile: each failed try is an "error" event on the
      // store's client, the worker's connection and the worker.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await own.restart();
      await until("the store's client back", () => (store.status === "ready" ? true : undefined));
      await queue.mailer.send(message(2));
      await inState(queue, 2, "sent");
    } finally {
      await queue.close();
      store.disconnect();
      await own.stop();
    }
  });
});

describe("health", () => {
  it("the backlog waiting, delayed or in flight, and the age of its oldest email by the queue's clock", async () => {
    let now = 5_000_000;
    const prefix = `health${++prefixes}:`;
    // An older email already sent (kept for its status) is not part of the backlog's age.
    const sender = make({ prefix, clock: () => now - 60_000, appClock: () => now - 60_000 });
    sender.queue.start();
    await sender.queue.mailer.send(message(8));
    await inState(sender.queue, 8, "sent");
    await sender.close();
    const q = make({ prefix, clock: () => now, appClock: () => now });
    try {
      expect(await q.queue.health()).toEqual({ backlog: 0, oldestAgeMs: 0 });
      await q.queue.mailer.send(message(1));
      now += 1_000;
      await q.queue.mailer.send(message(2));
      now += 2_000;
      expect(await q.queue.health()).toEqual({ backlog: 2, oldestAgeMs: 3_000 });
      // A delayed one (a retry) is in the backlog, and may be the oldest.
      const delayed = await q.raw.getJob(`m${id(1)}`);
      await q.raw.add("send", { ...delayed?.data }, { jobId: `m${id(9)}`, delay: 60_000 });
      await delayed?.remove();
      expect(await q.queue.health()).toEqual({ backlog: 2, oldestAgeMs: 3_000 });
    } finally {
      await q.close();
    }
  });
});
