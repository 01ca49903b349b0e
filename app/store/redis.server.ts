import { Redis } from "ioredis";
import { checkedBudgets, checkedTtl, messageOf } from "./common.server";
import { StoreUnavailableError } from "./errors";
import type { Counter, Store } from "./types";

export interface RedisClientOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** A command without a reply after this long rejects (a hung or overloaded Redis). */
  commandTimeoutMs?: number;
  /** Give up on one TCP connect + handshake attempt after this long. */
  connectTimeoutMs?: number;
  /**
   * Called with connection errors (refused, reset, timed out). They are also surfaced as
   * rejected store calls and by `ping()` (/healthz); the default writes one warning per
   * outage to the console.
   */
  onConnectionError?: (error: Error) => void;
}

export interface RedisStoreOptions {
  /** Connect to this URL (the store owns the client and closes it in `close()`)… */
  url?: string;
  /**
   * …or use this client, e.g. one shared with the rate limiter. Create it with
   * `createRedisClient` so it has the bounded timeouts; `close()` leaves it open.
   */
  client?: Redis;
  /** Prepended to every key, so the app can share a Redis with others. Default `"pls:"`. */
  prefix?: string;
  /** See `RedisClientOptions` (only with `url`). Default 1000 ms. */
  commandTimeoutMs?: number;
  /** See `RedisClientOptions` (only with `url`). Default 2000 ms. */
  connectTimeoutMs?: number;
  onConnectionError?: (error: Error) => void;
}

/** A Store on Redis; `client` is exposed so the rate limiter can share the connection. */
export interface RedisStore extends Store {
  readonly client: Redis;
  readonly prefix: string;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** Longest pause between reconnect attempts: recovery within about a second of Redis returning. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * An ioredis client that fails fast instead of waiting: no offline queue (a call while
 * disconnected rejects at once rather than piling up behind a dead connection), a command
 * timeout, a connect timeout and one retry per request. It reconnects by itself, forever,
 * with a backoff capped at one second, so the app recovers when Redis comes back.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  let warned = false;
  const onError =
    options.onConnectionError ??
    ((error: Error) => {
      if (warned) return;
      warned = true;
      console.warn(`[store] Redis unavailable: ${error.message}`);
    });
  const client = new Redis(options.url, {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Redis is not a cache here: a command that timed out must not be replayed later.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  });
  // Without a listener ioredis prints every reconnect failure with console.error.
  client.on("error", onError);
  client.on("ready", () => (warned = false));
  return client;
}

// Each script is one atomic step on the server. Scores and expiries are epoch ms; "now" is
// the Redis server's clock (TIME), the one clock every app instance shares.
const NOW_MS = `local t = redis.call('TIME')
local now = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))`;

const SCRIPTS = {
  /** INCR, and set the expiry only when the counter has none: a fixed window (no PEXPIRE NX, so Redis 6.2 works). */
  plsIncrement: `local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  /** INCRBY for a positive ARGV[1] (a fixed window, as above); ≤ 0 never creates the key. */
  plsCounter: `local by = tonumber(ARGV[1])
if by <= 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if by ~= 0 then
  n = redis.call('INCRBY', KEYS[1], by)
  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return {n, redis.call('PTTL', KEYS[1])}`,
  /**
   * `spend`: for each key in turn, INCRBY 1 (a fixed window, as plsCounter) with ARGV as
   * (points, ttl) pairs; at the first count past its points, the earlier keys get their point
   * back (never creating or reviving one) and it stops. Answers the refusing key's number (0:
   * none) and each count and PTTL reached.
   */
  /**
   * `swap`: when KEYS[1] holds the string ARGV[1], DEL it and SET each further key to its
   * (value, ttl) pair from ARGV; 1 when it did, 0 when nothing changed.
   */
  plsSwap: `if redis.call('TYPE', KEYS[1]).ok ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'PX', ARGV[2 * i - 1]) end
