import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStoreUnavailableError } from "../../app/store/errors";
import {
  DatabaseOpenError,
  loadMigrations,
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
    expect(() => createSqliteStore({})).toThrow(TypeError);
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
