import type { Database } from "../sqlite/database.server";
import { messageOf } from "../common.server";
import { StoreUnavailableError } from "../errors";
import { systemClock, type Clock } from "../../lib/clock";
import { byAge, newUserId } from "./common.server";
import {
  UserStoreError,
  isUserStoreError,
  type FieldValue,
  type Fields,
  type IdentityKey,
  type IdentityRecord,
  type NewUser,
  type UserPatch,
  type UserRecord,
  type UserStore,
} from "./types";

export interface SqliteUserStoreOptions {
  /** The app's database (`openDatabase`), migrated with 0003_users.sql; shared, never closed here. */
  database: Database;
  clock?: Clock;
}

/** The columns of 0003_users.sql; any other column of `users` is one of the team's fields. */
const CORE_COLUMNS = new Set([
  "id",
  "email",
  "email_verified_at",
  "created_at",
  "last_sign_in_at",
  "first_name",
  "last_name",
  "fields",
]);

type Row = Record<string, string | number | bigint | null | Uint8Array>;

/**
 * Users in real tables of the app's SQLite file (the default store's): `users` with a unique
 * address and `identities` with a primary key on (method, subject), deleted with their user
 * by the foreign key. Each change is one `BEGIN IMMEDIATE` transaction on a synchronous
 * driver, so nothing interleaves, and SQLite's lock orders it against another process.
 *
 * A team's field lives in the JSON `fields` column, or in a column of its own once a
 * migration adds one (README, "Users"): the columns are read from the table at start.
 */
