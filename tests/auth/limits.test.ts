import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  clientIp,
  createSignInLimits,
  type LimitDecision,
  type SignInLimits,
  type SignInLimitsOptions,
} from "../../app/auth/limits.server";
import { randomId, sha256Hex } from "../../app/lib/crypto.server";
import { isStoreUnavailableError, StoreUnavailableError } from "../../app/store/errors";
import { MemoryStore } from "../../app/store/memory.server";
import { createRedisClient, createRedisStore } from "../../app/store/redis.server";
import { createSqliteStore } from "../../app/store/sqlite/store.server";
import type { Store } from "../../app/store/types";
import { createTestClock } from "../support/clock";
import { startRedisServer, type RedisServer } from "../support/redis-server";

// The limits run on the app's store. Memory and SQLite take an injected clock, so their
// windows pass at once. Redis keeps its own time (every window is a key's TTL, counted down
// by the Redis server), so there time is let pass by taking it off the TTL of every key the
// limits wrote: Redis itself then drops the keys whose window is over. The windows stay a
// minute or more, so a slow machine's real seconds never decide a test.
const PAST_A_MINUTE = 61_000;

let server: RedisServer;
let dataDir: string;
const clients: Redis[] = [];
const stores: Store[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  dataDir = mkdtempSync(path.join(tmpdir(), "pls-limits-"));
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  for (const client of clients) client.disconnect();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

// A loaded machine can keep a worker from reading a connection's handshake, or a reply, for
// seconds. The app's first-connection wait (2 s) would then end before the client is up, and
// the command after it fails with "Stream isn't writeable" (the offline queue is off), or its
// 1 s command timeout would fire: a busy machine, not a limit, would decide the test. So the
// tests' clients and stores get generous bounds; what the limits do once Redis answers (or
// is gone: the fail-closed test below keeps the app's command timeout) is unchanged.
const FIRST_CONNECTION_MS = 30_000;
const GENEROUS_COMMAND_MS = 30_000;

/** `appCommandTimeout`: keep the app's own command timeout instead of the generous one. */
function redisClient({ appCommandTimeout = false } = {}): Redis {
  const client = createRedisClient({
    url: server.url,
    connectTimeoutMs: FIRST_CONNECTION_MS,
    commandTimeoutMs: appCommandTimeout ? undefined : GENEROUS_COMMAND_MS,
    onConnectionError: () => undefined,
  });
  clients.push(client);
  return client;
}

function redisStore(client: Redis, prefix: string) {
  return track(createRedisStore({ client, prefix, connectTimeoutMs: FIRST_CONNECTION_MS }));
}

/**
 * Resolves once `client` is connected (at once if it is); rejects, naming the wait, if it is
 * not within FIRST_CONNECTION_MS. For commands a test sends on a client of its own, which no
 * store's first-connection wait covers.
 */
function connected(client: Redis, what: string): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new Error(`${what}: Redis client not connected within ${FIRST_CONNECTION_MS} ms`));
    }, FIRST_CONNECTION_MS);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", onReady);
  });
}

const track = <T extends Store>(store: T): T => (stores.push(store), store);

type Overrides = Omit<SignInLimitsOptions, "store">;

interface Limits {
  limits: SignInLimits;
  /** The store the limits count in. */
  store: Store;
  /** Another instance (or, for SQLite, a process after a restart) on the same state. */
  another(): SignInLimits;
  /** Let `ms` pass for these limits. */
  advance(ms: number): Promise<void>;
}

interface Backend {
  name: "memory" | "sqlite" | "redis";
  /** Fresh limits on fresh state. */
  create(overrides?: Overrides): Limits;
}

const backends: Backend[] = [
  {
    name: "memory",
    create(overrides = {}) {
      const clock = createTestClock();
      const store = track(new MemoryStore({ clock, sweepIntervalMs: 0 }));
      return {
        store,
        limits: createSignInLimits({ store, clock, ...overrides }),
        another: () => {
          throw new Error("memory limits are per process");
        },
        advance: async (ms) => clock.advance(ms),
      };
    },
  },
  {
    name: "sqlite",
    create(overrides = {}) {
      const clock = createTestClock();
      const file = path.join(dataDir, `${randomId(6)}.db`);
      const open = () => track(createSqliteStore({ file, clock, sweepIntervalMs: 0 }));
      const store = open();
      return {
        store,
        limits: createSignInLimits({ store, clock, ...overrides }),
        another: () => createSignInLimits({ store: open(), clock, ...overrides }),
        advance: async (ms) => clock.advance(ms),
      };
    },
  },
  {
    name: "redis",
    create(overrides = {}) {
      const prefix = `r${randomId(4)}:`;
      const open = () => redisStore(redisClient(), prefix);
      const store = open();
      // The test's own client, which moves the TTLs: created with the store, it may still
      // be connecting when a test first lets time pass.
      const client = redisClient();
      // The limits' own clock (when a window ends, for refunds) moves with the TTLs.
      const clock = createTestClock(Date.now());
      return {
        store,
        limits: createSignInLimits({ store, clock, ...overrides }),
        another: () => createSignInLimits({ store: open(), clock, ...overrides }),
        async advance(ms) {
          clock.advance(ms);
          await connected(client, "advance");
          for (const key of await client.keys(`${prefix}*`)) {
            const left = await client.pttl(key);
            // A TTL of 0 or less makes Redis delete the key, as when it runs out by itself.
            if (left >= 0) await client.pexpire(key, Math.max(0, left - ms));
          }
        },
      };
    },
  },
];

