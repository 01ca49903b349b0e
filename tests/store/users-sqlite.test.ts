import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
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
