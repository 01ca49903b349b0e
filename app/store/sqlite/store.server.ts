import type { StatementSync } from "node:sqlite";
import { systemClock, type Clock } from "../../lib/clock";
import { checkedBudgets, checkedTtl, messageOf } from "../common.server";
import { StoreUnavailableError } from "../errors";
import type { Counter, Spent, Store } from "../types";
import { openDatabase, type Database } from "./database.server";

export interface SqliteStoreOptions {
  /** Open (and migrate) this file; the store owns the database and closes it in `close()`… */
  file?: string;
  /**
   * …or use this one, opened with `openDatabase` and shared with the other tables (the mail
   * queue, users); `close()` then leaves it open for them.
   */
  database?: Database;
  clock?: Clock;
  /** How often expired rows are swept, in ms (0: no timer; tests call `sweep()`). Default 30 s. */
  sweepIntervalMs?: number;
  /** Most rows one sweep step deletes per table, so a step never holds the lock for long. Default 500. */
  sweepBatch?: number;
}

/** A Store in a SQLite file; `database` is exposed so other tables can share the connection. */
export interface SqliteStore extends Store {
  readonly database: Database;
  /**
   * Delete up to `sweepBatch` expired rows from each table; returns how many went. The timer
   * repeats a full step at once (on the next turn of the event loop) until the backlog is gone.
   */
  sweep(): number;
}

