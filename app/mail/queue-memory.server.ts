import type { QueueBackend } from "./polled-queue.server";
import { forgetAt, type DeliveryStatus, type QueuedMail } from "./queue.server";
import type { MailFailureCause } from "./types";

interface Row extends QueuedMail {
  state: DeliveryStatus["state"];
  nextAt: number;
  leaseUntil: number;
  sentAt?: number;
  cause?: MailFailureCause;
}

/** The queue in this process's memory: for tests and development; lost on restart. */
export class MemoryQueueBackend implements QueueBackend {
  readonly #rows = new Map<string, Row>();

  async insert(mail: QueuedMail): Promise<void> {
    this.#rows.set(mail.id, {
      ...mail,
      state: "queued",
      nextAt: mail.createdAt,
      leaseUntil: 0,
    });
  }

  async claim(now: number, leaseMs: number, limit: number): Promise<QueuedMail[]> {
    const due: QueuedMail[] = [];
    for (const row of this.#rows.values()) {
      if (due.length >= limit) break;
      if (row.state !== "queued" && row.state !== "retrying") continue;
      if (row.nextAt > now || row.leaseUntil > now) continue;
      row.leaseUntil = now + leaseMs;
      // What a claim hands out is the message, as SQLite's RETURNING does: not the row's state.
      const { id, sealed, createdAt, expiresAt, attempts } = row;
      due.push({ id, sealed, createdAt, expiresAt, attempts });
    }
    return due;
  }

  async finish(
    id: string,
    result: { state: "sent"; at: number } | { state: "failed"; cause: MailFailureCause },
    attempts: number,
  ): Promise<void> {
    const row = this.#rows.get(id);
    if (!row) return;
    row.sealed = null;
    row.attempts = attempts;
    row.leaseUntil = 0;
    row.state = result.state;
    if (result.state === "sent") row.sentAt = result.at;
    else row.cause = result.cause;
  }

  async reschedule(
    id: string,
    at: number,
    cause: MailFailureCause,
    attempts: number,
  ): Promise<void> {
    const row = this.#rows.get(id);
    // A worker whose lease ran out can report after another one finished the message: a sent
    // or failed message stays so (as on SQLite), never queued again.
    if (!row || (row.state !== "queued" && row.state !== "retrying")) return;
    Object.assign(row, { state: "retrying", nextAt: at, cause, attempts, leaseUntil: 0 });
  }

  async status(id: string): Promise<DeliveryStatus | null> {
    const row = this.#rows.get(id);
    if (!row) return null;
    return {
      state: row.state,
      queuedAt: row.createdAt,
      attempts: row.attempts,
      sentAt: row.sentAt,
      nextAttemptAt: row.state === "retrying" ? row.nextAt : undefined,
      cause: row.cause,
    };
  }

  async health(now: number) {
    let backlog = 0;
    let oldest = now;
    for (const row of this.#rows.values()) {
      if (row.state !== "queued" && row.state !== "retrying") continue;
      backlog += 1;
      oldest = Math.min(oldest, row.createdAt);
    }
    return { backlog, oldestAgeMs: now - oldest };
  }

  async nextDue(): Promise<number | undefined> {
    let next: number | undefined;
    for (const row of this.#rows.values()) {
      // Held by a worker: found by the poll once its lease runs out (as on SQLite).
      if ((row.state !== "queued" && row.state !== "retrying") || row.leaseUntil !== 0) continue;
      next = next === undefined ? row.nextAt : Math.min(next, row.nextAt);
    }
    return next;
  }

  async sweep(now: number): Promise<void> {
    for (const [id, row] of this.#rows) {
      if (forgetAt(row) <= now) this.#rows.delete(id);
      else if (row.expiresAt <= now) {
        row.sealed = null;
        if (row.state === "queued" || row.state === "retrying")
          Object.assign(row, { state: "failed", cause: "expired" });
      }
    }
  }

  /** Every row as stored (tests: no link or code in clear at rest). */
  dump(): readonly QueuedMail[] {
    return [...this.#rows.values()];
  }

  async close(): Promise<void> {}
}