// An allowed send also names the windows it was spent in (for a refund); what matters here
// is that it was allowed.
const allowed = expect.objectContaining({ allowed: true }) as LimitDecision;
const email = () => `person-${randomId(4)}@example.com`;

function refusedFor(decision: LimitDecision): string | undefined {
  return decision.allowed ? undefined : decision.reason;
}

// Every test has its own state, so all of them (every backend) run at once.
describe.concurrent("sign-in limits", () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, () => {
      describe("S11 send throttling", () => {
        it("refuses a second send within the spacing, with Retry-After ≈ the spacing", async () => {
          const { limits } = backend.create();
          const to = email();
          expect(await limits.allowSend(to, "198.51.100.1")).toEqual(allowed);
          const second = await limits.allowSend(to, "198.51.100.1");
          expect(second).toMatchObject({ allowed: false, reason: "email_spacing" });
          if (!second.allowed) {
            expect(second.retryAfterSeconds).toBeGreaterThanOrEqual(59);
            expect(second.retryAfterSeconds).toBeLessThanOrEqual(60);
          }
        });

        it("six requests in a row allow exactly one send", async () => {
          const { limits } = backend.create();
          const to = email();
          const decisions = [];
          for (let i = 0; i < 6; i++) decisions.push(await limits.allowSend(to, "198.51.100.2"));
          expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
          expect(decisions[0]).toEqual(allowed);
        });

        it("of 20 concurrent sends to one address, exactly one is allowed", async () => {
          const { limits } = backend.create();
          const to = email();
          const decisions = await Promise.all(
            Array.from({ length: 20 }, (_, i) => limits.allowSend(to, `198.51.100.${i + 10}`)),
          );
          expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
        });

        it("over an hour: spacing between sends, sends 2–5 allowed, the 6th refused as hourly", async () => {
          const { limits, advance } = backend.create({ emailSpacingSeconds: 60, emailPerHour: 5 });
          const to = email();
          expect(await limits.allowSend(to, undefined)).toEqual(allowed);
          expect(refusedFor(await limits.allowSend(to, undefined))).toBe("email_spacing");
          for (let n = 2; n <= 5; n++) {
            await advance(PAST_A_MINUTE);
            expect(await limits.allowSend(to, undefined), `send ${n}`).toEqual(allowed);
          }
          await advance(PAST_A_MINUTE);
          const sixth = await limits.allowSend(to, undefined);
          expect(sixth).toMatchObject({ allowed: false, reason: "email_hourly" });
          // The hour's time left (about 55 minutes), not the spacing's minute.
          if (!sixth.allowed) expect(sixth.retryAfterSeconds).toBeGreaterThan(3_200);
          // The refusal gave back the spacing it took: the next try still says "hourly".
          expect(refusedFor(await limits.allowSend(to, undefined))).toBe("email_hourly");
        });

        it("refused sends cost nothing: throttled attempts do not spend the hourly budget", async () => {
          const { limits, advance } = backend.create({ emailSpacingSeconds: 60, emailPerHour: 2 });
          const to = email();
          expect(await limits.allowSend(to, "198.51.100.3")).toEqual(allowed);
          for (let i = 0; i < 10; i++) {
            expect(refusedFor(await limits.allowSend(to, "198.51.100.3"))).toBe("email_spacing");
          }
          await advance(PAST_A_MINUTE);
          expect(await limits.allowSend(to, "198.51.100.3")).toEqual(allowed);
        });

        it("a send refused for its IP leaves the address's budgets untouched", async () => {
          const { limits } = backend.create({ ipPerHour: 1 });
          expect(await limits.allowSend(email(), "198.51.100.4")).toEqual(allowed);
          const victim = email();
          expect(refusedFor(await limits.allowSend(victim, "198.51.100.4"))).toBe("ip");
          // Same address right away from another IP: neither spacing nor hourly was taken.
          expect(await limits.allowSend(victim, "198.51.100.5")).toEqual(allowed);
        });

        it("S32 a refund gives the point back to the window that took it", async () => {
          const { limits } = backend.create({ emailSpacingSeconds: 60, emailPerHour: 1 });
          const to = email();
          const sent = await limits.allowSend(to, "198.51.100.6");
          await limits.refundSend(to, "198.51.100.6", { spent: sent.allowed ? sent.spent : {} });
          expect(await limits.allowSend(to, "198.51.100.6")).toEqual(allowed);
        });

        it("S32 a refund after its window ended gives nothing to the next window", async () => {
          // The delivery of the first send fails after the hourly window it was counted in
          // has ended, and two more sends have filled the next one.
          const { limits, advance } = backend.create({
            emailSpacingSeconds: 0,
            emailPerHour: 2,
            hourSeconds: 60,
          });
          const to = email();
          const first = await limits.allowSend(to, undefined);
          expect(first).toEqual(allowed);
          await advance(PAST_A_MINUTE);
          expect(await limits.allowSend(to, undefined)).toEqual(allowed);
          expect(await limits.allowSend(to, undefined)).toEqual(allowed);
          await limits.refundSend(to, undefined, { spent: first.allowed ? first.spent : {} });
          expect(refusedFor(await limits.allowSend(to, undefined))).toBe("email_hourly");
        });

        it("S32 a late refund leaves a newer spacing window alone", async () => {
          const { limits, advance } = backend.create({ emailSpacingSeconds: 60 });
          const to = email();
          const first = await limits.allowSend(to, undefined);
          await advance(PAST_A_MINUTE);
          expect(await limits.allowSend(to, undefined)).toEqual(allowed);
          await limits.refundSend(to, undefined, { spent: first.allowed ? first.spent : {} });
          expect(refusedFor(await limits.allowSend(to, undefined))).toBe("email_spacing");
        });

        it("keeps each address's budget separate", async () => {
          const { limits } = backend.create();
          expect(await limits.allowSend(email(), undefined)).toEqual(allowed);
          expect(await limits.allowSend(email(), undefined)).toEqual(allowed);
        });

        it("treats differently written forms of one address as one", async () => {
          const { limits } = backend.create();
          const local = `case-${randomId(4)}`;
          expect(await limits.allowSend(`${local}@example.com`, undefined)).toEqual(allowed);
          expect(
            refusedFor(await limits.allowSend(` ${local.toUpperCase()}@EXAMPLE.COM `, undefined)),
          ).toBe("email_spacing");
        });
      });

      describe("S11 S12 per-IP budgets", () => {
        it("refuses sends from one IP past its hourly budget, whatever the addresses", async () => {
          const { limits } = backend.create({ ipPerHour: 3 });
          for (let i = 0; i < 3; i++)
            expect(await limits.allowSend(email(), "203.0.113.9")).toEqual(allowed);
          const fourth = await limits.allowSend(email(), "203.0.113.9");
          expect(fourth).toMatchObject({ allowed: false, reason: "ip" });
          if (!fourth.allowed) expect(fourth.retryAfterSeconds).toBeGreaterThan(3_500);
          expect(await limits.allowSend(email(), "203.0.113.10")).toEqual(allowed);
        });

        it("counts verify attempts per IP, separately from sends", async () => {
          const { limits } = backend.create({ ipPerHour: 2 });
          expect(await limits.allowVerify(email(), "203.0.113.20")).toEqual(allowed);
          expect(await limits.allowVerify(undefined, "203.0.113.20")).toEqual(allowed);
          expect(refusedFor(await limits.allowVerify(email(), "203.0.113.20"))).toBe("ip");
          expect(await limits.allowSend(email(), "203.0.113.20")).toEqual(allowed);
          expect(await limits.allowVerify(email(), "203.0.113.21")).toEqual(allowed);
        });

        it("S12 rotating X-Forwarded-For does not escape the IP budget (trustProxy 1)", async () => {
          const { limits } = backend.create({ ipPerHour: 3 });
          const decisions = [];
          for (let i = 0; i < 6; i++) {
            const request = new Request("https://app.example/login", {
              method: "POST",
              // The client writes anything on the left; the proxy appends the address it saw.
              headers: { "X-Forwarded-For": `10.0.${i}.${i}, 192.0.2.${i + 1}, 203.0.113.77` },
            });
            decisions.push(await limits.allowSend(email(), clientIp(request, 1)));
          }
          expect(decisions.map(refusedFor)).toEqual([
            undefined,
            undefined,
            undefined,
            "ip",
            "ip",
            "ip",
          ]);
        });

        it("S12 rotating IPv6 addresses within one /64 does not escape the IP budget", async () => {
          const { limits } = backend.create({ ipPerHour: 2 });
          const decisions = [];
          for (let i = 1; i <= 4; i++) {
            decisions.push(await limits.allowSend(email(), `2001:db8:1:2::${i.toString(16)}`));
          }
          expect(decisions.map(refusedFor)).toEqual([undefined, undefined, "ip", "ip"]);
          expect(await limits.allowSend(email(), "2001:db8:1:3::1")).toEqual(allowed);
        });

        it("S12 an IPv6 /64 is one budget however the address is written: '::' in the first four groups", async () => {
          const { limits } = backend.create({ ipPerHour: 3 });
          // All in 2001:db8:0:0::/64; the '::' stands for zeros inside the first four groups.
          const sameNet = [
            "2001:db8::1",
            "2001:db8::1:2:3:4",
            "2001:db8:0:0:ffff::9",
            "2001:DB8::a",
          ];
          const decisions = [];
          for (const ip of sameNet) decisions.push(await limits.allowSend(email(), ip));
          expect(decisions.map(refusedFor)).toEqual([undefined, undefined, undefined, "ip"]);
          // Neighbouring /64s, each written with '::' early, have budgets of their own.
          for (const ip of ["2001:db8:0:1::1", "2001:db8:1::1", "2001::1", "::1"]) {
            expect(await limits.allowSend(email(), ip), ip).toEqual(allowed);
          }
        });

        it("S12 verifies with an unknown IP do not share one global bucket", async () => {
          const { limits } = backend.create({ ipPerHour: 2 });
          for (let i = 0; i < 4; i++) {
            expect(await limits.allowVerify(email(), undefined)).toEqual(allowed);
            expect(await limits.allowVerify(undefined, undefined)).toEqual(allowed);
            expect(await limits.allowSend(email(), undefined)).toEqual(allowed);
          }
          // A known IP still has its budget, untouched by the unknown ones.
          expect(await limits.allowVerify(email(), "198.51.100.77")).toEqual(allowed);
          expect(await limits.allowVerify(email(), "198.51.100.77")).toEqual(allowed);
          expect(refusedFor(await limits.allowVerify(email(), "198.51.100.77"))).toBe("ip");
        });
      });

      describe("S10 lockout after consecutive failures", () => {
        it("locks the address after N failures, for the rest of the window", async () => {
          const { limits } = backend.create({ lockoutFailures: 3, lockoutWindowSeconds: 600 });
          const who = email();
          for (let i = 0; i < 2; i++) {
            expect(await limits.allowVerify(who, undefined)).toEqual(allowed);
            await limits.recordFailure(who);
          }
          expect(await limits.allowVerify(who, undefined)).toEqual(allowed);
          await limits.recordFailure(who);
          const locked = await limits.allowVerify(who, "203.0.113.30");
          expect(locked).toMatchObject({ allowed: false, reason: "locked" });
          if (!locked.allowed) {
            expect(locked.retryAfterSeconds).toBeGreaterThan(590);
            expect(locked.retryAfterSeconds).toBeLessThanOrEqual(600);
          }
          // Only that address.
          expect(await limits.allowVerify(email(), "203.0.113.30")).toEqual(allowed);
        });

        it("a success clears the count: only consecutive failures lock", async () => {
          const { limits } = backend.create({ lockoutFailures: 3 });
          const who = email();
          await limits.recordFailure(who);
          await limits.recordFailure(who);
          await limits.recordSuccess(who);
          await limits.recordFailure(who);
          await limits.recordFailure(who);
          expect(await limits.allowVerify(who, undefined)).toEqual(allowed);
          await limits.recordFailure(who);
          expect(refusedFor(await limits.allowVerify(who, undefined))).toBe("locked");
        });

        it("a lockout ends when its window passes", async () => {
          const { limits, advance } = backend.create({
            lockoutFailures: 2,
            lockoutWindowSeconds: 60,
          });
          const who = email();
          await limits.recordFailure(who);
          await limits.recordFailure(who);
          expect(refusedFor(await limits.allowVerify(who, undefined))).toBe("locked");
          await advance(PAST_A_MINUTE);
          expect(await limits.allowVerify(who, undefined)).toEqual(allowed);
        });

        it("a locked address does not spend the IP's verify budget", async () => {
          const { limits } = backend.create({ lockoutFailures: 1, ipPerHour: 1 });
          const who = email();
          await limits.recordFailure(who);
          expect(refusedFor(await limits.allowVerify(who, "203.0.113.40"))).toBe("locked");
          expect(await limits.allowVerify(email(), "203.0.113.40")).toEqual(allowed);
        });
      });

      it("rejects settings the backend cannot honour", () => {
        expect(() => backend.create({ emailSpacingSeconds: 0.5 })).toThrow(RangeError);
        expect(() => backend.create({ ipPerHour: 0 })).toThrow(RangeError);
        expect(() => backend.create({ lockoutWindowSeconds: 0 })).toThrow(RangeError);
      });

      if (backend.name !== "memory") {
        describe(`shared by two app instances (or a restart) on one ${backend.name}`, () => {
          it("S10 a lockout recorded on A holds on B, and a success on B clears it for A", async () => {
            const shared = backend.create({ lockoutFailures: 3 });
            const a = shared.limits;
            const b = shared.another();
            const who = email();
            for (let i = 0; i < 3; i++) await a.recordFailure(who);
            expect(refusedFor(await b.allowVerify(who, undefined))).toBe("locked");
            await b.recordSuccess(who);
            expect(await a.allowVerify(who, undefined)).toEqual(allowed);
          });

          it("S11 a send on A throttles the same address on B", async () => {
            const shared = backend.create();
            const to = email();
            expect(await shared.limits.allowSend(to, undefined)).toEqual(allowed);
            expect(refusedFor(await shared.another().allowSend(to, undefined))).toBe(
              "email_spacing",
            );
          });
        });
      }

      if (backend.name === "redis") {
        describe("keys in Redis", () => {
          it("keeps keys under the prefix and never stores an address or IP in plain text", async () => {
            const prefix = `keys${randomId(4)}:`;
            const client = redisClient();
            const store = redisStore(client, prefix);
            const limits = createSignInLimits({ store });
            const who = `plain-${randomId(4)}@example.com`;
            await limits.allowSend(who, "203.0.113.50");
            await limits.allowVerify(who, "203.0.113.50");
            await limits.recordFailure(who);
            const keys = await client.keys("*");
            const ours = keys.filter((key) => key.startsWith(prefix));
            expect(ours.length).toBeGreaterThanOrEqual(4);
            for (const key of keys) {
              expect(key).not.toContain("plain-");
              expect(key).not.toContain("203.0.113");
            }
          });
        });
      }
    });
  }
});

