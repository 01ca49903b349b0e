import type { Redis } from "ioredis";
import { systemClock, type Clock } from "../../lib/clock";
import { DEFAULT_CONNECT_TIMEOUT_MS, redisRunner } from "../redis.server";
import { byAge, newUserRecord } from "./common.server";
import {
  UserStoreError,
  type FieldValue,
  type Fields,
  type IdentityKey,
  type IdentityRecord,
  type NewUser,
  type UserPatch,
  type UserRecord,
  type UserStore,
} from "./types";

export interface RedisUserStoreOptions {
  /** A client made with `createRedisClient` (bounded timeouts); shared, so never closed here. */
  client: Redis;
  /** The app's key prefix (`REDIS_PREFIX`). */
  prefix?: string;
  clock?: Clock;
  /** How long a call waits for the very first connection (see `firstConnection`). Default 2000 ms. */
  connectTimeoutMs?: number;
}

/*
 * Keys, under the prefix (none expires: a user stays until the account is deleted):
 *   users:id:<id>                 hash: core fields, and `f:<name>` per team field (JSON values)
 *   users:email:<email>           the user id: the unique address index
 *   users:identity:<m>:<s>        the user id: the unique (method, subject) index
 *   users:identities:<id>         hash <m>:<s> → {"method","subject","createdAt"} (JSON)
 *   users:used:<id>               hash <m>:<s> → last used (ms)
 * <m> and <s> are percent-encoded, so a ':' in a subject cannot make two identities collide.
 *
 * Each change is one Lua script, so uniqueness holds across instances and a deletion leaves
 * no identity behind. The delete script names the address and identity keys it reads from
 * the user's own records: fine on one Redis (with replicas), not meant for Redis Cluster.
 */
const SCRIPTS = {
  /** KEYS: user, email, identity, identities, used. ARGV: id, field, identity JSON, at, has identity, hash pairs… */
  plsUserCreate: `if redis.call('EXISTS', KEYS[2]) == 1 then return 'email_taken' end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return 'identity_taken' end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[5] == '1' then
  redis.call('SET', KEYS[3], ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
  redis.call('HSET', KEYS[5], ARGV[2], ARGV[4])
end
return 'ok'`,
  /** KEYS: user. ARGV: hash pairs. Nothing is created for a missing user. */
  plsUserUpdate: `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return redis.call('HGETALL', KEYS[1])`,
  /** KEYS: identity, identities, used, user. ARGV: user id, field, identity JSON, at. */
  plsUserLink: `if redis.call('EXISTS', KEYS[4]) == 0 then return {'no_such_user'} end
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return {'identity_taken'} end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
return {'ok', redis.call('HGET', KEYS[2], ARGV[2])}`,
  /** KEYS: identity, identities, used. ARGV: user id, field. */
  plsUserUnlink: `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1`,
  /** KEYS: identities, used. */
  plsUserIdentities: `return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}`,
  /** KEYS: user, identities, used. ARGV: key prefix. */
  plsUserDelete: `local email = redis.call('HGET', KEYS[1], 'email')
if not email then return 0 end
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('DEL', ARGV[1] .. 'users:identity:' .. field)
end
redis.call('DEL', ARGV[1] .. 'users:email:' .. cjson.decode(email), KEYS[1], KEYS[2], KEYS[3])
return 1`,
} as const;

interface ScriptCommands {
  plsUserCreate(...args: string[]): Promise<string>;
  plsUserUpdate(key: string, ...pairs: string[]): Promise<string[] | null>;
  plsUserLink(...args: string[]): Promise<string[]>;
  plsUserUnlink(...args: string[]): Promise<number>;
  plsUserIdentities(identities: string, used: string): Promise<[string[], string[]]>;
  plsUserDelete(user: string, identities: string, used: string, prefix: string): Promise<number>;
}

const NUMBER_OF_KEYS: Record<keyof typeof SCRIPTS, number> = {
  plsUserCreate: 5,
  plsUserUpdate: 1,
  plsUserLink: 4,
  plsUserUnlink: 3,
  plsUserIdentities: 2,
  plsUserDelete: 3,
};

