import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { isStoreUnavailableError } from "../../app/store/errors";
import {
  DatabaseOpenError,
  loadMigrations,
  migrate,
  openDatabase,
  type Migration,
} from "../../app/store/sqlite/database.server";
import { createSqliteStore } from "../../app/store/sqlite/store.server";
import { createTestClock } from "../support/clock";
import { runStoreContract } from "./store-contract";

let dir: string;
let n = 0;
/** A new database file in this file's temporary folder. */
const freshFile = () => path.join(dir, `db-${++n}`, "store.db");

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "pls-sqlite-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

runStoreContract("sqlite", async () => {
  const time = createTestClock();
  const store = createSqliteStore({ file: freshFile(), clock: time, sweepIntervalMs: 0 });
  return { store, now: time, advance: async (ms) => time.advance(ms) };
});

/** Rows in a table, read through a second connection (what is really in the file). */
function rows(file: string, sql: string): Array<Record<string, unknown>> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

describe("SQLite store specifics", () => {
  it("keeps values, counters and indexes across a close and a reopen (a restart)", async () => {
    const file = freshFile();
    const time = createTestClock();
    const first = createSqliteStore({ file, clock: time, sweepIntervalMs: 0 });
    await first.set("revoked:s1", "1", 60_000);
    await first.set("short", "v", 1_000);
    await first.increment("tries", 60_000);
    await first.increment("tries", 60_000);
    await first.indexAdd("sessions", "s2", time() + 60_000, 5);
    await first.close();

    time.advance(2_000);
    const second = createSqliteStore({ file, clock: time, sweepIntervalMs: 0 });
    expect(await second.get("revoked:s1")).toBe("1");
    expect(await second.get("short")).toBeNull();
    expect(await second.increment("tries", 60_000)).toBe(3);
    expect(await second.indexMembers("sessions")).toEqual(["s2"]);
    await second.close();
  });

  it("opens the file in WAL mode, synchronous NORMAL (durable against a killed process)", async () => {
    const store = createSqliteStore({ file: freshFile(), sweepIntervalMs: 0 });
    const db = store.database;
    expect(db.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.prepare("PRAGMA synchronous").get()).toEqual({ synchronous: 1 }); // NORMAL
    await store.close();
  });

  it("sweeps expired rows in bounded steps and never touches live ones", async () => {
    const file = freshFile();
    const time = createTestClock();
    const store = createSqliteStore({ file, clock: time, sweepIntervalMs: 0, sweepBatch: 100 });
    for (let i = 0; i < 250; i++) {
      await store.set(`dead:${i}`, "v", 1_000);
      await store.indexAdd(`idx:${i}`, "m", time() + 1_000, 5);
    }
    await store.set("live", "v", 60_000);
    await store.indexAdd("idx:live", "m", time() + 60_000, 5);
    time.advance(1_000);
    expect(store.sweep()).toBe(200); // 100 from each table, no more
    expect(store.sweep()).toBe(200);
    expect(store.sweep()).toBe(100);
    expect(store.sweep()).toBe(0);
    expect(rows(file, "SELECT key FROM store_values")).toEqual([{ key: "live" }]);
    expect(rows(file, "SELECT key FROM store_index")).toEqual([{ key: "idx:live" }]);
    await store.close();
  });

  it("sweeps on its own timer, step after step until the backlog is gone", async () => {
    const file = freshFile();
    const time = createTestClock();
    const store = createSqliteStore({ file, clock: time, sweepIntervalMs: 20, sweepBatch: 10 });
    for (let i = 0; i < 55; i++) await store.set(`dead:${i}`, "v", 1_000);
    time.advance(1_000);
    const deadline = Date.now() + 5_000;
    while (rows(file, "SELECT count(*) AS n FROM store_values")[0]?.n !== 0) {
      if (Date.now() > deadline) throw new Error("the timer did not sweep the backlog");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await store.close();
  });

  it("a database error (the write lock held too long) rejects with StoreUnavailableError", async () => {
    const file = freshFile();
    const store = createSqliteStore({
      database: openDatabase(file, { busyTimeoutMs: 50 }),
      sweepIntervalMs: 0,
    });
    await store.set("k", "v", 60_000);
    const other = new DatabaseSync(file);
    other.exec("BEGIN IMMEDIATE");
    try {
      const error = await store.set("k", "w", 60_000).catch((e: unknown) => e);
      expect(isStoreUnavailableError(error), String(error)).toBe(true);
      expect(String(error)).toMatch(/SQLite set failed: database is locked/);
      expect(String((error as Error).cause)).toMatch(/database is locked/);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    // The lock is gone: the same store works again, and the failed write changed nothing.
    expect(await store.get("k")).toBe("v");
    await store.close();
    store.database.close();
  });

  it("a shared database stays open when the store closes", async () => {
    const database = openDatabase(freshFile());
    const store = createSqliteStore({ database, sweepIntervalMs: 0 });
    await store.close();
    expect(database.prepare("SELECT 1 AS one").get()).toEqual({ one: 1 });
    database.close();
  });

  it("refuses to start without exactly one of file or database", () => {
    expect(() => createSqliteStore({})).toThrow(
      new TypeError("createSqliteStore needs exactly one of `file` or `database`"),
    );
  });

  it("refuses a sweepBatch that is not a positive integer, before opening the file", () => {
    for (const sweepBatch of [0, -1, 1.5]) {
      const file = freshFile();
      expect(() => createSqliteStore({ file, sweepBatch })).toThrow(
        new RangeError(`sweepBatch must be a positive integer, got ${sweepBatch}`),
      );
      expect(existsSync(path.dirname(file))).toBe(false);
    }
  });

  it("closes the file it opened itself", async () => {
    const store = createSqliteStore({ file: freshFile(), sweepIntervalMs: 0 });
    await store.close();
    expect(store.database.isOpen).toBe(false);
  });

  it("a value and a take expire at exactly their expiry, not a millisecond later", async () => {
    const time = createTestClock();
    const store = createSqliteStore({ file: freshFile(), clock: time, sweepIntervalMs: 0 });
    await store.setMany([
      { key: "got", value: "v", ttlMs: 1_000 },
      { key: "taken", value: "v", ttlMs: 1_000 },
      { key: "early", value: "v", ttlMs: 1_000 },
    ]);
    time.advance(999);
    expect(await store.take("early")).toBe("v");
    time.advance(1);
    expect(await store.get("got")).toBeNull();
    expect(await store.take("taken")).toBeNull();
    await store.close();
  });

  it("physically drops expired index members on the next add", async () => {
    const file = freshFile();
    const time = createTestClock();
    const store = createSqliteStore({ file, clock: time, sweepIntervalMs: 0 });
    await store.indexAdd("u", "short", time() + 1_000, 5);
    await store.indexAdd("u", "long", time() + 60_000, 5);
    time.advance(1_000);
    await store.indexAdd("u", "new", time() + 30_000, 5);
    expect(rows(file, "SELECT member FROM store_index ORDER BY member")).toEqual([
      { member: "long" },
      { member: "new" },
    ]);
    await store.close();
  });

  it("rolls a failed transaction back: nothing of it is written, and the next call works", async () => {
    const store = createSqliteStore({ file: freshFile(), sweepIntervalMs: 0 });
    // The second row breaks the table's NOT NULL after the first was written.
    const error = await store
      .setMany([
        { key: "a", value: "1", ttlMs: 60_000 },
        { key: "b", value: null as unknown as string, ttlMs: 60_000 },
      ])
      .catch((e: unknown) => e);
    expect(isStoreUnavailableError(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/SQLite setMany failed: NOT NULL constraint failed/);
    expect(store.database.isTransaction).toBe(false);
    expect(await store.get("a")).toBeNull();
    await store.set("c", "3", 60_000);
    expect(await store.get("c")).toBe("3");
    await store.close();
  });

  it("prepares the statement for each number of keys getMany asks for once", async () => {
    const store = createSqliteStore({ file: freshFile(), sweepIntervalMs: 0 });
    const prepare = vi.spyOn(store.database, "prepare");
    await store.getMany(["a", "b"]);
    await store.getMany(["c", "d"]);
    await store.getMany(["e"]);
    expect(prepare).toHaveBeenCalledTimes(2);
    await store.close();
  });

  it("getMany looks each key up on its index, with no temporary copy of the list, up to 500 keys", async () => {
    const store = createSqliteStore({ file: freshFile(), sweepIntervalMs: 0 });
    const prepare = vi.spyOn(store.database, "prepare");
    /** What SQLite does for getMany of `count` keys: its opcodes and its plan's searches. */
    const plan = async (count: number) => {
      prepare.mockClear();
      const keys = Array.from({ length: count }, (_, i) => `k${i}`);
      expect(await store.getMany(keys)).toEqual(keys.map(() => null));
      const sql = prepare.mock.calls[0]?.[0] as string;
      const explain = (how: string) => store.database.prepare(`${how} ${sql}`).all();
      return {
        opcodes: (explain("EXPLAIN") as Array<{ opcode: string }>).map((row) => row.opcode),
        searches: (explain("EXPLAIN QUERY PLAN") as Array<{ detail: string }>).filter((row) =>
          /^SEARCH store_values USING INDEX \S+ \(key=\?\)$/.test(row.detail),
        ).length,
      };
    };
    for (const count of [2, 3, 500]) {
      const { opcodes, searches } = await plan(count);
      expect(searches).toBe(count);
      expect(opcodes).not.toContain("OpenEphemeral");
    }
    // Past SQLite's limit of 500 terms in one compound SELECT: the IN list.
    expect(await plan(501)).toMatchObject({ searches: 1 });
    await store.close();
  });

  it("every call on a database that went away rejects with StoreUnavailableError naming it", async () => {
    const database = openDatabase(freshFile());
    const store = createSqliteStore({ database, sweepIntervalMs: 0 });
    database.close();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["get", () => store.get("k")],
      ["getMany", () => store.getMany(["k"])],
      ["set", () => store.set("k", "v", 60_000)],
      ["take", () => store.take("k")],
      ["delete", () => store.delete("k")],
      ["increment", () => store.increment("c", 60_000)],
      ["counter", () => store.counter("c", 1, 60_000)],
      ["spend", () => store.spend([{ key: "c", points: 5, ttlMs: 60_000 }])],
      ["setMany", () => store.setMany([{ key: "k", value: "v", ttlMs: 60_000 }])],
      ["deleteMany", () => store.deleteMany(["k"])],
      ["swap", () => store.swap("k", "v", [])],
      ["indexAdd", () => store.indexAdd("i", "m", Date.now() + 60_000, 5)],
      ["indexMembers", () => store.indexMembers("i")],
      ["indexRemove", () => store.indexRemove("i", "m")],
      ["ping", () => store.ping()],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => new Error(`${name} resolved on a closed database`),
        (e: unknown) => e,
      );
      expect(isStoreUnavailableError(error), `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message, name).toMatch(new RegExp(`^SQLite ${name} failed: \\S`));
      expect((error as Error).cause, name).toBeInstanceOf(Error);
    }
    await store.close();
  });

  describe("the sweep timer", () => {
    afterEach(() => {
      vi.useRealTimers();
      vi.restoreAllMocks();
    });

    it("starts none with sweepIntervalMs 0, and one that never holds the process open otherwise", async () => {
      const later = vi.spyOn(globalThis, "setTimeout");
      const quiet = createSqliteStore({ file: freshFile(), sweepIntervalMs: 0 });
      expect(later).not.toHaveBeenCalled();
      await quiet.close();
      const store = createSqliteStore({ file: freshFile(), sweepIntervalMs: 60_000 });
      expect(later).toHaveBeenCalledTimes(1);
      expect(later.mock.calls[0]?.[1]).toBe(60_000);
      expect((later.mock.results[0]?.value as NodeJS.Timeout).hasRef()).toBe(false);
      await store.close();
    });

    it("goes on at once after a full step, waits the interval after a partial one, and stops on close", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const file = freshFile();
      const time = createTestClock();
      const store = createSqliteStore({
        file,
        clock: time,
        sweepIntervalMs: 60_000,
        sweepBatch: 10,
      });
      const count = () => rows(file, "SELECT count(*) AS n FROM store_values")[0]?.n;
      for (let i = 0; i < 55; i++) await store.set(`dead:${i}`, "v", 1_000);
      time.advance(1_000);
      vi.advanceTimersByTime(59_999);
      expect(count()).toBe(55);
      vi.advanceTimersByTime(1); // the interval's end: one full step
      expect(count()).toBe(45);
      // The rest follow at once (a zero timeout is one ms in Node, and in the fake timers):
      // four more full steps, then the last five at 60 005 ms.
      vi.advanceTimersByTime(4);
      expect(count()).toBe(5);
      vi.advanceTimersByTime(1);
      expect(count()).toBe(0);
      // That step was partial: the next waits a whole interval, until 120 005 ms.
      for (let i = 0; i < 15; i++) await store.set(`later:${i}`, "v", 1_000);
      time.advance(1_000);
      vi.advanceTimersByTime(59_999);
      expect(count()).toBe(15);
      vi.advanceTimersByTime(1);
      expect(count()).toBe(5);
      vi.advanceTimersByTime(1);
      expect(count()).toBe(0);
      expect(vi.getTimerCount()).toBe(1);
      await store.close();
      expect(vi.getTimerCount()).toBe(0);
    });

    it("says when a sweep fails, and tries again at the next interval", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
      const database = openDatabase(freshFile());
      const store = createSqliteStore({ database, sweepIntervalMs: 60_000 });
      database.close();
      vi.advanceTimersByTime(60_000);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith("[store] SQLite sweep failed: database is not open");
      vi.advanceTimersByTime(60_000);
      expect(warn).toHaveBeenCalledTimes(2);
      await store.close();
    });
  });

  describe("S3 across connections (each worker thread is its own connection to the file)", () => {
    /** The store's own code bundled into one plain module a worker can import. */
    let bundle: string;

    beforeAll(async () => {
      bundle = path.join(dir, "store-bundle.mjs");
      await build({
        stdin: {
          contents: `export * from "./database.server.ts"; export * from "./store.server.ts";`,
          resolveDir: path.resolve("app/store/sqlite"),
        },
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: bundle,
        logLevel: "silent",
      });
    });

    /** `count` workers released together, each taking "prize" and incrementing "n" once. */
    async function inWorkers(file: string, count: number): Promise<unknown[]> {
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const migrations = loadMigrations();
      const workers = Array.from(
        { length: count },
        () =>
          new Worker(WORKER, {
            eval: true,
            workerData: { bundle, file, gate, migrations },
          }),
      );
      const ready = workers.map((w) => new Promise((resolve) => w.once("message", resolve)));
      const results = workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once("error", reject);
            w.on("message", (m: { result?: unknown; error?: string }) => {
              if (m.error) reject(new Error(m.error));
              else if ("result" in m) resolve(m.result);
            });
          }),
      );
      await Promise.all(ready);
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      try {
        return await Promise.all(results);
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
    }

    // Eight connections, each in its own thread, released at once: more than the cores of a
    // small machine, so they truly contend (each thread costs a Node start; 20 cost 5 s).
    it("of 8 parallel takes of one key exactly one wins; 8 parallel increments count to 8", async () => {
      const file = freshFile();
      const store = createSqliteStore({ file, sweepIntervalMs: 0 });
      await store.set("prize", "won", 60_000);
      const results = (await inWorkers(file, 8)) as Array<{ took: string | null; n: number }>;
      expect(results.filter((r) => r.took === "won")).toHaveLength(1);
      expect(results.filter((r) => r.took === null)).toHaveLength(7);
      expect(await store.get("prize")).toBeNull();
      expect(results.map((r) => r.n).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 8 }, (_, i) => i + 1),
      );
      await store.close();
    }, 30_000);
  });
});

/** A worker: open its own connection, say ready, wait for the gate, take and increment. */
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
(async () => {
  try {
  const { openDatabase, createSqliteStore } = await import(workerData.bundle);
  const database = openDatabase(workerData.file, { migrations: workerData.migrations });
  const store = createSqliteStore({ database, sweepIntervalMs: 0 });
  parentPort.postMessage({});
  Atomics.wait(workerData.gate, 0, 0);
  const took = await store.take("prize");
  const n = await store.increment("n", 60000);
  parentPort.postMessage({ result: { took, n } });
  database.close();
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
})();
`;

describe("openDatabase and the migrations", () => {
  const m = (version: number, name: string, sql: string): Migration => ({ version, name, sql });

  it("ships 0001_store first, and names every file NNNN_name.sql", () => {
    const shipped = loadMigrations();
    expect(shipped[0]).toMatchObject({ version: 1, name: "store" });
    expect(new Set(shipped.map((x) => x.version)).size).toBe(shipped.length);
  });

  it("applies each migration once, in order, and records it", () => {
    const file = freshFile();
    const list = [
      m(2, "second", "INSERT INTO t (v) VALUES ('two')"),
      m(1, "first", "CREATE TABLE t (v TEXT)"),
    ];
    openDatabase(file, { migrations: list }).close();
    openDatabase(file, { migrations: list }).close(); // nothing applied twice
    expect(rows(file, "SELECT v FROM t")).toEqual([{ v: "two" }]);
    expect(rows(file, "SELECT version, name FROM schema_migrations ORDER BY version")).toEqual([
      { version: 1, name: "first" },
      { version: 2, name: "second" },
    ]);
    // A later release adds one: only that one runs.
    openDatabase(file, {
      migrations: [...list, m(3, "third", "INSERT INTO t VALUES ('3')")],
    }).close();
    expect(rows(file, "SELECT v FROM t ORDER BY v")).toEqual([{ v: "3" }, { v: "two" }]);
  });

  it("applies all pending migrations or none: a failing one rolls back the others", () => {
    const file = freshFile();
    const list = [m(1, "ok", "CREATE TABLE kept (v TEXT)"), m(2, "broken", "CREATE TABLE (")];
    expect(() => openDatabase(file, { migrations: list })).toThrow(
      /cannot write .*migration 0002_broken failed/,
    );
    const tables = rows(file, "SELECT name FROM sqlite_master WHERE type = 'table'");
    expect(tables.map((t) => t.name)).not.toContain("kept");
  });

  it("refuses a database migrated by a newer release", () => {
    const file = freshFile();
    openDatabase(file, { migrations: [m(1, "a", "SELECT 1"), m(2, "b", "SELECT 1")] }).close();
    expect(() => openDatabase(file, { migrations: [m(1, "a", "SELECT 1")] })).toThrow(
      /migration 0002, which this version does not know/,
    );
  });

  it("names every version it does not know, in order", () => {
    const file = freshFile();
    const all = [m(3, "c", "SELECT 1"), m(1, "a", "SELECT 1"), m(10, "d", "SELECT 1")];
    openDatabase(file, { migrations: all }).close();
    expect(() => openDatabase(file, { migrations: [m(1, "a", "SELECT 1")] })).toThrow(
      /has migration 0003, 0010, which this version does not know/,
    );
  });

  it("records when each migration was applied", () => {
    const file = freshFile();
    const before = Date.now();
    openDatabase(file, { migrations: [m(1, "a", "SELECT 1")] }).close();
    const [row] = rows(file, "SELECT applied_at FROM schema_migrations");
    expect(Number(row?.applied_at)).toBeGreaterThanOrEqual(before);
    expect(Number(row?.applied_at)).toBeLessThanOrEqual(Date.now());
  });

  it("opens with foreign keys on and the busy timeout given, 2 s by default", () => {
    const first = openDatabase(freshFile(), { migrations: [] });
    const given = openDatabase(freshFile(), { migrations: [], busyTimeoutMs: 50 });
    try {
      expect(first.prepare("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
      expect(first.prepare("PRAGMA busy_timeout").get()).toEqual({ timeout: 2_000 });
      expect(given.prepare("PRAGMA busy_timeout").get()).toEqual({ timeout: 50 });
    } finally {
      first.close();
      given.close();
    }
  });

  it("refuses a database that cannot keep its journal in WAL mode", () => {
    // An in-memory database keeps its journal in memory: nothing would survive a crash.
    expect(() => openDatabase(":memory:", { migrations: [] })).toThrow(
      /^cannot write :memory:: the journal stays in "memory" mode, not "wal"$/,
    );
  });

  it("a failed open says why as DatabaseOpenError, with the cause, and closes what it opened", () => {
    const close = vi.spyOn(DatabaseSync.prototype, "close");
    try {
      const list = [m(1, "broken", "CREATE TABLE (")];
      const error = (() => {
        try {
          openDatabase(freshFile(), { migrations: list });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(DatabaseOpenError);
      expect(error?.name).toBe("DatabaseOpenError");
      // The migration's error, and under it SQLite's own.
      expect((error?.cause as Error).message).toMatch(/^migration 0001_broken failed: /);
      expect((error?.cause as Error).cause).toBeInstanceOf(Error);
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      close.mockRestore();
    }
    const blocked = path.join(dir, "blocked-folder");
    writeFileSync(blocked, "");
    for (const file of [
      path.join(blocked, "store.db"),
      (() => {
        const folder = freshFile();
        mkdirSync(folder, { recursive: true });
        return folder;
      })(),
    ]) {
      const error = (() => {
        try {
          openDatabase(file);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error?.name).toBe("DatabaseOpenError");
      expect(error?.cause).toBeInstanceOf(Error);
    }
  });

  it("migrate rolls every pending migration back when one fails, on a connection it leaves open", () => {
    const db = new DatabaseSync(":memory:");
    try {
      expect(() =>
        migrate(db, [m(1, "ok", "CREATE TABLE kept (v TEXT)"), m(2, "broken", "CREATE TABLE (")]),
      ).toThrow(/^migration 0002_broken failed: /);
      expect(db.isTransaction).toBe(false);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      expect(tables).toEqual([]);
      migrate(db, [m(1, "ok", "CREATE TABLE kept (v TEXT)")]);
      expect(db.prepare("SELECT version FROM schema_migrations").all()).toEqual([{ version: 1 }]);
    } finally {
      db.close();
    }
  });

  it("refuses two migrations with one number", () => {
    expect(() =>
      openDatabase(freshFile(), { migrations: [m(1, "a", "SELECT 1"), m(1, "b", "SELECT 1")] }),
    ).toThrow(/two migrations are numbered 0001/);
  });

  it("creates a missing folder, and says in one line when it cannot", () => {
    const file = freshFile(); // its folder does not exist yet
    openDatabase(file).close();
    const blocker = path.join(dir, "not-a-folder");
    writeFileSync(blocker, "");
    const error = (() => {
      try {
        openDatabase(path.join(blocker, "store.db"));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DatabaseOpenError);
    expect((error as Error).message).not.toContain("\n");
    expect((error as Error).message).toMatch(/cannot create the folder/);
  });

  it("says in one line when the file cannot be opened", () => {
    // Root ignores file modes, so a folder where the file should be stands in for a file
    // the server may not write (the same SQLite error either way).
    const file = freshFile();
    mkdirSync(file, { recursive: true });
    const error = (() => {
      try {
        openDatabase(file);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DatabaseOpenError);
    expect((error as Error).message).toMatch(/^cannot (open|write) .*store\.db: [^\n]+$/);
  });
});