/**
 * The Store contract on SQLite (Node's built-in `node:sqlite`): the default wherever REDIS_URL
 * is unset, so revocations, pending sign-ins, tries and lockouts survive a restart (S31).
 * One process owns the file; several instances need Redis.
 *
 * Every call is one prepared statement or one `BEGIN IMMEDIATE` transaction, and the driver
 * is synchronous, so nothing interleaves inside the process and SQLite's locks order it
 * against any other: `take` stays single use (S3) and counters exact. Each row carries its
 * expiry; reads ignore expired rows and the sweep deletes them in bounded steps. A database
 * error (disk full, I/O error, a lock held too long) rejects with `StoreUnavailableError`, so
 * callers answer 503 as they do when Redis is away.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  if ((options.file === undefined) === (options.database === undefined)) {
    throw new TypeError("createSqliteStore needs exactly one of `file` or `database`");
  }
  // Checked before the file is opened: a refused option must not leave a connection open.
  const batch = options.sweepBatch ?? 500;
  if (!Number.isInteger(batch) || batch <= 0) {
    throw new RangeError(`sweepBatch must be a positive integer, got ${batch}`);
  }
  const owned = options.database === undefined;
  const db = options.database ?? openDatabase(options.file as string);
  const clock = options.clock ?? systemClock;

  const sql = {
    get: db.prepare("SELECT value FROM store_values WHERE key = ? AND expires_at > ?"),
    set: db.prepare(
      `INSERT INTO store_values (key, value, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    ),
    // One statement: of concurrent takes (in any process) exactly one deletes the row.
    take: db.prepare("DELETE FROM store_values WHERE key = ? RETURNING value, expires_at"),
    delete: db.prepare("DELETE FROM store_values WHERE key = ?"),
    // `swap`'s first half: deletes the row only while it holds the value the caller read.
    deleteIfValue: db.prepare(
      "DELETE FROM store_values WHERE key = ? AND value = ? AND expires_at > ? RETURNING key",
    ),
    deleteIndex: db.prepare("DELETE FROM store_index WHERE key = ?"),
    counterRead: db.prepare(
      `SELECT CAST(value AS INTEGER) AS count, expires_at FROM store_values
       WHERE key = ? AND expires_at > ?`,
    ),
    // A fixed window: the expiry is set when the counter is created (or its window has
    // passed) and kept by later additions.
    counterAdd: db.prepare(
      `INSERT INTO store_values (key, value, expires_at) VALUES (:key, CAST(CAST(:by AS INTEGER) AS TEXT), :expires)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN expires_at <= :now THEN CAST(CAST(:by AS INTEGER) AS TEXT)
                 ELSE CAST(CAST(value AS INTEGER) + CAST(:by AS INTEGER) AS TEXT) END,
         expires_at = CASE WHEN expires_at <= :now THEN excluded.expires_at ELSE expires_at END
       RETURNING CAST(value AS INTEGER) AS count, expires_at`,
    ),
    // Giving points back never creates a counter, nor revives an expired one.
    counterGiveBack: db.prepare(
      `UPDATE store_values SET value = CAST(CAST(value AS INTEGER) + CAST(:by AS INTEGER) AS TEXT)
       WHERE key = :key AND expires_at > :now
       RETURNING CAST(value AS INTEGER) AS count, expires_at`,
    ),
    indexUpsert: db.prepare(
      `INSERT INTO store_index (key, member, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (key, member) DO UPDATE SET expires_at = excluded.expires_at`,
    ),
    indexDropExpired: db.prepare("DELETE FROM store_index WHERE key = ? AND expires_at <= ?"),
    // Keep the `max` with the latest expiry (ties: the greater member), as Redis ranks a
    // sorted set; everything ranked after them goes.
    indexTrim: db.prepare(
      `DELETE FROM store_index WHERE key = :key AND member IN (
         SELECT member FROM store_index WHERE key = :key
         ORDER BY expires_at DESC, member DESC LIMIT -1 OFFSET :max)`,
    ),
    indexMembers: db.prepare(
      `SELECT member FROM store_index WHERE key = ? AND expires_at > ?
       ORDER BY expires_at DESC, member DESC`,
    ),
    indexRemove: db.prepare("DELETE FROM store_index WHERE key = ? AND member = ?"),
    ping: db.prepare("SELECT 1"),
    sweepValues: db.prepare(
      `DELETE FROM store_values WHERE key IN (
         SELECT key FROM store_values WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ),
    sweepIndex: db.prepare(
      `DELETE FROM store_index WHERE rowid IN (
         SELECT rowid FROM store_index WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ),
  } satisfies Record<string, StatementSync>;

  /**
   * `getMany`'s statement for each number of keys, prepared once: one lookup on the key's
   * index per key, joined by UNION ALL. `key IN (?, …)` has SQLite copy the list into a
   * temporary index first, which made the two or three keys of a session read a third
   * dearer. Past SQLite's 500 terms of one compound SELECT, the IN list.
   */
  const getManyByCount = new Map<number, StatementSync>();
  function getManyStatement(count: number): StatementSync {
    let statement = getManyByCount.get(count);
    if (!statement) {
      const now = `?${count + 1}`;
      statement = db.prepare(
        count <= 500
          ? Array.from(
              { length: count },
              (_, i) =>
                `SELECT key, value FROM store_values WHERE key = ?${i + 1} AND expires_at > ${now}`,
            ).join(" UNION ALL ")
          : `SELECT key, value FROM store_values
             WHERE key IN (${Array<string>(count).fill("?").join(", ")}) AND expires_at > ?`,
      );
      getManyByCount.set(count, statement);
    }
    return statement;
  }

  /** Run `work` as one call: any database error becomes StoreUnavailableError. */
  function run<T>(what: string, work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      if (error instanceof RangeError) return Promise.reject(error);
      return Promise.reject(
        new StoreUnavailableError(`SQLite ${what} failed: ${messageOf(error)}`, { cause: error }),
      );
    }
  }

  /** One write transaction; rolled back when `work` throws. */
  function transaction<T>(work: () => T): T {
    db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      db.exec("COMMIT");
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  /** One counter step (`counter`'s), inside whatever call or transaction runs it. */
  function add(key: string, by: number, window: number, now: number): Counter {
    const row = (
      by === 0
        ? sql.counterRead.get(key, now)
        : by > 0
          ? sql.counterAdd.get({ key, by, now, expires: now + window })
          : sql.counterGiveBack.get({ key, by, now })
    ) as { count: number; expires_at: number } | undefined;
    if (!row) return { count: 0, ttlMs: 0 };
    return { count: Number(row.count), ttlMs: Math.max(0, Number(row.expires_at) - now) };
  }

  function sweep(): number {
    const now = clock();
    return transaction(
      () =>
        Number(sql.sweepValues.run(now, batch).changes) +
        Number(sql.sweepIndex.run(now, batch).changes),
    );
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const every = options.sweepIntervalMs ?? 30_000;
  const schedule = (ms: number) => {
    if (closed || every <= 0) return;
    timer = setTimeout(() => {
      let deleted = 0;
      try {
        deleted = sweep();
      } catch (error) {
        // A busy or failing database is reported by the calls that need it; try again later.
        console.warn(`[store] SQLite sweep failed: ${messageOf(error)}`);
      }
      // A full step means a backlog: go on at once, one bounded step per turn of the loop.
      schedule(deleted >= batch ? 0 : every);
    }, ms);
    timer.unref();
  };
  schedule(every);

  return {
    database: db,
    sweep,

    get: (key) =>
      run("get", () => {
        const row = sql.get.get(key, clock()) as { value: string } | undefined;
        return row ? row.value : null;
      }),

    getMany: (keys) =>
      run("getMany", () => {
        if (keys.length === 0) return [];
        const rows = getManyStatement(keys.length).all(...keys, clock()) as Array<{
          key: string;
          value: string;
        }>;
        const found = new Map(rows.map((row) => [row.key, row.value]));
        return keys.map((key) => found.get(key) ?? null);
      }),

    set: (key, value, ttlMs) =>
      run("set", () => {
        sql.set.run(key, value, clock() + checkedTtl(ttlMs));
      }),

    take: (key) =>
      run("take", () => {
        const row = sql.take.get(key) as { value: string; expires_at: number } | undefined;
        return row && Number(row.expires_at) > clock() ? row.value : null;
      }),

    delete: (key) =>
      run("delete", () =>
        transaction(() => {
          // One key names a value or an index, never both in practice; delete either.
          sql.delete.run(key);
          sql.deleteIndex.run(key);
        }),
      ),

    increment: (key, ttlMs) =>
      run("increment", () => {
        const now = clock();
        const row = sql.counterAdd.get({ key, by: 1, now, expires: now + checkedTtl(ttlMs) }) as {
          count: number;
        };
        return Number(row.count);
      }),

    counter: (key, by, ttlMs) =>
      run("counter", (): Counter => {
        const window = checkedTtl(ttlMs);
        if (!Number.isSafeInteger(by)) throw new RangeError(`by must be a whole number, got ${by}`);
        return add(key, by, window, clock());
      }),

    spend: (budgets) =>
      run("spend", (): Spent => {
        const checked = checkedBudgets(budgets);
        const now = clock();
        // One transaction: one commit for every budget, and no other connection sees a
        // point that is about to be given back.
        return transaction(() => {
          const counters: Counter[] = [];
          for (const [i, budget] of checked.entries()) {
            const counter = add(budget.key, 1, budget.ttlMs, now);
            counters.push(counter);
            if (counter.count > budget.points) {
              for (const earlier of checked.slice(0, i)) add(earlier.key, -1, earlier.ttlMs, now);
              return { counters, refused: i };
            }
          }
          return { counters };
        });
      }),

    setMany: (entries) =>
      run("setMany", () => {
        const now = clock();
        const rows = entries.map((e) => [e.key, e.value, now + checkedTtl(e.ttlMs)] as const);
        transaction(() => {
          for (const row of rows) sql.set.run(...row);
        });
      }),

    deleteMany: (keys) =>
      run("deleteMany", () =>
        transaction(() => {
          for (const key of keys) {
            sql.delete.run(key);
            sql.deleteIndex.run(key);
          }
        }),
      ),

    swap: (key, expected, entries) =>
      run("swap", () => {
        const now = clock();
        const rows = entries.map((e) => [e.key, e.value, now + checkedTtl(e.ttlMs)] as const);
        // One transaction: the row goes and the entries arrive in one commit, or nothing does.
        return transaction(() => {
          if (sql.deleteIfValue.get(key, expected, now) === undefined) return false;
          for (const row of rows) sql.set.run(...row);
          return true;
        });
      }),

    indexAdd: (key, member, expiresAtMs, maxMembers) =>
      run("indexAdd", () => {
        if (!Number.isInteger(maxMembers) || maxMembers <= 0) {
          throw new RangeError(`maxMembers must be a positive integer, got ${maxMembers}`);
        }
        const now = clock();
        transaction(() => {
          sql.indexUpsert.run(key, member, Math.ceil(expiresAtMs));
          sql.indexDropExpired.run(key, now);
          sql.indexTrim.run({ key, max: maxMembers });
        });
      }),

    indexMembers: (key) =>
      run("indexMembers", () =>
        (sql.indexMembers.all(key, clock()) as Array<{ member: string }>).map((r) => r.member),
      ),

    indexRemove: (key, member) =>
      run("indexRemove", () => {
        sql.indexRemove.run(key, member);
      }),

    ping: () =>
      run("ping", () => {
        sql.ping.get();
      }),

    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (owned && db.isOpen) db.close();
    },
  };
}