/** Users on Redis: records by id with an address index, the same contract as SQLite's tables. */
export function createRedisUserStore(options: RedisUserStoreOptions): UserStore {
  const { client } = options;
  const prefix = options.prefix ?? "pls:";
  const clock = options.clock ?? systemClock;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, {
      numberOfKeys: NUMBER_OF_KEYS[name as keyof typeof SCRIPTS],
      lua,
    });
  }
  const scripts = client as unknown as ScriptCommands;
  const userKey = (id: string) => `${prefix}users:id:${id}`;
  const emailKey = (email: string) => `${prefix}users:email:${email}`;
  const fieldOf = ({ method, subject }: IdentityKey) =>
    `${encodeURIComponent(method)}:${encodeURIComponent(subject)}`;
  const identityKey = (key: IdentityKey) => `${prefix}users:identity:${fieldOf(key)}`;
  const identitiesKey = (id: string) => `${prefix}users:identities:${id}`;
  const usedKey = (id: string) => `${prefix}users:used:${id}`;
  const run = redisRunner(client, connectTimeoutMs);

  async function get(id: string): Promise<UserRecord | null> {
    return fromHash(await run("HGETALL", () => client.hgetall(userKey(id))));
  }

  return {
    get,

    async getByEmail(email) {
      const id = await run("GET", () => client.get(emailKey(email)));
      return id === null ? null : get(id);
    },

    async create(input: NewUser, identity?: IdentityKey) {
      const now = clock();
      const user = newUserRecord(input, now);
      const key = identity ?? { method: "", subject: "" };
      const outcome = await run("create", () =>
        scripts.plsUserCreate(
          userKey(user.id),
          emailKey(user.email),
          identityKey(key),
          identitiesKey(user.id),
          usedKey(user.id),
          user.id,
          fieldOf(key),
          JSON.stringify({ method: key.method, subject: key.subject, createdAt: now }),
          String(now),
          identity ? "1" : "0",
          ...toPairs(user),
        ),
      );
      if (outcome !== "ok") throw new UserStoreError(outcome as "email_taken" | "identity_taken");
      return identity
        ? {
            user,
            identity: { ...identity, userId: user.id, createdAt: now, lastUsedAt: now },
          }
        : { user };
    },

    async update(id: string, patch: UserPatch) {
      const { fields, ...core } = patch;
      const pairs = toPairs({ ...core, fields: fields ?? {} });
      const reply = await run("update", () => scripts.plsUserUpdate(userKey(id), ...pairs));
      return reply ? fromHash(pairsToObject(reply)) : null;
    },

    async findIdentity(key) {
      const userId = await run("GET", () => client.get(identityKey(key)));
      if (userId === null) return null;
      const [identities, used] = await run("identities", () =>
        Promise.all([
          client.hget(identitiesKey(userId), fieldOf(key)),
          client.hget(usedKey(userId), fieldOf(key)),
        ]),
      );
      return identities === null ? null : toIdentity(identities, used, userId);
    },

    async link(userId, key, at) {
      const [outcome, json] = await run("link", () =>
        scripts.plsUserLink(
          identityKey(key),
          identitiesKey(userId),
          usedKey(userId),
          userKey(userId),
          userId,
          fieldOf(key),
          JSON.stringify({ method: key.method, subject: key.subject, createdAt: at }),
          String(at),
        ),
      );
      if (outcome !== "ok" || json === undefined)
        throw new UserStoreError(outcome as "identity_taken" | "no_such_user");
      return toIdentity(json, String(at), userId);
    },

    async unlink(userId, key) {
      const removed = await run("unlink", () =>
        scripts.plsUserUnlink(
          identityKey(key),
          identitiesKey(userId),
          usedKey(userId),
          userId,
          fieldOf(key),
        ),
      );
      return removed === 1;
    },

    async identities(userId) {
      const [identities, used] = await run("identities", () =>
        scripts.plsUserIdentities(identitiesKey(userId), usedKey(userId)),
      );
      const lastUsed = pairsToObject(used);
      const records: IdentityRecord[] = [];
      const all = pairsToObject(identities);
      for (const [field, json] of Object.entries(all)) {
        records.push(toIdentity(json, lastUsed[field] ?? null, userId));
      }
      return records.sort(byAge);
    },

    async delete(id) {
      const removed = await run("delete", () =>
        scripts.plsUserDelete(userKey(id), identitiesKey(id), usedKey(id), prefix),
      );
      return removed === 1;
    },

    async close() {
      // The client is shared with the store and the rate limits; its owner closes it.
    },
  };
}

/** A record (or patch) as hash pairs: JSON values, team fields under `f:<name>`. */
function toPairs(record: Partial<Omit<UserRecord, "fields">> & { fields: Fields }): string[] {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(record)) {
    if (name === "fields" || value === undefined) continue;
    pairs.push(name, JSON.stringify(value));
  }
  for (const [name, value] of Object.entries(record.fields)) {
    if (value !== undefined) pairs.push(`f:${name}`, JSON.stringify(value));
  }
  return pairs;
}

function pairsToObject(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i] as string] = pairs[i + 1] as string;
  return out;
}

function fromHash(hash: Record<string, string>): UserRecord | null {
  if (hash.id === undefined || hash.email === undefined) return null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each core field's own JSON
  const value = (name: string): any => (hash[name] === undefined ? null : JSON.parse(hash[name]));
  const fields: Fields = {};
  for (const [name, json] of Object.entries(hash)) {
    if (name.startsWith("f:")) fields[name.slice(2)] = JSON.parse(json) as FieldValue;
  }
  return {
    id: value("id"),
    email: value("email"),
    emailVerifiedAt: value("emailVerifiedAt"),
    createdAt: value("createdAt"),
    lastSignInAt: value("lastSignInAt"),
    firstName: value("firstName"),
    lastName: value("lastName"),
    fields,
  };
}

function toIdentity(json: string, used: string | null, userId: string): IdentityRecord {
  const { method, subject, createdAt } = JSON.parse(json) as {
    method: string;
    subject: string;
    createdAt: number;
  };
  return {
    method,
    subject,
    userId,
    createdAt,
    lastUsedAt: used === null ? createdAt : Number(used),
  };
}
