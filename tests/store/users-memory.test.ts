import { expect, it } from "vitest";
import { MemoryUserStore } from "../../app/store/users/memory.server";
import { createTestClock } from "../support/clock";
import { runUserStoreContract } from "./user-store-contract";

runUserStoreContract("memory", async () => {
  const clock = createTestClock();
  return { users: new MemoryUserStore({ clock }), now: () => clock() };
});

it("dump lists every user with its identities, as copies", async () => {
  const clock = createTestClock();
  const users = new MemoryUserStore({ clock });
  expect(users.dump()).toEqual([]);
  const ada = await users.create({ email: "ada@example.com" }, { method: "local", subject: "a" });
  const bob = await users.create({ email: "bob@example.com" });
  const linked = await users.link(ada.user.id, { method: "workos", subject: "w" }, clock() + 1);
  const dumped = users.dump();
  expect(dumped).toEqual([
    { user: ada.user, identities: [ada.identity, linked] },
    { user: bob.user, identities: [] },
  ]);
  dumped[0]!.user.email = "eve@example.com";
  dumped[0]!.identities[0]!.userId = bob.user.id;
  expect(users.dump()[0]).toEqual({ user: ada.user, identities: [ada.identity, linked] });
});

it("stamps new records with its clock", async () => {
  const clock = createTestClock();
  const users = new MemoryUserStore({ clock });
  clock.advance(5_000);
  const { user, identity } = await users.create(
    { email: "ada@example.com" },
    { method: "m", subject: "s" },
  );
  expect(user.createdAt).toBe(clock());
  expect(identity).toMatchObject({ createdAt: clock(), lastUsedAt: clock() });
});

it("stamps records with the system clock by default", async () => {
  const before = Date.now();
  const { user } = await new MemoryUserStore().create({ email: "ada@example.com" });
  expect(user.createdAt).toBeGreaterThanOrEqual(before);
  expect(user.createdAt).toBeLessThanOrEqual(Date.now());
});
