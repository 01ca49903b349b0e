import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  openDatabase,
  startCheckpointer,
  type Database,
} from "../../app/store/sqlite/database.server";
import { until } from "../support/until";

let dir: string;
let n = 0;
const freshFile = () => path.join(dir, `db-${++n}`, "app.db");

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "pls-checkpoint-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const PAGE = 4096;
const size = (file: string) => statSync(file).size;

/** Commit `pages` pages' worth of new rows, one commit per row (as requests do). */
function write(db: Database, pages: number, tag: string) {
  db.exec("CREATE TABLE IF NOT EXISTS filler (id TEXT PRIMARY KEY, body TEXT)");
  const insert = db.prepare("INSERT INTO filler VALUES (?, ?)");
  // A row of ~3.5 KB fills most of a page, so each commit adds at least one page.
  for (let i = 0; i < pages; i++) insert.run(`${tag}-${i}`, "x".repeat(3500));
}

describe("SQLite checkpoints off the event loop", () => {
  it("leaves them to the thread: the app's own connection never checkpoints at 1,000 pages", async () => {
    const file = freshFile();
    const db = openDatabase(file);
    // A thread that never gets round to it within the test: only the app's connection
    // could move pages into the file.
    const checkpointer = startCheckpointer(db, file, { intervalMs: 3_600_000 });
    try {
      const before = size(file);
      write(db, 1500, "a");
      // Every page is still in the WAL (past SQLite's 1,000-page automatic checkpoint), and
      // the database file has not grown by them.
      expect(size(`${file}-wal`)).toBeGreaterThan(1500 * PAGE);
      expect(size(file)).toBeLessThan(before + 100 * PAGE);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it("checkpoints on its thread, so the WAL starts over instead of growing", async () => {
    const file = freshFile();
    const db = openDatabase(file);
    const checkpointer = startCheckpointer(db, file, { intervalMs: 20 });
    try {
      write(db, 1200, "a");
      const wal = size(`${file}-wal`);
      expect(wal).toBeGreaterThan(1200 * PAGE);
      // Once the thread has copied every page into the database file, the next commit
      // writes the WAL from its start again: the file stops growing. (The app's own
      // connection checkpoints only past 10,000 pages, so nothing else could do it.)
      let n = 0;
      let last = wal;
      await until("a commit that starts the WAL over", () => {
        write(db, 1, `probe-${n++}`);
        const now = size(`${file}-wal`);
        const restarted = now <= last;
        last = now;
        return restarted || undefined;
      });
      expect(size(file)).toBeGreaterThan(1200 * PAGE);
      expect((db.prepare("SELECT COUNT(*) AS n FROM filler").get() as { n: number }).n).toBe(
        1200 + n,
      );
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it("says once when the thread fails, and gives the connection SQLite's own checkpoint back", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const db = openDatabase(freshFile());
    const pages = () =>
      (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
        .wal_autocheckpoint;
    try {
      // The thread cannot open a file in a folder that does not exist.
      const checkpointer = startCheckpointer(db, path.join(dir, "missing", "app.db"), {
        fallbackPages: 7_000,
      });
      expect(pages()).toBe(7_000);
      await until("the thread's failure", () => (warn.mock.calls.length > 0 ? true : undefined));
      expect(String(warn.mock.calls[0]?.[0])).toMatch(
        /^\[store\] SQLite checkpoint thread stopped \(.+\); checkpoints run in-process$/,
      );
      expect(pages()).toBe(1_000);
      await checkpointer.stop();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
      db.close();
    }
  });

  it("gives the connection SQLite's own checkpoint back when stopped", async () => {
    const file = freshFile();
    const db = openDatabase(file);
    const pages = () =>
      (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
        .wal_autocheckpoint;
    const checkpointer = startCheckpointer(db, file, { fallbackPages: 7_000 });
    expect(pages()).toBe(7_000);
    await checkpointer.stop();
    expect(pages()).toBe(1_000);
    db.close();
  });
});
