import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { isStoreUnavailableError } from "../../app/store/errors";
import { loadMigrations, openDatabase } from "../../app/store/sqlite/database.server";
import { createSqliteUserStore } from "../../app/store/users/sqlite.server";
import { createTestClock } from "../support/clock";
import { runUserStoreContract } from "./user-store-contract";

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "pls-users-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const freshFile = () => path.join(dir, `users-${++n}.db`);

runUserStoreContract("sqlite", async () => {
  const clock = createTestClock();
  const database = openDatabase(freshFile());
  return {
    users: createSqliteUserStore({ database, clock }),
    now: () => clock(),
    dispose: async () => database.close(),
  };
});

it("keeps users in real tables that survive reopening the file", async () => {
  const file = freshFile();
  const first = openDatabase(file);
  const users = createSqliteUserStore({ database: first });
  const { user } = await users.create(
    { email: "ada@example.com", fields: { displayName: "Ada" } },
    { method: "local", subject: "local_1" },
  );
  first.close();
  const again = openDatabase(file);
  try {
    const row = again.prepare("SELECT email, fields FROM users WHERE id = ?").get(user.id);
    expect(row).toEqual({ email: "ada@example.com", fields: '{"displayName":"Ada"}' });
    expect(again.prepare("SELECT user_id FROM identities").all()).toEqual([{ user_id: user.id }]);
    const reopened = createSqliteUserStore({ database: again });
    expect(await reopened.get(user.id)).toEqual(user);
  } finally {
    again.close();
  }
});

it("a team's column added by a migration holds its field; other fields stay in JSON", async () => {
  const migrations = [
    ...loadMigrations(),
    {
      version: 9001,
      name: "users_plan",
      sql: "ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';",
    },
  ];
  const database = openDatabase(freshFile(), { migrations });
  try {
    const users = createSqliteUserStore({ database });
    const { user } = await users.create({ email: "ada@example.com", fields: { seats: 2 } });
    expect(user.fields).toEqual({ plan: "free", seats: 2 });
    await users.update(user.id, { fields: { plan: "pro", seats: 3 } });
    expect(database.prepare("SELECT plan, fields FROM users").get()).toEqual({
      plan: "pro",
      fields: '{"seats":3}',
    });
    expect((await users.get(user.id))?.fields).toEqual({ plan: "pro", seats: 3 });
    const other = await users.create({ email: "bob@example.com", fields: { plan: "team" } });
    expect(other.user.fields).toEqual({ plan: "team" });
  } finally {
    database.close();
  }
});

it("keeps a team's columns of every kind: a boolean as 0 or 1, a blob as base64, null as null", async () => {
  const migrations = [
    ...loadMigrations(),
    {
      version: 9001,
      name: "users_kinds",
      sql: `ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN "odd ""name""" TEXT;
        ALTER TABLE users ADD COLUMN avatar BLOB DEFAULT x'010203';`,
    },
  ];
  const database = openDatabase(freshFile(), { migrations });
  try {
    const users = createSqliteUserStore({ database });
    const { user } = await users.create({
      email: "ada@example.com",
      fields: { admin: true, 'odd "name"': "kept", extra: true },
    });
    expect(user.fields).toEqual({ admin: 1, 'odd "name"': "kept", avatar: "AQID", extra: true });
    const updated = await users.update(user.id, { fields: { admin: false, 'odd "name"': null } });
    expect(updated?.fields).toEqual({ admin: 0, 'odd "name"': null, avatar: "AQID", extra: true });
    expect(database.prepare("SELECT fields FROM users").get()).toEqual({
      fields: '{"extra":true}',
    });
  } finally {
    database.close();
  }
});

it("rolls a failed change back whole, as StoreUnavailableError naming it, and works on", async () => {
  const migrations = [
    ...loadMigrations(),
    {
      version: 9001,
      name: "refuse_identity",
      sql: `CREATE TRIGGER refuse BEFORE INSERT ON identities WHEN NEW.subject = 'refused'
        BEGIN SELECT RAISE(ABORT, 'identity refused'); END;`,
    },
  ];
  const database = openDatabase(freshFile(), { migrations });
  try {
    const users = createSqliteUserStore({ database });
    const error = await users
      .create({ email: "ada@example.com" }, { method: "m", subject: "refused" })
      .catch((e: unknown) => e);
    expect(isStoreUnavailableError(error)).toBe(true);
    expect((error as Error).message).toBe("SQLite create failed: identity refused");
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(await users.getByEmail("ada@example.com")).toBeNull();
    expect(database.isTransaction).toBe(false);
    const { user } = await users.create(
      { email: "ada@example.com" },
      { method: "m", subject: "s" },
    );
    expect(await users.identities(user.id)).toHaveLength(1);
  } finally {
    database.close();
  }
});

it("every call on a database that went away rejects with StoreUnavailableError naming it", async () => {
  const database = openDatabase(freshFile());
  const users = createSqliteUserStore({ database });
  const { user } = await users.create({ email: "ada@example.com" });
  database.close();
  const key = { method: "m", subject: "s" };
  const calls: Array<[string, () => Promise<unknown>]> = [
    ["get", () => users.get(user.id)],
    ["getByEmail", () => users.getByEmail("ada@example.com")],
    ["create", () => users.create({ email: "bob@example.com" })],
    ["update", () => users.update(user.id, { firstName: "Ada" })],
    ["findIdentity", () => users.findIdentity(key)],
    ["link", () => users.link(user.id, key, 1)],
    ["unlink", () => users.unlink(user.id, key)],
    ["identities", () => users.identities(user.id)],
    ["delete", () => users.delete(user.id)],
  ];
  for (const [name, call] of calls) {
    const error = await call().then(
      () => new Error(`${name} resolved`),
      (e: unknown) => e,
    );
    expect(isStoreUnavailableError(error), name).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^SQLite ${name} failed: \\S`));
  }
});

it("stamps new records with its clock, the system clock by default", async () => {
  const database = openDatabase(freshFile());
  try {
    const clock = createTestClock();
    const stamped = await createSqliteUserStore({ database, clock }).create(
      { email: "ada@example.com" },
      { method: "m", subject: "s" },
    );
    expect(stamped.user.createdAt).toBe(clock());
    expect(stamped.identity).toMatchObject({ createdAt: clock(), lastUsedAt: clock() });
    const before = Date.now();
    const { user } = await createSqliteUserStore({ database }).create({ email: "bob@example.com" });
    expect(user.createdAt).toBeGreaterThanOrEqual(before);
    expect(user.createdAt).toBeLessThanOrEqual(Date.now());
  } finally {
    database.close();
  }
});

it("makes each change one transaction, and reads without one", async () => {
  const database = openDatabase(freshFile());
  try {
    const users = createSqliteUserStore({ database });
    const { user } = await users.create({ email: "ada@example.com" });
    const exec = vi.spyOn(database, "exec");
    const statements = async (call: () => Promise<unknown>) => {
      exec.mockClear();
      await call();
      return exec.mock.calls.map(([sql]) => sql);
    };
    const key = { method: "m", subject: "s" };
    for (const change of [
      () => users.create({ email: "bob@example.com" }),
      () => users.update(user.id, { firstName: "Ada" }),
      () => users.link(user.id, key, 1),
    ]) {
      expect(await statements(change)).toEqual(["BEGIN IMMEDIATE", "COMMIT"]);
    }
    for (const read of [
      () => users.get(user.id),
      () => users.getByEmail("ada@example.com"),
      () => users.findIdentity(key),
      () => users.identities(user.id),
    ]) {
      expect(await statements(read)).toEqual([]);
    }
  } finally {
    database.close();
  }
});
