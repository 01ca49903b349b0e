/**
 * The mail queue in the SQLite file (the default store): leases keep two workers off one
 * message, and a message recorded before a crash is delivered by the next process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSealer } from "../../app/lib/aead.server";
import { Outbox } from "../../app/mail/outbox.server";
import { createPolledMailQueue } from "../../app/mail/polled-queue.server";
import { CLAIM_SQL, SqliteQueueBackend } from "../../app/mail/queue-sqlite.server";
import { openDatabase, type Database } from "../../app/store/sqlite/database.server";
import { CookieJar, TEST_SECRET } from "../support/auth";
import { startFaultSmtp } from "../support/fault-smtp";
import { productionBuild, startProductionServer } from "../support/production-app";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink";
import { describeQueueBackend } from "./queue-backend-contract";

let dir: string;
let sink: SmtpSink;
/** The contract's database: one file, emptied for each test. */
let contractDb: Database | undefined;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "pls-mailq-"));
  sink = await startSmtpSink();
});
afterAll(async () => {
  contractDb?.close();
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

const sealer = createSealer([TEST_SECRET], "mail-queue", 65_536);
const ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const email = {
  to: "grace@example.com",
  subject: "Sign in",
  text: "enter 135791",
  html: "<p>135791</p>",
  tag: { id: ID },
};

describeQueueBackend("SQLite", () => {
  contractDb ??= openDatabase(path.join(dir, "contract.sqlite"));
  const db = contractDb;
  db.exec("DELETE FROM mail_queue");
  const sealedOf = db.prepare("SELECT sealed FROM mail_queue WHERE id = ?");
  return {
    backend: new SqliteQueueBackend(db),
    sealedOf: (id) => (sealedOf.get(id) as { sealed: string | null } | undefined)?.sealed,
  };
});

describe("the SQLite queue backend", () => {
  it("a claim takes the earliest due messages first", async () => {
    const db = openDatabase(path.join(dir, "order.sqlite"));
    try {
      const backend = new SqliteQueueBackend(db);
      for (const [n, createdAt] of [
        [1, 3_000],
        [2, 1_000],
        [3, 2_000],
      ] as const)
        await backend.insert({
          id: String(n).padStart(32, "0"),
          sealed: "x",
          createdAt,
          expiresAt: 100_000,
          attempts: 0,
        });
      const claimed = await backend.claim(5_000, 10_000, 2);
      expect(claimed.map((m) => m.createdAt).sort()).toEqual([1_000, 2_000]);
    } finally {
      db.close();
    }
  });

  it("a claim takes the oldest free messages of both states, and sorts only those it takes, not the backlog", async () => {
    const db = openDatabase(path.join(dir, "backlog.sqlite"));
    try {
      const backend = new SqliteQueueBackend(db);
      const id = (n: number) => String(n).padStart(32, "0");
      // A burst: 300 queued, created 1,000 … 300,000; the oldest two held by a worker.
      for (let n = 1; n <= 300; n++)
        await backend.insert({
          id: id(n),
          sealed: "x",
          createdAt: n * 1_000,
          expiresAt: 10_000_000,
          attempts: 0,
        });
      expect(await backend.claim(400_000, 60_000, 2)).toHaveLength(2);
      // Two retrying, due at 2,500 and 400,000 (the latter not yet due at 300,500).
      for (const [n, due] of [
        [3, 2_500],
        [4, 400_000],
      ] as const) {
        await backend.reschedule(id(n), due, "4xx:451", 1);
      }
      const claimed = await backend.claim(300_500, 60_000, 3);
      // Messages 1 and 2 are leased; 3 is retrying and due at 2,500; then 5 and 6 queued.
      expect(claimed.map((m) => m.id)).toEqual([id(3), id(5), id(6)]);

      // The plan: each state's rows come from the (state, next_at) index in order, and the
      // one sort is over what those walks took (at most `limit` each), never beside the walk
      // of the index itself, which would gather and sort the whole due backlog.
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${CLAIM_SQL}`)
        .all({ until: 1, now: 1, limit: 1 }) as {
        id: number;
        parent: number;
        detail: string;
      }[];
      const walks = plan.filter((row) =>
        /^SEARCH mail_queue USING INDEX mail_queue_due \(state=\? AND next_at<\?\)$/.test(
          row.detail,
        ),
      );
      expect(walks).toHaveLength(2);
      const sorts = plan.filter((row) => row.detail.startsWith("USE TEMP B-TREE"));
      expect(sorts).toHaveLength(1);
      for (const walk of walks) expect(sorts.map((sort) => sort.parent)).not.toContain(walk.parent);
    } finally {
      db.close();
    }
  });

  it("one sweep drops at most 500 bodies and 500 rows: a long outage's backlog goes over several", async () => {
    const db = openDatabase(path.join(dir, "sweep.sqlite"));
    try {
      const backend = new SqliteQueueBackend(db);
      for (let n = 0; n < 501; n++)
        await backend.insert({
          id: n.toString(16).padStart(32, "0"),
          sealed: "x",
          createdAt: 0,
          expiresAt: 1_000,
          attempts: 0,
        });
      const count = (where: string) =>
        (db.prepare(`SELECT COUNT(*) AS n FROM mail_queue WHERE ${where}`).get() as { n: number })
          .n;
      await backend.sweep(1_000);
      expect(count("sealed IS NOT NULL")).toBe(1);
      await backend.sweep(1_000);
      expect(count("sealed IS NOT NULL")).toBe(0);
      expect(count("state = 'failed'")).toBe(501);
      await backend.sweep(10 * 60_000);
      expect(count("1")).toBe(1);
      await backend.sweep(10 * 60_000);
      expect(count("1")).toBe(0);
    } finally {
      db.close();
    }
  });

  it("a claimed message is leased: no second claim until the lease runs out", async () => {
    const db = openDatabase(path.join(dir, "lease.sqlite"));
    try {
      const a = new SqliteQueueBackend(db);
      const b = new SqliteQueueBackend(db);
      await a.insert({ id: ID, sealed: "x", createdAt: 1_000, expiresAt: 100_000, attempts: 0 });
      expect(await a.claim(2_000, 10_000, 4)).toMatchObject([{ id: ID, attempts: 0 }]);
      expect(await b.claim(2_001, 10_000, 4)).toEqual([]);
      expect(await b.claim(12_001, 10_000, 4)).toMatchObject([{ id: ID }]);
      await b.reschedule(ID, 20_000, "4xx:451", 1);
      expect(await a.status(ID)).toMatchObject({
        state: "retrying",
        attempts: 1,
        cause: "4xx:451",
      });
      expect(await a.claim(19_999, 10_000, 4)).toEqual([]);
      expect(await a.nextDue()).toBe(20_000);
      await a.finish(ID, { state: "sent", at: 20_500 }, 2);
      expect(await a.status(ID)).toMatchObject({ state: "sent", sentAt: 20_500, attempts: 2 });
      const row = db.prepare("SELECT sealed FROM mail_queue WHERE id = ?").get(ID);
      expect(row).toEqual({ sealed: null });
      // Kept while a pending sign-in could ask, then gone.
      await a.sweep(1_000 + 10 * 60_000 + 100_000);
      expect(await a.status(ID)).toBeNull();
    } finally {
      db.close();
    }
  });

  it("the next due time is the earliest message no worker holds, read from the index", async () => {
    const db = openDatabase(path.join(dir, "due.sqlite"));
    try {
      const backend = new SqliteQueueBackend(db);
      expect(await backend.nextDue()).toBeUndefined();
      const mail = (id: string, createdAt: number) => ({
        id: id.padEnd(32, "0"),
        sealed: "x",
        createdAt,
        expiresAt: 100_000,
        attempts: 0,
      });
      // Held by a worker until 12,000: left to the poll, which finds it once the lease runs out.
      await backend.insert(mail("a", 1_000));
      expect(await backend.claim(2_000, 10_000, 1)).toHaveLength(1);
      expect(await backend.nextDue()).toBeUndefined();
      // Queued at 30,000 and retrying at 25,000: the earlier of the two free ones.
      await backend.insert(mail("b", 30_000));
      await backend.insert(mail("c", 3_000));
      expect(await backend.claim(4_000, 10_000, 1)).toMatchObject([{ id: mail("c", 0).id }]);
      await backend.reschedule(mail("c", 0).id, 25_000, "4xx:451", 1);
      expect(await backend.nextDue()).toBe(25_000);
      await backend.finish(mail("c", 0).id, { state: "sent", at: 26_000 }, 2);
      expect(await backend.nextDue()).toBe(30_000);
    } finally {
      db.close();
    }
  });

  it("a worker with every slot busy does not look for the next due time once per email queued", async () => {
    const db = openDatabase(path.join(dir, "burst.sqlite"));
    const backend = new SqliteQueueBackend(db);
    let looks = 0;
    const nextDue = backend.nextDue.bind(backend);
    backend.nextDue = () => {
      looks += 1;
      return nextDue();
    };
    // A relay that holds every email until let through: the four slots fill and stay full.
    const held: Array<() => void> = [];
    let through = false;
    const letThrough = () => {
      through = true;
      held.splice(0).forEach((release) => release());
    };
    const outbox = new Outbox();
    const queue = createPolledMailQueue(backend, {
      transport: {
        send: async (message) => {
          if (!through) await new Promise<void>((resolve) => held.push(resolve));
          await outbox.send(message);
        },
      },
      sealer,
      log: () => {},
      concurrency: 4,
    });
    try {
      queue.start();
      const ids = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(32, "0"));
      for (const id of ids) await queue.mailer.send({ ...email, tag: { id } });
      // The start and the first four sends; not one look per email of the burst.
      expect(looks).toBeLessThanOrEqual(5);
      letThrough();
      const deadline = Date.now() + 10_000;
      const sent = async () =>
        (await Promise.all(ids.map((id) => queue.status(id)))).every((s) => s?.state === "sent");
      while (!(await sent()) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await sent()).toBe(true);
      expect(outbox.latestTo("grace@example.com")?.text).toBe("enter 135791");
    } finally {
      letThrough();
      await queue.close();
      db.close();
    }
  });

  it("recorded by one process, delivered by the next one on the same file", async () => {
    const file = path.join(dir, "restart.sqlite");
    const first = openDatabase(file);
    const recorder = createPolledMailQueue(new SqliteQueueBackend(first), {
      transport: new Outbox(),
      sealer,
      log: () => {},
    });
    // Recorded, never started: the process ends before its worker gets to it.
    await recorder.mailer.send(email);
    const stored = first.prepare("SELECT sealed FROM mail_queue").all();
    expect(JSON.stringify(stored)).not.toContain("135791");
    await recorder.close();
    first.close();

    const second = openDatabase(file);
    const outbox = new Outbox();
    const next = createPolledMailQueue(new SqliteQueueBackend(second), {
      transport: outbox,
      sealer,
      log: () => {},
      pollMs: 50,
    });
    try {
      next.start();
      const deadline = Date.now() + 10_000;
      while ((await next.status(ID))?.state !== "sent" && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(outbox.latestTo("grace@example.com")?.text).toBe("enter 135791");
    } finally {
      await next.close();
      second.close();
    }
  });
});

describe("a production server restarted between enqueue and delivery", () => {
  it("kill -9 while the relay is down; the next process on the same DATA_DIR delivers, and the code signs in", async () => {
    const build = await productionBuild();
    const relay = await startFaultSmtp("down", sink);
    const APP_ORIGIN = "https://app.example.test";
    const env = {
      APP_ORIGIN,
      SESSION_SECRETS: "mail-queue-sqlite-test-secret-0123456789abcdef",
      MAIL_TRANSPORT: "smtp",
      SMTP_URL: relay.url,
      MAIL_FROM: "Sign in <login@app.example.test>",
      DATA_DIR: path.join(dir, "server"),
      MAIL_SEND_TIMEOUT: "1",
      MAIL_RETRY_DELAY: "0.3",
    };
    const post = async (url: string, jar: CookieJar, form: Record<string, string>) => {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          Origin: APP_ORIGIN,
          "Content-Type": "application/x-www-form-urlencoded",
          Cookie: jar.header(),
        },
        body: new URLSearchParams(form).toString(),
        redirect: "manual",
      });
      jar.store(response);
      return response;
    };
    const first = await startProductionServer(build, env);
    let second: Awaited<ReturnType<typeof startProductionServer>> | undefined;
    try {
      const jar = new CookieJar();
      const to = "restart@example.com";
      // (How fast the answer comes is tests/mail/faults.test.ts's, against relays that hang.)
      expect((await post(`${first.url}/login`, jar, { email: to })).status).toBe(303);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await first.kill();
      expect(sink.lastEmailTo(to)).toBeUndefined();

      await relay.heal();
      second = await startProductionServer(build, env);
      const emailed = await sink.waitForNthEmailTo(to, 1, 20_000);
      const signedIn = await post(`${second.url}/login/check`, jar, {
        code: emailed.code as string,
      });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.getSetCookie().some((c) => c.includes("session="))).toBe(true);
    } finally {
      await first.stop();
      await second?.stop();
      await relay.close();
    }
  }, 120_000);
});
