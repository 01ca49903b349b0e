import { Redis } from "ioredis";
import { createServer, type Server } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { isStoreUnavailableError, StoreUnavailableError } from "../../app/store/errors";
import {
  createRedisClient,
  createRedisStore,
  firstConnection,
  type RedisStore,
} from "../../app/store/redis.server";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { trackSockets } from "../support/sockets";
import { until } from "../support/until";
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

async function waitAtLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await sleep(Math.ceil(left));
}

runStoreContract("redis", async () => {
  const store = freshStore();
  // Real time: Redis keeps its own clock, so the test waits instead of moving one, until at
  // least `ms` have passed (a timer may fire a millisecond early: it counts from the event
  // loop's time, read when the loop last woke).
  return { store, now: () => Date.now(), advance: (ms) => waitAtLeast(ms) };
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
    expect(() => createRedisStore({ url: server.url, client: raw })).toThrow(
      /exactly one of `url` or `client`/,
    );
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

/** Error events a client has emitted so far (each failed reconnect attempt is one). */
function errorCount(client: Redis): () => number {
  let errors = 0;
  client.on("error", () => errors++);
  return () => errors;
}

const EVENTS = ["ready", "error", "end"] as const;

/**
 * Start `wait` and see which listeners it adds to the client's ready, error and end events
 * (synchronously, before ioredis can add or remove its own for a connection attempt).
 */
function watchListeners(client: Redis, wait: () => Promise<void>[]) {
  const before = EVENTS.map((event) => client.listeners(event));
  const waits = wait();
  const added = EVENTS.flatMap((event, i) =>
    client
      .listeners(event)
      .filter((listener) => !before[i]?.includes(listener))
      .map((listener) => [event, listener] as const),
  );
  return {
    done: Promise.all(waits),
    added: added.map(([event]) => event),
    /** Those still there. */
    left: () => added.filter(([event, listener]) => client.listeners(event).includes(listener)),
  };
}

/** A TCP server that accepts connections and never answers: a client stays connecting. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const tcp: Server = createServer((socket) => {
    socket.on("error", () => undefined);
  });
  const sockets = trackSockets(tcp);
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const { port } = tcp.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () => {
      sockets.destroyAll();
      return new Promise((resolve) => tcp.close(() => resolve()));
    },
  };
}

describe("Redis clients and connections", () => {
  // These tests stop, kill or pause a server of their own.
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedisServer();
  });
  afterAll(async () => {
    await own?.stop();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    // Each test leaves its own server running, for the next.
    own.resume();
    await own.restart();
  });

  it("gives the client its timeouts, no offline queue, one retry, no replay, and a backoff capped at one second", () => {
    const client = createRedisClient({ url: own.url, onConnectionError: () => undefined });
    const given = createRedisClient({
      url: own.url,
      commandTimeoutMs: 300,
      connectTimeoutMs: 400,
      onConnectionError: () => undefined,
    });
    try {
      expect(client.options).toMatchObject({
        commandTimeout: 1_000,
        connectTimeout: 2_000,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        autoResendUnfulfilledCommands: false,
      });
      expect(given.options).toMatchObject({ commandTimeout: 300, connectTimeout: 400 });
      const delays = [1, 2, 5, 10, 50].map((times) => client.options.retryStrategy?.(times));
      expect(delays).toEqual([100, 200, 500, 1_000, 1_000]);
    } finally {
      client.disconnect();
      given.disconnect();
    }
  });

  it("warns on the console once per outage by default, and again after Redis was back", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    // Away from the start: warned too.
    const never = createRedisClient({ url: "redis://127.0.0.1:1" });
    await until("a warning", () => (warn.mock.calls.length > 0 ? true : undefined));
    never.disconnect();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/^\[store\] Redis unavailable: .*ECONNREFUSED/);
    warn.mockClear();
    const client = createRedisClient({ url: own.url });
    const errors = errorCount(client);
    try {
      await until("connected", () => (client.status === "ready" ? true : undefined));
      await own.kill();
      await until("three failed reconnects", () => (errors() >= 3 ? true : undefined));
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(
        /^\[store\] Redis unavailable: .*ECONNREFUSED/,
      );
      await own.restart();
      await until("reconnected", () => (client.status === "ready" ? true : undefined));
      await own.kill();
      await until("a second warning", () => (warn.mock.calls.length >= 2 ? true : undefined));
      expect(warn).toHaveBeenCalledTimes(2);
    } finally {
      client.disconnect();
    }
  });

  it("once a client has been up, a call after the connection is lost fails at once, not after the next reconnect", async () => {
    // A client connected before its store was made, and no call made while it was up.
    const shared = createRedisClient({ url: own.url, onConnectionError: () => undefined });
    await until("shared connected", () => (shared.status === "ready" ? true : undefined));
    const onShared = createRedisStore({ client: shared, prefix: `lost${randomId(4)}:` });
    // A store that made its own client, which connected by itself.
    const owning = createRedisStore({ url: own.url, onConnectionError: () => undefined });
    await until("owned connected", () => (owning.client.status === "ready" ? true : undefined));
    // A client only ever seen by firstConnection (as the user store's runner does).
    const plain = createRedisClient({ url: own.url, onConnectionError: () => undefined });
    await firstConnection(plain, 5_000);
    const clients = [shared, owning.client, plain];
    const counts = clients.map(errorCount);
    try {
      await own.kill();
      await until("all reconnecting", () =>
        clients.every((c) => c.status === "reconnecting") ? true : undefined,
      );
      const before = counts.map((count) => count());
      const errors = await Promise.all([
        onShared.get("k").catch((e: unknown) => e),
        owning.get("k").catch((e: unknown) => e),
        firstConnection(plain, 5_000).then(() => plain.get("k").catch((e: unknown) => e)),
      ]);
      expect(errors.map(isStoreUnavailableError)).toEqual([true, true, false]);
      expect(errors[2]).toBeInstanceOf(Error); // the plain client's own command failed
      // No reconnect attempt failed meanwhile: none of them waited for one.
      expect(counts.map((count) => count())).toEqual(before);
    } finally {
      shared.disconnect();
      plain.disconnect();
      await owning.close();
    }
  });

  it("adds one ready listener to a client, however many stores and calls use it", async () => {
    const client = createRedisClient({ url: own.url, onConnectionError: () => undefined });
    try {
      const store = createRedisStore({ client, prefix: `one${randomId(4)}:` });
      await store.ping();
      const ready = client.listenerCount("ready");
      createRedisStore({ client, prefix: `two${randomId(4)}:` });
      for (let i = 0; i < 20; i++) await store.get("k");
      expect(client.listenerCount("ready")).toBe(ready);
    } finally {
      client.disconnect();
    }
  });

  it("concurrent first calls share one wait of three listeners, all removed when it ends", async () => {
    const store = createRedisStore({ url: own.url, onConnectionError: () => undefined });
    const { client } = store;
    try {
      expect(client.status).toBe("connecting");
      const wait = watchListeners(client, () =>
        Array.from({ length: 20 }, () => firstConnection(client, 5_000)),
      );
      expect(wait.added).toEqual(["ready", "error", "end"]);
      await wait.done;
      expect(client.status).toBe("ready");
      expect(wait.left()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("clears the wait's timer when the connection comes first", async () => {
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    const client = createRedisClient({ url: own.url, onConnectionError: () => undefined });
    try {
      await firstConnection(client, 4_321);
      expect(client.status).toBe("ready");
      const index = set.mock.calls.findIndex(([, ms]) => ms === 4_321);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(clear).toHaveBeenCalledWith(set.mock.results[index]?.value);
    } finally {
      client.disconnect();
    }
  });

  it("a first connection refused ends the wait, leaves no listener behind, and the next call waits again", async () => {
    const client = createRedisClient({
      url: "redis://127.0.0.1:1",
      onConnectionError: () => undefined,
    });
    const errors = errorCount(client);
    try {
      firstConnection(client, 10); // watch() adds its ready listener once
      await until("refused", () => (errors() >= 1 ? true : undefined));
      const started = Date.now();
      const wait = watchListeners(client, () => [firstConnection(client, 10_000)]);
      expect(wait.added).toEqual(["ready", "error", "end"]);
      await wait.done;
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(wait.left()).toEqual([]);
      const seen = errors();
      await firstConnection(client, 10_000);
      expect(errors()).toBeGreaterThan(seen);
    } finally {
      client.disconnect();
    }
  });

  it("a wait ends when the client is closed, and a closed client is neither waited for nor reopened", async () => {
    const silent = await silentServer();
    const client = createRedisClient({ url: silent.url, onConnectionError: () => undefined });
    try {
      const started = Date.now();
      const waiting = firstConnection(client, 10_000);
      client.disconnect();
      await waiting;
      expect(client.status).toBe("end");
      await firstConnection(client, 10_000);
      expect(client.status).toBe("end");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      client.disconnect();
      await silent.close();
    }
  });

  it("connects a client made with lazyConnect on its first call", async () => {
    const client = new Redis(own.url, { lazyConnect: true, enableOfflineQueue: false });
    client.on("error", () => undefined);
    try {
      const store = createRedisStore({ client, prefix: `lazy${randomId(4)}:` });
      expect(client.status).toBe("wait");
      await store.set("k", "v", 60_000);
      expect(await store.get("k")).toBe("v");
    } finally {
      client.disconnect();
    }
  });

  it("close() ends a connection it made with QUIT, waiting for the replies in flight", async () => {
    const prefix = `quit${randomId(4)}:`;
    const store = createRedisStore({ url: own.url, prefix, onConnectionError: () => undefined });
    await store.ping();
    own.pause(); // the SET waits for its reply until close() has been called
    const inFlight = store.set("k", "v", 60_000);
    let answered = false;
    void inFlight.then(() => (answered = true));
    await new Promise((resolve) => setImmediate(resolve)); // the SET is on the wire
    const closing = store.close();
    own.resume();
    await closing;
    // close() waited for the reply (QUIT's comes after it), not only for the socket.
    expect(answered).toBe(true);
    await expect(inFlight).resolves.toBeUndefined();
    await until("closed", () => (store.client.status === "end" ? true : undefined));
    const reader = createRedisStore({ url: own.url, prefix, onConnectionError: () => undefined });
    expect(await reader.get("k")).toBe("v");
    await reader.close();
  });

  it("close() drops the connection at once when Redis is away or hung", async () => {
    const away = createRedisStore({
      url: "redis://127.0.0.1:1",
      onConnectionError: () => undefined,
    });
    await away.close();
    await until("away closed", () => (away.client.status === "end" ? true : undefined), 2_000);

    const hung = createRedisStore({
      url: own.url,
      commandTimeoutMs: 200,
      onConnectionError: () => undefined,
    });
    await hung.ping();
    const drop = vi.spyOn(hung.client, "disconnect");
    own.pause();
    await hung.close();
    // The QUIT timed out: the socket is dropped (ioredis destroys it within its
    // disconnectTimeout), not left open until Redis answers.
    expect(drop).toHaveBeenCalled();
  });

  it("every call on a lost connection rejects with StoreUnavailableError naming it, with the cause", async () => {
    const store = createRedisStore({ url: own.url, onConnectionError: () => undefined });
    await store.ping();
    const entry = { key: "e", value: "v", ttlMs: 60_000 };
    try {
      await own.kill();
      await until("reconnecting", () =>
        store.client.status === "reconnecting" ? true : undefined,
      );
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["GET", () => store.get("k")],
        ["MGET", () => store.getMany(["k"])],
        ["SET", () => store.set("k", "v", 60_000)],
        ["GETDEL", () => store.take("k")],
        ["DEL", () => store.delete("k")],
        ["INCR", () => store.increment("c", 60_000)],
        ["INCRBY", () => store.counter("c", 1, 60_000)],
        ["spend", () => store.spend([{ key: "c", points: 5, ttlMs: 60_000 }])],
        ["MULTI SET", () => store.setMany([entry])],
        ["swap", () => store.swap("k", "v", [entry])],
        ["DEL", () => store.deleteMany(["k"])],
        ["ZADD", () => store.indexAdd("i", "m", Date.now() + 60_000, 5)],
        ["ZRANGE", () => store.indexMembers("i")],
        ["ZREM", () => store.indexRemove("i", "m")],
        ["PING", () => store.ping()],
      ];
      for (const [name, call] of calls) {
        const error = await call().then(
          () => new Error(`${name} resolved`),
          (e: unknown) => e,
        );
        expect(isStoreUnavailableError(error), name).toBe(true);
        expect((error as Error).message).toMatch(new RegExp(`^Redis ${name} failed: \\S`));
        expect((error as Error).cause, name).toBeInstanceOf(Error);
      }
      // Nothing to do asks nothing of Redis, so it answers even now.
      expect(await store.spend([])).toEqual({ counters: [] });
      await expect(store.setMany([])).resolves.toBeUndefined();
      await expect(store.deleteMany([])).resolves.toBeUndefined();
      expect(await store.getMany([])).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("setMany fails when Redis discards the transaction or refuses one of its SETs", async () => {
    const client = createRedisClient({ url: own.url, onConnectionError: () => undefined });
    const store = createRedisStore({ client, prefix: `multi${randomId(4)}:` });
    const entries = [
      { key: "a", value: "1", ttlMs: 60_000 },
      { key: "b", value: "2", ttlMs: 60_000 },
    ];
    // What EXEC answers in those cases (SET itself never fails inside a transaction).
    const answering = (reply: unknown) => {
      const transaction = { set: () => transaction, exec: async () => reply };
      client.multi = (() => transaction) as unknown as Redis["multi"];
    };
    try {
      answering(null);
      await expect(store.setMany(entries)).rejects.toThrow(/^Redis MULTI SET failed: discarded$/);
      answering([
        [null, "OK"],
        [new Error("OOM command not allowed"), null],
      ]);
      const error = await store.setMany(entries).catch((e: unknown) => e);
      expect(isStoreUnavailableError(error)).toBe(true);
      expect((error as Error).message).toBe("Redis MULTI SET failed: OOM command not allowed");
      answering([
        [null, "OK"],
        [null, "OK"],
      ]);
      await expect(store.setMany(entries)).resolves.toBeUndefined();
    } finally {
      client.disconnect();
    }
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
