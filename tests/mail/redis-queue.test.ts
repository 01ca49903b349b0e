/**
 * The mail queue on Redis (BullMQ), for several instances: a message queued by one instance
 * is delivered by whichever worker takes it, its state reads the same everywhere, and when
 * the instance that queued it is killed (kill -9) before delivery, another delivers it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createSealer } from "../../app/lib/aead.server";
import { createRedisClient } from "../../app/store/redis.server";
import { Outbox } from "../../app/mail/outbox.server";
import { createBullmqMailQueue } from "../../app/mail/queue-bullmq.server";
import type { MailEvent, MailQueue } from "../../app/mail/queue.server";
import { CookieJar, TEST_SECRET } from "../support/auth";
import { startFaultSmtp, type FaultSmtp } from "../support/fault-smtp";
import {
  productionBuild,
  startProductionServer,
  type ProductionServer,
} from "../support/production-app";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink";
import { until } from "../support/until";

let redis: RedisServer;
let sink: SmtpSink;
beforeAll(async () => {
  [redis, sink] = await Promise.all([startRedisServer(), startSmtpSink()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), sink?.close()]);
});

describe("two queues on one Redis, in one process", () => {
  it("one records, the other's worker delivers; both read the same state; the body is gone once sent", async () => {
    const prefix = `inproc${Date.now()}:`;
    const events: MailEvent[] = [];
    const clients: Redis[] = [];
    const make = (transport: Outbox) =>
      createBullmqMailQueue({
        client: clients[clients.push(createRedisClient({ url: redis.url })) - 1] as Redis,
        url: redis.url,
        prefix,
        transport,
        sealer: createSealer([TEST_SECRET], "mail-queue", 65_536),
        sendTimeoutMs: 2_000,
        log: (event) => events.push(event),
      });
    const [recorder, deliverer] = [new Outbox(), new Outbox()];
    const a: MailQueue = make(recorder);
    const b: MailQueue = make(deliverer);
    try {
      // Only B has a worker: A is an instance that records and then does nothing.
      b.start();
      const id = "0123456789abcdef0123456789abcdef";
      await a.mailer.send({
        to: "ada@example.com",
        subject: "Sign in",
        text: "code 123456",
        html: "<p>123456</p>",
        tag: { id },
      });
      const status = await until("sent", async () => {
        const s = await a.status(id);
        return s?.state === "sent" ? s : undefined;
      });
      expect(status.attempts).toBe(1);
      expect((await b.status(id))?.state).toBe("sent");
      expect(deliverer.latestTo("ada@example.com")?.text).toBe("code 123456");
      expect(recorder.list()).toHaveLength(0);
      expect(events).toMatchObject([{ id, attempt: 1, outcome: "sent" }]);
      expect(await a.health()).toEqual({ backlog: 0, oldestAgeMs: 0 });
      expect(await a.status("fedcba9876543210fedcba9876543210")).toBeNull();
    } finally {
      await Promise.all([a.close(), b.close()]);
      for (const client of clients) client.disconnect();
    }
  });
});

describe("two production instances on one Redis", () => {
  const APP_ORIGIN = "https://app.example.test";
  let relay: FaultSmtp;
  let a: ProductionServer;
  let b: ProductionServer;

  beforeAll(async () => {
    const build = await productionBuild();
    relay = await startFaultSmtp("down", sink);
    const env = {
      APP_ORIGIN,
      SESSION_SECRETS: "mail-queue-redis-test-secret-0123456789abcdef",
      MAIL_TRANSPORT: "smtp",
      SMTP_URL: relay.url,
      MAIL_FROM: "Sign in <login@app.example.test>",
      REDIS_URL: redis.url,
      REDIS_PREFIX: "mq2:",
      MAIL_SEND_TIMEOUT: "1",
      MAIL_RETRY_DELAY: "0.3",
    };
    [a, b] = await Promise.all([
      startProductionServer(build, env),
      startProductionServer(build, env),
    ]);
  }, 150_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await relay?.close();
  });

  const post = async (server: ProductionServer, path: string, jar: CookieJar, form: object) => {
    const response = await fetch(server.url + path, {
      method: "POST",
      headers: {
        Origin: APP_ORIGIN,
        "Content-Type": "application/x-www-form-urlencoded",
        Cookie: jar.header(),
      },
      body: new URLSearchParams(form as Record<string, string>).toString(),
      redirect: "manual",
    });
    jar.store(response);
    return response;
  };

  it("the instance that queued the email is killed (kill -9) before delivery: the other delivers it, and its code signs in", async () => {
    const jar = new CookieJar();
    const email = "crash@example.com";
    // (How fast the answer comes is tests/mail/faults.test.ts's: a refused connection fails
    // at once, so a clock here could not tell an answer that waited from one that did not.)
    const response = await post(a, "/login", jar, { email, returnTo: "/dashboard" });
    expect(response.status).toBe(303);
    // The relay is down: the first attempt fails, nothing is delivered before the crash.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await a.kill();
    expect(sink.lastEmailTo(email)).toBeUndefined();
    await relay.heal();
    // If A held the job when it died, B takes it only once A's lock has run out (the send
    // timeout + 5 s) and B's next stalled check has seen it: up to about 12 s on an idle
    // machine. The bounds are generous for a loaded one; A is dead, so without B's takeover
    // nothing ever arrives and the wait fails.
    const emailed = await sink.waitForNthEmailTo(email, 1, 45_000);
    // Delivered by B: its log has the attempt that went through (written once the relay
    // has answered, a moment after the sink has the message).
    await until(
      "B's log line",
      async () => (/"type":"mail".*"outcome":"sent"/.test(b.output()) ? true : undefined),
      30_000,
    );
    // B tells the same browser that it went, and takes the code. The log line comes before
    // the job is marked completed in Redis (until then it reads as still retrying, from the
    // failed first attempt), so the status is asked again, as the browser's poll does, until
    // it says sent; a job that never completes fails the wait.
    const state = await until(
      "B's status: sent",
      async () => {
        const response = await fetch(`${b.url}/login/status`, {
          headers: { Cookie: jar.header() },
        });
        const body = (await response.json()) as { state?: string };
        return body.state === "sent" ? body.state : undefined;
      },
      30_000,
    );
    expect(state).toBe("sent");
    const signedIn = await post(b, "/login/check", jar, { code: emailed.code as string });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("Location")).toBe("/dashboard");
  }, 150_000);
});
