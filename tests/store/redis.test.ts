import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { isStoreUnavailableError, StoreUnavailableError } from "../../app/store/errors";
import { createRedisClient, createRedisStore, type RedisStore } from "../../app/store/redis.server";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { runStoreContract } from "./store-contract";

let server: RedisServer;
/** A plain client to look at what the store wrote. */
let raw: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url, { lazyConnect: true });
  raw.on("error", () => undefined); // the fault tests kill the server under it
  await raw.connect();
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store on the shared server, with its own prefix so tests never see each other's keys. */
function freshStore(overrides: { prefix?: string; commandTimeoutMs?: number } = {}): RedisStore {
  return createRedisStore({
    url: server.url,
    prefix: overrides.prefix ?? `t${randomId(4)}:`,
    commandTimeoutMs: overrides.commandTimeoutMs,
    onConnectionError: () => undefined,
  });
}

/** Retry `fn` until it resolves or `ms` pass (reconnects take up to a backoff step). */
async function eventually<T>(fn: () => Promise<T>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

runStoreContract("redis", async () => {
  const store = freshStore();
  // Real time: Redis keeps its own clock, so the test waits instead of moving one.
  return { store, now: () => Date.now(), advance: async (ms) => void (await sleep(ms)) };
});

describe("Redis store specifics", () => {
  const stores: RedisStore[] = [];
  const track = (store: RedisStore) => (stores.push(store), store);

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it("namespaces every key under its prefix, and two prefixes never see each other", async () => {
    const prefix = `iso${randomId(4)}:`;
    const a = track(freshStore({ prefix }));
    const b = track(freshStore({ prefix: `other${randomId(4)}:` }));
    await a.set("k", "from-a", 60_000);
    await a.increment("c", 60_000);
    await a.indexAdd("i", "m", Date.now() + 60_000, 5);
    expect(await b.get("k")).toBeNull();
    expect(await b.take("k")).toBeNull();
    expect(await b.increment("c", 60_000)).toBe(1);
    expect(await b.indexMembers("i")).toEqual([]);
    expect(await a.get("k")).toBe("from-a");
    expect((await raw.keys(`${prefix}*`)).sort()).toEqual([
      `${prefix}c`,
      `${prefix}i`,
      `${prefix}k`,
    ]);
  });

  it("uses pls: as the default prefix", async () => {
    const store = track(createRedisStore({ url: server.url, onConnectionError: () => undefined }));
    const key = `default-${randomId(4)}`;
    await store.set(key, "v", 60_000);
    expect(await raw.get(`pls:${key}`)).toBe("v");
  });

  it("S3 of 50 takes spread over 5 connections (5 app instances), exactly one wins", async () => {
    const prefix = `race${randomId(4)}:`;
    const instances = Array.from({ length: 5 }, () => track(freshStore({ prefix })));
    await instances[0]!.set("link", "prize", 60_000);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => instances[i % 5]!.take("link")),
    );
    expect(results.filter((r) => r === "prize")).toHaveLength(1);
  });

  it("sets the TTL on the key in Redis (PX), and the counter's TTL only at creation", async () => {
    const prefix = `ttl${randomId(4)}:`;
    const store = track(freshStore({ prefix }));
    await store.set("k", "v", 60_000);
    const pttl = await raw.pttl(`${prefix}k`);
    expect(pttl).toBeGreaterThan(59_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    await store.increment("c", 60_000);
    await store.increment("c", 600_000);
    expect(await raw.pttl(`${prefix}c`)).toBeLessThanOrEqual(60_000);
  });

  it("gives the index key the expiry of its latest member, and stores a sorted set", async () => {
    const prefix = `idx${randomId(4)}:`;
    const store = track(freshStore({ prefix }));
    const now = Date.now();
    await store.indexAdd("u", "late", now + 120_000, 5);
    await store.indexAdd("u", "early", now + 30_000, 5);
    const pttl = await raw.pttl(`${prefix}u`);
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
    expect(await raw.zcard(`${prefix}u`)).toBe(2);
  });

  it("physically drops expired index members on the next add", async () => {
    const prefix = `drop${randomId(4)}:`;
    const store = track(freshStore({ prefix }));
    await store.indexAdd("u", "short", Date.now() + 100, 5);
    await store.indexAdd("u", "long", Date.now() + 60_000, 5);
    await sleep(200);
    await store.indexAdd("u", "new", Date.now() + 30_000, 5);
    expect(await raw.zrange(`${prefix}u`, 0, "-1")).toEqual(["new", "long"]);
  });

  it("refuses to start without exactly one of url or client", () => {
    expect(() => createRedisStore({})).toThrow(TypeError);
  });

  it("with a shared client, close() leaves the client open for its other users", async () => {
    const client = createRedisClient({ url: server.url, onConnectionError: () => undefined });
    const store = createRedisStore({ client, prefix: `shared${randomId(4)}:` });
    await store.set("k", "v", 60_000);
    await store.close();
    expect(await client.ping()).toBe("PONG");
    client.disconnect();
  });

  it("fails fast with StoreUnavailableError when nothing listens at the URL, and reports why", async () => {
    const seen: Error[] = [];
    const store = track(
      createRedisStore({
        url: "redis://127.0.0.1:1",
        connectTimeoutMs: 300,
        onConnectionError: (e) => seen.push(e),
      }),
    );
    const started = Date.now();
    const error = await store.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(seen.map((e) => e.message).join()).toMatch(/ECONNREFUSED/);
  });
});

