-- The Store contract (app/store/types.ts) on SQLite: SqliteStore (app/store/sqlite/store.server.ts).
-- Every row carries its expiry (epoch ms): reads ignore expired rows, the sweep deletes them.

-- Values and counters: get/set/take/delete/increment.
CREATE TABLE store_values (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX store_values_expires_at ON store_values (expires_at);

-- Indexes (a set ordered by expiry, e.g. a user's sessions): one row per member.
CREATE TABLE store_index (
  key TEXT NOT NULL,
  member TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (key, member)
);
CREATE INDEX store_index_expires_at ON store_index (expires_at);