return 1`,
  plsSpend: `local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCRBY', KEYS[i], 1)
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
  out[#out + 1] = n
  out[#out + 1] = redis.call('PTTL', KEYS[i])
  if n > tonumber(ARGV[2 * i - 1]) then
    for j = 1, i - 1 do
      if redis.call('EXISTS', KEYS[j]) == 1 then redis.call('DECRBY', KEYS[j], 1) end
    end
    return {i, out}
  end
end
return {0, out}`,
  /** ZADD, drop expired, keep the latest ARGV[3], key expires with its latest member. */
  plsIndexAdd: `${NOW_MS}
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1) end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last > 0 then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return #last`,
  /** Live members, latest expiry first. */
  plsIndexMembers: `${NOW_MS}
return redis.call('ZRANGE', KEYS[1], '+inf', '(' .. now, 'BYSCORE', 'REV')`,
} as const;

/** The scripts as methods ioredis defines on the client (EVALSHA, falling back to EVAL). */
interface ScriptCommands {
  plsIncrement(key: string, ttlMs: number): Promise<number>;
  plsCounter(key: string, by: number, ttlMs: number): Promise<[number, number]>;
  plsIndexAdd(key: string, member: string, expiresAtMs: number, max: number): Promise<number>;
  /** Called with the number of keys, the keys, then (points, ttl) per key. */
  plsSpend(...args: Array<string | number>): Promise<[number, number[]]>;
  plsIndexMembers(key: string): Promise<string[]>;
  /** Called with the number of keys, the keys, the expected value, then (value, ttl) per further key. */
  plsSwap(...args: Array<string | number>): Promise<number>;
}

/**
 * The Store on Redis (≥ 6.2: GETDEL, ZRANGE BYSCORE REV), for several app instances.
 * Every call is one command or one Lua script, so single use and counters stay atomic
 * across instances (S3, S10). Every call either answers within the configured timeouts or
 * rejects with `StoreUnavailableError` — it never hangs and never queues while Redis is
 * away — and the same store works again once Redis is back, without being recreated.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new TypeError("createRedisStore needs exactly one of `url` or `client`");
  }
  const owned = options.client === undefined;
  const client =
    options.client ??
    createRedisClient({
      url: options.url as string,
      commandTimeoutMs: options.commandTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      onConnectionError: options.onConnectionError,
    });
  const prefix = options.prefix ?? "pls:";
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    // plsSpend and plsSwap take any number of keys: their callers pass how many.
    const anyKeys = name === "plsSpend" || name === "plsSwap";
    client.defineCommand(name, anyKeys ? { lua } : { numberOfKeys: 1, lua });
  }
  const scripts = client as unknown as ScriptCommands;
  watch(client);
  const k = (key: string) => prefix + key;
  const run = redisRunner(client, connectTimeoutMs);

  return {
    client,
    prefix,

    get: (key) => run("GET", () => client.get(k(key))),

    getMany: (keys) =>
      keys.length === 0 ? Promise.resolve([]) : run("MGET", () => client.mget(keys.map(k))),

    async set(key, value, ttlMs) {
      const px = checkedTtl(ttlMs);
      await run("SET", () => client.set(k(key), value, "PX", px));
    },

    take: (key) => run("GETDEL", () => client.getdel(k(key))),

    async delete(key) {
      await run("DEL", () => client.del(k(key)));
    },

    async increment(key, ttlMs) {
      const px = checkedTtl(ttlMs);
      return Number(await run("INCR", () => scripts.plsIncrement(k(key), px)));
    },

    async counter(key, by, ttlMs) {
      const px = checkedTtl(ttlMs);
      if (!Number.isSafeInteger(by)) throw new RangeError(`by must be a whole number, got ${by}`);
      const [count, left] = await run("INCRBY", () => scripts.plsCounter(k(key), by, px));
      return { count: Number(count), ttlMs: Math.max(0, Number(left)) };
    },

    async spend(budgets) {
      const checked = checkedBudgets(budgets);
      if (checked.length === 0) return { counters: [] };
      const [refused, flat] = await run("spend", () =>
        scripts.plsSpend(
          checked.length,
          ...checked.map((b) => k(b.key)),
          ...checked.flatMap((b) => [b.points, b.ttlMs]),
        ),
      );
      const counters: Counter[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        counters.push({ count: Number(flat[i]), ttlMs: Math.max(0, Number(flat[i + 1])) });
      }
      return Number(refused) > 0 ? { counters, refused: Number(refused) - 1 } : { counters };
    },

    async setMany(entries) {
      if (entries.length === 0) return;
      const sets = entries.map((e) => [k(e.key), e.value, checkedTtl(e.ttlMs)] as const);
      // MULTI: applied together, in one round trip; a failed command fails the call.
      const results = await run("MULTI SET", () => {
        const multi = client.multi();
        for (const [key, value, px] of sets) multi.set(key, value, "PX", px);
        return multi.exec();
      });
      const failed = results?.find(([error]) => error)?.[0];
      if (!results || failed) {
        throw new StoreUnavailableError(
          `Redis MULTI SET failed: ${failed ? messageOf(failed) : "discarded"}`,
        );
      }
    },

    async swap(key, expected, entries) {
      const sets = entries.map((e) => [k(e.key), e.value, checkedTtl(e.ttlMs)] as const);
      // One script: the comparison, the DEL and the SETs are one atomic step (S3).
      const swapped = await run("swap", () =>
        scripts.plsSwap(
          1 + sets.length,
          k(key),
          ...sets.map(([other]) => other),
          expected,
          ...sets.flatMap(([, value, px]) => [value, px]),
        ),
      );
      return Number(swapped) === 1;
    },

    async deleteMany(keys) {
      if (keys.length === 0) return;
      await run("DEL", () => client.del(...keys.map(k)));
    },

    async indexAdd(key, member, expiresAtMs, maxMembers) {
      if (!Number.isInteger(maxMembers) || maxMembers <= 0) {
        throw new RangeError(`maxMembers must be a positive integer, got ${maxMembers}`);
      }
      const at = Math.ceil(expiresAtMs);
      await run("ZADD", () => scripts.plsIndexAdd(k(key), member, at, maxMembers));
    },

    indexMembers: (key) => run("ZRANGE", () => scripts.plsIndexMembers(k(key))),

    async indexRemove(key, member) {
      await run("ZREM", () => client.zrem(k(key), member));
    },

    async ping() {
      await run("PING", () => client.ping());
    },

    async close() {
      if (!owned) return;
      // QUIT waits for replies in flight; if Redis is away, just drop the socket.
      if (client.status === "ready") await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

/** Clients that have been connected at least once. */
const wasReady = new WeakSet<Redis>();