// Last in the file: these tests stop and restart the shared server.
describe("Redis store faults (issue 6: fail closed, recover by itself)", () => {
  it("after a crash every call rejects quickly with StoreUnavailableError; after restart the same store works", async () => {
    const store = createRedisStore({
      url: server.url,
      prefix: `fault${randomId(4)}:`,
      onConnectionError: () => undefined,
    });
    await store.set("before", "v", 60_000);

    await server.kill();
    try {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["get", () => store.get("k")],
        ["set", () => store.set("k", "v", 60_000)],
        ["take", () => store.take("k")],
        ["delete", () => store.delete("k")],
        ["increment", () => store.increment("c", 60_000)],
        ["indexAdd", () => store.indexAdd("i", "m", Date.now() + 60_000, 5)],
        ["indexMembers", () => store.indexMembers("i")],
        ["indexRemove", () => store.indexRemove("i", "m")],
        ["ping", () => store.ping()],
      ];
      for (const [name, call] of calls) {
        const started = Date.now();
        const error = await call().then(
          () => new Error(`${name} resolved while Redis was down`),
          (e: unknown) => e,
        );
        expect(isStoreUnavailableError(error), `${name}: ${String(error)}`).toBe(true);
        expect(Date.now() - started, name).toBeLessThan(1_500);
      }
    } finally {
      await server.restart();
    }
    // Same store object, not recreated: it reconnects on its own.
    await eventually(() => store.ping());
    await store.set("after", "v", 60_000);
    expect(await store.take("after")).toBe("v");
    // Persistence is off: the crash lost what was there, as it would in production.
    expect(await store.get("before")).toBeNull();
    await store.close();
  });

  it("a hung Redis (no replies) makes calls time out with StoreUnavailableError, then recovers", async () => {
    const store = createRedisStore({
      url: server.url,
      prefix: `hung${randomId(4)}:`,
      commandTimeoutMs: 200,
      onConnectionError: () => undefined,
    });
    await eventually(() => store.ping());
    server.pause();
    try {
      const started = Date.now();
      const error = await store.get("k").catch((e: unknown) => e);
      expect(isStoreUnavailableError(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      server.resume();
    }
    await eventually(() => store.ping());
    await store.set("k", "v", 60_000);
    expect(await store.get("k")).toBe("v");
    await store.close();
  });
});
