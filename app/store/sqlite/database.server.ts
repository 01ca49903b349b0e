import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type * as NodeSqlite from "node:sqlite";
import type { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { messageOf } from "../common.server";

/**
 * The app's one SQLite database (the default store, the mail queue, users): one file in
 * DATA_DIR, opened once per process and shared by every module that keeps state in it.
 */
export type Database = DatabaseSync;

/**
 * `node:sqlite`, taken from the running Node rather than imported: a bundler that follows
 * the import graph for the browser (the component tests' jsdom environment on Node 22)
 * cannot place a `node:`-only built-in, and this module never runs there anyway.
 */
function sqlite(): typeof NodeSqlite {
  return process.getBuiltinModule("node:sqlite");
}

/** One numbered schema change, `app/store/migrations/NNNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface OpenDatabaseOptions {
  /** Defaults to every file in app/store/migrations, in order (tests pass their own). */
  migrations?: readonly Migration[];
  /**
   * How long a statement waits for another connection's write lock, ms. node:sqlite is
   * synchronous, so the wait stalls the whole process: kept short. Default 2000.
   */
  busyTimeoutMs?: number;
}

/** The database file cannot be created, opened, written or migrated. */
export class DatabaseOpenError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "DatabaseOpenError";
  }
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Open (creating it and its folder if missing) the database at `file` and bring its schema
 * up to date. Throws `DatabaseOpenError` with one line saying what went wrong, so a server
 * whose DATA_DIR cannot be written stops at start rather than at the first sign-in.
 *
 * - WAL journal: readers never wait for the writer, and a crash (even `kill -9`) in the middle
 *   of a write leaves the last committed state; SQLite rolls the rest back when it next opens.
 * - `synchronous = NORMAL`: a commit is in the WAL file, in the OS's hands, before it returns,
 *   so a killed process loses nothing (S31). Only a power cut may lose the last commits (never
 *   corrupt the file). FULL would fsync every commit, and node:sqlite is synchronous: each
 *   fsync (milliseconds) would stall every request in the process. See
 *   docs/decisions/0009-sqlite-default-store.md.
 * - Pending migrations run in one `BEGIN IMMEDIATE` transaction: all of them or none, and two
 *   processes starting at once take turns instead of both applying them.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database {
  const migrations = options.migrations ?? loadMigrations();
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  } catch (error) {
    throw new DatabaseOpenError(
      `cannot create the folder of ${file}: ${messageOf(error)} (set DATA_DIR to a writable folder)`,
      { cause: error },
    );
  }
  let db: DatabaseSync;
  try {
    db = new (sqlite().DatabaseSync)(file, {
      timeout: options.busyTimeoutMs ?? 2_000,
      enableForeignKeyConstraints: true,
    });
  } catch (error) {
    throw new DatabaseOpenError(`cannot open ${file}: ${messageOf(error)}`, { cause: error });
  }
  try {
    // Setting WAL writes the file header: this is where a read-only folder or file fails.
    const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode?: string };
    // Stryker disable next-line OptionalChaining: the pragma always answers one row
    if (mode?.journal_mode !== "wal") {
      // Stryker disable next-line OptionalChaining: the pragma always answers one row
      throw new Error(`the journal stays in "${mode?.journal_mode}" mode, not "wal"`);
    }
    db.exec("PRAGMA synchronous = NORMAL");
    migrate(db, migrations);
    return db;
  } catch (error) {
    db.close();
    throw new DatabaseOpenError(`cannot write ${file}: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Apply the migrations not yet recorded in `schema_migrations`, in version order, in one
 * transaction. A database that records a version this code does not know was migrated by a
 * newer release: refuse it rather than run old code on a schema it does not understand.
 */
export function migrate(db: Database, migrations: readonly Migration[]): void {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    // Stryker disable next-line OptionalChaining: `i > 0` before it, so the entry is there
    if (i > 0 && sorted[i - 1]?.version === m.version) {
      throw new Error(`two migrations are numbered ${pad(m.version)}`);
    }
  });
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const rows = db
      .prepare("SELECT version FROM schema_migrations ORDER BY version")
      .all() as Array<{ version: number }>;
    const applied = new Set(rows.map((row) => Number(row.version)));
    const known = new Set(sorted.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new Error(
        `the database has migration ${unknown.map(pad).join(", ")}, which this version does not know (was it opened by a newer release?)`,
      );
    }
    const record = db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
    );
    for (const m of sorted) {
      if (applied.has(m.version)) continue;
      try {
        db.exec(m.sql);
      } catch (error) {
        throw new Error(`migration ${pad(m.version)}_${m.name} failed: ${messageOf(error)}`, {
          cause: error,
        });
      }
      record.run(m.version, m.name, Date.now());
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

/**
 * The migrations shipped with the app. Vite (the dev server, the production build and the
 * tests) inlines the .sql files here, so a deployed build needs no app/ folder beside it;
 * code run without Vite (tsx, e.g. the benchmark) reads the folder instead, because there
 * `import.meta.glob` does not exist and the call throws.
 */
export function loadMigrations(): Migration[] {
  let files: Record<string, string>;
  try {
    // Stryker disable all: Vite rewrites this call at build time and needs its arguments as
    // literals (a mutant here does not compile), and the shipped-migrations test reads them.
    files = import.meta.glob<string>("../migrations/*.sql", {
      query: "?raw",
      import: "default",
      eager: true,
    });
    // Stryker restore all
  } catch {
    const dir = fileURLToPath(new URL("../migrations/", import.meta.url));
    files = Object.fromEntries(
      readdirSync(dir)
        .filter((name) => name.endsWith(".sql"))
        .map((name) => [name, readFileSync(path.join(dir, name), "utf8")]),
    );
  }
  return Object.entries(files).map(([file, sql]) => {
    const base = path.basename(file);
    const match = FILE_NAME.exec(base);
    if (!match) throw new Error(`migration file ${base} is not named NNNN_name.sql`);
    return { version: Number(match[1]), name: match[2] as string, sql };
  });
}

export interface CheckpointerOptions {
  /** How often the thread checkpoints, ms. Default 500. */
  intervalMs?: number;
  /**
   * The connection's own automatic checkpoint, in WAL pages, kept as a safety net should the
   * thread fall behind: the WAL never grows past it. Default 10,000 pages (about 40 MB).
   */
  fallbackPages?: number;
}

/** A running checkpoint thread (see {@link startCheckpointer}). */
export interface Checkpointer {
  /** End the thread and close its connection. */
  stop(): Promise<void>;
}

/** SQLite's default `wal_autocheckpoint`, restored when the thread is gone. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * The checkpoint thread's code: its own connection to the same file, a passive checkpoint
 * every `intervalMs`. Inline (`eval`), so a bundled build needs no worker file beside it.
 */
const CHECKPOINT_THREAD = `
const { parentPort, workerData } = process.getBuiltinModule("node:worker_threads");
const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
const db = new DatabaseSync(workerData.file, { timeout: workerData.busyTimeoutMs });
db.exec("PRAGMA synchronous = NORMAL");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const timer = setInterval(() => {
  try { checkpoint.get(); } catch (error) { parentPort.postMessage(String(error && error.message)); }
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Move the WAL's checkpoints off the event loop. A checkpoint copies the WAL's pages into
 * the database file and fsyncs it; SQLite runs one on the committing connection every
 * 1,000 pages, and `node:sqlite` is synchronous, so that commit (and every request behind
 * it) waited for the disk: tens, sometimes hundreds of milliseconds on a busy virtual
 * machine, every hundred or so sign-ins. Here a worker thread with its own connection runs
 * a passive checkpoint (it never blocks a writer) every `intervalMs`, and the app's
 * connection only checkpoints itself when the WAL passes `fallbackPages`.
 *
 * Durability is unchanged (S31): commits still reach the WAL before they return, and the
 * checkpoint still syncs the file, only on another thread. Should the thread fail, the
 * connection gets SQLite's own every-1,000-pages checkpoint back.
 */
export function startCheckpointer(
  db: Database,
  file: string,
  options: CheckpointerOptions = {},
): Checkpointer {
  const intervalMs = options.intervalMs ?? 500;
  const fallbackPages = options.fallbackPages ?? 10_000;
  const { Worker: WorkerThread } = process.getBuiltinModule("node:worker_threads");
  const worker: Worker = new WorkerThread(CHECKPOINT_THREAD, {
    eval: true,
    workerData: { file, intervalMs, busyTimeoutMs: 2_000 },
  });
  worker.unref();
  let running = true;
  const fallBack = (why: string) => {
    if (!running) return;
    running = false;
    console.warn(`[store] SQLite checkpoint thread stopped (${why}); checkpoints run in-process`);
    if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };
  // A failed checkpoint (the disk, a lock held too long) is retried on the next tick; the
  // calls that write report a failing database themselves.
  worker.on("message", (message) => console.warn(`[store] SQLite checkpoint failed: ${message}`));
  worker.on("error", (error) => fallBack(messageOf(error)));
  worker.on("exit", (code) => fallBack(`exit code ${code}`));
  // Until the thread is up (milliseconds), the WAL grows toward the fallback at most.
  db.exec(`PRAGMA wal_autocheckpoint = ${fallbackPages}`);
  return {
    async stop() {
      if (!running) return;
      running = false;
      if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.postMessage("stop");
      // The thread closes its connection and ends; one stuck in a checkpoint is ended.
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function pad(version: number): string {
  return String(version).padStart(4, "0");
}