function watch(client: Redis): void {
  if (client.status === "ready") wasReady.add(client);
  if (!client.listeners("ready").includes(markReady)) client.on("ready", markReady);
}

function markReady(this: Redis): void {
  wasReady.add(this);
}

/**
 * Right after start-up the first connection may still be in progress: wait for it, bounded
 * by `timeoutMs`. Once a client has been up, a lost connection is not waited for: calls
 * fail at once (the offline queue is off) rather than each request waiting out the
 * reconnect. Never rejects; the command that follows reports the failure.
 */
export async function firstConnection(client: Redis, timeoutMs: number): Promise<void> {
  watch(client);
  if (client.status === "ready" || wasReady.has(client)) return;
  if (client.status === "wait") client.connect().catch(() => undefined);
  if (client.status === "end") return;
  // Concurrent first requests share one wait, so a burst at start-up adds three listeners,
  // not three per request (which Node reports as a possible leak past ten).
  let waiting = firstWaits.get(client);
  if (!waiting) {
    waiting = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off("ready", done);
        client.off("error", done);
        client.off("end", done);
        firstWaits.delete(client);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      client.once("ready", done);
      client.once("error", done);
      client.once("end", done);
    });
    firstWaits.set(client, waiting);
  }
  await waiting;
}

/** The pending first-connection wait of each client, shared by concurrent callers. */
const firstWaits = new WeakMap<Redis, Promise<void>>();

/**
 * How a store built on `client` runs one command: after the first connection (bounded by
 * `connectTimeoutMs`), with any failure turned into StoreUnavailableError naming the command,
 * so callers fail closed with a 503 rather than a 500.
 */
export function redisRunner(
  client: Redis,
  connectTimeoutMs: number,
): <T>(what: string, command: () => Promise<T>) => Promise<T> {
  return async (what, command) => {
    try {
      await firstConnection(client, connectTimeoutMs);
      return await command();
    } catch (error) {
      throw new StoreUnavailableError(`Redis ${what} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
  };
}
