import type { StatementSync } from "node:sqlite";
import type { Database } from "../store/sqlite/database.server";
import type { QueueBackend } from "./polled-queue.server";
import { forgetAt, type DeliveryStatus, type QueueHealth, type QueuedMail } from "./queue.server";
import type { MailFailureCause } from "./types";

/** Rows removed per sweep: a long outage's backlog goes over several sweeps, not one stall. */
const SWEEP_LIMIT = 500;

/** The free due rows of one state, oldest first, read in the order of the (state, next_at) index. */
const dueOf = (state: "queued" | "retrying") =>
  `SELECT * FROM (SELECT id, next_at FROM mail_queue
     WHERE state = '${state}' AND next_at <= :now AND lease_until <= :now
     ORDER BY next_at LIMIT :limit)`;

/**
 * One statement: the due rows are chosen and leased in the same step. Each state is walked
 * along the index and stops after `limit` free rows, so only those few are sorted: with
 * `state IN (…)` SQLite gathered and sorted every due row of the backlog for each claim,
 * which in a burst of sign-ins made every claim cost more than the one before.
 */
export const CLAIM_SQL = `UPDATE mail_queue SET lease_until = :until
  WHERE id IN (
    SELECT id FROM (${dueOf("queued")} UNION ALL ${dueOf("retrying")})
    ORDER BY next_at LIMIT :limit)
  RETURNING id, sealed, created_at, expires_at, attempts`;

interface Row {
  id: string;
  sealed: string | null;
  state: DeliveryStatus["state"];
  attempts: number;
  created_at: number;
  expires_at: number;
  next_at: number;
  sent_at: number | null;
  cause: string | null;
}

/**
 * The mail queue in the app's SQLite database (migration 0002_mail_queue.sql), for the
 * default single-instance deployment: a message recorded before a crash or restart is
 * sent by the next process. Every call is one statement, so claims by two processes on the
 * same file never overlap (SQLite serialises writers).
 */
export class SqliteQueueBackend implements QueueBackend {
  readonly #insert: StatementSync;
  readonly #claim: StatementSync;
  readonly #finish: StatementSync;
  readonly #reschedule: StatementSync;
  readonly #status: StatementSync;
  readonly #health: StatementSync;
  readonly #nextDue: StatementSync;
  readonly #expire: StatementSync;
  readonly #forget: StatementSync;

  constructor(database: Database) {
    this.#insert = database.prepare(
      `INSERT OR REPLACE INTO mail_queue
         (id, sealed, state, attempts, created_at, expires_at, next_at, lease_until, forget_at)
       VALUES (?, ?, 'queued', 0, ?, ?, ?, 0, ?)`,
    );
    this.#claim = database.prepare(CLAIM_SQL);
    this.#finish = database.prepare(
      `UPDATE mail_queue SET state = ?, sealed = NULL, attempts = ?, lease_until = 0,
         sent_at = ?, cause = ? WHERE id = ?`,
    );
    this.#reschedule = database.prepare(
      `UPDATE mail_queue SET state = 'retrying', next_at = ?, cause = ?, attempts = ?,
         lease_until = 0 WHERE id = ? AND state IN ('queued', 'retrying')`,
    );
    this.#status = database.prepare(
      `SELECT id, state, attempts, created_at, next_at, sent_at, cause
       FROM mail_queue WHERE id = ?`,
    );
    this.#health = database.prepare(
      `SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest
       FROM mail_queue WHERE state IN ('queued', 'retrying')`,
    );
    // The first free row of each state in the (state, next_at) index, not a MIN over the
    // whole backlog: this runs after every send and every attempt, and a scan of a backlog
    // of thousands (a burst of sign-ins, a relay down) made each one cost milliseconds.
    // Leased rows are left to the poll: a lease always outlasts the longest sleep.
    this.#nextDue = database.prepare(
      `SELECT MIN(due) AS due FROM (
         SELECT (SELECT next_at FROM mail_queue WHERE state = 'queued' AND lease_until = 0
                 ORDER BY next_at LIMIT 1) AS due
         UNION ALL
         SELECT (SELECT next_at FROM mail_queue WHERE state = 'retrying' AND lease_until = 0
                 ORDER BY next_at LIMIT 1))`,
    );
    // Bodies go when their sign-in expires, sent or not; a message never attempted by then
    // is given up (the worker normally gets there first and gives its budgets back).
    this.#expire = database.prepare(
      `UPDATE mail_queue SET sealed = NULL,
         state = CASE WHEN state IN ('queued', 'retrying') THEN 'failed' ELSE state END,
         cause = CASE WHEN state IN ('queued', 'retrying') THEN 'expired' ELSE cause END
       WHERE id IN (SELECT id FROM mail_queue WHERE expires_at <= ? AND sealed IS NOT NULL
                    LIMIT ${SWEEP_LIMIT})`,
    );
    this.#forget = database.prepare(
      `DELETE FROM mail_queue WHERE id IN
         (SELECT id FROM mail_queue WHERE forget_at <= ? LIMIT ${SWEEP_LIMIT})`,
    );
  }

  async insert(mail: QueuedMail): Promise<void> {
    this.#insert.run(
      mail.id,
      mail.sealed,
      mail.createdAt,
      mail.expiresAt,
      mail.createdAt,
      forgetAt(mail),
    );
  }

  async claim(now: number, leaseMs: number, limit: number): Promise<QueuedMail[]> {
    const rows = this.#claim.all({ until: now + leaseMs, now, limit }) as unknown as Row[];
    return rows.map((row) => ({
      id: row.id,
      sealed: row.sealed,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      attempts: Number(row.attempts),
    }));
  }

  async finish(
    id: string,
    result: { state: "sent"; at: number } | { state: "failed"; cause: MailFailureCause },
    attempts: number,
  ): Promise<void> {
    if (result.state === "sent") this.#finish.run("sent", attempts, result.at, null, id);
    else this.#finish.run("failed", attempts, null, result.cause, id);
  }

  async reschedule(
    id: string,
    at: number,
    cause: MailFailureCause,
    attempts: number,
  ): Promise<void> {
    this.#reschedule.run(at, cause, attempts, id);
  }

  async status(id: string): Promise<DeliveryStatus | null> {
    const row = this.#status.get(id) as unknown as Row | undefined;
    if (!row) return null;
    const status: DeliveryStatus = {
      state: row.state,
      queuedAt: Number(row.created_at),
      attempts: Number(row.attempts),
    };
    if (row.sent_at !== null) status.sentAt = Number(row.sent_at);
    if (row.cause !== null) status.cause = row.cause;
    if (row.state === "retrying") status.nextAttemptAt = Number(row.next_at);
    return status;
  }

  async health(now: number): Promise<QueueHealth> {
    const row = this.#health.get() as { backlog: number; oldest: number | null };
    const backlog = Number(row.backlog);
    return { backlog, oldestAgeMs: row.oldest === null ? 0 : now - Number(row.oldest) };
  }

  async nextDue(): Promise<number | undefined> {
    const row = this.#nextDue.get() as { due: number | null };
    return row.due === null ? undefined : Number(row.due);
  }

  async sweep(now: number): Promise<void> {
    this.#expire.run(now);
    this.#forget.run(now);
  }

  /** The database is the app's; closing it is the services' job. */
  async close(): Promise<void> {}
}
