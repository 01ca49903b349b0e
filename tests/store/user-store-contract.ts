import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  isUserStoreError,
  type UserStore,
  type UserStoreErrorCode,
} from "../../app/store/users/types";

/** One fresh, empty user store per test. */
export interface UserStoreHarness {
  users: UserStore;
  /** The time the store stamps on new records (its injected clock, or real time). */
  now(): number;
  dispose?(): Promise<void>;
}

async function refusal(promise: Promise<unknown>): Promise<UserStoreErrorCode | "resolved"> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    if (isUserStoreError(error)) return error.code;
    throw error;
  }
}

const LOCAL = { method: "local", subject: "local_abc" };
const WORKOS = { method: "workos", subject: "user_01H" };

/**
 * The UserStore contract (app/store/users/types.ts). Memory, Redis and SQLite run this same
 * suite; each test gets a fresh store, so order never matters.
 */
export function runUserStoreContract(name: string, factory: () => Promise<UserStoreHarness>) {
  describe(`UserStore contract: ${name}`, () => {
    let h: UserStoreHarness;
    let users: UserStore;

    beforeEach(async () => {
      h = await factory();
      users = h.users;
    });

    afterEach(async () => {
      await users.close();
      await h.dispose?.();
    });

    describe("users", () => {
      it("creates a user with a random usr_ id and finds it by id and by address", async () => {
        const before = h.now();
        const { user } = await users.create({
          email: "ada@example.com",
          emailVerifiedAt: 1_700_000_000_000,
          firstName: "Ada",
        });
        expect(user.id).toMatch(/^usr_[0-9a-f]{32}$/);
        expect(user).toMatchObject({
          email: "ada@example.com",
          emailVerifiedAt: 1_700_000_000_000,
          firstName: "Ada",
          lastName: null,
          lastSignInAt: null,
          fields: {},
        });
        expect(user.createdAt).toBeGreaterThanOrEqual(before);
        expect(await users.get(user.id)).toEqual(user);
        expect(await users.getByEmail("ada@example.com")).toEqual(user);
        const other = await users.create({ email: "bob@example.com" });
        expect(other.user.id).not.toBe(user.id);
      });

      it("creates a user from an address alone with every other field null and no fields", async () => {
        const { user, identity } = await users.create({ email: "ada@example.com" });
        expect(identity).toBeUndefined();
        expect(user).toEqual({
          id: user.id,
          email: "ada@example.com",
          emailVerifiedAt: null,
          createdAt: user.createdAt,
          lastSignInAt: null,
          firstName: null,
          lastName: null,
          fields: {},
        });
        expect(await users.get(user.id)).toEqual(user);
        expect(await users.identities(user.id)).toEqual([]);
      });

      it("answers null for an unknown id or address", async () => {
        expect(await users.get("usr_00000000000000000000000000000000")).toBeNull();
        expect(await users.getByEmail("nobody@example.com")).toBeNull();
      });

      it("keeps one user per address: a second create is refused and changes nothing", async () => {
        const { user } = await users.create({ email: "ada@example.com", firstName: "Ada" });
        expect(await refusal(users.create({ email: "ada@example.com", firstName: "Eve" }))).toBe(
          "email_taken",
        );
        expect(await users.getByEmail("ada@example.com")).toEqual(user);
      });

      it("of 20 concurrent creates for one address exactly one wins", async () => {
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            refusal(users.create({ email: "race@example.com" }, { method: "m", subject: `s${i}` })),
          ),
        );
        expect(outcomes.filter((o) => o === "resolved")).toHaveLength(1);
        expect(outcomes.filter((o) => o === "email_taken")).toHaveLength(19);
        const winner = await users.getByEmail("race@example.com");
        expect(await users.identities(winner?.id as string)).toHaveLength(1);
      });

      it("keeps team fields of every kind, and strings intact", async () => {
        const fields = { plan: "pro", seats: 3, ratio: 0.125, admin: true, note: null };
        const { user } = await users.create({
          email: "fields@example.com",
          firstName: 'Zoë "Z" O\'Neil\r\n',
          fields,
        });
        expect((await users.get(user.id))?.fields).toEqual(fields);
        expect((await users.get(user.id))?.firstName).toBe('Zoë "Z" O\'Neil\r\n');
      });

      it("update changes only what the patch names, merges fields, and answers the new record", async () => {
        const { user } = await users.create({
          email: "ada@example.com",
          firstName: "Ada",
          fields: { plan: "free", seats: 1 },
        });
        const updated = await users.update(user.id, {
          lastSignInAt: 1_800_000_000_000,
          lastName: "Lovelace",
          fields: { plan: "pro" },
        });
        const expected = {
          ...user,
          lastSignInAt: 1_800_000_000_000,
          lastName: "Lovelace",
          fields: { plan: "pro", seats: 1 },
        };
        expect(updated).toEqual(expected);
        expect(await users.get(user.id)).toEqual(expected);
        const cleared = await users.update(user.id, { firstName: null, fields: { seats: null } });
        expect(cleared).toMatchObject({ firstName: null, fields: { plan: "pro", seats: null } });
        const verified = await users.update(user.id, { emailVerifiedAt: 1_900_000_000_000 });
        expect(verified).toMatchObject({
          emailVerifiedAt: 1_900_000_000_000,
          lastName: "Lovelace",
        });
        expect((await users.get(user.id))?.emailVerifiedAt).toBe(1_900_000_000_000);
      });

      it("update leaves what the patch sets to undefined as it was", async () => {
        const { user } = await users.create({
          email: "ada@example.com",
          firstName: "Ada",
          lastName: "Lovelace",
          emailVerifiedAt: 1_700_000_000_000,
          fields: { plan: "pro" },
        });
        const same = await users.update(user.id, {
          firstName: undefined,
          lastName: undefined,
          emailVerifiedAt: undefined,
          lastSignInAt: undefined,
          // Outside the type, as a caller in plain JavaScript may send it: every backend skips it.
          fields: { plan: undefined as unknown as string },
        });
        expect(same).toEqual(user);
        expect(await users.update(user.id, {})).toEqual(user);
        expect(await users.get(user.id)).toEqual(user);
      });

      it("update of an unknown user answers null and creates nothing", async () => {
        const id = "usr_00000000000000000000000000000000";
        expect(await users.update(id, { firstName: "Ghost" })).toBeNull();
        expect(await users.update(id, { fields: { plan: "pro" } })).toBeNull();
        expect(await users.get(id)).toBeNull();
      });
    });

    it("keeps its records apart from the objects it is given and answers", async () => {
      const fields = { plan: "pro" };
      const identity = { method: "local", subject: "local_copy" };
      const { user } = await users.create({ email: "ada@example.com", fields }, identity);
      fields.plan = "changed";
      identity.subject = "changed";
      const stored = { ...user, fields: { plan: "pro" } };
      for (const answer of [
        user,
        await users.get(user.id),
        await users.getByEmail(user.email),
        await users.update(user.id, { fields: { seats: 1 } }),
      ]) {
        if (!answer) throw new Error("no user");
        answer.firstName = "Eve";
        answer.fields.plan = "free";
      }
      expect(await users.get(user.id)).toEqual({ ...stored, fields: { plan: "pro", seats: 1 } });
      const patch = { plan: "team" };
      await users.update(user.id, { fields: patch });
      patch.plan = "changed";
      expect((await users.get(user.id))?.fields).toEqual({ plan: "team", seats: 1 });
      const key = { method: "local", subject: "local_copy" };
      const at = h.now() + 1;
      for (const answer of [
        await users.findIdentity(key),
        await users.link(user.id, key, at),
        ...(await users.identities(user.id)),
      ]) {
        if (!answer) throw new Error("no identity");
        answer.userId = "usr_other";
        answer.lastUsedAt = 0;
      }
      expect(await users.findIdentity(key)).toMatchObject({ userId: user.id, lastUsedAt: at });
    });

    describe("identities", () => {
      it("creates a user with its first identity in one step", async () => {
        const { user, identity } = await users.create({ email: "ada@example.com" }, LOCAL);
        expect(identity).toEqual({
          ...LOCAL,
          userId: user.id,
          createdAt: user.createdAt,
          lastUsedAt: user.createdAt,
        });
        expect(await users.findIdentity(LOCAL)).toEqual(identity);
        expect(await users.identities(user.id)).toEqual([identity]);
      });

      it("refuses a user whose identity belongs to another user, and creates nothing", async () => {
        await users.create({ email: "ada@example.com" }, LOCAL);
        expect(await refusal(users.create({ email: "eve@example.com" }, LOCAL))).toBe(
          "identity_taken",
        );
        expect(await users.getByEmail("eve@example.com")).toBeNull();
      });

      it("links a second method to the same user, oldest first", async () => {
        const { user } = await users.create({ email: "ada@example.com" }, LOCAL);
        const at = h.now() + 1_000;
        const linked = await users.link(user.id, WORKOS, at);
        expect(linked).toEqual({ ...WORKOS, userId: user.id, createdAt: at, lastUsedAt: at });
        expect(await users.findIdentity(WORKOS)).toEqual(linked);
        expect((await users.identities(user.id)).map((i) => i.method)).toEqual(["local", "workos"]);
        expect((await users.findIdentity(WORKOS))?.userId).toBe(user.id);
      });

      it("linking again keeps the identity and moves only its last use", async () => {
        const { user, identity } = await users.create({ email: "ada@example.com" }, LOCAL);
        const again = await users.link(user.id, LOCAL, (identity?.createdAt ?? 0) + 5_000);
        expect(again.createdAt).toBe(identity?.createdAt);
        expect(again.lastUsedAt).toBe((identity?.createdAt ?? 0) + 5_000);
        expect(await users.findIdentity(LOCAL)).toEqual(again);
        expect(await users.identities(user.id)).toHaveLength(1);
        expect(await users.identities(user.id)).toEqual([again]);
      });

      it("one method and subject belong to one user: linking it to another is refused", async () => {
        const ada = await users.create({ email: "ada@example.com" }, WORKOS);
        const eve = await users.create({ email: "eve@example.com" });
        expect(await refusal(users.link(eve.user.id, WORKOS, h.now()))).toBe("identity_taken");
        expect((await users.findIdentity(WORKOS))?.userId).toBe(ada.user.id);
        expect(await users.identities(eve.user.id)).toEqual([]);
      });

      it("lists identities linked at the same time by method, then subject", async () => {
        const { user } = await users.create({ email: "ada@example.com" });
        const at = h.now() + 1_000;
        // Neither in the order linked nor in its reverse.
        for (const [method, subject] of [
          ["a", "bz"],
          ["b", "1"],
          ["a", "1"],
          ["ab", "c"],
        ] as const) {
          await users.link(user.id, { method, subject }, at);
        }
        await users.link(user.id, { method: "z", subject: "0" }, at - 1);
        const listed = (await users.identities(user.id)).map((i) => `${i.method}/${i.subject}`);
        // Method first: "a" before "ab" whatever the subjects ("a"+"bz" > "ab"+"c").
        expect(listed).toEqual(["z/0", "a/1", "a/bz", "ab/c", "b/1"]);
      });

      it("the same subject under two methods is two identities", async () => {
        const { user } = await users.create({ email: "ada@example.com" });
        await users.link(user.id, { method: "a", subject: "same" }, h.now());
        await users.link(user.id, { method: "b", subject: "same" }, h.now());
        expect(await users.identities(user.id)).toHaveLength(2);
      });

      it("subjects with separators never collide", async () => {
        const { user } = await users.create({ email: "ada@example.com" });
        await users.link(user.id, { method: "a:b", subject: "c" }, h.now());
        expect(await users.findIdentity({ method: "a", subject: "b:c" })).toBeNull();
        const eve = await users.create({ email: "eve@example.com" });
        await users.link(eve.user.id, { method: "a", subject: "b:c" }, h.now());
        expect((await users.findIdentity({ method: "a:b", subject: "c" }))?.userId).toBe(user.id);
      });

      it("linking to a user that does not exist is refused and leaves nothing behind", async () => {
        const ghost = "usr_00000000000000000000000000000000";
        expect(await refusal(users.link(ghost, LOCAL, h.now()))).toBe("no_such_user");
        expect(await users.findIdentity(LOCAL)).toBeNull();
      });

      it("unlink removes only the user's own identity", async () => {
        const ada = await users.create({ email: "ada@example.com" }, LOCAL);
        const eve = await users.create({ email: "eve@example.com" }, WORKOS);
        expect(await users.unlink(eve.user.id, LOCAL)).toBe(false);
        expect(await users.findIdentity(LOCAL)).not.toBeNull();
        expect(await users.unlink(ada.user.id, LOCAL)).toBe(true);
        expect(await users.findIdentity(LOCAL)).toBeNull();
        expect(await users.identities(ada.user.id)).toEqual([]);
        // Free again: another user may now take it.
        await users.link(eve.user.id, LOCAL, h.now());
        expect((await users.findIdentity(LOCAL))?.userId).toBe(eve.user.id);
      });
    });

    describe("delete", () => {
      it("removes the user, the address and every identity; others stay", async () => {
        const ada = await users.create({ email: "ada@example.com" }, LOCAL);
        await users.link(ada.user.id, WORKOS, h.now());
        const bob = await users.create(
          { email: "bob@example.com" },
          { method: "local", subject: "b" },
        );
        expect(await users.delete(ada.user.id)).toBe(true);
        expect(await users.get(ada.user.id)).toBeNull();
        expect(await users.getByEmail("ada@example.com")).toBeNull();
        expect(await users.findIdentity(LOCAL)).toBeNull();
        expect(await users.findIdentity(WORKOS)).toBeNull();
        expect(await users.identities(ada.user.id)).toEqual([]);
        expect(await users.get(bob.user.id)).toEqual(bob.user);
        expect(await users.identities(bob.user.id)).toHaveLength(1);
        expect(await users.delete(ada.user.id)).toBe(false);
      });

      it("the address and identities are free again afterwards, for a new user with a new id", async () => {
        const first = await users.create({ email: "ada@example.com" }, LOCAL);
        await users.delete(first.user.id);
        const again = await users.create({ email: "ada@example.com" }, LOCAL);
        expect(again.user.id).not.toBe(first.user.id);
        expect((await users.findIdentity(LOCAL))?.userId).toBe(again.user.id);
      });
    });
  });
}
