-- The mail queue on SQLite (app/mail/queue-sqlite.server.ts): one row per email, delivered by
-- a worker in each server process. A worker claims a due row by setting its lease; a worker
-- that dies holds it only until the lease runs out, then any worker (after a restart, the
-- new process's) takes it again. Times are epoch ms.
CREATE TABLE mail_queue (
  id TEXT PRIMARY KEY NOT NULL,
  -- The message, sealed with the server key; NULL once sent, given up, or its sign-in expired.
  sealed TEXT,
  state TEXT NOT NULL CHECK (state IN ('queued', 'retrying', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  -- No attempt starts after it, and the body goes at it.
  expires_at INTEGER NOT NULL,
  -- When the next attempt is due.
  next_at INTEGER NOT NULL,
  -- Claimed by a worker until then; 0 when free.
  lease_until INTEGER NOT NULL DEFAULT 0,
  sent_at INTEGER,
  -- Why the last attempt failed (refused, timeout, 4xx:451, 5xx:550, expired, …).
  cause TEXT,
  -- When the row itself goes (its state is kept as long as a pending sign-in can ask).
  forget_at INTEGER NOT NULL
);
CREATE INDEX mail_queue_due ON mail_queue (state, next_at);
CREATE INDEX mail_queue_forget_at ON mail_queue (forget_at);
