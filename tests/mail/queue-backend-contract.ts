/**
 * What every polled-queue backend (app/mail/polled-queue.server.ts, `QueueBackend`) must do,
 * run against the memory one and the SQLite one: which messages a claim takes and for how
 * long, what each outcome records, the status and health it reports, the next due time, and
 * the sweep that drops bodies at their sign-in's expiry and rows at their status horizon
 * (S32: a link or code is not kept at rest longer than it works).
 */
import { describe, expect, it } from "vitest";
import type { QueueBackend } from "../../app/mail/polled-queue.server";
import { STATUS_KEPT_MS, type QueuedMail } from "../../app/mail/queue.server";

export interface BackendUnderTest {
  backend: QueueBackend;
  /** The body as stored (null once dropped), or undefined when the row is gone. */
  sealedOf(id: string): string | null | undefined;
}

const id = (n: number) => n.toString(16).padStart(32, "0");
const mail = (n: number, fields: Partial<QueuedMail> = {}): QueuedMail => ({
  id: id(n),
  sealed: `sealed-${n}`,
  createdAt: 1_000,
  expiresAt: 100_000,
  attempts: 0,
  ...fields,
});

export function describeQueueBackend(name: string, make: () => BackendUnderTest) {
  describe(`the ${name} queue backend`, () => {
    it("a new message: queued, due at once, claimed with exactly its fields", async () => {
      const { backend } = make();
      expect(await backend.status(id(1))).toBeNull();
      await backend.insert(mail(1, { createdAt: 5_000, expiresAt: 65_000 }));
      expect(await backend.status(id(1))).toEqual({
        state: "queued",
        queuedAt: 5_000,
        attempts: 0,
      });
      // Not due before it was queued.
      expect(await backend.claim(4_999, 10_000, 4)).toEqual([]);
      expect(await backend.claim(5_000, 10_000, 4)).toEqual([
        { id: id(1), sealed: "sealed-1", createdAt: 5_000, expiresAt: 65_000, attempts: 0 },
      ]);
    });

    it("a claim holds a message for the lease and no longer; at most `limit` are taken", async () => {
      const { backend } = make();
      for (const n of [1, 2, 3]) await backend.insert(mail(n));
      expect(await backend.claim(2_000, 0, 0)).toEqual([]);
      const first = await backend.claim(2_000, 10_000, 2);
      expect(first).toHaveLength(2);
      const rest = await backend.claim(2_000, 10_000, 2);
      expect(rest).toHaveLength(1);
      expect(new Set([...first, ...rest].map((m) => m.id))).toEqual(new Set([id(1), id(2), id(3)]));
      // Held until 12,000; free again at 12,000.
      expect(await backend.claim(11_999, 10_000, 4)).toEqual([]);
      expect(await backend.claim(12_000, 10_000, 4)).toHaveLength(3);
      expect(await backend.claim(12_001, 10_000, 4)).toEqual([]);
    });

    it("sent: the time and attempts recorded, the body dropped, never claimed again", async () => {
      const { backend, sealedOf } = make();
      await backend.insert(mail(1));
      await backend.claim(2_000, 10_000, 4);
      await backend.finish(id(1), { state: "sent", at: 2_500 }, 1);
      expect(await backend.status(id(1))).toEqual({
        state: "sent",
        queuedAt: 1_000,
        attempts: 1,
        sentAt: 2_500,
      });
      expect(sealedOf(id(1))).toBeNull();
      expect(await backend.claim(50_000, 10_000, 4)).toEqual([]);
      expect(await backend.nextDue()).toBeUndefined();
    });

    it("failed: the cause and attempts recorded, the body dropped, never claimed again", async () => {
      const { backend, sealedOf } = make();
      await backend.insert(mail(1));
      await backend.claim(2_000, 10_000, 4);
      await backend.finish(id(1), { state: "failed", cause: "5xx:550" }, 3);
      expect(await backend.status(id(1))).toEqual({
        state: "failed",
        queuedAt: 1_000,
        attempts: 3,
        cause: "5xx:550",
      });
      expect(sealedOf(id(1))).toBeNull();
      expect(await backend.claim(50_000, 10_000, 4)).toEqual([]);
    });

    it("a retry: due at its time, the lease released, the body kept; a finished message is not brought back", async () => {
      const { backend, sealedOf } = make();
      await backend.insert(mail(1));
      await backend.claim(2_000, 10_000, 4);
      await backend.reschedule(id(1), 3_000, "4xx:451", 1);
      expect(await backend.status(id(1))).toEqual({
        state: "retrying",
        queuedAt: 1_000,
        attempts: 1,
        nextAttemptAt: 3_000,
        cause: "4xx:451",
      });
      expect(sealedOf(id(1))).toBe("sealed-1");
      expect(await backend.nextDue()).toBe(3_000);
      // Due at 3,000, though the first lease ran until 12,000.
      expect(await backend.claim(2_999, 10_000, 4)).toEqual([]);
      expect(await backend.claim(3_000, 10_000, 4)).toMatchObject([{ id: id(1), attempts: 1 }]);
      // A worker whose lease ran out reports late, after another worker sent it.
      await backend.finish(id(1), { state: "sent", at: 3_100 }, 2);
      await backend.reschedule(id(1), 4_000, "timeout", 2);
      expect(await backend.status(id(1))).toMatchObject({ state: "sent", sentAt: 3_100 });
      expect(await backend.claim(5_000, 10_000, 4)).toEqual([]);
    });

    it("outcomes for a message it does not know change nothing", async () => {
      const { backend } = make();
      await backend.finish(id(9), { state: "sent", at: 1 }, 1);
      await backend.finish(id(9), { state: "failed", cause: "x" }, 1);
      await backend.reschedule(id(9), 1, "x", 1);
      expect(await backend.status(id(9))).toBeNull();
    });

    it("health: messages queued or retrying, and the age of the oldest of them", async () => {
      const { backend } = make();
      expect(await backend.health(10_000)).toEqual({ backlog: 0, oldestAgeMs: 0 });
      await backend.insert(mail(1, { createdAt: 1_000 }));
      await backend.insert(mail(2, { createdAt: 2_000 }));
      await backend.insert(mail(3, { createdAt: 3_000 }));
      await backend.insert(mail(4, { createdAt: 4_000 }));
      await backend.claim(5_000, 10_000, 4);
      await backend.finish(id(1), { state: "sent", at: 5_000 }, 1);
      await backend.finish(id(4), { state: "failed", cause: "5xx:550" }, 1);
      await backend.reschedule(id(2), 7_000, "refused", 1);
      // 2 retrying and 3 queued (leased): the oldest is 2's.
      expect(await backend.health(10_000)).toEqual({ backlog: 2, oldestAgeMs: 8_000 });
    });

    it("the next due time: the earliest queued or retrying message no worker holds", async () => {
      const { backend } = make();
      expect(await backend.nextDue()).toBeUndefined();
      await backend.insert(mail(1, { createdAt: 9_000 }));
      await backend.insert(mail(2, { createdAt: 5_000 }));
      expect(await backend.nextDue()).toBe(5_000);
      // 2 held by a worker: left to the poll.
      expect(await backend.claim(5_000, 10_000, 1)).toMatchObject([{ id: id(2) }]);
      expect(await backend.nextDue()).toBe(9_000);
      // 2 retrying at 7,000: before 1.
      await backend.reschedule(id(2), 7_000, "refused", 1);
      expect(await backend.nextDue()).toBe(7_000);
      await backend.reschedule(id(2), 12_000, "refused", 2);
      expect(await backend.nextDue()).toBe(9_000);
    });

    it("the sweep: bodies go at their expiry (an unsent one given up), rows at their status horizon", async () => {
      const { backend, sealedOf } = make();
      // 1 and 2 retrying, 3 sent, 5 queued: all expire at 100,000; 4 later (kept until then).
      for (const n of [1, 2, 3]) await backend.insert(mail(n));
      await backend.insert(mail(4, { expiresAt: 700_000 }));
      await backend.claim(1_000, 10_000, 4);
      await backend.reschedule(id(2), 50_000, "refused", 1);
      await backend.reschedule(id(1), 50_000, "refused", 1);
      await backend.finish(id(3), { state: "sent", at: 2_000 }, 1);
      await backend.reschedule(id(4), 50_000, "refused", 1);
      // 5 still queued, never attempted: given up at its expiry as well.
      await backend.insert(mail(5));
      await backend.sweep(99_999);
      expect(sealedOf(id(1))).toBe("sealed-1");
      await backend.sweep(100_000);
      expect(sealedOf(id(1))).toBeNull();
      expect(sealedOf(id(2))).toBeNull();
      expect(sealedOf(id(4))).toBe("sealed-4");
      expect(await backend.status(id(1))).toMatchObject({ state: "failed", cause: "expired" });
      expect(await backend.status(id(2))).toMatchObject({ state: "failed", cause: "expired" });
      expect(sealedOf(id(5))).toBeNull();
      expect(await backend.status(id(5))).toMatchObject({ state: "failed", cause: "expired" });
      // A sent message stays sent (and keeps no cause).
      expect(await backend.status(id(3))).toEqual({
        state: "sent",
        queuedAt: 1_000,
        attempts: 1,
        sentAt: 2_000,
      });
      expect(await backend.claim(100_000, 10_000, 4)).toMatchObject([{ id: id(4) }]);
      // Kept while a pending sign-in could ask (STATUS_KEPT_MS after queueing, or the
      // expiry when that is later), then gone.
      const horizon = 1_000 + STATUS_KEPT_MS;
      await backend.sweep(horizon - 1);
      expect(await backend.status(id(1))).not.toBeNull();
      await backend.sweep(horizon);
      for (const n of [1, 2, 3]) expect(await backend.status(id(n))).toBeNull();
      expect(sealedOf(id(1))).toBeUndefined();
      expect(await backend.status(id(4))).not.toBeNull();
    });

    it("an expired message already given up keeps its own cause", async () => {
      const { backend } = make();
      await backend.insert(mail(1));
      await backend.finish(id(1), { state: "failed", cause: "5xx:550" }, 1);
      await backend.sweep(100_000);
      expect(await backend.status(id(1))).toMatchObject({ state: "failed", cause: "5xx:550" });
    });

    it("a message recorded again under its id replaces the first", async () => {
      const { backend, sealedOf } = make();
      await backend.insert(mail(1));
      await backend.finish(id(1), { state: "sent", at: 2_000 }, 1);
      await backend.insert(mail(1, { sealed: "again", createdAt: 3_000 }));
      expect(await backend.status(id(1))).toEqual({
        state: "queued",
        queuedAt: 3_000,
        attempts: 0,
      });
      expect(sealedOf(id(1))).toBe("again");
    });
  });
}
