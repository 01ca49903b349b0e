-- Users and their sign-in methods (app/store/users/types.ts): SqliteUserStore
-- (app/store/users/sqlite.server.ts). Nothing here expires: a user stays until the account is
-- deleted. Times are epoch ms.
--
-- To keep a field of your own in a real column (to index it, constrain it, query it), add a
-- migration, e.g. 0004_users_plan.sql:
--   ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
-- Every column beyond these appears in `user.fields` under its name, and `fields` written
-- under that name go to the column; other fields stay in the JSON `fields` column.

CREATE TABLE users (
  id TEXT PRIMARY KEY NOT NULL,
  -- Normalised (app/auth/email.ts): one address, one user.
  email TEXT NOT NULL UNIQUE,
  email_verified_at INTEGER,
  created_at INTEGER NOT NULL,
  last_sign_in_at INTEGER,
  first_name TEXT,
  last_name TEXT,
  -- The team's own fields without a column of their own, as a JSON object.
  fields TEXT NOT NULL DEFAULT '{}'
);

-- One way into a user: the method's namespace and the provider's id for the person.
CREATE TABLE identities (
  method TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  PRIMARY KEY (method, subject)
);
CREATE INDEX identities_user_id ON identities (user_id);