export function createSqliteUserStore(options: SqliteUserStoreOptions): UserStore {
  const db = options.database;
  const clock = options.clock ?? systemClock;
  const columns = (db.prepare("PRAGMA table_info(users)").all() as Array<{ name: string }>)
    .map((column) => column.name)
    .filter((name) => !CORE_COLUMNS.has(name));
  const teamColumns = new Set(columns);
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

  const sql = {
    byId: db.prepare("SELECT * FROM users WHERE id = ?"),
    byEmail: db.prepare("SELECT * FROM users WHERE email = ?"),
    identity: db.prepare("SELECT * FROM identities WHERE method = ? AND subject = ?"),
    identities: db.prepare("SELECT * FROM identities WHERE user_id = ?"),
    insertIdentity: db.prepare(
      "INSERT INTO identities (method, subject, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?, ?)",
    ),
    touchIdentity: db.prepare(
      "UPDATE identities SET last_used_at = ? WHERE method = ? AND subject = ?",
    ),
    unlink: db.prepare("DELETE FROM identities WHERE method = ? AND subject = ? AND user_id = ?"),
    delete: db.prepare("DELETE FROM users WHERE id = ?"),
  };

  /** Run `work` as one call: a broken rule stays a UserStoreError, any database error is "unavailable". */
  function run<T>(what: string, work: () => T, transaction = false): Promise<T> {
    try {
      if (!transaction) return Promise.resolve(work());
      db.exec("BEGIN IMMEDIATE");
      try {
        const result = work();
        db.exec("COMMIT");
        return Promise.resolve(result);
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      if (isUserStoreError(error)) return Promise.reject(error);
      return Promise.reject(
        new StoreUnavailableError(`SQLite ${what} failed: ${messageOf(error)}`, { cause: error }),
      );
    }
  }

  function toUser(row: Row | undefined): UserRecord | null {
    if (!row) return null;
    const fields = JSON.parse(String(row.fields ?? "{}")) as Fields;
    for (const name of teamColumns) fields[name] = fieldValue(row[name]);
    return {
      id: String(row.id),
      email: String(row.email),
      emailVerifiedAt: numberOrNull(row.email_verified_at),
      createdAt: Number(row.created_at),
      lastSignInAt: numberOrNull(row.last_sign_in_at),
      firstName: row.first_name === null ? null : String(row.first_name),
      lastName: row.last_name === null ? null : String(row.last_name),
      fields,
    };
  }

  /** Split fields into those with a column of their own and the JSON rest. */
  function split(fields: Fields): { own: Array<[string, FieldValue]>; rest: Fields } {
    const own: Array<[string, FieldValue]> = [];
    const rest: Fields = {};
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      if (teamColumns.has(name)) own.push([name, value]);
      else rest[name] = value;
    }
    return { own, rest };
  }

  const sqlValue = (value: FieldValue) => (typeof value === "boolean" ? (value ? 1 : 0) : value);

  function get(id: string): UserRecord | null {
    return toUser(sql.byId.get(id) as Row | undefined);
  }

  return {
    get: (id) => run("get", () => get(id)),

    getByEmail: (email) =>
      run("getByEmail", () => toUser(sql.byEmail.get(email) as Row | undefined)),

    create: (input: NewUser, identity?: IdentityKey) =>
      run(
        "create",
        () => {
          if (sql.byEmail.get(input.email)) throw new UserStoreError("email_taken");
          if (identity && sql.identity.get(identity.method, identity.subject))
            throw new UserStoreError("identity_taken");
          const now = clock();
          const id = newUserId();
          const { own, rest } = split(input.fields ?? {});
          const names = [
            "id",
            "email",
            "email_verified_at",
            "created_at",
            "first_name",
            "last_name",
            "fields",
            ...own.map(([name]) => name),
          ];
          db.prepare(
            `INSERT INTO users (${names.map(quote).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
          ).run(
            id,
            input.email,
            input.emailVerifiedAt ?? null,
            now,
            input.firstName ?? null,
            input.lastName ?? null,
            JSON.stringify(rest),
            ...own.map(([, value]) => sqlValue(value)),
          );
          let record: IdentityRecord | undefined;
          if (identity) {
            sql.insertIdentity.run(identity.method, identity.subject, id, now, now);
            record = { ...identity, userId: id, createdAt: now, lastUsedAt: now };
          }
          const user = get(id) as UserRecord;
          return record ? { user, identity: record } : { user };
        },
        true,
      ),

    update: (id: string, patch: UserPatch) =>
      run(
        "update",
        () => {
          const row = sql.byId.get(id) as Row | undefined;
          if (!row) return null;
          const sets: string[] = [];
          const values: Array<string | number | null> = [];
          const core: Array<[keyof UserPatch, string]> = [
            ["emailVerifiedAt", "email_verified_at"],
            ["lastSignInAt", "last_sign_in_at"],
            ["firstName", "first_name"],
            ["lastName", "last_name"],
          ];
          for (const [key, column] of core) {
            const value = patch[key];
            if (value === undefined) continue;
            sets.push(`${column} = ?`);
            values.push(value as string | number | null);
          }
          if (patch.fields) {
            const { own, rest } = split(patch.fields);
            for (const [name, value] of own) {
              sets.push(`${quote(name)} = ?`);
              values.push(sqlValue(value));
            }
            if (Object.keys(rest).length > 0) {
              const merged = { ...(JSON.parse(String(row.fields ?? "{}")) as Fields), ...rest };
              sets.push("fields = ?");
              values.push(JSON.stringify(merged));
            }
          }
          if (sets.length > 0)
            db.prepare(`UPDATE users SET ${sets.join(", ")} WHERE id = ?`).run(...values, id);
          return get(id);
        },
        true,
      ),

    findIdentity: (key) =>
      run("findIdentity", () => toIdentity(sql.identity.get(key.method, key.subject) as Row)),

    link: (userId, key, at) =>
      run(
        "link",
        () => {
          if (!sql.byId.get(userId)) throw new UserStoreError("no_such_user");
          const existing = toIdentity(sql.identity.get(key.method, key.subject) as Row);
          if (existing && existing.userId !== userId) throw new UserStoreError("identity_taken");
          if (existing) {
            sql.touchIdentity.run(at, key.method, key.subject);
            return { ...existing, lastUsedAt: at };
          }
          sql.insertIdentity.run(key.method, key.subject, userId, at, at);
          return { ...key, userId, createdAt: at, lastUsedAt: at };
        },
        true,
      ),

    unlink: (userId, key) =>
      run("unlink", () => Number(sql.unlink.run(key.method, key.subject, userId).changes) > 0),

    identities: (userId) =>
      run("identities", () =>
        (sql.identities.all(userId) as Row[])
          .map((row) => toIdentity(row) as IdentityRecord)
          .sort(byAge),
      ),

    // The foreign key's ON DELETE CASCADE removes the identities in the same statement.
    delete: (id) => run("delete", () => Number(sql.delete.run(id).changes) > 0),

    async close() {
      // The database is shared with the store (and the mail queue); its owner closes it.
    },
  };
}

function toIdentity(row: Row | undefined): IdentityRecord | null {
  if (!row) return null;
  return {
    method: String(row.method),
    subject: String(row.subject),
    userId: String(row.user_id),
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
  };
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function fieldValue(value: Row[string] | undefined): FieldValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return value;
}
