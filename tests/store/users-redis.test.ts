import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { isStoreUnavailableError } from "../../app/store/errors";
import { createRedisClient, firstConnection } from "../../app/store/redis.server";
import { createRedisUserStore } from "../../app/store/users/redis.server";
import { createTestClock } from "../support/clock";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { runUserStoreContract } from "./user-store-contract";

let server: RedisServer;
let raw: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url);
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

runUserStoreContract("redis", async () => {
  const client = createRedisClient({ url: server.url, onConnectionError: () => undefined });
  const users = createRedisUserStore({ client, prefix: `u${randomId(4)}:` });
  // Connected before the test starts, so 20 concurrent first calls do not all wait for it.
  await firstConnection(client, 5_000);
  return { users, now: () => Date.now(), dispose: async () => client.disconnect() };
});

it("keeps records by id with an address index and no expiry, all under the prefix", async () => {
  const prefix = `keys${randomId(4)}:`;
  const client = createRedisClient({ url: server.url, onConnectionError: () => undefined });
  const users = createRedisUserStore({ client, prefix });
  try {
    const { user } = await users.create(
      { email: "ada@example.com", fields: { plan: "pro" } },
      { method: "local", subject: "local_1" },
    );
    const keys = (await raw.keys(`${prefix}*`)).sort();
    expect(keys).toEqual(
      [
        `${prefix}users:email:ada@example.com`,
        `${prefix}users:id:${user.id}`,
        `${prefix}users:identities:${user.id}`,
        `${prefix}users:identity:local:local_1`,
        `${prefix}users:used:${user.id}`,
      ].sort(),
    );
    for (const key of keys) expect(await raw.pttl(key)).toBe(-1);
    expect(await raw.get(`${prefix}users:email:ada@example.com`)).toBe(user.id);
    expect(await raw.hget(`${prefix}users:id:${user.id}`, "f:plan")).toBe('"pro"');
    // The core fields, each as JSON, and the team's under f:; nothing else.
    expect((await raw.hkeys(`${prefix}users:id:${user.id}`)).sort()).toEqual(
      [
        "id",
        "email",
        "emailVerifiedAt",
        "createdAt",
        "lastSignInAt",
        "firstName",
        "lastName",
        "f:plan",
      ].sort(),
    );
    await users.update(user.id, { firstName: undefined, lastName: "L" });
    expect(await raw.hlen(`${prefix}users:id:${user.id}`)).toBe(8);
    await users.delete(user.id);
    expect(await raw.keys(`${prefix}*`)).toEqual([]);
  } finally {
    client.disconnect();
  }
});

it("fails with StoreUnavailableError when Redis does not answer", async () => {
  const client = createRedisClient({
    url: "redis://127.0.0.1:1",
    connectTimeoutMs: 300,
    onConnectionError: () => undefined,
  });
  const users = createRedisUserStore({ client, connectTimeoutMs: 300 });
  try {
    const key = { method: "m", subject: "s" };
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["HGETALL", () => users.get("usr_x")],
      ["GET", () => users.getByEmail("a@example.com")],
      ["create", () => users.create({ email: "a@example.com" })],
      ["update", () => users.update("usr_x", { firstName: "A" })],
      ["GET", () => users.findIdentity(key)],
      ["link", () => users.link("usr_x", key, 1)],
      ["unlink", () => users.unlink("usr_x", key)],
      ["identities", () => users.identities("usr_x")],
      ["delete", () => users.delete("usr_x")],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => new Error("resolved"),
        (e: unknown) => e,
      );
      expect(isStoreUnavailableError(error), name).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`^Redis ${name} failed: \\S`));
    }
  } finally {
    client.disconnect();
  }
});

it("uses pls: as the default prefix, and stamps records with its clock", async () => {
  const client = createRedisClient({ url: server.url, onConnectionError: () => undefined });
  const clock = createTestClock();
  const users = createRedisUserStore({ client, clock });
  try {
    const { user, identity } = await users.create(
      { email: `default-${randomId(4)}@example.com` },
      { method: "m", subject: randomId(4) },
    );
    expect(user.createdAt).toBe(clock());
    expect(identity).toMatchObject({ createdAt: clock(), lastUsedAt: clock() });
    expect(await raw.exists(`pls:users:id:${user.id}`)).toBe(1);
    expect(await users.get(user.id)).toEqual(user);
    await users.delete(user.id);
    expect(await raw.exists(`pls:users:id:${user.id}`)).toBe(0);
  } finally {
    client.disconnect();
  }
});

it("reads an identity whose record is missing as none", async () => {
  const prefix = `gap${randomId(4)}:`;
  const client = createRedisClient({ url: server.url, onConnectionError: () => undefined });
  const users = createRedisUserStore({ client, prefix });
  try {
    const key = { method: "local", subject: "local_1" };
    const { user } = await users.create({ email: "ada@example.com" }, key);
    await raw.hdel(`${prefix}users:identities:${user.id}`, "local:local_1");
    expect(await users.findIdentity(key)).toBeNull();
  } finally {
    client.disconnect();
  }
});

it("names the second read of findIdentity when it fails", async () => {
  const client = createRedisClient({ url: server.url, onConnectionError: () => undefined });
  const users = createRedisUserStore({ client, prefix: `second${randomId(4)}:` });
  try {
    const key = { method: "local", subject: "local_1" };
    await users.create({ email: "ada@example.com" }, key);
    client.hget = (() => Promise.reject(new Error("READONLY"))) as unknown as Redis["hget"];
    const error = await users.findIdentity(key).catch((e: unknown) => e);
    expect(isStoreUnavailableError(error)).toBe(true);
    expect((error as Error).message).toBe("Redis identities failed: READONLY");
  } finally {
    client.disconnect();
  }
});