describe("S11 S32 refunds, skipped spacing and settings (memory store)", () => {
  const memory = backends[0]!;
  const ip = "198.51.100.70";

  it("a refunded send gives back its spacing, its hourly point and its IP point", async () => {
    const { limits } = memory.create({ emailPerHour: 1, ipPerHour: 1 });
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    await limits.refundSend(to, ip);
    // Spacing, hourly (1) and IP (1) budgets all spent again by the very next send.
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    expect(refusedFor(await limits.allowSend(email(), ip))).toBe("ip");
  });

  it("a send that skips the spacing is still counted hourly, and its refund leaves the spacing alone", async () => {
    const { limits } = memory.create({ emailPerHour: 3 });
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    expect(await limits.allowSend(to, ip, { skipSpacing: true })).toEqual(allowed);
    // Giving back the skipped send returns its hourly point, not the first send's spacing.
    await limits.refundSend(to, ip, { skipSpacing: true });
    expect(refusedFor(await limits.allowSend(to, ip))).toBe("email_spacing");
    expect(await limits.allowSend(to, ip, { skipSpacing: true })).toEqual(allowed);
    expect(await limits.allowSend(to, ip, { skipSpacing: true })).toEqual(allowed);
    expect(refusedFor(await limits.allowSend(to, ip, { skipSpacing: true }))).toBe("email_hourly");
  });

  it("a refund with the spacing turned off gives back the hourly point", async () => {
    const { limits } = memory.create({ emailSpacingSeconds: 0, emailPerHour: 1 });
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    await limits.refundSend(to, ip);
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
  });

  it("S32 a send is given back once: a second refund, with or without its receipt, adds no send", async () => {
    for (const receipt of [true, false]) {
      const { limits } = memory.create({ emailSpacingSeconds: 0, emailPerHour: 1, ipPerHour: 1 });
      const to = email();
      const sent = await limits.allowSend(to, ip);
      const refund = receipt && sent.allowed ? { spent: sent.spent } : {};
      await limits.refundSend(to, ip, refund);
      await limits.refundSend(to, ip, refund);
      expect(await limits.allowSend(to, ip), `receipt: ${receipt}`).toEqual(allowed);
      expect(refusedFor(await limits.allowSend(to, ip)), `receipt: ${receipt}`).toBe(
        "email_hourly",
      );
    }
  });

  it("S32 a window with under a second (or a quarter of itself) left gets no refund", async () => {
    // [window s, ms passed before the refund, given back?, with its receipt?]
    const cases: Array<[number, number, boolean, boolean?]> = [
      [60, 59_500, false], // 500 ms left of a minute: under a second
      [60, 59_000, true], // exactly a second left
      [2, 1_500, true], // a 2 s window: a quarter of it (500 ms) is the margin, and is left
      [2, 1_600, false],
      // No receipt (no window to tell apart): given back whatever is left.
      [60, 59_500, true, false],
    ];
    for (const [seconds, passed, given, receipt = true] of cases) {
      const { limits, advance } = memory.create({
        emailSpacingSeconds: 0,
        emailPerHour: 1,
        hourSeconds: seconds,
      });
      const to = email();
      const sent = await limits.allowSend(to, undefined);
      await advance(passed);
      await limits.refundSend(to, undefined, receipt && sent.allowed ? { spent: sent.spent } : {});
      const next = await limits.allowSend(to, undefined);
      expect(next.allowed, `${seconds} s window, refund after ${passed} ms`).toBe(given);
    }
  });

  it("S32 a refund gives back only the budgets its receipt names", async () => {
    const { limits } = memory.create({ emailPerHour: 3 });
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    // A second send that skipped the spacing: its receipt has no spacing window in it.
    const second = await limits.allowSend(to, ip, { skipSpacing: true });
    await limits.refundSend(to, ip, { spent: second.allowed ? second.spent : {} });
    // The first send's spacing is still spent.
    expect(refusedFor(await limits.allowSend(to, ip))).toBe("email_spacing");
  });

  it("S10 a locked address gets no email either", async () => {
    const { limits } = memory.create({ lockoutFailures: 1 });
    const who = email();
    await limits.recordFailure(who);
    expect(refusedFor(await limits.allowSend(who, ip))).toBe("locked");
  });

  it("keeps its counters under names that stay the same across releases, keyed by digests", async () => {
    // The counters outlive a deploy (SQLite, Redis): renaming a key would reset every budget.
    const { limits, store } = memory.create({ lockoutFailures: 5 });
    const to = "Person@Example.com";
    const mail = sha256Hex("email:person@example.com");
    const count = async (key: string) => (await store.counter(key, 0, 60_000)).count;
    await limits.allowSend(to, "203.0.113.5");
    await limits.allowSend("other@example.com", "2001:db8:1:2::7");
    await limits.allowVerify(undefined, "203.0.113.5");
    await limits.recordFailure(to);
    expect(await count(`rl:send:spacing:${mail}`)).toBe(1);
    expect(await count(`rl:send:email:${mail}`)).toBe(1);
    expect(await count(`rl:send:ip:${sha256Hex("ip:203.0.113.5")}`)).toBe(1);
    expect(await count(`rl:send:ip:${sha256Hex("ip:2001:0db8:0001:0002::/64")}`)).toBe(1);
    expect(await count(`rl:verify:ip:${sha256Hex("ip:203.0.113.5")}`)).toBe(1);
    expect(await count(`rl:verify:failures:${mail}`)).toBe(1);
  });

  it("S12 an IPv6 /64 is one budget however it is written: leading zeros, an embedded IPv4 tail, '::' first or last", async () => {
    for (const [a, b] of [
      // An embedded IPv4 tail takes two groups, so '::' here stands for two zeros, not three.
      ["1::2:3:4:10.20.30.40", "1:0:0:2::5"],
      ["1:0:0:2::5", "0001:0000:0:0002:ffff::6"],
      ["::1:2", "0:0:0:0::5"],
      ["2001:db8:1:2::", "2001:db8:1:2::1"],
    ]) {
      const { limits } = memory.create({ ipPerHour: 1 });
      expect(await limits.allowSend(email(), a), a).toEqual(allowed);
      expect(refusedFor(await limits.allowSend(email(), b)), `${a} then ${b}`).toBe("ip");
    }
  });

  it("S12 a client address over 64 characters is an unknown IP, even one that a zone id made long", async () => {
    const { limits } = memory.create({ ipPerHour: 1 });
    const long = `fe80::1%${"a".repeat(60)}`;
    expect(await limits.allowSend(email(), long)).toEqual(allowed);
    // Not fe80::1's budget: no IP budget at all (the address's own budgets still count).
    expect(await limits.allowSend(email(), long)).toEqual(allowed);
    expect(await limits.allowSend(email(), "fe80::1%a")).toEqual(allowed);
    expect(refusedFor(await limits.allowSend(email(), "fe80::1%b"))).toBe("ip");
  });

  it("a refund for an unknown IP gives back the address's budgets only", async () => {
    const { limits } = memory.create({ emailPerHour: 1, ipPerHour: 1 });
    const to = email();
    expect(await limits.allowSend(to, undefined)).toEqual(allowed);
    await limits.refundSend(to, undefined);
    expect(await limits.allowSend(to, undefined)).toEqual(allowed);
  });

  it("S32 a successful sign-in clears the spacing: signing straight back in sends again", async () => {
    const { limits } = memory.create();
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    await limits.recordSuccess(to);
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
  });

  it("emailSpacingSeconds 0 turns the spacing off; the hourly budget still counts", async () => {
    const { limits } = memory.create({ emailSpacingSeconds: 0, emailPerHour: 2 });
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    expect(refusedFor(await limits.allowSend(to, ip))).toBe("email_hourly");
    await limits.recordSuccess(to);
    expect(refusedFor(await limits.allowSend(to, ip))).toBe("email_hourly");
  });

  it("the hourly window is hourSeconds long", async () => {
    const { limits, advance } = memory.create({
      hourSeconds: 120,
      emailSpacingSeconds: 0,
      emailPerHour: 1,
    });
    const to = email();
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
    const refused = await limits.allowSend(to, ip);
    expect(refused).toEqual({ allowed: false, reason: "email_hourly", retryAfterSeconds: 120 });
    await advance(120_000);
    expect(await limits.allowSend(to, ip)).toEqual(allowed);
  });

  it("the lockout window runs lockoutWindowSeconds from the first failure", async () => {
    const { limits, advance } = memory.create({ lockoutFailures: 1, lockoutWindowSeconds: 30 });
    const who = email();
    await limits.recordFailure(who);
    expect(await limits.allowVerify(who, ip)).toEqual({
      allowed: false,
      reason: "locked",
      retryAfterSeconds: 30,
    });
    await advance(30_000);
    expect(await limits.allowVerify(who, ip)).toEqual(allowed);
  });

  it("accepts every setting at its least value and refuses one below it, naming it", () => {
    expect(() =>
      memory.create({
        hourSeconds: 1,
        ipPerHour: 1,
        emailSpacingSeconds: 0,
        emailPerHour: 1,
        lockoutFailures: 1,
        lockoutWindowSeconds: 1,
      }),
    ).not.toThrow();
    for (const [name, value, min] of [
      ["hourSeconds", 0, 1],
      ["ipPerHour", 0, 1],
      ["emailSpacingSeconds", -1, 0],
      ["emailPerHour", 0, 1],
      ["lockoutFailures", 0, 1],
      ["lockoutWindowSeconds", 0, 1],
      ["emailPerHour", 1.5, 1],
    ] as const) {
      expect(() => memory.create({ [name]: value })).toThrow(
        new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`),
      );
    }
  });
});

describe("S10 S11 the limits fail closed when their store fails while counting", () => {
  // Reading the lockout count works, the consume that counts an attempt then fails: the
  // attempt must be refused as "store unavailable", never let through uncounted.
  for (const backend of backends) {
    it(`on ${backend.name}: allowSend and allowVerify reject with StoreUnavailableError`, async () => {
      const { limits, store } = backend.create();
      const read = store.counter.bind(store);
      const spy = vi
        .spyOn(store, "counter")
        .mockImplementation((key, by, ttlMs) =>
          by === 0
            ? read(key, by, ttlMs)
            : Promise.reject(new Error("connection lost while counting")),
        );
      // A send's budgets are spent in one step: that one fails the same way.
      const spendSpy = vi
        .spyOn(store, "spend")
        .mockImplementation(() => Promise.reject(new Error("connection lost while counting")));
      try {
        for (const call of [
          () => limits.allowSend(email(), "198.51.100.61"),
          () => limits.allowSend(email(), undefined),
          () => limits.allowVerify(email(), "198.51.100.61"),
        ]) {
          const error = await call().then(
            (decision) => new Error(`resolved: ${JSON.stringify(decision)}`),
            (e: unknown) => e,
          );
          expect(isStoreUnavailableError(error), String(error)).toBe(true);
          expect(String((error as Error).message)).toMatch(/connection lost while counting/);
        }
        expect(spy).toHaveBeenCalled();
        expect(spendSpy).toHaveBeenCalled();
      } finally {
        spy.mockRestore();
        spendSpy.mockRestore();
      }
    });
  }

  it("a store's own unavailable error passes through unchanged; a RangeError (a bug) is not hidden", async () => {
    const { limits, store } = backends[0]!.create();
    const unavailable = new StoreUnavailableError("store down");
    const spy = vi.spyOn(store, "counter").mockRejectedValue(unavailable);
    try {
      expect(await limits.allowVerify(email(), "198.51.100.64").catch((e: unknown) => e)).toBe(
        unavailable,
      );
      const bug = new RangeError("bad ttl");
      spy.mockRejectedValue(bug);
      expect(await limits.allowVerify(email(), "198.51.100.64").catch((e: unknown) => e)).toBe(bug);
      const lost = new Error("connection lost");
      spy.mockRejectedValue(lost);
      const wrapped = await limits.allowVerify(email(), "198.51.100.64").catch((e: unknown) => e);
      expect(isStoreUnavailableError(wrapped)).toBe(true);
      expect((wrapped as Error).cause).toBe(lost);
    } finally {
      spy.mockRestore();
    }
  });

  it("a rejection that is no Error fails closed too", async () => {
    const { limits, store } = backends[0]!.create();
    const spy = vi.spyOn(store, "counter").mockRejectedValue("boom");
    try {
      const error = await limits.allowVerify(email(), "198.51.100.62").catch((e: unknown) => e);
      expect(isStoreUnavailableError(error)).toBe(true);
      expect(String((error as Error).message)).toBe("Rate limit store failed: boom");
      spy.mockRejectedValue(null);
      const nothing = await limits.allowVerify(email(), "198.51.100.62").catch((e: unknown) => e);
      expect(isStoreUnavailableError(nothing)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it("an over-limit count refuses with Retry-After from the window's time left, at least one second", async () => {
    const { limits, store } = backends[0]!.create({ ipPerHour: 1 });
    const spy = vi
      .spyOn(store, "counter")
      .mockResolvedValueOnce({ count: 2, ttlMs: 1_500 })
      .mockResolvedValueOnce({ count: 2, ttlMs: 0 });
    try {
      expect(await limits.allowVerify(undefined, "198.51.100.63")).toEqual({
        allowed: false,
        reason: "ip",
        retryAfterSeconds: 2,
      });
      expect(await limits.allowVerify(undefined, "198.51.100.63")).toEqual({
        allowed: false,
        reason: "ip",
        retryAfterSeconds: 1,
      });
    } finally {
      spy.mockRestore();
    }
  });
});

// Last: stops and restarts the shared server.
describe("sign-in limits when Redis fails (fail closed)", () => {
  it("every method rejects quickly with StoreUnavailableError, and works again once Redis is back", async () => {
    // The app's own command timeout: what "quickly" below is measured against.
    const client = redisClient({ appCommandTimeout: true });
    const limits = createSignInLimits({ store: redisStore(client, `f${randomId(4)}:`) });
    expect(await limits.allowSend(email(), "198.51.100.60")).toEqual(allowed);
    await server.kill();
    try {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["allowSend", () => limits.allowSend(email(), "198.51.100.60")],
        ["allowVerify", () => limits.allowVerify(email(), "198.51.100.60")],
        ["recordFailure", () => limits.recordFailure(email())],
        ["recordSuccess", () => limits.recordSuccess(email())],
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
    // The same store works again, without being recreated, once its client has reconnected
    // by itself (a backoff of at most a second; a loaded machine may take longer, hence the
    // wait for the reconnection rather than a few seconds of polling). A client that never
    // reconnects fails the wait.
    await connected(client, "reconnect after the restart");
    expect(await limits.allowSend(email(), "198.51.100.60")).toEqual(allowed);
  });
});

describe("S12 clientIp: X-Forwarded-For only for trusted hops", () => {
  const req = (...xff: string[]) => {
    const headers = new Headers();
    for (const line of xff) headers.append("X-Forwarded-For", line);
    return new Request("https://app.example/", { headers });
  };

  it("with trustProxy 0 ignores the header and uses the socket address (or nothing)", () => {
    expect(clientIp(req("203.0.113.1"), 0)).toBeUndefined();
    expect(clientIp(req("203.0.113.1"), 0, "192.0.2.7")).toBe("192.0.2.7");
    expect(clientIp(req(), 0, "::ffff:192.0.2.7")).toBe("192.0.2.7");
  });

  it("with N hops takes the Nth address from the right", () => {
    const request = req("1.1.1.1, 2.2.2.2, 3.3.3.3");
    expect(clientIp(request, 1)).toBe("3.3.3.3");
    expect(clientIp(request, 2)).toBe("2.2.2.2");
    expect(clientIp(request, 3)).toBe("1.1.1.1");
  });

  it("combines several header lines in order", () => {
    expect(clientIp(req("1.1.1.1", "2.2.2.2, 3.3.3.3"), 2)).toBe("2.2.2.2");
    expect(clientIp(req("1.1.1.1, 2.2.2.2", "3.3.3.3"), 3)).toBe("1.1.1.1");
  });

  it("with fewer entries than hops takes the leftmost; with no header, the socket", () => {
    expect(clientIp(req("4.4.4.4"), 2)).toBe("4.4.4.4");
    expect(clientIp(req(), 1, "192.0.2.8")).toBe("192.0.2.8");
    expect(clientIp(req(), 1)).toBeUndefined();
  });

  it("understands the forms proxies write: ports, brackets, IPv6, mapped IPv4", () => {
    expect(clientIp(req("203.0.113.5:4711"), 1)).toBe("203.0.113.5");
    expect(clientIp(req("[2001:DB8::1]:443"), 1)).toBe("2001:db8::1");
    expect(clientIp(req("2001:db8::2"), 1)).toBe("2001:db8::2");
    expect(clientIp(req("::ffff:198.51.100.9"), 1)).toBe("198.51.100.9");
  });

  it("reads brackets without a port, full and zero-compressed mapped IPv4, and drops an IPv6 zone id", () => {
    expect(clientIp(req("[2001:db8::1]"), 1)).toBe("2001:db8::1");
    expect(clientIp(req("0:0:0:0:0:ffff:203.0.113.9"), 1)).toBe("203.0.113.9");
    expect(clientIp(req("::ffff:203.0.113.45"), 1)).toBe("203.0.113.45");
    expect(clientIp(req("fe80::1%eth0"), 1)).toBe("fe80::1");
    // Only ::ffff:a.b.c.d is IPv4; other addresses with ffff in them stay IPv6.
    expect(clientIp(req("1::ffff:1.2.3.4"), 1)).toBe("1::ffff:1.2.3.4");
  });

  it("trims what proxies and sockets pad, and skips empty entries when counting hops", () => {
    expect(clientIp(req(), 0, " 203.0.113.9 ")).toBe("203.0.113.9");
    expect(clientIp(req("198.51.100.1, , 203.0.113.2"), 2)).toBe("198.51.100.1");
  });

  it("refuses a value over 64 characters, and reads one of exactly 64", () => {
    const zoned = (length: number) => `fe80::1%${"a".repeat(length - "fe80::1%".length)}`;
    expect(clientIp(req(zoned(64)), 1)).toBe("fe80::1");
    expect(clientIp(req(zoned(65)), 1)).toBeUndefined();
  });

  it("refuses anything around a bracketed or a v4:port form", () => {
    for (const bad of [
      "x[2001:db8::1]",
      "[2001:db8::1]:443x",
      "203.0.113.7:80x",
      "::ffff:1.2.3.4:80",
    ]) {
      expect(clientIp(req(bad), 1), bad).toBeUndefined();
    }
  });

  it("ignores malformed values: never returns a string that is not an IP", () => {
    for (const bad of [
      "unknown",
      "not-an-ip",
      "999.1.1.1",
      "1.2.3",
      "<script>",
      "_hidden",
      "1.1.1.1 2.2.2.2",
    ]) {
      expect(clientIp(req(`9.9.9.9, ${bad}`), 1), bad).toBeUndefined();
    }
    expect(clientIp(req("203.0.113.1"), 0, "garbage")).toBeUndefined();
    // A malformed entry the client wrote further left changes nothing.
    expect(clientIp(req("garbage, 203.0.113.2"), 1)).toBe("203.0.113.2");
  });
});
