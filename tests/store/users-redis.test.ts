import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { isStoreUnavailableError } from "../../app/store/errors";
import { createRedisClient, firstConnection } from "../../app/store/redis.server";
import { createRedisUserStore } from "../../app/store/users/redis.server";
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
    const calls = [
      () => users.get("usr_x"),
      () => users.getByEmail("a@example.com"),
      () => users.create({ email: "a@example.com" }),
      () => users.update("usr_x", { firstName: "A" }),
      () => users.link("usr_x", { method: "m", subject: "s" }, 1),
      () => users.identities("usr_x"),
      () => users.delete("usr_x"),
    ];
    for (const call of calls) {
      const error = await call().then(
        () => new Error("resolved"),
        (e: unknown) => e,
      );
      expect(isStoreUnavailableError(error)).toBe(true);
    }
  } finally {
    client.disconnect();
  }
});
